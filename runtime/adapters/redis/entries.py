"""How a ``Message`` is laid out in Redis, and how positions (stream ids) are checked.

One field per stream entry, ``e``, holding a frame: a one-line JSON header ``{"k": key, "h": {headers}}`` (``{}``
when there are neither), a newline, then the payload bytes untouched. Why not one field per header: every
field is two more bulk strings for redis-py's reply parser to read, and parsing replies is most of what a
consumer costs; with one field an entry costs what a raw ``XADD key * d <payload>`` costs. ``redis-cli XRANGE``
still shows the headers as readable JSON. Pub/sub mode publishes the same frame behind its position.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import orjson

from ...errors import InvalidPosition
from ..base import Message, Record
from ..lazyheaders import LazyHeaders

FIELD = b"e"
_EMPTY_META = b"{}\n"
_STREAM_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")


def pack(message: Message, extra: Mapping[str, str] | None = None) -> bytes:
    """The frame of ``message`` (``extra`` headers override the message's own)."""
    if message.key is None and not message.headers and not extra:
        return _EMPTY_META + message.payload
    meta: dict[str, object] = {}
    if message.key is not None:
        meta["k"] = message.key
    headers = {**message.headers, **extra} if extra else dict(message.headers)
    if headers:
        meta["h"] = headers
    return orjson.dumps(meta) + b"\n" + message.payload


def unpack(channel: str, position: str, frame: bytes) -> Record:
    meta, _, payload = frame.partition(b"\n")
    if meta == b"{}":
        return Record(channel, position, payload)
    if meta.startswith(b'{"h":'):  # headers only (``pack`` writes "k" first): parsed if someone reads them
        return Record(channel, position, payload, None, LazyHeaders(_meta_headers, meta))
    parsed = orjson.loads(meta)
    return Record(channel, position, payload, parsed.get("k"), parsed.get("h") or {})


def _meta_headers(meta: bytes) -> dict[str, str]:
    return dict(orjson.loads(meta).get("h") or {})


def to_fields(message: Message, extra: Mapping[str, str] | None = None) -> dict[bytes, bytes]:
    """The fields of the stream entry for ``message``."""
    return {FIELD: pack(message, extra)}


def to_record(channel: str, entry_id: bytes | str, fields: Mapping[bytes, bytes]) -> Record:
    """A record from a stream entry as redis-py returns it (bytes keys and values)."""
    position = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return unpack(channel, position, fields[FIELD])


def text(value: object) -> str:
    """A reply value as text (redis-py returns bytes unless asked to decode)."""
    if isinstance(value, bytes):
        return value.decode()
    return "" if value is None else str(value)


def check_position(position: str) -> str:
    """``position`` if it is a stream id (``<ms>-<seq>``), else ``InvalidPosition``."""
    if not isinstance(position, str) or _STREAM_ID.fullmatch(position) is None:
        raise InvalidPosition(f"{position!r} is not a position of the redis adapter (a stream id like 1-0)")
    return position


def stream_entries(reply: object, key: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """The entries of ``key`` in an ``XREAD``/``XREADGROUP`` reply, whichever RESP version shaped it
    (RESP2: ``[[key, entries]]``; RESP3: ``{key: [entries]}``)."""
    if not reply:
        return []
    if isinstance(reply, dict):
        for name, value in reply.items():
            if (name.decode() if isinstance(name, bytes) else name) == key:
                return list(value[0]) if value and isinstance(value[0], list) else list(value)
        return []
    for name, entries in reply:  # type: ignore[attr-defined]
        if (name.decode() if isinstance(name, bytes) else name) == key:
            return list(entries)
    return []
