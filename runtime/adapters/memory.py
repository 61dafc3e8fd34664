"""The in-memory adapter: a real implementation of the contract inside one process, the embedded default.

Each channel is an append-only log with a bounded history; subscriptions *pull* from it by position (like
Kafka), so a slow subscriber costs no memory of its own.

Policies
  * **History**: a channel keeps its newest ``history`` events (channel option; else the Redis-style ``maxlen``
    option, so a channel moved onto memory keeps its retention; else 10,000); older ones are evicted first-in
    first-out. Positions are decimal sequence numbers starting at 1, per channel.
  * **Back-pressure** when a subscriber falls behind (channel option ``overflow``):

    - ``"drop-oldest"`` (default): publishers never wait. A subscriber or group whose next event was evicted
      jumps to the oldest retained event; what it missed is counted in the channel's ``skipped`` metric. Events
      already handed out but not yet settled are never lost (a group's pending events are kept apart).
    - ``"block"``: a publish that would evict an event some active subscriber has not yet received waits
      (up to the ``publish_timeout`` option, default 5 s, then ``AdapterError``), so nothing is skipped.

  * **Concurrency**: a subscription holds at most ``max_in_flight`` unsettled deliveries; the log is not read
    ahead of that.
  * **Groups** outlive their members: the committed position and unsettled events stay while the adapter
    lives, and a member that leaves hands its unsettled events back (redelivered with ``attempt`` + 1).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from ..catalog import ChannelSpec
from ..errors import AdapterError, InvalidPosition, UnknownChannel
from .base import (
    Adapter,
    Capabilities,
    Delivery,
    Message,
    Record,
    StartAt,
    Subscription,
    dead_letter_channel,
    dead_letter_headers,
    redrive_channel,
)
from .signal import Signal

DEFAULT_HISTORY = 10_000
OVERFLOW_POLICIES = ("drop-oldest", "block")


def _parse_position(position: str) -> int:
    if not position.isdigit() or not position.isascii():
        raise InvalidPosition(f"{position!r} is not a position of the memory adapter")
    return int(position)


class _Pending:
    """An event handed out (or due to be handed out again) and not yet settled."""

    __slots__ = ("attempt", "due", "owner", "record", "seq")

    def __init__(self, record: Record, seq: int, owner: _MemorySubscription) -> None:
        self.record = record
        self.seq = seq
        self.attempt = 1
        self.owner: _MemorySubscription | None = owner
        self.due = 0.0


class _Cursor:
    """Read state shared by a group's members (a fan-out subscription has a private one)."""

    __slots__ = ("members", "next_seq", "pending", "ready")

    def __init__(self, next_seq: int) -> None:
        self.next_seq = next_seq
        self.pending: dict[int, _Pending] = {}
        self.ready: list[_Pending] = []  # nacked or released, waiting for their ``due`` time
        self.members: set[_MemorySubscription] = set()

    def committed(self) -> int:
        """Everything at or below this sequence number is settled."""
        return (min(self.pending) if self.pending else self.next_seq) - 1


class _Log:
    __slots__ = ("blocked_publishers", "capacity", "first", "groups", "name", "next", "overflow",
                 "publish_timeout", "records", "signal", "subscriptions")

    def __init__(self, name: str, capacity: int, overflow: str, publish_timeout: float) -> None:
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(f"channel {name!r}: overflow must be one of {OVERFLOW_POLICIES}, not {overflow!r}")
        self.name = name
        self.capacity = max(1, capacity)
        self.overflow = overflow
        self.publish_timeout = publish_timeout
        self.records: deque[Record] = deque()
        self.first = 1  # sequence number of records[0]
        self.next = 1  # sequence number the next event gets
        self.signal = Signal()
        self.groups: dict[str, _Cursor] = {}
        self.subscriptions: set[_MemorySubscription] = set()
        self.blocked_publishers = 0

    def slowest_active_seq(self) -> int:
        cursors = [s.cursor.next_seq for s in self.subscriptions]
        return min(cursors, default=self.next)

    def room_for(self, count: int) -> bool:
        evicted_up_to = self.first + len(self.records) + count - self.capacity  # first seq kept afterwards
        return evicted_up_to <= self.slowest_active_seq()

    def append(self, messages: Sequence[Message]) -> list[str]:
        first, name = self.next, self.name
        positions = list(map(str, range(first, first + len(messages))))
        self.records.extend([Record(name, position, message.payload, message.key, dict(message.headers))
                             for position, message in zip(positions, messages, strict=True)])
        self.next = first + len(positions)
        while len(self.records) > self.capacity:
            self.records.popleft()
            self.first += 1
        self.signal.notify_all()
        return positions


