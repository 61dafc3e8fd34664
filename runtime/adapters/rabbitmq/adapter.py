"""The RabbitMQ adapter (aio-pika): a stream queue per channel for the log, a quorum queue per group.

Topology (created at ``start``; every name from ``PUBSUB_RABBITMQ_NAME_TEMPLATE``, default ``pubsub.{channel}``)
  Channel ``c`` is a durable **fanout exchange** ``pubsub.c`` bound to a **stream queue** ``pubsub.c``
  (``x-queue-type: stream``): the channel's log, read non-destructively by offset. That gives history, positions
  that resume (stream offsets, see ``positions.py``) and fan-out (every subscription is its own stream consumer).
  Its dead letters go to channel ``c.dead-letter``, built the same way (so they have history too). Channel
  options ``max_length_bytes`` and ``max_age`` (e.g. ``"7D"``) set the stream's retention
  (``x-max-length-bytes``, ``x-max-age``); without them RabbitMQ keeps everything.

  Group ``g`` is a **quorum queue** ``pubsub.c.group.g`` bound to the exchange: RabbitMQ's competing consumers
  (each message to one member), acks, requeue with ``x-delivery-count`` (the attempt). A message the queue
  counts as delivered ``delivery_limit`` times and returned unsettled each time (channel option, default 20:
  a poison event that kills its consumer every time) is moved to ``c.dead-letter`` with an ``x-error`` by
  the member that receives it next, not handed to a handler. (Not the queue's own ``x-delivery-limit``:
  RabbitMQ 3.10 did not dead-letter from a quorum queue into a stream here, so that limit would drop the
  message.) It outlives its members: a new member gets exactly what is still queued or unsettled. A group
  created with ``StartAt.EARLIEST`` or ``after(p)`` has the retained events from there copied into its queue
  once (at least once: an event published while the group is created can come twice); the queue keeps the
  group's start from then on.

Why not classic queues for channels: a classic queue forgets a message once it is consumed and has no offsets,
so it can give neither history nor a position to resume from; the adapter never uses one as a log (classic
queues only hold delayed retries).

Publishing
  Persistent messages with publisher confirms; the position is learned from the stream (``tail.py``), so an
  awaited ``publish`` is a confirm plus the stream's delivery of the message to this process's tail reader.
  ``publish_many`` uses an AMQP transaction (``tx.select`` … ``tx.commit``): nothing of the batch is routed
  before the commit, so a batch whose connection fails is stored not at all. RabbitMQ's transactions are
  atomic only per queue and not across a broker crash *during* the commit (its documentation says so): a crash
  at that instant can leave a batch stored in the stream and not in a group queue, or in part. That is the
  strongest AMQP 0-9-1 offers.

Delays and dead letters
  ``nack(delay)`` of a group delivery appends a copy (same message id, attempt and position in headers) to a
  durable classic queue ``pubsub.c.group.g.retry.<ms>`` whose ``x-message-ttl`` is the delay (rounded up to two
  significant digits, so a few queues serve all delays) and whose dead-letter target is the group queue; then it
  acks the original. Both are durable, so the delay survives a crash of this process or of RabbitMQ; a crash
  between the two redelivers early once (at least once). ``dead_letter(error)`` appends the record with
  ``x-error``, ``x-original-channel`` and ``x-original-position`` to the dead-letter channel (confirmed) before
  acking the original.

Committed positions
  RabbitMQ does not expose which offsets a queue still holds, so a group's committed position is what this
  process knows: the newest offset such that every delivery handed out here at or before it was settled (an
  event handed out and returned to the queue unsettled holds it back until it is settled here). Across
  processes the queue itself is the committed state: a new member anywhere resumes from what is unsettled.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, AbstractIncomingMessage
from aiormq.exceptions import AMQPError, ChannelNotFoundEntity

from ...catalog import ChannelSpec
from ...errors import AdapterError, InvalidPosition
from ..base import (
    DEAD_LETTER_SUFFIX,
    Adapter,
    Capabilities,
    Health,
    Message,
    Record,
    StartAt,
    Subscription,
    dead_letter_channel,
    dead_letter_headers,
    served_channel,
)
from ..lazyheaders import LazyHeaders
from .headers import (
    ATTEMPT_HEADER,
    KEY_HEADER,
    POSITION_HEADER,
    STRUCTURED_CONTENT_TYPE,
    binary_to_structured,
    decode_dead_letter_headers,
    decode_headers,
    encode_headers,
    is_binary_mode,
)
from .positions import parse_position, stream_tag
from .settings import RabbitMQSettings
from .subscription import GroupSubscription, StreamSubscription, _BaseSubscription
from .tail import CLOCK_SKEW, MessageIds, StreamTail, marker, read_stream

logger = logging.getLogger("hipponot_pubsub.runtime.adapters.rabbitmq")

DEFAULT_DELIVERY_LIMIT = 20
PERSISTENT = aio_pika.DeliveryMode.PERSISTENT
#: A delay queue unused for this long past its delay is deleted by RabbitMQ (``x-expires``).
RETRY_QUEUE_IDLE_MS = 600_000
RECOVERABLE = (AMQPError, ConnectionError, OSError, RuntimeError)


@dataclass
class GroupState:
    """This process's view of a group's settled offsets (see "Committed positions" in the module docstring)."""

    queue: str
    delivery_limit: int = 20
    pending: set[int] = field(default_factory=set)  # handed out here, not settled yet
    settled_offsets: set[int] = field(default_factory=set)
    committed: int | None = None
    _settles: int = 0

    def handed_out(self, offset: int) -> None:
        self.pending.add(offset)

    def settled(self, offset: int) -> None:
        self.pending.discard(offset)
        self.settled_offsets.add(offset)
        self._settles += 1
        if self._settles >= 1024:  # amortised pruning keeps the set to what is above the committed offset
            self.commit()

    def commit(self) -> int | None:
        self._settles = 0
        low = min(self.pending) if self.pending else math.inf
        below = [offset for offset in self.settled_offsets if offset < low]
        if below:
            newest = max(below)
            if self.committed is None or newest > self.committed:
                self.committed = newest
            self.settled_offsets.difference_update(below)
        return self.committed


class ChannelInfo:
    """A channel's stream, exchange, position tag and tail follower."""

    def __init__(self, channel: str, stream: str, options: dict[str, Any], settings: RabbitMQSettings) -> None:
        self.channel = channel
        self.stream = stream
        self.tag = stream_tag(stream)
        self.options = options
        self.dead_letter = channel.endswith(DEAD_LETTER_SUFFIX)
        self.tail = StreamTail(stream, settings.index_size, settings.fetch_batch)
        self.exchange: AbstractExchange | None = None
        self.tx_exchange: AbstractExchange | None = None

    def position(self, offset: int) -> str:
        return f"{self.tag}:{offset}"


