"""The NATS JetStream adapter (nats-py): one stream per channel, durable consumers for groups, JetStream acks.

Streams
  Channel ``c`` is published on subject ``PUBSUB_NATS_SUBJECT_TEMPLATE.format(channel=c)`` (default
  ``pubsub.c``) into stream ``PUBSUB_NATS_STREAM_TEMPLATE`` (default ``PUBSUB_c``, characters a stream name
  cannot hold becoming ``_``). Its dead letters go to the stream of channel ``c.dead-letter`` (subject
  ``pubsub.c.dead-letter``: another subject, so neither stream captures the other's). Missing streams are created
  at ``start`` from the channel options below; an existing stream is used as it is (a stream whose subjects
  do not include the channel's is an error: publishing would land elsewhere).

  ==================  ==========================  ============================================================
  option              default                     meaning
  ==================  ==========================  ============================================================
  ``history``         unlimited                   events kept (``max_msgs``; the oldest go first)
  ``max_age``         unlimited                   seconds an event is kept
  ``max_bytes``       unlimited                   bytes kept
  ``storage``         setting (``file``)          ``file`` or ``memory``
  ``replicas``        setting (1)                 stream replicas (clustered JetStream)
  ``duplicate_window``  server's (2 min)          seconds JetStream remembers ``Nats-Msg-Id`` values
  ``dead_letter``     ``true``                    ``false`` drops dead letters (logged, counted) instead
  ``ack_wait``        setting (30)                seconds before a silent holder's delivery is redelivered
  ``max_ack_pending`` server's (1000)             unsettled deliveries a group (all members) may hold
  ==================  ==========================  ============================================================

Positions
  ``<tag>:<stream sequence>``, ``tag`` being six hex digits of the CRC-32 of the stream name (so another
  channel's position is refused). Stream sequences only grow, never reused while the stream lives: "after this
  position" is ``DeliverByStartSequence`` from the next one, for subscriptions and history alike.

Publishing
  An awaited JetStream publish (``publisher.py``): it returns once the stream stored the event (its ``PubAck``), with
  ``Nats-Expected-Stream`` so a subject captured by some other stream fails instead of landing there. No answer
  within ``publish_timeout`` (server unreachable, JetStream unavailable) raises ``AdapterError`` saying so.
  ``publish_many`` pipelines the batch (every publish sent, then every ``PubAck`` awaited; see ``publisher.py``),
  and is **not atomic**:
  the nats-server this targets (2.9) has no multi-message atomic append — atomic batches (``Nats-Batch-Id``,
  stream ``allow_atomic``) came with nats-server 2.12. A batch that fails part-way raises ``PartialPublish``
  naming what was stored; ``capabilities.atomic_batches`` is ``False``.

Consuming
  See ``subscription.py``: pull consumers, JetStream's redelivery and delivery counts, ``-NAK`` with a delay.
  A group's committed position is its durable consumer's **ack floor** (every sequence at or below it was acked
  or terminated), read from the server; ``committed_position`` first makes the server confirm the acks this
  process sent. A group's durable consumer is created by its first member with the subscription's ``start``
  and kept on the server (delete it with ``nats consumer rm`` to start the group over).

Dead letters
  Appended (an awaited publish) to the dead-letter stream with ``x-error``, ``x-original-channel`` and
  ``x-original-position`` headers, then the original is terminated (``+TERM``: JetStream stops redelivering
  it, moves the ack floor past it and emits its ``MSG_TERMINATED`` advisory), so the stream moves on.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.js import api
from nats.js.errors import NotFoundError

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
    served_channel,
)
from ..deadlines import Deadlines
from .headers import KEY_HEADER, binary_to_structured, encode_headers, is_binary_mode
from .publisher import Pipeline, Refused
from .settings import NatsSettings
from .subscription import NatsSubscription, ack_tokens

logger = logging.getLogger("hipponot_pubsub.runtime.adapters.nats")



class PartialPublish(AdapterError):
    """A ``publish_many`` that failed after part of the batch was stored (JetStream 2.9 has no atomic batch):
    ``stored`` are the positions of the events that were, in batch order (``None`` for those that were not)."""

    def __init__(self, message: str, stored: Sequence[str | None]) -> None:
        super().__init__(message)
        self.stored = list(stored)


@dataclass(frozen=True)
class StreamInfo:
    """A channel's stream, subject and the options its stream and consumers are made with."""

    channel: str
    stream: str
    subject: str
    tag: str
    dead_letter: bool
    config: api.StreamConfig
    ack_wait: float
    max_ack_pending: int | None

    def position(self, sequence: int) -> str:
        return f"{self.tag}:{sequence}"

    def sequence(self, position: str) -> int:
        """The stream sequence a position of this stream names; ``InvalidPosition`` otherwise."""
        if not isinstance(position, str):
            raise InvalidPosition(f"{position!r} is not a position of the NATS adapter")
        tag, colon, digits = position.partition(":")
        if not colon or len(tag) != 6 or not digits.isdigit() or not digits.isascii() or len(digits) > 20:
            raise InvalidPosition(f"{position!r} is not a position of the NATS adapter")
        if tag != self.tag:
            raise InvalidPosition(f"{position!r} is a position of another stream than {self.stream!r}")
        sequence = int(digits)
        if sequence < 1:
            raise InvalidPosition(f"{position!r} names no event")
        return sequence


