"""A consumer-group member on a stream: ``XREADGROUP`` hands each entry to one member; the group's pending
entries list (PEL) is the ledger of what was handed out and not yet acknowledged.

How the contract's promises map onto the PEL:

* **ack** is ``XACK``, queued without waiting and coalesced across concurrent handlers by ``AckBatcher``.
* **attempt** is the PEL's delivery count: 1 for a fresh read, + 1 on every claim.
* **nack(delay)** leaves the entry pending but rewinds its idle clock (``XCLAIM ... IDLE claim_idle - delay
  RETRYCOUNT attempt JUSTID``), so after ``delay`` it is exactly as idle as a dead member's delivery and any
  member's ``XAUTOCLAIM`` picks it up (delays longer than the claim idle time are capped at it). The retry
  therefore survives this process dying while it waits.
* **a member that dies** stops its heartbeat (``XCLAIM ... JUSTID`` on what it holds, every ``claim_idle / 3``,
  which resets idle time without counting a delivery); after ``claim_idle`` another member's ``XAUTOCLAIM``
  takes its deliveries. The heartbeat is also what lets a handler run longer than ``claim_idle``.
* **a member that leaves** (``close``) makes what it held immediately claimable and nudges members in this
  process to claim now; members elsewhere find it within ``claim_interval``.
* **dead_letter** is ``XADD`` to the dead-letter stream and ``XACK`` in one transaction.
* After a failed read (Redis restarted, connection lost) the member re-reads its own pending entries: a read
  whose reply was lost in transit left entries there that nobody else would touch for ``claim_idle``. Such a
  re-read counts as a delivery, so ``attempt`` may run one ahead after a connection loss.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from ...metrics import MetricsRecorder
from ..base import Record
from .acks import AckBatcher
from .connection import translated
from .entries import stream_entries, text, to_record
from .reader import BlockingReader
from .streams import StreamChannel
from .subscription import BufferedSubscription, RedisDelivery, cancel_and_wait

logger = logging.getLogger("hipponot_pubsub.runtime.adapters.redis")


def _ids(positions: list[str]) -> list[Any]:
    """Stream ids as redis-py's ``xclaim`` annotation wants them (its stub declares a one-element tuple)."""
    return list(positions)


