"""Positions of the Kafka adapter: topic, partition and offset, plus where the reader stands on every partition.

A position is ``<tag>:<partition>:<frontier>``, e.g. ``3fa2c1:0:17`` for offset 17 of a one-partition topic:

* ``tag`` — six hex digits of the CRC-32 of the topic name, so a position of another channel is refused;
* ``partition`` — the partition of the event the position names;
* ``frontier`` — one entry per partition, ``.``-separated: the last offset the holder has *passed* on that
  partition, empty when it has passed nothing there (e.g. ``3fa2c1:1:41.17.`` on three partitions: the event
  is offset 17 of partition 1; offsets ≤ 41 of partition 0 were passed too, nothing of partition 2).

"After this position" means: on every partition, from the offset after its frontier entry (from the oldest
retained offset when the entry is empty). Kafka orders events per partition only, so a position carries the
whole frontier: an SSE client resuming with the last id it saw misses nothing on any partition (it may see
again an event of another partition that was appended concurrently — at least once, never a gap).

On a one-partition channel the frontier is the event's own offset, so a position is a pure function of the
event (publish, history and every subscription agree). On several partitions the frontier depends on who
hands the event out (a publisher knows the ends it saw, a reader what it has read), so one event may carry
different positions from different readers; each of them resumes without a gap.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from ...errors import InvalidPosition

_PATTERN = re.compile(r"([0-9a-f]{6}):([0-9]{1,9}):([0-9.]{0,4000})")


def topic_tag(topic: str) -> str:
    return f"{zlib.crc32(topic.encode()) & 0xFFFFFF:06x}"


@dataclass(frozen=True, slots=True)
class Position:
    partition: int
    frontier: tuple[int | None, ...]  # per partition: the last offset passed, None for none

    @property
    def offset(self) -> int:
        offset = self.frontier[self.partition]
        assert offset is not None
        return offset

    def encode(self, tag: str) -> str:
        entries = ".".join("" if offset is None else str(offset) for offset in self.frontier)
        return f"{tag}:{self.partition}:{entries}"

    def resume_offsets(self, partitions: int) -> list[int | None]:
        """The next offset to read per partition (None: from the oldest retained)."""
        return [
            None if i >= len(self.frontier) or self.frontier[i] is None else self.frontier[i] + 1  # type: ignore[operator]
            for i in range(partitions)
        ]


def encode_position(tag: str, partition: int, offset: int, frontier: Sequence[int | None]) -> str:
    """The position of the event at ``offset`` of ``partition``; ``frontier`` gives the other partitions."""
    if len(frontier) == 1:
        return f"{tag}:{partition}:{offset}"
    entries = [("" if value is None else str(value)) for value in frontier]
    entries[partition] = str(offset)
    return f"{tag}:{partition}:{'.'.join(entries)}"


def parse_position(text: str, topic: str, partitions: int) -> Position:
    """Read a position made for ``topic`` (``partitions`` partitions); ``InvalidPosition`` otherwise."""
    match = _PATTERN.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidPosition(f"{text!r} is not a position of the Kafka adapter")
    tag, partition_text, entries = match.groups()
    if tag != topic_tag(topic):
        raise InvalidPosition(f"{text!r} is a position of another topic than {topic!r}")
    try:
        frontier = tuple(None if entry == "" else int(entry) for entry in entries.split("."))
    except ValueError:
        raise InvalidPosition(f"{text!r} is not a position of the Kafka adapter") from None
    partition = int(partition_text)
    if len(frontier) > partitions or partition >= len(frontier) or frontier[partition] is None:
        raise InvalidPosition(f"{text!r} does not fit topic {topic!r} ({partitions} partition(s))")
    return Position(partition, frontier)