def stream_tag(stream: str) -> str:
    return f"{zlib.crc32(stream.encode()) & 0xFFFFFF:06x}"


class NatsAdapter(Adapter):
    """Channels as JetStream streams. See the module docstring."""

    kind = "nats"
    capabilities = Capabilities(history=True, groups=True, durable=True, atomic_batches=False)

    def __init__(self, channels: Sequence[ChannelSpec], *, settings: NatsSettings | None = None) -> None:
        super().__init__(channels)
        self.settings = settings or NatsSettings.from_env()
        self._streams: dict[str, StreamInfo] = {}
        for spec in channels:
            self._streams[spec.name] = self._describe(spec.name, spec.options, bool(spec.options.get("dead_letter",
                                                                                                        True)))
            dead = dead_letter_channel(spec.name)
            self._streams[dead] = self._describe(dead, spec.options, False)
        self.connection = NatsClient()
        self._js = self.connection.jetstream(timeout=self.settings.publish_timeout)
        self._jsm = self.connection.jsm(timeout=self.settings.publish_timeout)
        self._pipeline = Pipeline(self.connection)
        self._deadlines = Deadlines(self.settings.publish_timeout)  # one timer bounds every awaited publish
        self._subscriptions: set[NatsSubscription] = set()
        self._started = False
        self._closed = False

    def _describe(self, channel: str, options: Any, dead_letter: bool) -> StreamInfo:
        settings = self.settings
        stream, subject = settings.stream(channel), settings.subject(channel)
        storage = str(options.get("storage", settings.storage))
        if storage not in ("file", "memory"):
            raise ValueError(f"channel {channel!r}: storage must be 'file' or 'memory', got {storage!r}")

        def number(name: str) -> Any:
            value = options.get(name)
            return None if value is None else (float(value) if name in ("max_age", "duplicate_window")
                                               else int(value))

        config = api.StreamConfig(
            name=stream, subjects=[subject], retention=api.RetentionPolicy.LIMITS, discard=api.DiscardPolicy.OLD,
            storage=api.StorageType.FILE if storage == "file" else api.StorageType.MEMORY,
            num_replicas=int(options.get("replicas", settings.replicas)), max_msgs=number("history"),
            max_age=number("max_age"), max_bytes=number("max_bytes"),
            duplicate_window=number("duplicate_window") or 0,
        )
        return StreamInfo(channel, stream, subject, stream_tag(stream), dead_letter, config,
                          float(options.get("ack_wait", settings.ack_wait)), number("max_ack_pending"))

    # -- life cycle ----------------------------------------------------------------------------------------

    def _where(self) -> str:
        return f"NATS at {self.settings.where()}"

    async def start(self) -> None:
        if self._started:
            return
        if self._closed:
            raise AdapterError("the NATS adapter is closed")
        timeout = self.settings.connect_timeout
        try:
            async with asyncio.timeout(timeout):
                await self.connection.connect(**self.settings.connect_kwargs(), error_cb=self._on_error,
                                              disconnected_cb=self._on_disconnected,
                                              reconnected_cb=self._on_reconnected)
        except TimeoutError:
            await self._shutdown()
            raise AdapterError(f"could not reach {self._where()} within {timeout:g}s") from None
        except (NatsError, OSError) as error:
            await self._shutdown()
            raise AdapterError(f"could not connect to {self._where()}: {type(error).__name__} {error}") from error
        try:
            for info in self._streams.values():
                await self._ensure_stream(info)
        except BaseException:
            await self._shutdown()
            raise
        self._started = True

    async def _ensure_stream(self, info: StreamInfo) -> None:
        try:
            found = await self._jsm.stream_info(info.stream)
        except NotFoundError:
            found = None
        except (NatsError, TimeoutError) as error:
            raise AdapterError(f"JetStream is not answering on {self._where()} (is the server run with -js?): "
                               f"{type(error).__name__} {error}") from error
        if found is None:
            if not self.settings.create_streams:
                raise AdapterError(f"stream {info.stream!r} is missing and PUBSUB_NATS_CREATE_STREAMS is off")
            try:
                await self._jsm.add_stream(info.config)
            except (NatsError, TimeoutError) as error:
                raise AdapterError(f"cannot create stream {info.stream!r}: {error}") from error
            return
        subjects = found.config.subjects or []
        if info.subject not in subjects:
            raise AdapterError(f"stream {info.stream!r} exists without subject {info.subject!r} (it has {subjects})")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for subscription in list(self._subscriptions):
            await subscription.close()
        await self._shutdown()

    async def _shutdown(self) -> None:
        if self.connection.is_closed:
            return
        try:
            async with asyncio.timeout(self.settings.connect_timeout):
                await self.connection.close()
        except Exception as error:  # closing must not fail
            logger.warning("closing the NATS adapter: %s", error)

    async def _on_error(self, error: Exception) -> None:
        logger.warning("%s: %s %s", self._where(), type(error).__name__, error)

    async def _on_disconnected(self) -> None:
        if not self._closed:
            logger.warning("disconnected from %s, reconnecting", self._where())

    async def _on_reconnected(self) -> None:
        logger.info("reconnected to %s", self._where())
        for subscription in list(self._subscriptions):
            subscription.reconnected()

    async def _forget(self, subscription: NatsSubscription) -> None:
        self._subscriptions.discard(subscription)
        if subscription.group is None and not self.connection.is_closed:  # its ephemeral consumer goes with it
            try:
                await self._jsm.delete_consumer(subscription.info.stream, subscription.consumer)
            except (NatsError, TimeoutError) as error:  # the server deletes it after inactive_threshold anyway
                logger.debug("deleting consumer %s: %s", subscription.consumer, error)

    def _stream(self, channel: str) -> StreamInfo:
        return served_channel(self._streams, channel, adapter="NATS", started=self._started, closed=self._closed)

    def _failed(self, what: str, error: BaseException) -> AdapterError:
        if isinstance(error, Refused):
            return AdapterError(f"{what}: JetStream refused it: {error}")
        if isinstance(error, TimeoutError):
            state = "connected" if self.connection.is_connected else "not connected"
            return AdapterError(f"{what}: no answer from {self._where()} within {self.settings.publish_timeout:g}s "
                                f"({state})")
        return AdapterError(f"{what} on {self._where()}: {type(error).__name__} {error}")

    # -- publishing ----------------------------------------------------------------------------------------

    async def publish(self, channel: str, message: Message) -> str:
        info = self._stream(channel)
        started = time.perf_counter()
        deadlines = self._deadlines
        task = deadlines.start()
        try:
            sequence = await self._pipeline.publish_one(info.subject, info.stream, message.payload,
                                                        encode_headers(message.headers, message.key))
        except asyncio.CancelledError:
            if deadlines.expired(task):
                self.recorder.add(channel, "errors")
                raise self._failed(f"publishing to {info.stream!r}", TimeoutError()) from None
            raise
        except (NatsError, Refused) as error:
            self.recorder.add(channel, "errors")
            raise self._failed(f"publishing to {info.stream!r}", error) from error
        finally:
            deadlines.finish(task)
        self.recorder.observe_publish(channel, time.perf_counter() - started)
        return f"{info.tag}:{sequence}"

    async def publish_many(self, channel: str, messages: Sequence[Message]) -> list[str]:
        info = self._stream(channel)
        if not messages:
            return []
        started = time.perf_counter()
        stored: list[str | None] = [None] * len(messages)
        failure: BaseException | None = None
        futures: list[asyncio.Future[int]] = []
        try:
            async with asyncio.timeout(self.settings.publish_timeout):
                futures = await self._pipeline.publish(
                    info.subject, info.stream, [(m.payload, encode_headers(m.headers, m.key)) for m in messages])
                for index, future in enumerate(futures):
                    try:
                        stored[index] = f"{info.tag}:{await future}"
                    except Refused as refused:
                        failure = failure or refused
        except (NatsError, TimeoutError) as error:
            failure = failure or error
        finally:
            self._pipeline.forget(futures)
        if failure is not None:
            self.recorder.add(channel, "errors")
            done = sum(position is not None for position in stored)
            if done:
                self.recorder.observe_publish(channel, time.perf_counter() - started, done)
            failed = self._failed(f"publishing a batch of {len(messages)} to {info.stream!r}", failure)
            raise PartialPublish(f"{failed} ({done} of {len(messages)} stored: JetStream 2.9 batches are not "
                                 f"atomic)", stored) from failure
        self.recorder.observe_publish(channel, time.perf_counter() - started, len(messages))
        return [position for position in stored if position is not None]

    async def _dead_letter(self, record: Record, error: str) -> None:
        info = self._streams[record.channel]
        if not info.dead_letter:
            logger.warning("dropping %s@%s (channel option dead_letter = false): %s", record.channel, record.position,
                           error)
            self.recorder.add(record.channel, "dead_lettered")
            return
        headers = dead_letter_headers(record, error, {name: value for name, value in record.headers.items()
                                                      if name.lower() != "content-type" and name != KEY_HEADER})
        dead = self._streams[dead_letter_channel(record.channel)]
        try:
            await self._js.publish(dead.subject, record.payload, stream=dead.stream,
                                   headers=encode_headers(headers, record.key))
        except (NatsError, TimeoutError) as failure:
            raise self._failed(f"dead-lettering to {dead.stream!r}", failure) from failure
        self.recorder.add(record.channel, "dead_lettered")

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
        info = self._stream(channel)
        after = info.sequence(start.position) if start.kind == "after" and start.position is not None else None
        name = self.settings.durable(group) if group is not None else f"pubsub-{uuid.uuid4().hex[:16]}"
        subscription = NatsSubscription(self, info, group, consumer, name, max(1, max_in_flight), start, after)
        await self._ensure_consumer(subscription, start=start, after=after)
        self._subscriptions.add(subscription)
        await subscription.open()
        return subscription

    def _consumer_config(self, subscription: NatsSubscription, start: StartAt, after: int | None) -> api.ConsumerConfig:
        info = subscription.info
        if after is not None:
            policy, first = api.DeliverPolicy.BY_START_SEQUENCE, after + 1
        elif start.kind == "earliest":
            policy, first = api.DeliverPolicy.ALL, None
        else:
            policy, first = api.DeliverPolicy.NEW, None
        config = api.ConsumerConfig(
            name=subscription.consumer, deliver_policy=policy, opt_start_seq=first,
            ack_policy=api.AckPolicy.EXPLICIT, ack_wait=info.ack_wait, max_deliver=-1,
            replay_policy=api.ReplayPolicy.INSTANT,
        )
        if subscription.group is not None:
            config.durable_name = subscription.consumer
            config.max_ack_pending = info.max_ack_pending
            config.description = f"hipponot-pubsub group {subscription.group!r} of channel {info.channel!r}"
        else:  # the server's bound matches ours, and it cleans up after a process that died
            config.max_ack_pending = subscription.max_in_flight + self.settings.readahead
            config.inactive_threshold = self.settings.inactive_threshold
            config.mem_storage = True
        return config

    async def _ensure_consumer(self, subscription: NatsSubscription, *, start: StartAt = StartAt.LATEST,
                               after: int | None = None) -> bool:
        """Make sure the subscription's server-side consumer exists: the group's durable one (created with
        ``start`` if the group is new) or a fan-out subscription's own. ``True`` if it had to be created."""
        info, name = subscription.info, subscription.consumer
        try:
            try:
                await self._jsm.consumer_info(info.stream, name)
                return False
            except NotFoundError:
                pass
            config = self._consumer_config(subscription, start, after)
            try:
                await self._jsm.add_consumer(info.stream, config)
            except NotFoundError:
                raise
            except NatsError:
                if subscription.group is None:
                    raise
                await self._jsm.consumer_info(info.stream, name)  # another member created it meanwhile
                return False
            return True
        except (NatsError, TimeoutError) as error:
            raise self._failed(f"making consumer {name!r} of {info.stream!r}", error) from error

    async def history(self, channel: str, *, after: str | None = None, limit: int = 100) -> list[Record]:
        info = self._stream(channel)
        first = 1 if after is None else info.sequence(after) + 1
        if limit <= 0:
            return []
        config = api.ConsumerConfig(
            name=f"pubsub-history-{uuid.uuid4().hex[:16]}", deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=first, ack_policy=api.AckPolicy.NONE, replay_policy=api.ReplayPolicy.INSTANT,
            inactive_threshold=max(self.settings.publish_timeout, 5.0), mem_storage=True, num_replicas=1,
        )
        nc = self.connection
        try:
            created = await self._jsm.add_consumer(info.stream, config)
        except (NatsError, TimeoutError) as error:
            raise self._failed(f"reading history of {info.stream!r}", error) from error
        name = created.name
        want = min(limit, created.num_pending or 0)
        messages: list[Any] = []
        try:
            if want:
                inbox = await nc.subscribe(nc.new_inbox(), pending_msgs_limit=-1, pending_bytes_limit=-1)
                try:
                    request = b'{"batch":%d,"expires":%d}' % (want, int(self.settings.publish_timeout * 1e9))
                    await nc.publish(f"$JS.API.CONSUMER.MSG.NEXT.{info.stream}.{name}", request, reply=inbox.subject)
                    async with asyncio.timeout(self.settings.publish_timeout + 1):
                        while len(messages) < want:
                            msg = await inbox.next_msg(timeout=None)
                            if not msg.reply:  # a status: the request ended (fewer events than counted)
                                break
                            messages.append(msg)
                finally:
                    await inbox.unsubscribe()
        except (NatsError, TimeoutError) as error:
            raise self._failed(f"reading history of {info.stream!r}", error) from error
        finally:
            try:
                await self._jsm.delete_consumer(info.stream, name)
            except (NatsError, TimeoutError) as error:  # it expires by itself
                logger.debug("deleting history consumer %s: %s", name, error)
        return [self._record(info, msg) for msg in messages]

    def _record(self, info: StreamInfo, msg: Any) -> Record:
        sequence, _ = ack_tokens(msg.reply)
        headers = msg.headers or {}
        payload = msg.data
        if headers and is_binary_mode(headers):
            payload, headers = binary_to_structured(payload, headers)
        return Record(info.channel, f"{info.tag}:{sequence}", payload, headers.get(KEY_HEADER), headers)

    async def last_position(self, channel: str) -> str | None:
        info = self._stream(channel)
        try:
            found = await self._jsm.stream_info(info.stream)
        except (NatsError, TimeoutError) as error:
            raise self._failed(f"reading the end of {info.stream!r}", error) from error
        last = found.state.last_seq
        return f"{info.tag}:{last}" if last else None

    async def committed_position(self, channel: str, group: str) -> str | None:
        info = self._stream(channel)
        name = self.settings.durable(group)
        for subscription in list(self._subscriptions):
            if subscription.info is info and subscription.consumer == name:
                await subscription.sync()
        try:
            found = await self._jsm.consumer_info(info.stream, name)
        except NotFoundError:
            return None
        except (NatsError, TimeoutError) as error:
            raise self._failed(f"reading group {group!r} of {info.stream!r}", error) from error
        floor = found.ack_floor.stream_seq if found.ack_floor is not None else 0
        return f"{info.tag}:{floor}" if floor else None

    # -- operations ----------------------------------------------------------------------------------------

    async def health(self) -> Health:
        if self._closed or not self._started:
            return Health(False, "closed" if self._closed else "not started")
        if not self.connection.is_connected:
            return Health(False, f"{self._where()} unreachable (reconnecting)")
        try:
            account = await self._jsm.account_info()
        except (NatsError, TimeoutError) as error:
            return Health(False, f"JetStream on {self._where()} is not answering: {type(error).__name__} {error}")
        return Health(True, f"{self._where()}: JetStream, {account.streams} stream(s)")


def adapter_factory(channels: Sequence[ChannelSpec], **options: Any) -> NatsAdapter:
    """The ``AdapterFactory`` for kind ``"nats"`` (settings from the environment unless ``settings=`` is given)."""
    return NatsAdapter(channels, **options)
