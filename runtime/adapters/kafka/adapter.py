"""The Kafka adapter (aiokafka): one topic per channel, keyed partitions, consumer groups, a dead-letter topic.

Topics
  Channel ``c`` is topic ``PUBSUB_KAFKA_TOPIC_TEMPLATE.format(channel=c)`` (default ``pubsub.c``); its dead
  letters go to the topic of channel ``c.dead-letter``. Missing topics are created at ``start`` with the
  channel options ``partitions`` (default 1) and ``replication_factor`` (default from the settings); an
  existing topic keeps its partition count (a mismatch is logged, never "fixed": adding partitions would move
  keys). Channel option ``dead_letter = false`` drops dead letters instead (logged, counted as dead-lettered).

Publishing
  ``acks=all``; the envelope's partition key is the record key, so one key's events keep their order (the
  default murmur2 partitioner, as every Kafka client). Idempotence is a setting (``PUBSUB_KAFKA_IDEMPOTENCE``)
  because tansu 0.6 refuses ``InitProducerId``. A publish that cannot complete within ``publish_timeout``
  (broker unreachable) raises ``AdapterError`` saying so. ``publish_many`` is all-or-nothing **per partition**
  (one record batch per partition, checked before anything is sent; keyless messages of one call share a
  partition); across partitions Kafka offers atomicity only through transactions, which this adapter does not
  use (tansu has none): a batch that fails on one partition after another was stored raises ``PartialPublish``
  listing what was stored. See ``producer.py``.

Consuming
  Fan-out subscriptions read every partition without a group, from ``start``. Group subscriptions are
  consumer-group members committing only settled offsets (at least once); see ``consumer.py`` for commits,
  rebalances and attempts. A dead-lettered record is appended (awaited, ``acks=all``) to the dead-letter topic
  with ``x-error``, ``x-original-channel`` and ``x-original-position`` headers before its offset may be
  committed, so the partition moves on and nothing is lost.

Positions
  ``<topic tag>:<partition>:<offset frontier of every partition>``; see ``positions.py``.

Workarounds for tansu 0.6 (all harmless on Kafka)
  * ``ListOffsets(latest)`` answers "base offset of the last record batch + 1", wrong after a multi-record batch:
    ends are confirmed with a fetch's high watermark (``PUBSUB_KAFKA_PROBE_END_OFFSETS``).
  * Commit metadata is not stored: attempt counts survive a member leaving only within one process.
  * ``OffsetFetch`` for "all partitions" (null topics) breaks the connection: partitions are always listed.
  * Every rebalance waits half the session timeout: keep ``PUBSUB_KAFKA_SESSION_TIMEOUT_MS`` low in tests.
  * A group id reused after its members left now and then never completes a SyncGroup for a new member (the
    group's leader is a departed member): tests give every adapter its own ``PUBSUB_KAFKA_GROUP_TEMPLATE``.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from ...catalog import ChannelSpec
from ...errors import AdapterError, InvalidPosition
from ..base import (
    Adapter,
    Capabilities,
    Health,
    Message,
    Record,
    StartAt,
    Subscription,
    dead_letter_channel,
    dead_letter_headers,
    redrive_channel,
    served_channel,
)
from .consumer import KafkaSubscription
from .headers import CONTENT_TYPE_HEADER, binary_to_structured, decode_headers, is_binary_mode
from .positions import encode_position, parse_position, topic_tag
from .producer import KafkaPublisher
from .settings import KafkaSettings

logger = logging.getLogger("hipponot_pubsub.runtime.adapters.kafka")

TOPIC_EXISTS = 36
READER_FETCH_WAIT_MS = 10  # the history/offsets reader fetches in short bursts; never hold it long


class TopicInfo:
    """A channel's topic: name, partition count and the newest offsets this adapter knows of."""

    __slots__ = ("channel", "dead_letter", "known", "name", "partitions", "replication", "tag")

    def __init__(self, channel: str, name: str, partitions: int, replication: int, dead_letter: bool) -> None:
        self.channel = channel
        self.name = name
        self.tag = topic_tag(name)
        self.partitions = partitions
        self.replication = replication
        self.dead_letter = dead_letter
        self.known: list[int | None] = [None] * partitions  # last offset known stored, per partition

    def note(self, partition: int, offset: int) -> str:
        """Remember a stored offset and return its position (the frontier: what this process knows)."""
        known = self.known
        last = known[partition]
        if last is None or last < offset:
            known[partition] = offset
        if self.partitions == 1:
            return f"{self.tag}:0:{offset}"
        return encode_position(self.tag, partition, offset, known)


