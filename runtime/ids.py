"""Event ids: UUIDv7 strings, unique and ordered by creation time.

Python 3.11 has no ``uuid.uuid7``, and the layout is twenty lines, so we write it (RFC 9562 §5.7) rather than
add a dependency. Within one millisecond the 12-bit ``rand_a`` field is a counter (RFC 9562 method 1), so
ids made by one process sort in creation order even when many are made in the same millisecond.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0
_RANDOM_CHUNK = 4096  # bytes of os.urandom read at once: one system call per 512 ids
_random = b""
_random_at = _RANDOM_CHUNK


def _uuid7_int() -> int:
    global _last_ms, _counter, _random, _random_at
    with _lock:
        if _random_at >= _RANDOM_CHUNK:
            _random, _random_at = os.urandom(_RANDOM_CHUNK), 0
        random_bits = int.from_bytes(_random[_random_at:_random_at + 8], "big")
        _random_at += 8
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            _counter = random_bits >> 54  # 10 random bits: leaves headroom for the 12-bit counter
        else:
            _counter += 1
            if _counter > 0xFFF:  # counter exhausted: borrow the next millisecond
                _last_ms += 1
                _counter = 0
        ms, counter = _last_ms, _counter
    rand_b = random_bits & ((1 << 62) - 1)
    return (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b


def uuid7() -> uuid.UUID:
    """A new UUIDv7; later calls in this process never sort before earlier ones."""
    return uuid.UUID(int=_uuid7_int())


def new_event_id() -> str:
    """The ``id`` of a new event: a lower-case UUIDv7 string (formatted directly: ``str(UUID)`` is slow)."""
    h = "%032x" % _uuid7_int()  # noqa: UP031 — measurably faster than f"{...:032x}" here
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


#: The variant nibble (``10xx``) for each hex digit of random bits: keeps two of its four random bits.
_VARIANT_NIBBLE = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def new_event_ids(count: int) -> list[str]:
    """``count`` new event ids, in creation order, as ``new_event_id`` would make them one by one (same layout,
    counter and ordering rules) for a third of the cost: one lock, one clock read and one ``os.urandom`` for all.
    """
    global _last_ms, _counter
    if count <= 0:
        return []
    random_hex = os.urandom(8 * count).hex()  # 62 random bits per id: 2 in the variant nibble, 60 after it
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            first_ms, first_counter = now_ms, int(random_hex[:3], 16) >> 2  # 10 random bits, as _uuid7_int
        else:
            first_ms, first_counter = _last_ms, _counter + 1
        last = first_counter + count - 1  # counter values past 0xFFF borrow the following milliseconds
        _last_ms, _counter = first_ms + (last >> 12), last & 0xFFF
    ids: list[str] = []
    variant, start, at = _VARIANT_NIBBLE, first_counter, 0
    ms = first_ms
    while at < count:
        take = min(count - at, 0x1000 - start)
        h = "%012x" % (ms & 0xFFFFFFFFFFFF)
        prefix = f"{h[:8]}-{h[8:]}-7"
        ids += [f"{prefix}{counter:03x}-{variant[random_hex[i]]}{random_hex[i + 1:i + 4]}-{random_hex[i + 4:i + 16]}"
                for counter, i in zip(range(start, start + take), range(16 * at, 16 * (at + take), 16), strict=True)]
        at += take
        ms, start = ms + 1, 0
    return ids
