"""Subscriptions: a fan-out reader (manual assignment, no group) or a consumer-group member.

Both fetch in the background (``fetch_batch`` records ahead at most) and hand records out up to
``max_in_flight`` unsettled deliveries. A nack keeps the record in the subscription and hands it out again
after the delay (``attempt`` + 1); Kafka has no per-record redelivery, so it never seeks back.

Group members commit **after success**: per partition, the committed offset is the first offset not yet
settled (acked or dead-lettered); everything below it was settled, whatever order the handlers finished in.
Commits are coalesced (at most one in flight, ``commit_interval_ms`` apart) and flushed on rebalance, on
``close`` and before ``committed_position`` answers.

Rebalances (the eager protocol aiokafka speaks; the sticky assignor keeps partitions where they were):

* revoked: commit what is settled, then remember the attempts of records still out (see below);
* assigned: a partition kept keeps its state and read position (no redelivery); a partition lost is dropped —
  its unsettled deliveries become stale (settling them does nothing, so nothing is committed twice by two
  members) and its new owner starts from the committed offset, i.e. redelivers them; a new partition starts at
  the group's committed offset, or — if the group never committed there — at the subscription's ``start``,
  which is committed at once so the group's start is fixed when the group is created.

Attempts: a record handed out again after its holder left counts ``attempt`` on. The holder writes the
attempts into the offset commit's metadata (read back by the next owner: works across processes on Kafka) and
into the adapter's in-process table (tansu 0.6 does not store commit metadata). A member that dies hard
(``kill -9``) records nothing: its records come back with ``attempt`` 1 — at least once still holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections import deque
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.sticky.sticky_assignor import StickyPartitionAssignor
from aiokafka.errors import KafkaError
from aiokafka.structs import OffsetAndMetadata

from ...errors import AdapterError
from ..base import NO_HEADERS, Delivery, Record, Subscription
from ..lazyheaders import LazyHeaders
from ..signal import Signal
from .headers import (
    BINARY_PREFIX,
    CONTENT_TYPE_HEADER,
    STRUCTURED_CONTENT_TYPE,
    binary_to_structured,
    decode_headers,
    is_binary_mode,
)

if TYPE_CHECKING:
    from .adapter import KafkaAdapter, TopicInfo

logger = logging.getLogger("hipponot_pubsub.runtime.adapters.kafka")

#: A delivery's states: with a holder, being dead-lettered, waiting to be handed out again, settled, or dropped
#: with its partition (settling it then does nothing).
HANDED, SETTLING, RETRY, DONE, DROPPED = range(5)
ATTEMPTS_PREFIX = "pubsub-attempts:"
_MAX_METADATA_ENTRIES = 64
#: aiokafka retries a failed position or commit refresh after this (its default, 100 ms, twice over, held
#: the first fetch after a rebalance ~0.2 s on tansu)
RETRY_BACKOFF_MS = 50
BINARY_MARKER = f"{BINARY_PREFIX}specversion"  # every binary-mode record has it (checked first: cheap)
#: ``Record``'s constructor without the Python-level ``__new__`` a named tuple adds (all fields given)
_new_tuple = tuple.__new__
#: The first header of every record this adapter writes (structured mode, see ``headers.encode_headers``).
STRUCTURED_HEADER = (CONTENT_TYPE_HEADER, STRUCTURED_CONTENT_TYPE.encode())


def encode_attempts(attempts: Iterable[tuple[int, int]]) -> str:
    entries = sorted(attempts)[:_MAX_METADATA_ENTRIES]
    return ATTEMPTS_PREFIX + ",".join(f"{offset}={count}" for offset, count in entries) if entries else ""


def decode_attempts(metadata: str | None) -> dict[int, int]:
    if not metadata or not metadata.startswith(ATTEMPTS_PREFIX):
        return {}
    found: dict[int, int] = {}
    for entry in metadata[len(ATTEMPTS_PREFIX):].split(","):
        offset, _, count = entry.partition("=")
        if offset.isdigit() and count.isdigit():
            found[int(offset)] = int(count)
    return found


def sticky_assignor() -> type[StickyPartitionAssignor]:
    """aiokafka's sticky assignor keeps its state in class attributes: one subclass per consumer, so several
    members in one process do not share (and corrupt) their previous assignments."""
    return type("StickyPartitionAssignor", (StickyPartitionAssignor,), {"member_assignment": None, "generation": -1})


class _Track:
    """Read and commit state of one partition held by a subscription."""

    __slots__ = ("active", "committed", "next_fetch", "partition", "pending")

    def __init__(self, partition: int, next_fetch: int) -> None:
        self.partition = partition
        self.next_fetch = next_fetch  # offset after the last record taken from the consumer
        self.committed = next_fetch  # last offset committed (group members)
        #: handed out and not settled (or waiting for redelivery), by offset. Records are handed out in offset
        #: order and a redelivery keeps its key's place, so the first key is the lowest unsettled offset.
        self.pending: dict[int, KafkaDelivery] = {}
        self.active = True


class _Run:
    """Records fetched from one partition in one go, waiting to be handed out (from ``next`` on).

    The buffer holds runs, not an object per record: a record becomes a ``Record`` and a delivery only when it is
    handed out, so nothing per record outlives a couple of events (objects that wait in a buffer get promoted
    through the garbage collector's generations, and full collections then cost a share of every delivery).
    ``prefix`` and ``suffix`` are the run's position text around the offset: the other partitions' frontier
    entries are the same for every record of a run (the buffer is handed out in order)."""

    __slots__ = ("held", "next", "prefix", "records", "suffix", "track")

    def __init__(self, track: _Track, records: list[Any], held: dict[int, int] | None) -> None:
        self.track = track
        self.records = records
        self.next = 0
        self.held = held  # attempts of earlier holders, by offset (group members)
        self.prefix = self.suffix = ""


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, subscription: KafkaSubscription) -> None:
        self.subscription = subscription

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.subscription._on_revoked()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        await self.subscription._on_assigned({tp.partition for tp in assigned if tp.topic == self.subscription.topic})


class KafkaSubscription(Subscription):
    def __init__(self, adapter: KafkaAdapter, info: TopicInfo, group: str | None, consumer: str | None,
                 starts: Sequence[int], max_in_flight: int) -> None:
        self.adapter = adapter
        self.info = info
        self.channel = info.channel
        self.topic = info.name
        self.group = group
        self.name = consumer
        self.starts = list(starts)
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.closed = False
        self._recorder = adapter.recorder
        #: this channel's counters, bumped directly (one attribute add per event instead of a recorder call)
        self._counters = adapter.recorder.counters(info.channel)
        self._tracks: dict[int, _Track] = {}
        self._buffer: deque[_Run] = deque()
        self._buffered = 0  # records in the buffer's runs
        self._buffer_limit = max(adapter.settings.fetch_batch, max_in_flight)
        self._retry: list[tuple[float, int, KafkaDelivery]] = []
        self._sequence = itertools.count()
        self._signal = Signal()
        self._space = Signal()
        self._frontier: list[int | None] = [None] * info.partitions
        self._frontier_text: list[str] = [""] * info.partitions  # the frontier's entries as position text
        self._failure: BaseException | None = None
        self._assigned = asyncio.Event()
        self._unsaved = False  # something was settled since the last commit began (group members)
        self._settled = Signal()  # wakes the committer when ``_unsaved`` turns true
        self._commit_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        settings = adapter.settings
        client_id = f"{settings.client_id}-{consumer or group or 'reader'}"
        options: dict[str, Any] = {"enable_auto_commit": False, "auto_offset_reset": "earliest",
                                   "fetch_max_wait_ms": settings.fetch_max_wait_ms,
                                   "retry_backoff_ms": RETRY_BACKOFF_MS}
        self.group_id = None if group is None else settings.group_id(group)
        if group is not None:
            options.update(
                group_id=self.group_id, session_timeout_ms=settings.session_timeout_ms,
                heartbeat_interval_ms=settings.heartbeat_interval_ms,
                # one assignor only: aiokafka 0.14 sends one JoinGroup per listed assignor (a loop nesting bug),
                # and on tansu each join waits out the rebalance delay
                partition_assignment_strategy=(sticky_assignor(),),
            )
        self.consumer = AIOKafkaConsumer(**settings.client_kwargs(client_id), **options)

    def __repr__(self) -> str:
        return f"<KafkaSubscription {self.topic} group={self.group} member={self.name}>"

    # -- life cycle ----------------------------------------------------------------------------------------

    async def open(self) -> None:
        settings = self.adapter.settings
        if self.group is not None:  # before start: subscribing after it makes the first join start over
            self.consumer.subscribe([self.topic], listener=_Listener(self))
        try:
            try:
                async with asyncio.timeout(settings.connect_timeout):
                    await self.consumer.start()
            except TimeoutError:
                raise AdapterError(f"could not connect a consumer of {self.topic!r} within "
                                   f"{settings.connect_timeout:g}s") from None
            if self.group is None:
                partitions = [TopicPartition(self.topic, p) for p in range(self.info.partitions)]
                self.consumer.assign(partitions)
                for tp, start in zip(partitions, self.starts, strict=True):
                    self._take_partition(tp.partition, start)
                self._assigned.set()
            self._tasks.append(asyncio.create_task(self._pump(), name=f"kafka-fetch:{self.topic}"))
            if self.group is not None:
                self._tasks.append(asyncio.create_task(self._committer(), name=f"kafka-commit:{self.topic}"))
                limit = settings.connect_timeout + settings.session_timeout_ms / 1000
                try:
                    async with asyncio.timeout(limit):
                        await self._assigned.wait()
                except TimeoutError:
                    raise AdapterError(
                        f"group {self.group!r} gave no assignment on {self.topic!r} within {limit:g}s") from None
        except BaseException:
            await self.close()
            raise

    def _take_partition(self, partition: int, start: int) -> _Track:
        track = self._tracks[partition] = _Track(partition, start)
        self.consumer.seek(TopicPartition(self.topic, partition), start)
        self._restate_frontier({partition: start - 1 if start > 0 else None})
        return track

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._signal.notify_all()
        self._space.notify_all()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.group is not None:
            self._remember_attempts()
            with contextlib.suppress(Exception):
                await self._commit_now(with_attempts=True)
        self._buffer.clear()  # never handed out: nobody holds them
        self._buffered = 0
        for track in self._tracks.values():
            self._drop_track(track)
        self._tracks.clear()
        try:
            async with asyncio.timeout(self.adapter.settings.connect_timeout):
                await self.consumer.stop()
        except Exception as error:  # closing must not fail
            logger.warning("closing %r: %s", self, error)
        self.adapter._forget(self)

    # -- rebalance -----------------------------------------------------------------------------------------

    async def _on_revoked(self) -> None:
        if self.closed:
            return
        self._remember_attempts()
        try:
            await self._commit_now(with_attempts=True)
        except Exception as error:
            logger.warning("%r: commit before rebalance failed: %s", self, error)

    async def _on_assigned(self, partitions: set[int]) -> None:
        if self.closed:
            return
        attempts = self.adapter._attempts
        for partition in list(self._tracks):
            track = self._tracks[partition]
            if partition in partitions:  # kept: no redelivery; aiokafka reset its position, restore ours
                held = attempts.get((self.group or "", self.topic, partition))
                if held:
                    for offset in track.pending:
                        held.pop(offset, None)
                self.consumer.seek(TopicPartition(self.topic, partition), track.next_fetch)
            else:
                self._drop_track(self._tracks.pop(partition))
        fresh = sorted(p for p in partitions if p not in self._tracks)
        if fresh:
            try:
                await self._adopt(fresh)
            except Exception as error:
                logger.error("%r: cannot start partitions %s: %s", self, fresh, error)
                self._failure = error
        self._assigned.set()
        self._signal.notify_all()

    async def _adopt(self, partitions: list[int]) -> None:
        group = self.group or ""
        committed = await self.adapter._committed_offsets(self.group_id or "", self.topic, partitions)
        pins: dict[TopicPartition, OffsetAndMetadata] = {}
        for partition in partitions:
            found = committed.get(partition)
            if found is None:
                start = self.starts[partition]
                pins[TopicPartition(self.topic, partition)] = OffsetAndMetadata(start, "")
            else:
                start, metadata = found
                remembered = decode_attempts(metadata)
                if remembered:
                    table = self.adapter._attempts.setdefault((group, self.topic, partition), {})
                    for offset, count in remembered.items():
                        table[offset] = max(count, table.get(offset, 0))
            self._take_partition(partition, start)
        if pins:  # the group's start is fixed when the group is created
            await self.consumer.commit(pins)

    def _drop_track(self, track: _Track) -> None:
        track.active = False
        for delivery in list(track.pending.values()):
            if delivery.state == HANDED or delivery.state == SETTLING:
                self._release()
            delivery.state = DROPPED
        track.pending.clear()
        first = next((run.records[run.next].offset for run in self._buffer if run.track is track), None)
        if first is not None:  # its buffered records go, and the frontier returns to what was handed out there
            self._buffered -= sum(len(run.records) - run.next for run in self._buffer if run.track is track)
            self._buffer = deque(run for run in self._buffer if run.track is not track)
            self._restate_frontier({track.partition: first - 1 if first > 0 else None})

    def _restate_frontier(self, changes: dict[int, int | None]) -> None:
        """Set frontier entries (``changes``: partition -> last offset passed) and redo the buffered runs'
        position texts to match.

        The frontier is advanced when a run is buffered, to where it will stand once the run is handed out. When
        the buffer changes otherwise — a partition dropped or (re)started by a rebalance — the frontier is
        rewound to what was handed out, then replayed over the runs still buffered."""
        frontier, seen = self._frontier, set()
        for run in self._buffer:  # a partition's first buffered record: everything before it was handed out
            partition = run.track.partition
            if partition not in seen:
                seen.add(partition)
                offset = run.records[run.next].offset
                frontier[partition] = offset - 1 if offset > 0 else None
        for partition, last in changes.items():
            frontier[partition] = last
        text = self._frontier_text
        text[:] = ["" if offset is None else str(offset) for offset in frontier]
        for run in self._buffer:
            self._advance(run)

    def _advance(self, run: _Run) -> None:
        """Give ``run`` its position texts from the frontier, then move the frontier past it."""
        partition, text = run.track.partition, self._frontier_text
        if len(text) == 1:
            run.prefix = f"{self.info.tag}:0:"
        else:
            run.prefix = f"{self.info.tag}:{partition}:" + "".join([entry + "." for entry in text[:partition]])
            run.suffix = "".join(["." + entry for entry in text[partition + 1:]])
        last = run.records[-1].offset
        self._frontier[partition] = last
        text[partition] = str(last)

    def _remember_attempts(self) -> None:
        for partition, track in self._tracks.items():
            if track.pending:
                table = self.adapter._attempts.setdefault((self.group or "", self.topic, partition), {})
                for offset, delivery in track.pending.items():
                    table[offset] = max(delivery.attempts_made, table.get(offset, 0))

    # -- fetching ------------------------------------------------------------------------------------------

    async def _pump(self) -> None:
        consumer, tracks = self.consumer, self._tracks
        batch = self.adapter.settings.fetch_batch
        while not self.closed:
            while self._buffered >= self._buffer_limit and not self.closed:
                await self._space.wait(None)
            try:
                fetched = await consumer.getmany(timeout_ms=1000, max_records=batch)
            except KafkaError as error:
                logger.warning("%r: fetch failed, retrying: %s", self, error)
                await self._space.wait(1.0)  # back off; close wakes it
                continue
            except Exception as error:
                logger.exception("%r: fetching stopped", self)
                self._failure = error
                self._signal.notify_all()
                return
            added = False
            for tp, records in fetched.items():
                track = tracks.get(tp.partition)
                if track is None or tp.topic != self.topic or not records:
                    continue
                if records[0].offset < track.next_fetch:  # fetched again after a reset
                    records = [raw for raw in records if raw.offset >= track.next_fetch]
                    if not records:
                        continue
                track.next_fetch = records[-1].offset + 1
                self._enqueue(track, records)
                added = True
            if added:
                self._signal.notify_all()

    def _enqueue(self, track: _Track, records: list[Any]) -> None:
        """Buffer fetched records (consecutive, of one partition) as one run."""
        held = self.adapter._attempts.get((self.group, self.topic, track.partition)) if self.group is not None \
            else None
        run = _Run(track, records, held or None)
        self._advance(run)
        self._buffer.append(run)
        self._buffered += len(records)

    def _hand_out_buffered(self) -> KafkaDelivery | None:
        """The next buffered record, handed out as a delivery, or ``None`` (the caller checked for room)."""
        buffer = self._buffer
        if not buffer:
            return None
        run = buffer[0]
        records, index = run.records, run.next
        raw = records[index]
        if index + 1 < len(records):
            run.next = index + 1
        else:
            buffer.popleft()
        self._buffered -= 1
        if self._space.waiters and self._buffered <= self._buffer_limit // 2:
            self._space.notify_all()
        offset, key, headers = raw.offset, raw.key, raw.headers
        if key is not None:
            key = key.decode("utf-8", "replace")
        if not headers:
            record = _new_tuple(Record, (self.channel, f"{run.prefix}{offset}{run.suffix}", raw.value or b"", key,
                                         NO_HEADERS))
        elif headers[0] == STRUCTURED_HEADER:  # as this adapter writes: decoded only if someone reads them
            record = _new_tuple(Record, (self.channel, f"{run.prefix}{offset}{run.suffix}", raw.value or b"", key,
                                         LazyHeaders(decode_headers, headers)))
        else:
            record = self._foreign_record(raw, f"{run.prefix}{offset}{run.suffix}", key)
        held = run.held
        return self._hand_out(KafkaDelivery(self, run.track, offset, record, held.pop(offset, 0) + 1 if held else 1))

    def _foreign_record(self, raw: Any, position: str, key: str | None) -> Record:
        """A record another producer wrote: binary mode (``ce_`` headers) is turned into structured mode."""
        headers = decode_headers(raw.headers)
        payload = raw.value if raw.value is not None else b""
        if BINARY_MARKER in headers and is_binary_mode(headers):
            payload, headers = binary_to_structured(raw.value, key, headers)
        return Record(self.channel, position, payload, key, headers)

    # -- handing out ---------------------------------------------------------------------------------------

    async def next(self) -> Delivery | None:
        ready = self.take_ready()  # the fast path
        if ready is not None:
            return ready
        loop = asyncio.get_running_loop()
        while not self.closed:
            if self._failure is not None:
                raise AdapterError(f"subscription to {self.topic!r} failed: {self._failure}") from self._failure
            timeout: float | None = None
            if self.in_flight < self.max_in_flight:
                now = loop.time()
                delivery = self._take(now)
                if delivery is not None:
                    return delivery
                if self._retry:
                    timeout = self._retry[0][0] - now
            await self._signal.wait(timeout)
        return None

    def take_ready(self) -> Delivery | None:
        """A fresh buffered record, when there is room and nothing is due for redelivery (that goes through
        ``next``, which knows the clock)."""
        if self.in_flight >= self.max_in_flight or self._retry or self.closed or self._failure is not None:
            return None
        return self._hand_out_buffered()

    def _take(self, now: float) -> KafkaDelivery | None:
        """The next delivery — a redelivery that is due first — handed out, or ``None``."""
        retry = self._retry
        while retry and retry[0][0] <= now:
            delivery = heapq.heappop(retry)[2]
            if delivery.state == RETRY:
                return self._hand_out(delivery)
        return self._hand_out_buffered()

    def _hand_out(self, delivery: KafkaDelivery) -> KafkaDelivery:
        delivery.state = HANDED
        delivery._track.pending[delivery.offset] = delivery
        self.in_flight += 1
        counters = self._counters
        counters.delivered += 1
        counters.in_flight += 1
        return delivery

    # -- settling ------------------------------------------------------------------------------------------

    def _release(self) -> None:
        """One delivery fewer in flight."""
        self.in_flight -= 1
        self._counters.in_flight -= 1
        if self._signal.waiters:
            self._signal.notify_all()

    def _settle(self, delivery: KafkaDelivery) -> None:
        """``delivery`` (handed out or being dead-lettered, checked by the caller) is done with."""
        delivery.state = DONE
        self._release()
        del delivery._track.pending[delivery.offset]
        if self.group is not None and not self._unsaved:
            self._unsaved = True
            self._settled.notify_all()

    def _requeue(self, delivery: KafkaDelivery, delay: float) -> None:
        """Settle ``delivery`` for its holder and hand the record out again after ``delay`` (attempt + 1)."""
        self._release()
        delivery.state = DONE
        again = KafkaDelivery(self, delivery._track, delivery.offset, delivery.record, delivery.attempt + 1)
        again.state = RETRY
        delivery._track.pending[delivery.offset] = again
        loop = asyncio.get_running_loop()
        heapq.heappush(self._retry, (loop.time() + delay, next(self._sequence), again))
        if delay > 0:
            loop.call_later(delay, self._signal.notify_all)

    # -- committing ----------------------------------------------------------------------------------------

    async def _committer(self) -> None:
        interval = self.adapter.settings.commit_interval_ms / 1000
        while not self.closed:
            if not self._unsaved:
                await self._settled.wait(None)  # close cancels this task
                continue
            self._unsaved = False
            try:
                await self._commit_now()
            except Exception as error:
                logger.warning("%r: commit failed (the events will be redelivered): %s", self, error)
            if interval > 0:
                await asyncio.sleep(interval)  # pacing: acks arriving meanwhile go into one commit

    async def flush(self) -> None:
        """Commit every settled offset now."""
        if not self.closed:
            await self._commit_now()

    def _commit_point(self, track: _Track) -> int:
        """The first offset of ``track`` not settled: everything below it may be committed."""
        for offset in track.pending:  # the lowest unsettled offset handed out
            return offset
        for run in self._buffer:  # else the first one not handed out yet
            if run.track is track:
                return int(run.records[run.next].offset)
        return track.next_fetch

    async def _commit_now(self, *, with_attempts: bool = False) -> None:
        async with self._commit_lock:
            offsets: dict[TopicPartition, OffsetAndMetadata] = {}
            for partition, track in self._tracks.items():
                point = self._commit_point(track)
                metadata = encode_attempts((o, d.attempts_made) for o, d in track.pending.items()) \
                    if with_attempts else ""
                if point > track.committed or metadata:
                    offsets[TopicPartition(self.topic, partition)] = OffsetAndMetadata(point, metadata)
            if not offsets:
                return
            await self.consumer.commit(offsets)
            for tp, committed in offsets.items():
                held = self._tracks.get(tp.partition)
                if held is not None and committed.offset > held.committed:
                    held.committed = committed.offset


class KafkaDelivery(Delivery):
    """One hand-over of a record: the subscription's bookkeeping (pending, retry, settling) works on this object.
    A nack settles it for its holder and puts a new delivery of the same record (``attempt`` + 1) in line, so the
    old one stays settled."""

    __slots__ = ("_subscription", "_track", "attempt", "offset", "record", "state")

    def __init__(self, subscription: KafkaSubscription, track: _Track, offset: int, record: Record,
                 attempt: int) -> None:
        self._subscription = subscription
        self._track = track
        self.offset = offset
        self.record = record
        self.attempt = attempt
        self.state = HANDED

    @property
    def attempts_made(self) -> int:
        """Deliveries of this record so far (one fewer than ``attempt`` while it waits to be handed out again)."""
        return self.attempt - 1 if self.state == RETRY else self.attempt

    async def ack(self) -> None:
        self.ack_now()

    def ack_now(self) -> bool:
        if self.state == HANDED:  # else settled already, or dropped with its partition
            subscription = self._subscription
            subscription._settle(self)
            subscription._counters.acked += 1
        return True

    async def nack(self, delay: float = 0.0) -> None:
        if self.state != HANDED:
            return
        subscription = self._subscription
        subscription._recorder.add(self.record.channel, "retried")
        subscription._requeue(self, max(0.0, delay))

    async def dead_letter(self, error: str) -> None:
        if self.state != HANDED:
            return
        self.state = SETTLING
        subscription = self._subscription
        try:
            await subscription.adapter.dead_letter_record(self.record, error, attempt=self.attempt,
                                                          group=subscription.group)
        except Exception:
            if self.state == SETTLING:
                subscription._requeue(self, 1.0)  # try again later rather than lose it
            raise
        if self.state == SETTLING:  # not dropped with its partition meanwhile
            subscription._settle(self)
