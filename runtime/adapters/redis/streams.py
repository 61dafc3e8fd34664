"""Streams mode: one channel is one Redis stream; positions are stream ids.

* ``publish``: ``XADD`` with approximate trimming (``MAXLEN ~`` or ``MINID ~`` from the channel options:
  approximate trimming lets Redis drop whole radix-tree nodes, which is what keeps ``XADD`` O(1)).
* ``publish_many``: the ``XADD``\\ s in one Lua script (``APPEND_ALL``): one round trip, all or none.
* ``history``: ``XRANGE`` with an exclusive start; ``last_position``: ``XREVRANGE ... COUNT 1``.
* ``committed_position``: the entry just before the group's oldest pending one, or the group's last-delivered
  id when nothing is pending.
* Dead letters: ``XADD`` to the channel's dead-letter stream, in the same transaction as the original's ``XACK``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from time import perf_counter
from typing import Any

from redis.asyncio import Redis

from ...errors import AdapterError
from ...metrics import MetricsRecorder
from ..base import Message, Record, dead_letter_headers, redrive_channel
from ..deadlines import Deadlines
from .entries import FIELD, check_position, pack, text, to_fields, to_record
from .keys import ChannelKeys
from .settings import ChannelOptions, RedisSettings

#: ``publish_many``: every ``XADD`` of a batch in one script, which Redis runs atomically (all or none, nothing
#: interleaved). Cheaper than ``MULTI``/``EXEC``: one command and one reply instead of a ``+QUEUED`` per event.
APPEND_ALL = """
local ids = {}
for i = 3, #ARGV do
  if ARGV[1] == '' then
    ids[#ids + 1] = redis.call('XADD', KEYS[1], '*', 'e', ARGV[i])
  else
    ids[#ids + 1] = redis.call('XADD', KEYS[1], ARGV[1], '~', ARGV[2], '*', 'e', ARGV[i])
  end
end
return ids
"""


class StreamChannel:
    """The stream operations of one channel (its dead-letter stream is a ``StreamChannel`` too)."""

    def __init__(self, name: str, key: str, options: ChannelOptions, settings: RedisSettings, client: Redis,
                 recorder: MetricsRecorder, dead_letter: StreamChannel | None = None) -> None:
        self.name = name
        self.key = key
        self.options = options
        self.settings = settings
        self.client = client
        self.recorder = recorder
        self.dead_letter = dead_letter
        self.claim_idle = options.claim_idle or settings.claim_idle
        self._append_all = client.register_script(APPEND_ALL)
        self._execute = client.execute_command
        self._deadlines = Deadlines(settings.publish_timeout)  # asyncio.timeout's bound, one timer for all
        #: ``XADD`` retention arguments when they do not change per call (``MAXLEN ~ n``); ``()`` for none,
        #: ``None`` when they do (``MINID`` follows the clock).
        self._trim: tuple[Any, ...] | None = () if options.max_age is None and options.maxlen is None else \
            ("MAXLEN", "~", options.maxlen) if options.max_age is None else None

    @classmethod
    def with_dead_letters(cls, name: str, dead_name: str, options: ChannelOptions, settings: RedisSettings,
                          client: Redis, recorder: MetricsRecorder) -> StreamChannel:
        keys = ChannelKeys.of(settings.prefix, name)
        dead = cls(dead_name, keys.dead_letter, options, settings, client, recorder)
        return cls(name, keys.stream, options, settings, client, recorder, dead)

    def redrive_stream(self) -> StreamChannel:
        """This channel's redrive stream (``redrive_channel``): its dead letters go to this channel's."""
        keys = ChannelKeys.of(self.settings.prefix, self.name)
        return StreamChannel(redrive_channel(self.name), keys.redrive, self.options, self.settings, self.client,
                             self.recorder, self.dead_letter)

    # -- appending -----------------------------------------------------------------------------------------

    def trim_args(self) -> dict[str, Any]:
        """``xadd`` keyword arguments for the channel's retention (approximate: ``~``)."""
        if self.options.max_age is not None:
            oldest_ms = int((time.time() - self.options.max_age) * 1000)
            return {"minid": f"{max(0, oldest_ms)}-0", "approximate": True}
        if self.options.maxlen is not None:
            return {"maxlen": self.options.maxlen, "approximate": True}
        return {}

    def _xadd_args(self, frame: bytes) -> tuple[Any, ...]:
        """The ``XADD`` command for one frame, retention included (built here rather than by redis-py's
        ``xadd``, which assembles the same list through keyword checks on every call)."""
        if self._trim is not None:
            return ("XADD", self.key, *self._trim, "*", FIELD, frame)
        oldest_ms = int((time.time() - (self.options.max_age or 0.0)) * 1000)
        return ("XADD", self.key, "MINID", "~", f"{max(0, oldest_ms)}-0", "*", FIELD, frame)

    async def publish(self, message: Message) -> str:
        started = perf_counter()
        deadlines = self._deadlines
        task = deadlines.start()
        try:
            entry_id = await self._execute(*self._xadd_args(pack(message)))  # type: ignore[no-untyped-call]
        except asyncio.CancelledError:
            if deadlines.expired(task):
                raise self._timed_out(1) from None
            raise
        finally:
            deadlines.finish(task)
        self.recorder.observe_publish(self.name, perf_counter() - started)
        return entry_id.decode() if isinstance(entry_id, bytes) else text(entry_id)

    async def publish_many(self, messages: Sequence[Message]) -> list[str]:
        if not messages:
            return []
        started = time.perf_counter()
        trim = self.options
        if trim.max_age is not None:
            mode, bound = "MINID", f"{max(0, int((time.time() - trim.max_age) * 1000))}-0"
        elif trim.maxlen is not None:
            mode, bound = "MAXLEN", str(trim.maxlen)
        else:
            mode, bound = "", ""
        deadlines = self._deadlines
        task = deadlines.start()
        try:
            ids: Any = await self._append_all(keys=[self.key], args=[mode, bound, *(pack(m) for m in messages)])
        except asyncio.CancelledError:
            if deadlines.expired(task):
                raise self._timed_out(len(messages)) from None
            raise
        finally:
            deadlines.finish(task)
        positions = [text(i) for i in ids]
        self.recorder.observe_publish(self.name, time.perf_counter() - started, len(messages))
        return positions

    def _timed_out(self, count: int) -> AdapterError:
        return AdapterError(
            f"redis at {self.settings.safe_url}: publishing {count} event(s) to channel {self.name!r} did not "
            f"complete within {self.settings.publish_timeout}s (PUBSUB_REDIS_PUBLISH_TIMEOUT); it may or may not "
            "have been stored"
        )


    async def append_dead_letter(self, record: Record, error: str, *, attempt: int, ack_group: str | None = None
                                 ) -> None:
        """Append ``record`` with ``error`` to the dead-letter stream; with ``ack_group``, ``XACK`` the
        original in the same transaction (both or neither: never lost, never both pending and dead)."""
        dead = self.dead_letter
        if dead is None:
            raise AdapterError(f"channel {self.name!r} has no dead-letter channel")
        async with self.client.pipeline(transaction=True) as pipe:
            fields = dead_letter_fields(record, error, attempt=attempt, group=ack_group)
            pipe.xadd(dead.key, fields, **dead.trim_args())  # type: ignore[arg-type]
            if ack_group is not None:
                pipe.xack(self.key, ack_group, record.position)
            await pipe.execute()

    # -- reading -------------------------------------------------------------------------------------------

    async def history(self, after: str | None, limit: int) -> list[Record]:
        start = "-" if after is None else "(" + check_position(after)
        if limit <= 0:
            return []
        entries: Any = await self.client.xrange(self.key, start, "+", count=limit)
        return [to_record(self.name, entry_id, fields) for entry_id, fields in entries]

    async def last_position(self) -> str | None:
        entries: Any = await self.client.xrevrange(self.key, "+", "-", count=1)
        return text(entries[0][0]) if entries else None

    async def committed_position(self, group: str) -> str | None:
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.exists(self.key)
            pipe.xinfo_groups(self.key)
            exists, groups = await pipe.execute(raise_on_error=False)
        if not exists or isinstance(groups, Exception):
            return None
        info = next((g for g in groups if text(g.get("name")) == group), None)
        if info is None:
            return None
        if int(info.get("pending", 0)) > 0:
            summary: Any = await self.client.xpending(self.key, group)
            before: Any = await self.client.xrevrange(self.key, "(" + text(summary["min"]), "-", count=1)
            return text(before[0][0]) if before else None
        last = text(info.get("last-delivered-id"))
        return None if last in ("", "0-0") else last

    async def ensure_group(self, group: str, start_id: str) -> bool:
        """Create ``group`` at ``start_id`` (``$``, ``0`` or an entry id), making the stream if needed;
        False when it already existed (its own position then stands)."""
        try:
            await self.client.xgroup_create(self.key, group, id=start_id, mkstream=True)
        except Exception as error:
            if "BUSYGROUP" in str(error):
                return False
            raise
        return True


def dead_letter_fields(record: Record, error: str, *, attempt: int, group: str | None = None) -> dict[bytes, bytes]:
    """A dead letter: the original entry plus ``x-error``, where it came from, the attempt and the group."""
    headers = dead_letter_headers(record, error, record.headers, attempt=attempt, group=group)
    return to_fields(Message(record.payload, record.key, headers))