class MemoryAdapter(Adapter):
    """Channels as in-process logs. See the module docstring for the history and back-pressure policies."""

    kind = "memory"
    capabilities = Capabilities(history=True, groups=True, durable=False, redrive=True)

    def __init__(self, channels: Sequence[ChannelSpec], *, default_history: int = DEFAULT_HISTORY) -> None:
        super().__init__(channels)
        self._logs: dict[str, _Log] = {}
        self._closed = False
        for spec in channels:
            options = spec.options
            history = int(options.get("history", options.get("maxlen", default_history)))
            timeout = float(options.get("publish_timeout", 5.0))
            self._logs[spec.name] = _Log(spec.name, history, str(options.get("overflow", "drop-oldest")), timeout)
            dead = dead_letter_channel(spec.name)
            self._logs[dead] = _Log(dead, history, "drop-oldest", timeout)
            side = redrive_channel(spec.name)
            self._logs[side] = _Log(side, history, "drop-oldest", timeout)

    def _log(self, channel: str) -> _Log:
        if self._closed:
            raise AdapterError("the memory adapter is closed")
        try:
            return self._logs[channel]
        except KeyError:
            raise UnknownChannel(f"the memory adapter serves no channel {channel!r}") from None

    async def publish(self, channel: str, message: Message) -> str:
        return (await self.publish_many(channel, (message,)))[0]

    async def publish_many(self, channel: str, messages: Sequence[Message]) -> list[str]:
        started = time.perf_counter()
        log = self._log(channel)
        if log.overflow == "block" and not log.room_for(len(messages)):
            await self._wait_for_room(log, len(messages))
        positions = log.append(messages)
        self.recorder.observe_publish(channel, time.perf_counter() - started, len(messages))
        return positions

    async def _wait_for_room(self, log: _Log, count: int) -> None:
        if count > log.capacity:
            raise AdapterError(f"a batch of {count} exceeds channel {log.name!r} history of {log.capacity}")
        deadline = time.monotonic() + log.publish_timeout
        log.blocked_publishers += 1
        try:
            while not log.room_for(count):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    self.recorder.add(log.name, "errors")
                    raise AdapterError(f"channel {log.name!r} is full: a subscriber is {log.capacity} events behind")
                await log.signal.wait(remaining)
        finally:
            log.blocked_publishers -= 1

    async def subscribe(
        self,
        channel: str,
        *,
        group: str | None = None,
        consumer: str | None = None,
        start: StartAt = StartAt.LATEST,
        max_in_flight: int = 1,
    ) -> Subscription:
        log = self._log(channel)
        cursor = log.groups.get(group) if group is not None else None
        if cursor is None:
            cursor = _Cursor(self._start_seq(log, start))
            if group is not None:
                log.groups[group] = cursor
        subscription = _MemorySubscription(self, log, cursor, group, max(1, max_in_flight))
        cursor.members.add(subscription)
        log.subscriptions.add(subscription)
        return subscription

    def _start_seq(self, log: _Log, start: StartAt) -> int:
        if start.kind == "latest":
            return log.next
        if start.kind == "earliest":
            return log.first
        seq = _parse_position(start.position or "")
        if seq >= log.next:
            raise InvalidPosition(f"position {start.position!r} is ahead of channel {log.name!r}")
        return seq + 1

    async def history(self, channel: str, *, after: str | None = None, limit: int = 100) -> list[Record]:
        log = self._log(channel)
        start = log.first if after is None else max(log.first, self._start_seq(log, StartAt.after(after)))
        offset = start - log.first
        return [log.records[i] for i in range(offset, min(offset + max(0, limit), len(log.records)))]

    async def last_position(self, channel: str) -> str | None:
        log = self._log(channel)
        return str(log.next - 1) if log.next > 1 else None

    async def committed_position(self, channel: str, group: str) -> str | None:
        cursor = self._log(channel).groups.get(group)
        if cursor is None or cursor.committed() < 1:
            return None
        return str(cursor.committed())

    async def close(self) -> None:
        if self._closed:
            return
        for log in self._logs.values():
            for subscription in list(log.subscriptions):
                await subscription.close()
        self._closed = True
        for log in self._logs.values():
            log.signal.notify_all()

    def _dead_letter(self, record: Record, error: str, attempt: int, group: str | None) -> None:
        headers = dead_letter_headers(record, error, record.headers, attempt=attempt, group=group)
        self._logs[dead_letter_channel(record.channel)].append([Message(record.payload, record.key, headers)])
        self.recorder.add(record.channel, "dead_lettered")


