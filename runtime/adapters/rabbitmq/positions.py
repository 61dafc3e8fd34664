"""Positions of the RabbitMQ adapter: the stream queue's own offsets.

A position is ``<tag>:<offset>``: ``tag`` is six hex digits of the CRC-32 of the stream's name (so a position
of another channel is refused) and ``offset`` the event's offset in the channel's stream queue, the number
RabbitMQ hands a stream consumer in ``x-stream-offset`` and accepts back as ``x-stream-offset`` to resume after
it. Offsets grow by one per stored message, so positions order the way events were appended.
"""

from __future__ import annotations

import re
import zlib

from ...errors import InvalidPosition

_PATTERN = re.compile(r"([0-9a-f]{6}):([0-9]{1,19})")


def stream_tag(stream: str) -> str:
    return f"{zlib.crc32(stream.encode()) & 0xFFFFFF:06x}"


def parse_position(text: str, tag: str) -> int:
    """The offset of a position made for the stream tagged ``tag``; ``InvalidPosition`` otherwise."""
    match = _PATTERN.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidPosition(f"{text!r} is not a position of the RabbitMQ adapter")
    if match.group(1) != tag:
        raise InvalidPosition(f"{text!r} is a position of another channel")
    return int(match.group(2))