class RabbitMQAdapter(Adapter):
    """Channels as RabbitMQ streams, groups as quorum queues. See the module docstring."""

    kind = "rabbitmq"
    capabilities = Capabilities(history=True, groups=True, durable=True)

    def __init__(self, channels: Sequence[ChannelSpec], *, settings: RabbitMQSettings | None = None) -> None:
        super().__init__(channels)
        self.settings = settings or RabbitMQSettings.from_env()
        self._channels: dict[str, ChannelInfo] = {}
        for spec in channels:
            for name, options in ((spec.name, dict(spec.options)), (dead_letter_channel(spec.name), {})):
                if name in self._channels:
                    continue
                for option in ("max_length_bytes", "max_age"):
                    if option in spec.options:
                        options[option] = spec.options[option]
                self._channels[name] = ChannelInfo(name, self.settings.name(name), options, self.settings)
        self._connection: AbstractConnection | None = None
        self._publisher: AbstractChannel | None = None
        self._tx: AbstractChannel | None = None
        self._tx_lock = asyncio.Lock()
        self._group_lock = asyncio.Lock()
        self._groups: dict[tuple[str, str], GroupState] = {}
        self._retry_queues: dict[str, float] = {}  # declared delay queue -> when (monotonic)
        self._subscriptions: set[_BaseSubscription] = set()
        self._ids = MessageIds()
        self._started = False
        self._closed = False

    # -- life cycle ----------------------------------------------------------------------------------------

    def connection(self) -> AbstractConnection:
        if self._connection is None or self._connection.is_closed:
            raise AdapterError(f"the RabbitMQ adapter has no connection to {self.settings.where()}")
        return self._connection

    async def start(self) -> None:
        if self._started:
            return
        timeout = self.settings.connect_timeout
        try:
            async with asyncio.timeout(timeout):
                self._connection = await aio_pika.connect(
                    self.settings.connection_url(), ssl_context=self.settings.ssl_context(), timeout=timeout,
                    client_properties={"connection_name": f"hipponot-pubsub {self._ids.prefix}"},
                )
                await self._open_channels()
                for info in self._channels.values():
                    await self._declare_recovering(info)
        except TimeoutError:
            await self._shutdown()
            raise AdapterError(f"could not reach {self.settings.where()} within {timeout:g}s") from None
        except (AMQPError, ConnectionError, OSError) as error:
            await self._shutdown()
            raise AdapterError(f"could not start the RabbitMQ adapter ({self.settings.where()}): "
                               f"{type(error).__name__}: {error}") from error
        except BaseException:
            await self._shutdown()
            raise
        self._started = True

    async def _open_channels(self) -> None:
        assert self._connection is not None
        self._publisher = await self._connection.channel(publisher_confirms=True)
        self._tx = await self._connection.channel(publisher_confirms=False)
        await self._tx.transaction().select()

    async def _declare_recovering(self, info: ChannelInfo) -> None:
        """``_declare``, retried while RabbitMQ reports the queue's node "down or inaccessible": right after a
        restart, a durable queue (a stream recovering its log) is refused for a moment. The error closed our
        channels, so they are reopened; the pause doubles from 50 ms up to 1 s (``start``'s timeout bounds all)."""
        pause = 0.05
        while True:
            try:
                await self._declare(info)
                return
            except ChannelNotFoundEntity as error:
                if "down or inaccessible" not in str(error):
                    raise
                logger.info("%s: %s; retrying", self.settings.where(), error)
            await asyncio.sleep(pause)
            pause = min(1.0, pause * 2)
            await self._open_channels()

    async def _declare(self, info: ChannelInfo) -> None:
        assert self._publisher is not None and self._tx is not None and self._connection is not None
        arguments: dict[str, Any] = {"x-queue-type": "stream"}
        if "max_length_bytes" in info.options:
            arguments["x-max-length-bytes"] = int(info.options["max_length_bytes"])
        if "max_age" in info.options:
            arguments["x-max-age"] = str(info.options["max_age"])
        info.exchange = await self._publisher.declare_exchange(info.stream, aio_pika.ExchangeType.FANOUT,
                                                               durable=True)
        stream = await self._publisher.declare_queue(info.stream, durable=True, arguments=arguments)
        await stream.bind(info.exchange)
        info.tx_exchange = await self._tx.get_exchange(info.stream, ensure=False)
        await info.tail.open(self._connection)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for subscription in list(self._subscriptions):
            await subscription.close()
        await self._shutdown()

    async def _shutdown(self) -> None:
        for info in self._channels.values():
            await info.tail.close()
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                async with asyncio.timeout(self.settings.connect_timeout):
                    await connection.close()
            except Exception as error:  # closing must not fail
                logger.warning("closing the RabbitMQ adapter: %s", error)

    async def delete_topology(self) -> None:
        """Delete the exchanges and queues this adapter declared or used (streams, group and delay queues),
        with everything they hold: for tests and scratch environments, never called by the adapter itself."""
        connection = self.connection()
        names = [state.queue for state in self._groups.values()] + list(self._retry_queues)
        channel = await connection.channel()
        try:
            for name in names:
                await channel.queue_delete(name)
            for info in self._channels.values():
                await channel.queue_delete(info.stream)
                await channel.exchange_delete(info.stream)
        finally:
            with contextlib.suppress(Exception):
                await channel.close()

    def _forget(self, subscription: _BaseSubscription) -> None:
        self._subscriptions.discard(subscription)

    def _info(self, channel: str) -> ChannelInfo:
        return served_channel(self._channels, channel, adapter="RabbitMQ", started=self._started, closed=self._closed)

    # -- publishing ----------------------------------------------------------------------------------------

    def _message(self, message: Message, mid: str) -> aio_pika.Message:
        return aio_pika.Message(message.payload, headers=encode_headers(message.headers, message.key),
                                content_type=STRUCTURED_CONTENT_TYPE, delivery_mode=PERSISTENT, message_id=mid,
                                timestamp=time.time())

    async def publish(self, channel: str, message: Message) -> str:
        info = self._info(channel)
        assert info.exchange is not None
        started = time.perf_counter()
        mid = self._ids.next()
        stored = info.tail.expect(mid)
        try:
            async with asyncio.timeout(self.settings.publish_timeout):
                await info.exchange.publish(self._message(message, mid), routing_key=message.key or "")
                offset, _ = await stored
        except TimeoutError:
            info.tail.forget(mid)
            self.recorder.add(channel, "errors")
            raise AdapterError(f"publishing to {info.stream!r} on {self.settings.where()} did not complete "
                               f"within {self.settings.publish_timeout:g}s") from None
        except RECOVERABLE as error:
            info.tail.forget(mid)
            self.recorder.add(channel, "errors")
            raise AdapterError(f"publishing to {info.stream!r} failed: {type(error).__name__}: {error}") from error
        self.recorder.observe_publish(channel, time.perf_counter() - started)
        return info.position(offset)

    async def publish_many(self, channel: str, messages: Sequence[Message]) -> list[str]:
        info = self._info(channel)
        if not messages:
            return []
        assert info.tx_exchange is not None and self._tx is not None
        started = time.perf_counter()
        mids = [self._ids.next() for _ in messages]
        stored = [info.tail.expect(mid) for mid in mids]
        try:
            async with asyncio.timeout(self.settings.publish_timeout):
                async with self._tx_lock:
                    exchange = info.tx_exchange
                    try:
                        for message, mid in zip(messages, mids, strict=True):
                            await exchange.publish(self._message(message, mid), routing_key=message.key or "")
                        await self._tx.transaction().commit()
                    except BaseException:
                        with contextlib.suppress(Exception):
                            await self._tx.transaction().rollback()
                        raise
                offsets = [offset for offset, _ in await asyncio.gather(*stored)]
        except TimeoutError:
            self._forget_all(info, mids)
            self.recorder.add(channel, "errors")
            raise AdapterError(f"publishing a batch to {info.stream!r} on {self.settings.where()} did not "
                               f"complete within {self.settings.publish_timeout:g}s") from None
        except RECOVERABLE as error:
            self._forget_all(info, mids)
            self.recorder.add(channel, "errors")
            raise AdapterError(f"publishing a batch to {info.stream!r} failed: {type(error).__name__}: "
                               f"{error}") from error
        self.recorder.observe_publish(channel, time.perf_counter() - started, len(messages))
        return [info.position(offset) for offset in offsets]

    @staticmethod
    def _forget_all(info: ChannelInfo, mids: Sequence[str]) -> None:
        for mid in mids:
            info.tail.forget(mid)

    async def _confirmed(self, exchange: AbstractExchange, message: aio_pika.Message, routing_key: str) -> None:
        try:
            async with asyncio.timeout(self.settings.publish_timeout):
                await exchange.publish(message, routing_key=routing_key)
        except TimeoutError:
            raise AdapterError(f"a publish to {self.settings.where()} was not confirmed within "
                               f"{self.settings.publish_timeout:g}s") from None
        except RECOVERABLE as error:
            raise AdapterError(f"a publish to {self.settings.where()} failed: {error}") from error

    async def _dead_letter(self, record: Record, error: str) -> None:
        info = self._channels[record.channel]
        dead = self._channels[dead_letter_channel(record.channel)]
        assert dead.exchange is not None
        headers = dead_letter_headers(record, error, record.headers)
        message = self._message(Message(record.payload, record.key, headers), self._ids.next())
        await self._confirmed(dead.exchange, message, record.key or "")
        self.recorder.add(info.channel, "dead_lettered")

    async def _delay(self, state: GroupState, record: Record, original: AbstractIncomingMessage, attempt: int,
                     delay: float) -> None:
        """Append a copy of a group delivery to the delay queue of ``delay`` (see the module docstring)."""
        assert self._publisher is not None
        milliseconds = _bucket(math.ceil(delay * 1000))
        queue = f"{state.queue}.retry.{milliseconds}"
        declared = self._retry_queues.get(queue)
        now = time.monotonic()
        if declared is None or now - declared > RETRY_QUEUE_IDLE_MS / 2000:
            await self._publisher.declare_queue(queue, durable=True, arguments={
                "x-message-ttl": milliseconds, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": state.queue,
                "x-expires": milliseconds + RETRY_QUEUE_IDLE_MS,
            })
            self._retry_queues[queue] = now
        headers = dict(original.headers or {})
        for name in ("x-delivery-count", "x-death", "x-first-death-exchange", "x-first-death-queue",
                     "x-first-death-reason"):
            headers.pop(name, None)
        headers[ATTEMPT_HEADER] = attempt
        headers[POSITION_HEADER] = parse_position(record.position, self._channels[record.channel].tag)
        copy = aio_pika.Message(original.body, headers=headers, content_type=original.content_type,
                                delivery_mode=PERSISTENT, message_id=original.message_id,
                                timestamp=original.timestamp)
        await self._confirmed(self._publisher.default_exchange, copy, queue)

    # -- reading -------------------------------------------------------------------------------------------

    def _record(self, info: ChannelInfo, offset: int, message: AbstractIncomingMessage) -> Record:
        headers = message.headers or {}
        if is_binary_mode(headers, message.content_type):
            payload, decoded, binary_key = binary_to_structured(message.body, message.content_type,
                                                                message.routing_key, headers)
            return Record(info.channel, info.position(offset), payload, binary_key, decoded)
        raw_key = headers.get(KEY_HEADER)
        key = raw_key.decode("utf-8", "replace") if isinstance(raw_key, bytes) else raw_key
        decode = decode_dead_letter_headers if info.dead_letter else decode_headers
        return Record(info.channel, info.position(offset), message.body, key if isinstance(key, str) else None,
                      LazyHeaders(decode, headers) if headers else {})

    async def _sync(self, info: ChannelInfo) -> tuple[int, int | None]:
        """Append a marker and wait for the tail to read it: (its offset, the newest event before it, if the
        tail read it)."""
        assert self._publisher is not None
        mid = self._ids.next()
        seen = info.tail.expect(mid)
        try:
            await self._confirmed(self._publisher.default_exchange, marker(mid), info.stream)
            async with asyncio.timeout(self.settings.publish_timeout):
                return await seen
        except TimeoutError:
            raise AdapterError(f"the end of stream {info.stream!r} was not read back within "
                               f"{self.settings.publish_timeout:g}s") from None
        finally:
            info.tail.forget(mid)

    async def _read(self, info: ChannelInfo, start: Any, stop: int, limit: int,
                    want: str | None = None) -> list[tuple[int, AbstractIncomingMessage]]:
        return await read_stream(self.connection(), info.stream, start, stop, limit=limit, want=want,
                                 fetch_batch=self.settings.fetch_batch, timeout=self.settings.publish_timeout)

    async def history(self, channel: str, *, after: str | None = None, limit: int = 100) -> list[Record]:
        info = self._info(channel)
        first = None if after is None else parse_position(after, info.tag) + 1
        if limit <= 0:
            return []
        end, _ = await self._sync(info)
        if first is not None and first > end:
            raise InvalidPosition(f"position {after!r} is ahead of channel {channel!r}")
        found = await self._read(info, "first" if first is None else first, end, limit)
        return [self._record(info, offset, message) for offset, message in found]

    async def last_position(self, channel: str) -> str | None:
        info = self._info(channel)
        end, newest = await self._sync(info)
        if newest is not None:
            return info.position(newest)
        span = 64  # not read by this process's tail: look back from the marker (markers are rare in a row)
        while True:
            low = max(0, end - span)
            found = await self._read(info, low, end, span)
            if found:
                return info.position(found[-1][0])
            if low == 0:
                return None
            span *= 8

    async def _find_offset(self, info: ChannelInfo, message: AbstractIncomingMessage) -> int:
        """The stream offset of a group queue's message the tail has not read (see ``tail.py``)."""
        mid = message.message_id
        end, _ = await self._sync(info)  # the tail has now read everything the stream had when it arrived
        if mid is None:  # published by another tool without a message id: nothing to match it by
            logger.warning("a message of %r has no message id: positioned at the stream's end when it arrived",
                           info.stream)
            return max(0, end - 1)
        known = info.tail.index.get(mid)
        if known is not None:
            return known
        starts: list[Any] = []
        if message.timestamp is not None:
            stamp = message.timestamp
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=datetime.UTC)
            starts.append(stamp - CLOCK_SKEW)
        starts.append("first")
        for start in starts:
            found = await self._read(info, start, end, 1 << 62, want=mid)
            for offset, read in found:
                if read.message_id is not None:
                    info.tail.index[read.message_id] = offset
            if found and found[-1][1].message_id == mid:
                return found[-1][0]
        logger.warning("message %s of %r is no longer in the stream: positioned before the oldest retained event",
                       mid, info.stream)
        oldest = await self._read(info, "first", end, 1)
        return max(0, (oldest[0][0] if oldest else end) - 1)

    async def _start_offset(self, info: ChannelInfo, start: StartAt) -> Any:
        if start.kind == "latest":
            return "next"
        if start.kind == "earliest":
            return "first"
        offset = parse_position(start.position or "", info.tag)
        end, _ = await self._sync(info)
        if offset >= end:
            raise InvalidPosition(f"position {start.position!r} is ahead of channel {info.channel!r}")
        return offset + 1

    async def subscribe(
        self,
        channel: str,
        *,
        group: str | None = None,
        consumer: str | None = None,
        start: StartAt = StartAt.LATEST,
        max_in_flight: int = 1,
    ) -> Subscription:
        info = self._info(channel)
        if start.kind == "after":
            parse_position(start.position or "", info.tag)  # refuse a foreign position before any I/O
        limit = max(1, max_in_flight)
        subscription: _BaseSubscription
        try:
            if group is None:
                offset = await self._start_offset(info, start)
                stream_subscription = StreamSubscription(self, info, limit)
                subscription = stream_subscription
                self._subscriptions.add(subscription)
                await stream_subscription.open(offset)
            else:
                state = await self._group(info, group, start)
                group_subscription = GroupSubscription(self, info, group, state, limit)
                subscription = group_subscription
                self._subscriptions.add(subscription)
                await group_subscription.open()
        except (AMQPError, ConnectionError, OSError) as error:
            raise AdapterError(f"subscribing to {info.stream!r} on {self.settings.where()} failed: {error}") from error
        return subscription

    async def _group(self, info: ChannelInfo, group: str, start: StartAt) -> GroupState:
        """The group's queue, created (and filled from ``start``) if it does not exist yet."""
        assert self._publisher is not None
        key = (info.channel, group)
        async with self._group_lock:
            state = self._groups.get(key)
            if state is not None:
                return state
            state = GroupState(f"{info.stream}.group.{group}",
                               int(info.options.get("delivery_limit", DEFAULT_DELIVERY_LIMIT)))
            probe = await self.connection().channel()
            try:
                await probe.declare_queue(state.queue, passive=True)
                exists = True
            except ChannelNotFoundEntity:
                exists = False
            finally:
                with contextlib.suppress(Exception):
                    await probe.close()
            if not exists:
                await self._create_group(info, state, start)
            self._groups[key] = state
            return state

    async def _create_group(self, info: ChannelInfo, state: GroupState, start: StartAt) -> None:
        assert self._publisher is not None and info.exchange is not None
        queue = await self._publisher.declare_queue(state.queue, durable=True, arguments={"x-queue-type": "quorum"})
        await queue.bind(info.exchange)
        if start.kind == "latest":
            return
        begin = await self._start_offset(info, start)
        end, _ = await self._sync(info)
        while True:  # copy the retained events from ``begin`` into the new queue, a page at a time
            page = await self._read(info, begin, end, self.settings.fetch_batch)
            for offset, message in page:
                headers = dict(message.headers or {})
                headers.pop("x-stream-offset", None)
                headers[POSITION_HEADER] = offset
                copy = aio_pika.Message(message.body, headers=headers, content_type=message.content_type,
                                        delivery_mode=PERSISTENT, message_id=message.message_id,
                                        timestamp=message.timestamp)
                await self._confirmed(self._publisher.default_exchange, copy, state.queue)
            if len(page) < self.settings.fetch_batch:
                return
            begin = page[-1][0] + 1

    async def committed_position(self, channel: str, group: str) -> str | None:
        info = self._info(channel)
        state = self._groups.get((channel, group))
        committed = None if state is None else state.commit()
        return None if committed is None else info.position(committed)

    # -- operations ----------------------------------------------------------------------------------------

    async def health(self) -> Health:
        if self._closed or not self._started:
            return Health(False, "closed" if self._closed else "not started")
        if self._connection is None or self._connection.is_closed:
            return Health(False, f"{self.settings.where()}: connection lost")
        try:
            async with asyncio.timeout(min(5.0, self.settings.connect_timeout)):
                probe = await self._connection.channel()
                await probe.close()
        except (TimeoutError, *RECOVERABLE) as error:
            return Health(False, f"{self.settings.where()} unreachable: {type(error).__name__} {error}".strip())
        return Health(True, f"{self.settings.where()}: {len(self._channels)} stream(s)")


def _bucket(milliseconds: int) -> int:
    """Round a delay up to two significant digits (1234 ms → 1300 ms): fewer delay queues, never shorter."""
    if milliseconds < 100:
        return max(1, milliseconds)
    scale: int = 10 ** (len(str(milliseconds)) - 2)
    return -(-milliseconds // scale) * scale


def adapter_factory(channels: Sequence[ChannelSpec], **options: Any) -> RabbitMQAdapter:
    """The ``AdapterFactory`` for kind ``"rabbitmq"`` (settings from the environment unless ``settings=``)."""
    return RabbitMQAdapter(channels, **options)
