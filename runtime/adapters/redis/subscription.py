"""The local half every Redis subscription shares: a reader task that fetches only while someone waits in
``next`` and there is room under ``max_in_flight``, a buffer it fills, and deliveries settled exactly once.

Why a reader task instead of reading inside ``next``: callers cancel ``next`` (``asyncio.wait_for``, the bus
stopping a consumer), and redis-py drops the connection of a command cancelled mid-flight — a group read whose
reply is lost that way leaves entries stranded in this member's pending list. The reader is only cancelled at
``close``, and whatever it fetched waits in the buffer for the next ``next``.

Why fetch only on demand: a member that is not asking for work must not take events its group's other
members could process (``XREADGROUP`` hands an entry to whoever reads first).
"""

from __future__ import annotations

import asyncio
import logging
from abc import abstractmethod
from collections import deque

from ...metrics import MetricsRecorder
from ..base import Delivery, Record, Subscription

logger = logging.getLogger("hipponot_pubsub.runtime.adapters.redis")

#: Backoff between failed reads while Redis is unreachable: doubling from the first to the last value.
READ_BACKOFF = (0.05, 1.0)


async def cancel_and_wait(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait for it, cancelling again while it runs on: on Python 3.11 ``asyncio.wait_for``
    (which redis-py uses while connecting) loses a cancellation that lands as its inner future completes."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=0.05)
    if not task.cancelled() and task.exception() is not None:
        logger.debug("task %s ended with %r", task.get_name(), task.exception())


class RedisDelivery(Delivery):
    __slots__ = ("_owner", "_settled", "attempt", "record")

    def __init__(self, owner: BufferedSubscription, record: Record, attempt: int) -> None:
        self._owner = owner
        self._settled = False
        self.record = record
        self.attempt = attempt

    async def ack(self) -> None:
        self.ack_now()

    def ack_now(self) -> bool:
        if not self._settled:  # the XACK is queued and sent with others (``AckBatcher``): nothing to wait for
            self._settled = True
            self._owner.settled(self, "acked")
            self._owner.on_ack(self)
        return True

    async def nack(self, delay: float = 0.0) -> None:
        if not self._settled:
            self._settled = True
            self._owner.settled(self, "retried")
            await self._owner.on_nack(self, max(0.0, delay))

    async def dead_letter(self, error: str) -> None:
        if not self._settled:
            self._settled = True
            self._owner.settled(self, "dead_lettered")
            await self._owner.on_dead_letter(self, error)


class BufferedSubscription(Subscription):
    """Hands out buffered records; subclasses say how to fetch (``fetch``) and how to settle (``on_*``)."""

    def __init__(self, channel: str, group: str | None, max_in_flight: int, recorder: MetricsRecorder) -> None:
        self.channel = channel
        self.group = group
        self.max_in_flight = max(1, max_in_flight)
        self.recorder = recorder
        self.counters = recorder.counters(channel)
        self.closed = False
        self._buffer: deque[tuple[Record, int]] = deque()
        self._in_flight = 0
        self._waiting = 0
        self._changed = asyncio.Event()  # wakes callers of ``next``
        self._wakeup = asyncio.Event()  # wakes the reader
        self._reader: asyncio.Task[None] | None = None

    # -- what subclasses provide ---------------------------------------------------------------------------

    @abstractmethod
    async def fetch(self, room: int) -> list[tuple[Record, int]]:
        """Up to ``room`` (record, attempt) pairs; may block on the server for a while, returning [] if idle."""

    @abstractmethod
    def on_ack(self, delivery: RedisDelivery) -> None:
        """Settle as done, without waiting (groups queue the ``XACK``; see ``acks``)."""

    @abstractmethod
    async def on_nack(self, delivery: RedisDelivery, delay: float) -> None: ...

    @abstractmethod
    async def on_dead_letter(self, delivery: RedisDelivery, error: str) -> None: ...

    def on_fetch_error(self, error: Exception) -> None:
        """Called after a failed fetch (the group reader then re-reads its own pending entries)."""

    async def release(self) -> None:
        """Give unsettled work back at close (groups hand it to other members)."""

    # -- consuming -----------------------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def held_positions(self) -> list[str]:
        """Positions fetched and not yet handed out."""
        return [record.position for record, _ in self._buffer]

    async def next(self) -> Delivery | None:
        while not self.closed:
            delivery = self.take_ready()
            if delivery is not None:
                return delivery
            if self._reader is None:
                self._reader = asyncio.create_task(self._read_loop(), name=f"redis-reader:{self.channel}")
            self._waiting += 1
            self._changed.clear()
            self._wakeup.set()
            try:
                await self._changed.wait()
            finally:
                self._waiting -= 1
        return None

    def take_ready(self) -> Delivery | None:
        if not self._buffer or self._in_flight >= self.max_in_flight:
            return None
        record, attempt = self._buffer.popleft()
        self._in_flight += 1
        counters = self.counters
        counters.delivered += 1
        counters.in_flight += 1
        return self.deliver(record, attempt)

    def deliver(self, record: Record, attempt: int) -> RedisDelivery:
        """The delivery object for a record being handed out (groups remember what they handed out)."""
        return RedisDelivery(self, record, attempt)

    def push(self, records: list[tuple[Record, int]]) -> None:
        """Add fetched records to the buffer and wake callers of ``next``."""
        if records:
            self._buffer.extend(records)
            self._changed.set()

    def room(self) -> int:
        return self.max_in_flight - self._in_flight - len(self._buffer)

    async def _read_loop(self) -> None:
        failures = 0
        while not self.closed:
            if self._waiting == 0 or self.room() <= 0:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            try:
                fetched = await self.fetch(self.room())
            except Exception as error:  # the reader must survive a Redis outage and resume by itself
                failures += 1
                self.recorder.add(self.channel, "errors")
                self.on_fetch_error(error)
                delay = min(READ_BACKOFF[1], READ_BACKOFF[0] * 2 ** (failures - 1))
                if failures == 1 or failures % 20 == 0:
                    logger.warning("redis read on channel %r failed (%s: %s); retrying every %.2fs",
                                   self.channel, type(error).__name__, error, delay)
                await asyncio.sleep(delay)
                continue
            if failures:
                logger.info("redis read on channel %r recovered after %d failures", self.channel, failures)
                failures = 0
            self.push(fetched)

    # -- settling ------------------------------------------------------------------------------------------

    def settled(self, delivery: RedisDelivery, counter: str) -> None:
        """Free the slot at once (so the reader can fetch more); the delivery then runs the backend action."""
        self._in_flight -= 1
        counters = self.counters
        counters.in_flight -= 1
        setattr(counters, counter, getattr(counters, counter) + 1)
        self._wakeup.set()
        self.forget(delivery)

    def forget(self, delivery: RedisDelivery) -> None:
        """The delivery was settled: stop holding it."""

    # -- closing -------------------------------------------------------------------------------------------

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._changed.set()
        if self._reader is not None:
            await cancel_and_wait(self._reader)
        await self.release()
        self._buffer.clear()