class _MemorySubscription(Subscription):
    def __init__(self, adapter: MemoryAdapter, log: _Log, cursor: _Cursor, group: str | None, limit: int) -> None:
        self.adapter = adapter
        self.log = log
        self.cursor = cursor
        self.channel = log.name
        self.group = group
        self.max_in_flight = limit
        self.in_flight = 0
        self.closed = False
        #: wakes this subscription when it was at ``max_in_flight`` and a delivery of its own settled
        self.slot = Signal()
        self.counters = adapter.recorder.counters(log.name)

    async def next(self) -> Delivery | None:
        loop = asyncio.get_running_loop()
        while not self.closed:
            if self.in_flight >= self.max_in_flight:
                await self.slot.wait(None)  # only a settle of ours (or close) can change that
                continue
            now = loop.time()
            delivery = self._take(now)
            if delivery is not None:
                return delivery
            timeout: float | None = None
            if self.cursor.ready:
                timeout = min(p.due for p in self.cursor.ready) - now
            await self.log.signal.wait(timeout)
        return None

    def take_ready(self) -> Delivery | None:
        if self.closed or self.in_flight >= self.max_in_flight:
            return None
        return self._take(asyncio.get_running_loop().time())

    def _take(self, now: float) -> _MemoryDelivery | None:
        cursor, log = self.cursor, self.log
        if cursor.ready:
            due = min(cursor.ready, key=lambda p: p.due)
            if due.due <= now:
                cursor.ready.remove(due)
                due.attempt += 1
                return self._hand_out(due)
        if cursor.next_seq < log.next:
            if cursor.next_seq < log.first:
                self.adapter.recorder.add(self.channel, "skipped", log.first - cursor.next_seq)
                cursor.next_seq = log.first
            seq = cursor.next_seq
            cursor.next_seq += 1
            pending = cursor.pending[seq] = _Pending(log.records[seq - log.first], seq, self)
            if log.blocked_publishers:
                log.signal.notify_all()
            return self._hand_out(pending)
        return None

    def _hand_out(self, pending: _Pending) -> _MemoryDelivery:
        pending.owner = self
        self.in_flight += 1
        counters = self.counters
        counters.delivered += 1
        counters.in_flight += 1
        return _MemoryDelivery(self, pending, pending.attempt)

    def _settle(self, pending: _Pending, attempt: int) -> bool:
        """Forget ``pending`` if this delivery is still the live one; False for a stale delivery."""
        cursor = self.cursor
        if cursor.pending.get(pending.seq) is not pending or pending.attempt != attempt:
            return False
        del cursor.pending[pending.seq]
        if pending in cursor.ready:  # released by a closing member, then settled by its handler
            cursor.ready.remove(pending)
        else:
            self._release_slot(pending)
        return True

    def _release_slot(self, pending: _Pending) -> None:
        """Give the owner its slot back. Only the owner can use it, and only if it was full: waking every
        subscription of the log on every ack would cost O(subscribers) per event."""
        owner = pending.owner
        pending.owner = None
        if owner is not None:
            owner.in_flight -= 1
            self.adapter.recorder.add(self.channel, "in_flight", -1)
            if owner.in_flight == owner.max_in_flight - 1:
                owner.slot.notify_all()

    def _requeue(self, pending: _Pending, attempt: int, delay: float) -> None:
        if self.cursor.pending.get(pending.seq) is not pending or pending.attempt != attempt:
            return
        if pending in self.cursor.ready:
            return
        self._release_slot(pending)
        pending.due = asyncio.get_running_loop().time() + delay
        self.cursor.ready.append(pending)
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self.log.signal.notify_all)
        else:
            self.log.signal.notify_all()  # any member of the group may take it now

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.cursor.members.discard(self)
        self.log.subscriptions.discard(self)
        now = asyncio.get_running_loop().time()
        for pending in list(self.cursor.pending.values()):
            if pending.owner is self:
                self._release_slot(pending)
                pending.due = now
                self.cursor.ready.append(pending)
        self.log.signal.notify_all()
        self.slot.notify_all()


class _MemoryDelivery(Delivery):
    __slots__ = ("_attempt_token", "_pending", "_settled", "_subscription", "attempt", "record")

    def __init__(self, subscription: _MemorySubscription, pending: _Pending, attempt: int) -> None:
        self._subscription = subscription
        self._pending = pending
        self._settled = False
        self.record = pending.record
        self.attempt = attempt

    async def ack(self) -> None:
        self.ack_now()

    def ack_now(self) -> bool:
        if not self._settled:
            self._settled = True
            if self._subscription._settle(self._pending, self.attempt):
                self._subscription.adapter.recorder.add(self.record.channel, "acked")
        return True

    async def nack(self, delay: float = 0.0) -> None:
        if self._settled:
            return
        self._settled = True
        self._subscription.adapter.recorder.add(self.record.channel, "retried")
        self._subscription._requeue(self._pending, self.attempt, max(0.0, delay))

    async def dead_letter(self, error: str) -> None:
        if self._settled:
            return
        self._settled = True
        subscription = self._subscription
        if subscription._settle(self._pending, self.attempt):
            subscription.adapter._dead_letter(self.record, error, self.attempt, subscription.group)


def memory_adapter_factory(channels: Sequence[ChannelSpec], **options: Any) -> MemoryAdapter:
    """The ``AdapterFactory`` for kind ``"memory"``."""
    return MemoryAdapter(channels, **options)