class GroupSubscription(BufferedSubscription):
    def __init__(self, stream: StreamChannel, reader: BlockingReader, group: str, consumer: str, max_in_flight: int,
                 recorder: MetricsRecorder, on_leave: Callable[[GroupSubscription], Awaitable[None]]) -> None:
        super().__init__(stream.name, group, max_in_flight, recorder)
        self.stream = stream
        self.reader = reader
        self.group_name = group
        self.consumer = consumer
        self.client: Redis = stream.client
        self._acks = AckBatcher(stream.client, stream.key, group, self._ack_failed)
        self._on_leave = on_leave
        self._claim_idle_ms = max(1, int(stream.claim_idle * 1000))
        self._claim_interval = min(stream.settings.claim_interval, stream.claim_idle)
        self._handed: dict[str, int] = {}  # handed out, not settled: position -> attempt
        self._next_claim = 0.0  # monotonic time of the next XAUTOCLAIM (0: at the first fetch)
        self._claim_cursor = "0-0"
        self._recover = False
        self._recreate = False
        self._heartbeat = asyncio.create_task(self._beat(), name=f"redis-heartbeat:{stream.name}:{consumer}")

    # -- fetching ------------------------------------------------------------------------------------------

    async def fetch(self, room: int) -> list[tuple[Record, int]]:
        if self._recreate:
            await self.stream.ensure_group(self.group_name, "0")
            self._recreate = False
        if self._recover:
            recovered = await self._recover_own(room)
            if recovered:
                return recovered
        if time.monotonic() >= self._next_claim:
            claimed = await self._claim(room)
            if claimed:
                return claimed
        key = self.stream.key
        reply = await self.reader.read("XREADGROUP", "GROUP", self.group_name, self.consumer, "COUNT", room,
                                       "STREAMS", key, ">", block_ms=self.reader.block_ms(self._next_claim))
        return [(to_record(self.channel, entry_id, fields), 1) for entry_id, fields in stream_entries(reply, key)
                if fields]

    def on_fetch_error(self, error: Exception) -> None:
        self._recover = True
        if "NOGROUP" in str(error):  # the stream was lost (a Redis without persistence restarted) or deleted
            self._recreate = True

    async def _claim(self, room: int) -> list[tuple[Record, int]]:
        """Take over entries idle longer than ``claim_idle`` (dead members', nacked ones that are due)."""
        reply: Any = await self.client.xautoclaim(
            self.stream.key, self.group_name, self.consumer, self._claim_idle_ms, self._claim_cursor, count=room)
        cursor, entries, *rest = reply
        self._claim_cursor = text(cursor)
        if self._claim_cursor == "0-0":
            self._next_claim = time.monotonic() + self._claim_interval
        deleted = rest[0] if rest else []
        if deleted:  # trimmed away while pending: Redis dropped them from the PEL
            self.recorder.add(self.channel, "skipped", len(deleted))
        live = [(text(entry_id), fields) for entry_id, fields in entries if fields]
        if not live:
            return []
        counts = await self._delivery_counts(live[0][0], live[-1][0], len(live))
        return [(to_record(self.channel, entry_id, fields), counts.get(entry_id, 1)) for entry_id, fields in live]

    async def _delivery_counts(self, first: str, last: str, claimed: int) -> dict[str, int]:
        pending: Any = await self.client.xpending_range(
            self.stream.key, self.group_name, min=first, max=last,
            count=claimed + len(self._handed) + len(self._buffer), consumername=self.consumer)
        return {text(p["message_id"]): int(p["times_delivered"]) for p in pending}

    async def _recover_own(self, room: int) -> list[tuple[Record, int]]:
        """This member's pending entries it does not hold (their read reply was lost, or their ack failed)."""
        held = set(self._handed) | set(self.held_positions())
        pending: Any = await self.client.xpending_range(
            self.stream.key, self.group_name, min="-", max="+", count=room + len(held), consumername=self.consumer)
        orphans = [text(p["message_id"]) for p in pending if text(p["message_id"]) not in held]
        self._recover = len(orphans) > room
        if not orphans:
            return []
        claimed: Any = await self.client.xclaim(self.stream.key, self.group_name, self.consumer, 0,
                                                _ids(orphans[:room]))
        live = [(text(entry_id), fields) for entry_id, fields in claimed if fields]
        if not live:
            return []
        counts = await self._delivery_counts(live[0][0], live[-1][0], len(live))
        return [(to_record(self.channel, entry_id, fields), counts.get(entry_id, 1)) for entry_id, fields in live]

    async def reclaim_soon(self) -> None:
        """Another member of the group in this process left work behind: claim it now."""
        self._next_claim = 0.0
        self._claim_cursor = "0-0"
        self._wakeup.set()
        await self.reader.wake_before(time.monotonic())

    # -- holding -------------------------------------------------------------------------------------------

    def deliver(self, record: Record, attempt: int) -> RedisDelivery:
        self._handed[record.position] = attempt
        return super().deliver(record, attempt)

    def forget(self, delivery: RedisDelivery) -> None:
        self._handed.pop(delivery.record.position, None)

    async def _beat(self) -> None:
        """Keep what this member holds from looking idle, so only a dead member's deliveries get claimed."""
        interval = self.stream.claim_idle / 3
        while not self.closed:
            await asyncio.sleep(interval)
            held = [*self._handed, *self.held_positions()]
            if not held:
                continue
            try:
                await self.client.xclaim(self.stream.key, self.group_name, self.consumer, 0, _ids(held),
                                         justid=True)
            except Exception as error:  # the reader reports outages; a missed beat only risks a duplicate
                logger.debug("heartbeat on %r failed: %s", self.channel, error)

    # -- settling ------------------------------------------------------------------------------------------

    def on_ack(self, delivery: RedisDelivery) -> None:
        self._acks.add(delivery.record.position)

    def _ack_failed(self, error: Exception) -> None:
        self._recover = True  # still pending under this member: re-read and delivered again

    async def flush_acks(self) -> None:
        """Wait until the acks given so far reached Redis (``committed_position`` and ``close`` need it)."""
        await self._acks.flush()

    async def on_nack(self, delivery: RedisDelivery, delay: float) -> None:
        idle_ms = max(0, self._claim_idle_ms - int(delay * 1000))
        with translated(self.stream.settings, f"nacking {self.channel}@{delivery.record.position}"):
            await self.client.xclaim(self.stream.key, self.group_name, self.consumer, 0,
                                     _ids([delivery.record.position]), idle=idle_ms, retrycount=delivery.attempt,
                                     justid=True)
        due = time.monotonic() + min(delay, self.stream.claim_idle)
        if due < self._next_claim:
            self._next_claim = due
            self._claim_cursor = "0-0"
            await self.reader.wake_before(due)

    async def on_dead_letter(self, delivery: RedisDelivery, error: str) -> None:
        with translated(self.stream.settings, f"dead-lettering {self.channel}@{delivery.record.position}"):
            await self.stream.append_dead_letter(delivery.record, error, attempt=delivery.attempt,
                                                ack_group=self.group_name)

    # -- leaving -------------------------------------------------------------------------------------------

    async def release(self) -> None:
        """Make everything this member still has pending claimable now; handed-out entries keep their count
        (the next claim makes it ``attempt + 1``), entries never handed out get theirs back."""
        await self._acks.flush()
        await cancel_and_wait(self._heartbeat)
        try:
            left = await self._release_pending()
            if left:
                await self._on_leave(self)
            else:
                await self.client.xgroup_delconsumer(self.stream.key, self.group_name, self.consumer)
        except Exception as error:  # unreachable: what it held is claimed after claim_idle anyway
            logger.warning("member %s of group %r on %r could not hand back its deliveries: %s",
                           self.consumer, self.group_name, self.channel, error)
        finally:
            self._handed.clear()
            await self.reader.close()

    async def _release_pending(self) -> int:
        key, group, me = self.stream.key, self.group_name, self.consumer
        pending: Any = await self.client.xpending_range(key, group, min="-", max="+", count=100_000, consumername=me)
        by_count: dict[int, list[str]] = {}
        for entry in pending:
            entry_id = text(entry["message_id"])
            count = int(entry["times_delivered"])
            by_count.setdefault(count if entry_id in self._handed else max(0, count - 1), []).append(entry_id)
        if by_count:
            async with self.client.pipeline(transaction=False) as pipe:
                for count, ids in by_count.items():
                    pipe.xclaim(key, group, me, 0, _ids(ids), idle=self._claim_idle_ms, retrycount=count, justid=True)
                await pipe.execute()
        return len(pending)