class KafkaAdapter(Adapter):
    """Channels as Kafka topics. See the module docstring."""

    kind = "kafka"
    capabilities = Capabilities(history=True, groups=True, durable=True, redrive=True)

    def __init__(self, channels: Sequence[ChannelSpec], *, settings: KafkaSettings | None = None) -> None:
        super().__init__(channels)
        self.settings = settings or KafkaSettings.from_env()
        self._topics: dict[str, TopicInfo] = {}
        for spec in channels:
            options = spec.options
            partitions = int(options.get("partitions", 1))
            if partitions < 1:
                raise ValueError(f"channel {spec.name!r}: partitions must be at least 1")
            replication = int(options.get("replication_factor", self.settings.replication_factor))
            dead = dead_letter_channel(spec.name)
            self._topics[spec.name] = TopicInfo(spec.name, self.settings.topic(spec.name), partitions, replication,
                                                bool(options.get("dead_letter", True)))
            self._topics[dead] = TopicInfo(dead, self.settings.topic(dead), partitions, replication, False)
            side = redrive_channel(spec.name)
            self._topics[side] = TopicInfo(side, self.settings.topic(side), partitions, replication,
                                           self._topics[spec.name].dead_letter)
        self._publisher = KafkaPublisher(self.settings)
        self._admin: AIOKafkaAdminClient | None = None
        self._reader: AIOKafkaConsumer | None = None
        self._reader_lock = asyncio.Lock()
        self._coordinators: dict[str, int] = {}
        self._subscriptions: set[KafkaSubscription] = set()
        #: (group, topic, partition) -> {offset: attempts so far} of records whose holder left the group
        self._attempts: dict[tuple[str, str, int], dict[int, int]] = {}
        self._started = False
        self._closed = False

    # -- life cycle ----------------------------------------------------------------------------------------

    def _where(self) -> str:
        return f"Kafka at {self.settings.bootstrap_servers}"

    async def start(self) -> None:
        if self._started:
            return
        timeout = self.settings.connect_timeout
        try:
            async with asyncio.timeout(timeout):
                await self._publisher.start()
                self._admin = AIOKafkaAdminClient(**self.settings.client_kwargs(f"{self.settings.client_id}-admin"))
                await self._admin.start()
                self._reader = AIOKafkaConsumer(**self.settings.client_kwargs(f"{self.settings.client_id}-reader"),
                                                enable_auto_commit=False, auto_offset_reset="earliest",
                                                fetch_max_wait_ms=READER_FETCH_WAIT_MS)
                await self._reader.start()
                await self._ensure_topics()
        except TimeoutError:
            await self._shutdown()
            raise AdapterError(f"could not reach {self._where()} within {timeout:g}s") from None
        except KafkaError as error:
            await self._shutdown()
            raise AdapterError(f"could not start the Kafka adapter ({self._where()}): {error}") from error
        except BaseException:
            await self._shutdown()
            raise
        self._started = True

    async def _ensure_topics(self) -> None:
        assert self._admin is not None
        existing = set(await self._admin.list_topics())
        missing = [t for t in self._topics.values() if t.name not in existing]
        if missing and not self.settings.create_topics:
            raise AdapterError(f"topics missing and PUBSUB_KAFKA_CREATE_TOPICS is off: {[t.name for t in missing]}")
        if missing:
            response = await self._admin.create_topics(
                [NewTopic(t.name, t.partitions, t.replication) for t in missing]
            )
            for name, code, message in getattr(response, "topic_errors", ()):
                if code not in (0, TOPIC_EXISTS):
                    raise AdapterError(f"cannot create topic {name!r}: error {code} {message or ''}".strip())
        for info in self._topics.values():
            partitions = len(await self._publisher.producer.partitions_for(info.name))
            if partitions != info.partitions:
                logger.warning("topic %r has %d partitions, channel %r asks for %d: using %d", info.name, partitions,
                               info.channel, info.partitions, partitions)
                info.partitions = partitions
                info.known = [None] * partitions
            if partitions > 1:  # publish positions carry the other partitions' ends
                ends = await self._end_offsets(info)
                info.known = [end - 1 if end > 0 else None for end in ends]

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for subscription in list(self._subscriptions):
            await subscription.close()
        await self._shutdown()

    async def _shutdown(self) -> None:
        for closing in (self._publisher.stop, getattr(self._reader, "stop", None), getattr(self._admin, "close", None)):
            if closing is None:
                continue
            try:
                async with asyncio.timeout(self.settings.connect_timeout):
                    await closing()
            except Exception as error:  # closing must not fail
                logger.warning("closing the Kafka adapter: %s", error)

    def _forget(self, subscription: KafkaSubscription) -> None:
        self._subscriptions.discard(subscription)

    def _topic(self, channel: str) -> TopicInfo:
        return served_channel(self._topics, channel, adapter="Kafka", started=self._started, closed=self._closed)

    # -- publishing ----------------------------------------------------------------------------------------

    async def publish(self, channel: str, message: Message) -> str:
        info = self._topic(channel)
        started = time.perf_counter()
        partition, offset = await self._publisher.send_one(info.name, message)
        self.recorder.observe_publish(channel, time.perf_counter() - started)
        return info.note(partition, offset)

    async def publish_many(self, channel: str, messages: Sequence[Message]) -> list[str]:
        info = self._topic(channel)
        if not messages:
            return []
        started = time.perf_counter()
        try:
            stored = await self._publisher.send_many(info.name, messages, info.partitions)
        except AdapterError:
            self.recorder.add(channel, "errors")
            raise
        self.recorder.observe_publish(channel, time.perf_counter() - started, len(messages))
        return [info.note(partition, offset) for partition, offset in stored]

    async def dead_letter_record(self, record: Record, error: str, *, attempt: int, group: str | None) -> None:
        """Append ``record`` with ``error`` to its channel's dead-letter topic (the subscriptions' dead letters)."""
        info = self._topics[record.channel]
        if not info.dead_letter:
            logger.warning("dropping %s@%s (channel option dead_letter = false): %s", record.channel, record.position,
                           error)
            self.recorder.add(record.channel, "dead_lettered")
            return
        headers = dead_letter_headers(record, error, {name: value for name, value in record.headers.items()
                                                      if name != CONTENT_TYPE_HEADER}, attempt=attempt, group=group)
        dead = self._topics[dead_letter_channel(record.channel)]
        partition, offset = await self._publisher.send_one(dead.name, Message(record.payload, record.key, headers))
        dead.note(partition, offset)
        self.recorder.add(record.channel, "dead_lettered")

    # -- offsets -------------------------------------------------------------------------------------------

    def _partitions(self, info: TopicInfo) -> list[TopicPartition]:
        return [TopicPartition(info.name, p) for p in range(info.partitions)]

    async def _beginning_offsets(self, info: TopicInfo) -> list[int]:
        assert self._reader is not None
        found = await self._reader.beginning_offsets(self._partitions(info))
        return [int(found[tp]) for tp in self._partitions(info)]

    async def _end_offsets(self, info: TopicInfo) -> list[int]:
        """The offset after the newest record, per partition (confirmed by a fetch: see the module docstring)."""
        reader = self._reader
        assert reader is not None
        partitions = self._partitions(info)
        async with self._reader_lock:
            reported = await reader.end_offsets(partitions)
            ends = {tp: int(reported[tp]) for tp in partitions}
            probe = [tp for tp in partitions if ends[tp] > 0] if self.settings.probe_end_offsets else []
            if probe:
                reader.assign(probe)
                for tp in probe:
                    reader.seek(tp, ends[tp] - 1)
                waiting = set(probe)
                try:
                    async with asyncio.timeout(self.settings.connect_timeout):
                        while waiting:
                            fetched = await reader.getmany(*waiting, timeout_ms=1000)
                            for tp, records in fetched.items():
                                highwater = reader.highwater(tp) or 0
                                ends[tp] = max(ends[tp], highwater, records[-1].offset + 1 if records else 0)
                                waiting.discard(tp)
                except TimeoutError:
                    raise AdapterError(f"reading the end of {info.name!r} from {self._where()} timed out") from None
                finally:
                    reader.assign([])
        return [ends[tp] for tp in partitions]

    async def _start_offsets(self, info: TopicInfo, start: StartAt) -> list[int]:
        """Where a new subscription (or a new group) starts reading, per partition."""
        after = None
        if start.kind == "after":
            after = parse_position(start.position or "", info.name, info.partitions)
        if start.kind == "latest":
            return await self._end_offsets(info)
        beginnings = await self._beginning_offsets(info)
        if after is None:
            return beginnings
        return await self._resume_offsets(info, after.resume_offsets(info.partitions), beginnings)

    async def _resume_offsets(self, info: TopicInfo, wanted: list[int | None], beginnings: list[int]) -> list[int]:
        ends = await self._end_offsets(info)
        for partition, (offset, end) in enumerate(zip(wanted, ends, strict=True)):
            if offset is not None and offset > end:
                raise InvalidPosition(f"the position is ahead of partition {partition} of {info.name!r} (end {end})")
        return [max(b, w) if w is not None else b for w, b in zip(wanted, beginnings, strict=True)]

    async def _coordinator(self, group: str, refresh: bool = False) -> int:
        assert self._admin is not None
        if refresh or group not in self._coordinators:
            self._coordinators[group] = await self._admin.find_coordinator(group)
        return self._coordinators[group]

    async def _committed_offsets(self, group: str, topic: str, partitions: Sequence[int]) -> dict[int, tuple[int, str]]:
        """The group's committed offset and metadata per partition (partitions without a commit are absent)."""
        assert self._admin is not None
        tps = [TopicPartition(topic, p) for p in partitions]
        for attempt in range(2):
            try:
                found = await self._admin.list_consumer_group_offsets(
                    group, group_coordinator_id=await self._coordinator(group, refresh=attempt > 0), partitions=tps
                )
                break
            except KafkaError:
                if attempt:
                    raise
        return {tp.partition: (int(c.offset), c.metadata or "") for tp, c in found.items() if c.offset >= 0}

    # -- consuming -----------------------------------------------------------------------------------------

    async def subscribe(
        self,
        channel: str,
        *,
        group: str | None = None,
        consumer: str | None = None,
        start: StartAt = StartAt.LATEST,
        max_in_flight: int = 1,
    ) -> Subscription:
        info = self._topic(channel)
        starts = await self._start_offsets(info, start)
        subscription = KafkaSubscription(self, info, group, consumer, starts, max(1, max_in_flight))
        self._subscriptions.add(subscription)
        try:
            await subscription.open()  # bounded by its own timeouts; closes itself when it fails
        except KafkaError as error:
            raise AdapterError(f"subscribing to {info.name!r} on {self._where()} failed: {error}") from error
        return subscription

    async def history(self, channel: str, *, after: str | None = None, limit: int = 100) -> list[Record]:
        info = self._topic(channel)
        position = None if after is None else parse_position(after, info.name, info.partitions)
        if limit <= 0:
            return []
        beginnings = await self._beginning_offsets(info)
        starts = beginnings if position is None else await self._resume_offsets(
            info, position.resume_offsets(info.partitions), beginnings)
        ends = await self._end_offsets(info)
        per_partition = await self._read(info, starts, ends, limit)
        frontier: list[int | None] = [start - 1 if start > 0 else None for start in starts]
        if info.partitions > 1:
            merged = list(heapq.merge(*per_partition, key=lambda r: (r.timestamp, r.partition, r.offset)))[:limit]
        else:
            merged = per_partition[0]
        result = []
        for raw in merged:
            frontier[raw.partition] = raw.offset
            result.append(self._record(info, raw, encode_position(info.tag, raw.partition, raw.offset, frontier)))
        return result

    async def _read(self, info: TopicInfo, starts: list[int], ends: list[int], limit: int) -> list[list[Any]]:
        """Up to ``limit`` records from each partition, from ``starts`` to ``ends``."""
        reader = self._reader
        assert reader is not None
        partitions = self._partitions(info)
        collected: list[list[Any]] = [[] for _ in partitions]
        waiting = {tp for tp in partitions if starts[tp.partition] < ends[tp.partition]}
        if not waiting:
            return collected
        async with self._reader_lock:
            reader.assign(list(waiting))
            for tp in waiting:
                reader.seek(tp, starts[tp.partition])
            try:
                async with asyncio.timeout(self.settings.publish_timeout):
                    while waiting:
                        fetched = await reader.getmany(*waiting, timeout_ms=1000, max_records=max(limit, 100))
                        for tp, raws in fetched.items():
                            taken, end = collected[tp.partition], ends[tp.partition]
                            for raw in raws:
                                if raw.offset >= end or len(taken) >= limit:
                                    break
                                taken.append(raw)
                            if len(taken) >= limit or (raws and raws[-1].offset + 1 >= end):
                                waiting.discard(tp)
            except TimeoutError:
                raise AdapterError(f"reading history of {info.name!r} from {self._where()} timed out") from None
            finally:
                reader.assign([])
        return collected

    def _record(self, info: TopicInfo, raw: Any, position: str) -> Record:
        key = None if raw.key is None else raw.key.decode("utf-8", "replace")
        headers = decode_headers(raw.headers) if raw.headers else {}
        payload = raw.value if raw.value is not None else b""
        if headers and is_binary_mode(headers):
            payload, headers = binary_to_structured(raw.value, key, headers)
        return Record(info.channel, position, payload, key, headers)

    async def last_position(self, channel: str) -> str | None:
        info = self._topic(channel)
        ends = await self._end_offsets(info)
        if not any(ends):
            return None
        newest = max(range(info.partitions), key=lambda p: ends[p])
        frontier = [end - 1 if end > 0 else None for end in ends]
        return encode_position(info.tag, newest, ends[newest] - 1, frontier)

    async def committed_position(self, channel: str, group: str) -> str | None:
        info = self._topic(channel)
        for subscription in list(self._subscriptions):
            if subscription.topic == info.name and subscription.group == group:
                await subscription.flush()
        committed = await self._committed_offsets(self.settings.group_id(group), info.name, range(info.partitions))
        frontier: list[int | None] = [None] * info.partitions
        for partition, (offset, _) in committed.items():
            frontier[partition] = offset - 1 if offset > 0 else None
        held = [p for p, offset in enumerate(frontier) if offset is not None]
        if not held:
            return None
        newest = max(held, key=lambda p: frontier[p] or 0)
        return encode_position(info.tag, newest, frontier[newest] or 0, frontier)

    # -- operations ----------------------------------------------------------------------------------------

    async def health(self) -> Health:
        if self._closed or not self._started or self._admin is None:
            return Health(False, "closed" if self._closed else "not started")
        try:
            async with asyncio.timeout(min(5.0, self.settings.connect_timeout)):
                cluster = await self._admin.describe_cluster()
        except (TimeoutError, KafkaError, OSError) as error:
            return Health(False, f"{self._where()} unreachable: {type(error).__name__} {error}".strip())
        brokers = len(cluster.get("brokers", ())) if isinstance(cluster, dict) else 0
        return Health(True, f"{self._where()}: {brokers} broker(s)")


def adapter_factory(channels: Sequence[ChannelSpec], **options: Any) -> KafkaAdapter:
    """The ``AdapterFactory`` for kind ``"kafka"`` (settings from the environment unless ``settings=`` is given)."""
    return KafkaAdapter(channels, **options)
