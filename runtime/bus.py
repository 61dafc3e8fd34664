"""The bus: validates at the boundary, routes each channel to its adapter, runs subscriptions.

Publishing: the payload is validated against its version's schema before any adapter sees it (nothing is
published otherwise), the type must exist and travel on the channel the caller names, and the envelope is
encoded once (CloudEvents structured JSON) and handed to the channel's adapter.

Consuming: each delivery is decoded and validated against the version it declares, handed to the handler
under a timeout, then acked. A handler that raises is retried with backoff (``RetryPolicy``: a nack with a
delay, so the broker redelivers), and after the last attempt the event goes to the channel's dead-letter
channel with the error. A consumer skips (acks) an event whose idempotency key it already handled. An event
that can never succeed (invalid, unknown type, unreadable by the model, or a handler raising ``PoisonEvent``)
is dead-lettered at once. A raising handler never ends the subscription.
Stopping stops fetching, waits for in-flight handlers (up to ``drain_timeout``), then closes the adapters.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging
import os
import socket
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from .adapters.base import (
    DEAD_LETTER_SUFFIX,
    REDRIVE_GROUP_HEADER,
    REDRIVE_SUFFIX,
    Adapter,
    AdapterFactory,
    Delivery,
    Health,
    Message,
    Record,
    StartAt,
    Subscription,
    redrive_channel,
)
from .catalog import Catalog, ChannelSpec, EventSpec
from .codec import Decoder, check, encode
from .envelope import Envelope, envelope_from_json
from .errors import (
    BusClosed,
    MalformedEvent,
    PoisonEvent,
    PubSubError,
    UnknownEventType,
    UnsupportedOperation,
    ValidationFailed,
    WrongChannel,
)
from .extras import missing_extra
from .idempotency import IdempotencyWindow
from .metrics import MetricsSnapshot
from .retry import RetryPolicy

logger = logging.getLogger("hipponot_pubsub.runtime.bus")

Handler = Callable[[Envelope[Any]], Awaitable[None]]

#: Adapter kinds the bus knows how to build, as ``"module:factory"`` imported on first use.
DEFAULT_ADAPTER_FACTORIES: Mapping[str, str] = {
    "memory": "hipponot_pubsub.runtime.adapters.memory:memory_adapter_factory",
    "redis": "hipponot_pubsub.runtime.adapters.redis:adapter_factory",
    "kafka": "hipponot_pubsub.runtime.adapters.kafka:adapter_factory",
    "nats": "hipponot_pubsub.runtime.adapters.nats:adapter_factory",
    "rabbitmq": "hipponot_pubsub.runtime.adapters.rabbitmq:adapter_factory",
}

FETCH_RETRY_FIRST_PAUSE = 0.05
FETCH_RETRY_MAX_PAUSE = 5.0

_DEAD_ON_ARRIVAL = (MalformedEvent, UnknownEventType, WrongChannel, ValidationFailed)


@dataclass(frozen=True)
class PublishResult:
    """What a publish returns once the adapter stored the event."""

    id: str
    position: str
    channel: str
    type: str
    version: int
    duplicate: bool = False  # True when an idempotency key matched an earlier publish; nothing new was stored


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "TimeoutError: handler timed out"
    return f"{type(error).__name__}: {error}"


def _load_factory(reference: str | AdapterFactory) -> AdapterFactory:
    if not isinstance(reference, str):
        return reference
    module_name, _, attribute = reference.partition(":")
    factory: AdapterFactory = getattr(importlib.import_module(module_name), attribute)
    return factory


@dataclass(frozen=True)
class ConsumerSpec:
    """A subscription to declare before the bus starts (``Bus.register``)."""

    types: tuple[str, ...]
    handler: Handler
    group: str | None = None
    concurrency: int = 1
    retry: RetryPolicy | None = None
    timeout: float | None = None
    start: StartAt = StartAt.LATEST
    name: str | None = None


class Consumer:
    """One running subscription: one channel, some event types, one handler.

    ``concurrency`` long-lived worker tasks (no task per event) take turns fetching from the subscription (which
    hands out at most ``concurrency`` unsettled deliveries) and each handles what it fetched. Handler timeouts are
    enforced by one timer per consumer armed at the earliest running handler's deadline, rather than a
    ``asyncio.timeout`` (a timer) per event.
    """

    def __init__(self, bus: Bus, channel: str, spec: ConsumerSpec, subscription: Subscription, retry: RetryPolicy,
                 timeout: float, *, redrives_for: str | None = None) -> None:
        self.bus = bus
        #: set on the consumer of a channel's redrive channel (``redrive_channel``): the group whose redriven and
        #: replayed copies it handles; copies for other groups are acked unhandled
        self.redrives_for = redrives_for
        #: the consumer of this group's redrive channel, started and stopped with this one
        self.companion: Consumer | None = None
        self.channel = channel
        self.spec = spec
        self.types = frozenset(spec.types)
        self.subscription = subscription
        self.retry = retry
        self.timeout = timeout
        self.recorder = bus.adapter_for(channel).recorder
        self._counters = self.recorder.counters(channel)
        self._handler_latency = self._counters.handler_latency
        self._decode = Decoder(bus.catalog, channel)
        self._handler = spec.handler
        #: Workers share the deliveries fetched and take turns fetching: one worker at a time (``_fetcher``)
        #: awaits ``subscription.next_batch``; what it got beyond its first delivery waits in ``_ready`` for
        #: whichever worker is free first; workers with nothing to do wait in ``_idle``. An idle worker is
        #: woken one loop iteration later, and only if there is still work for it then (deliveries ready, or
        #: the fetch turn free), i.e. only when the busy workers are suspended in their handlers. So quick
        #: handlers run back to back in one worker with no hand-off or wake-up per event, and handlers that
        #: wait on I/O still run ``concurrency`` at a time.
        self._ready: deque[Delivery] = deque()
        self._fetcher: asyncio.Task[None] | None = None
        self._idle: deque[asyncio.Future[None]] = deque()
        self._wake_scheduled = False
        #: workers waiting for work or inside a fetch (``stop`` cancels exactly these)
        self._waiting: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._failures = 0
        self._in_flight = 0
        #: worker task -> when its handler started, on ``_clock`` (only while a handler runs)
        self._running: dict[asyncio.Task[None], float] = {}
        self._timed_out: set[asyncio.Task[None]] = set()
        self._watchdog: asyncio.TimerHandle | None = None
        self._watchdog_at = 0.0  # its deadline, on ``_clock``
        #: handler start times and latencies: a C function (``loop.time`` is a Python method; two calls per event)
        self._clock = time.perf_counter
        self._loop = asyncio.get_running_loop()
        #: Idempotency keys this consumer handled successfully, newest last (bounded): a redelivered or
        #: re-published event with one of them is acked without running the handler again.
        self._handled_keys: OrderedDict[str, None] = OrderedDict()
        self._batch = max(1, spec.concurrency)
        self._workers = [asyncio.create_task(self._work(), name=f"pubsub-worker:{channel}:{spec.group}:{i}")
                         for i in range(self._batch)]

    @property
    def in_flight(self) -> int:
        """Deliveries taken from the subscription and not yet settled."""
        return self._in_flight

    # -- workers -------------------------------------------------------------------------------------------

    async def _work(self) -> None:
        """Handle deliveries (fetching when it is this worker's turn) until the subscription closes or the
        consumer stops; deliveries already fetched are handled before a stopping worker leaves."""
        task = asyncio.current_task()
        assert task is not None
        ready = self._ready
        while True:
            if ready:
                delivery = ready.popleft()
            elif self._stopping:
                return
            elif self._fetcher is not None:
                await self._wait_for_work(task)
                continue
            else:
                try:
                    batch = await self._fetch(task)
                except Exception as error:
                    await self._fetch_failed(error)
                    continue
                if not batch:
                    return
                self._failures = 0
                self._in_flight += len(batch)
                delivery = batch[0]
                if len(batch) > 1:
                    ready.extend(batch[1:])
            if ready and self._idle and not self._wake_scheduled:
                self._schedule_wake()
            try:
                await self._handle(task, delivery)
            except Exception as error:  # settling failed (broker gone): the broker redelivers, we only report it
                self._counters.errors += 1
                logger.error("settling %s@%s failed: %s", self.channel, delivery.record.position, _describe(error))
            finally:
                self._in_flight -= 1

    async def _fetch(self, task: asyncio.Task[None]) -> list[Delivery]:
        """The next deliveries (``[]``: the subscription closed or the consumer stops), in this worker's turn."""
        self._fetcher = task
        self._waiting.add(task)
        try:
            return await self.subscription.next_batch(self._batch)
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            task.uncancel()  # stop's cancellation is consumed here; handlers after it must not see it
            return []
        finally:
            self._waiting.discard(task)
            self._fetcher = None
            if self._idle and not self._wake_scheduled:
                self._schedule_wake()

    async def _wait_for_work(self, task: asyncio.Task[None]) -> None:
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._idle.append(waiter)
        self._waiting.add(task)
        try:
            await waiter
        except asyncio.CancelledError:
            if not self._stopping:
                raise
            task.uncancel()
        finally:
            self._waiting.discard(task)

    def _schedule_wake(self) -> None:
        self._wake_scheduled = True
        self._loop.call_soon(self._wake_idle)

    def _wake_idle(self) -> None:
        """Wake one idle worker if there is work for it (it schedules the next wake-up if more is left)."""
        self._wake_scheduled = False
        if not self._ready and self._fetcher is not None:
            return
        while self._idle:
            waiter = self._idle.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _fetch_failed(self, error: Exception) -> None:
        """A fetch failed (broker gone, connection reset): pause with a capped exponential backoff and try
        again, so a subscription outlives an outage (the adapter resumes it from its position or group)."""
        self._failures += 1
        self._counters.errors += 1
        pause = min(FETCH_RETRY_MAX_PAUSE, FETCH_RETRY_FIRST_PAUSE * 2 ** (self._failures - 1))
        logger.warning("fetching from %s failed (%s); retrying in %.2fs", self.channel, _describe(error), pause)
        await asyncio.sleep(pause)

    # -- handler timeouts ----------------------------------------------------------------------------------

    def _arm(self, deadline: float) -> None:
        watchdog = self._watchdog
        if watchdog is None or deadline < self._watchdog_at:
            if watchdog is not None:
                watchdog.cancel()
            self._watchdog_at = deadline
            self._watchdog = self._loop.call_later(max(0.0, deadline - self._clock()), self._expire)

    def _expire(self) -> None:
        """Cancel the handlers past their deadline; re-arm for the earliest remaining one."""
        self._watchdog = None
        now, timeout = self._clock(), self.timeout
        earliest: float | None = None
        for task, started in self._running.items():
            deadline = started + timeout
            if deadline <= now:
                if task not in self._timed_out:
                    self._timed_out.add(task)
                    task.cancel()
            elif earliest is None or deadline < earliest:
                earliest = deadline
        if earliest is not None:
            self._arm(earliest)

    # -- one delivery --------------------------------------------------------------------------------------

    async def _handle(self, task: asyncio.Task[None], delivery: Delivery) -> None:
        """Decode and validate, run the handler (bounded by ``timeout``: a handler past it is cancelled and
        counts as having raised ``TimeoutError``), then settle: ack, nack for a retry, or dead-letter."""
        record = delivery.record
        if self.redrives_for is not None and record.headers.get(REDRIVE_GROUP_HEADER) != self.redrives_for:
            if not delivery.ack_now():
                await delivery.ack()
            return
        try:
            envelope = self._decode(record.payload)
        except _DEAD_ON_ARRIVAL as error:
            logger.warning("dead-lettering %s@%s: %s", self.channel, record.position, error)
            await delivery.dead_letter(_describe(error))
            return
        key = None if envelope.idempotency_key is None else f"{envelope.type}\x00{envelope.idempotency_key}"
        if envelope.type not in self.types or (key is not None and key in self._handled_keys):
            if not delivery.ack_now():
                await delivery.ack()
            return
        clock, running = self._clock, self._running
        started = running[task] = clock()
        if self._watchdog is None:
            self._arm(started + self.timeout)
        failure: Exception | None = None
        try:
            await self._handler(envelope)
        except asyncio.CancelledError:
            if task not in self._timed_out:
                raise
            self._timed_out.discard(task)
            if task.uncancel() != 0:
                raise
            failure = TimeoutError()
        except Exception as error:
            failure = error
        finally:
            del running[task]
            if task in self._timed_out:  # the handler swallowed the cancellation and returned
                self._timed_out.discard(task)
                task.uncancel()
        self._handler_latency.observe(clock() - started)
        if failure is not None:
            self._counters.errors += 1
            if isinstance(failure, PoisonEvent) or self.retry.exhausted(delivery.attempt):
                logger.warning("dead-lettering %s %s after attempt %d: %s", envelope.type, envelope.id,
                               delivery.attempt, _describe(failure))
                await delivery.dead_letter(_describe(failure))
            else:
                logger.info("retrying %s %s (attempt %d): %s", envelope.type, envelope.id, delivery.attempt,
                            _describe(failure))
                await delivery.nack(self.retry.delay(delivery.attempt))
            return
        if key is not None:
            self._handled_keys[key] = None
            if len(self._handled_keys) > self.bus.idempotency_window:
                self._handled_keys.popitem(last=False)
        if not delivery.ack_now():  # adapters whose ack waits for the broker
            await delivery.ack()

    async def stop(self, drain_timeout: float) -> None:
        """Stop fetching, let in-flight handlers finish (cancel them after ``drain_timeout``), close.

        Deliveries the adapter buffered but no worker took stay unsettled: the subscription's ``close`` gives a
        group's back to the group, and a fan-out subscription resumes from its last handed-out position."""
        self._stopping = True
        if self.companion is not None:
            await self.companion.stop(drain_timeout)
        for task in list(self._waiting):
            task.cancel()
        _, still_running = await asyncio.wait(self._workers, timeout=drain_timeout)
        for task in still_running:
            task.cancel()
        await asyncio.gather(*still_running, return_exceptions=True)
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        await self.subscription.close()


class Bus:
    """Routes events between typed publishers/subscribers and adapters. Use as ``async with Bus(...)``.

    ``adapters`` maps adapter kinds to factories (defaults: ``DEFAULT_ADAPTER_FACTORIES``);
    ``all_channels_on="memory"`` runs every channel on one kind whatever the registry says (the embedded
    default and the test kit use it); ``channel_adapters={"orders": "nats"}`` moves single channels to another
    kind (it wins over both), so one deployment can try a broker without an edit of the registry, which other
    services share. An unknown channel name raises ``UnknownChannel`` here, where it was written.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        adapters: Mapping[str, str | AdapterFactory] | None = None,
        all_channels_on: str | None = None,
        channel_adapters: Mapping[str, str] | None = None,
        source: str = "urn:hipponot-pubsub",
        retry: RetryPolicy | None = None,
        handler_timeout: float = 30.0,
        drain_timeout: float = 10.0,
        idempotency_window: int = 10_000,
    ) -> None:
        self.catalog = catalog
        self.source = source
        self.retry = retry or RetryPolicy()
        self.handler_timeout = handler_timeout
        self.drain_timeout = drain_timeout
        self._factories: dict[str, str | AdapterFactory] = {**DEFAULT_ADAPTER_FACTORIES, **(adapters or {})}
        self._all_channels_on = all_channels_on
        self._channel_adapters = dict(channel_adapters or {})
        for channel in self._channel_adapters:
            catalog.channel(channel)
        self._adapters: dict[str, Adapter] = {}  # by kind
        self._channel_adapter: dict[str, Adapter] = {}
        self._consumers: list[Consumer] = []
        self._declared: list[ConsumerSpec] = []
        #: consumers being started for subscriptions declared on the running bus (``register``)
        self._registering: deque[asyncio.Task[list[Consumer]]] = deque()
        self.idempotency_window = idempotency_window
        self._idempotency: IdempotencyWindow[PublishResult] = IdempotencyWindow(idempotency_window)
        self._consumer_count = 0
        self._running = False

    # -- life cycle ----------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._running

    def adapter_kind(self, channel: str) -> str:
        """The adapter kind that carries ``channel``: its override, else ``all_channels_on``, else the registry's."""
        return (self._channel_adapters.get(channel) or self._all_channels_on
                or self.catalog.channel(channel).adapter)

    async def start(self) -> None:
        if self._running:
            return
        self.catalog.compile_all()
        by_kind = self._channels_by_kind()
        try:
            factories = self.adapter_factories()
            for kind, channels in by_kind.items():
                adapter = factories[kind](channels)
                await adapter.start()
                self._adapters[kind] = adapter
                for channel in channels:
                    self._channel_adapter[channel.name] = adapter
            self._running = True
            for declared in self._declared:
                await self._start_consumer(declared)
        except BaseException:
            await self.stop()
            raise

    def _channels_by_kind(self) -> dict[str, list[ChannelSpec]]:
        by_kind: dict[str, list[ChannelSpec]] = {}
        for spec in self.catalog.channels.values():
            by_kind.setdefault(self.adapter_kind(spec.name), []).append(spec)
        return by_kind

    def adapter_factories(self) -> dict[str, AdapterFactory]:
        """The factory of every adapter kind the channels use, imported now (``start`` calls it; a command can
        call it first to report a problem before serving). A broker library missing from the install raises
        ``MissingExtra`` naming the extra and the channels that need it."""
        factories = {}
        for kind, channels in self._channels_by_kind().items():
            names = ", ".join(sorted(c.name for c in channels))
            if kind not in self._factories:
                raise PubSubError(f"no adapter factory for kind {kind!r} (channels {names})")
            try:
                factories[kind] = _load_factory(self._factories[kind])
            except ModuleNotFoundError as error:
                missing = missing_extra(error, f"the {kind} adapter (channels {names})")
                if missing is None:
                    raise
                raise missing from None
        return factories

    async def stop(self) -> None:
        """Drain subscriptions, then close adapters. Idempotent."""
        self._running = False
        registering, self._registering = self._registering, deque()
        for outcome in await asyncio.gather(*registering, return_exceptions=True):
            if isinstance(outcome, Exception):  # nothing published since, so nobody heard of it
                logger.error("a subscription declared on the running bus did not start: %s", _describe(outcome))
        consumers, self._consumers = self._consumers, []
        await asyncio.gather(*(c.stop(self.drain_timeout) for c in consumers), return_exceptions=True)
        adapters, self._adapters = self._adapters, {}
        self._channel_adapter = {}
        for adapter in adapters.values():
            await adapter.close()

    async def __aenter__(self) -> Bus:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    def adapter_for(self, channel: str) -> Adapter:
        if not self._running:
            raise BusClosed("the bus is not running")
        self.catalog.channel(channel)
        return self._channel_adapter[channel]

    # -- publishing ----------------------------------------------------------------------------------------

    def envelope(self, event_type: str, data: Any, *, version: int | None = None, **attributes: Any) -> Envelope[Any]:
        """A new envelope for JSON-ready ``data`` (latest version unless ``version``); not validated yet."""
        spec = self.catalog.spec(event_type, version)
        attributes.setdefault("source", self.source)
        attributes.setdefault("dataschema", spec.schema_id)
        return Envelope(type=event_type, data=data, data_version=spec.version, **attributes)

    async def publish(
        self,
        event_type: str,
        data: Any,
        *,
        version: int | None = None,
        channel: str | None = None,
        key: str | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        subject: str | None = None,
        idempotency_key: str | None = None,
        principal: str | None = None,
        traceparent: str | None = None,
    ) -> PublishResult:
        """Validate JSON-ready ``data`` as ``event_type`` (latest version unless ``version``) and publish it."""
        envelope = self.envelope(
            event_type, data, version=version, partition_key=key, correlation_id=correlation_id,
            causation_id=causation_id, subject=subject, idempotency_key=idempotency_key, principal=principal,
            traceparent=traceparent,
        )
        return await self.publish_envelope(envelope, channel=channel)

    async def publish_envelope(self, envelope: Envelope[Any], *, channel: str | None = None) -> PublishResult:
        """Validate and publish an envelope whose ``data`` is JSON-ready (``channel``, if given, is checked)."""
        if self._registering:
            await self._registered()
        envelope, spec = check(envelope, self.catalog, channel=channel)
        if envelope.idempotency_key is None:
            return await self._publish_checked(envelope, spec)
        key = f"{envelope.type}\x00{envelope.idempotency_key}"
        result, duplicate = await self._idempotency.once(key, lambda: self._publish_checked(envelope, spec))
        return PublishResult(result.id, result.position, result.channel, result.type, result.version, True) \
            if duplicate else result

    async def publish_raw(self, raw: bytes | str, *, channel: str | None = None) -> PublishResult:
        """Publish CloudEvents structured-mode bytes from outside (the HTTP service): parsed, validated."""
        envelope = envelope_from_json(raw)
        return await self.publish_envelope(envelope, channel=channel)

    async def publish_many(
        self, envelopes: Sequence[Envelope[Any]], *, channel: str | None = None
    ) -> list[PublishResult]:
        """Validate every envelope first (any failure: nothing published), then publish each channel's events
        as one all-or-nothing adapter batch. Batches spanning channels are atomic per channel only."""
        checked = [check(e, self.catalog, channel=channel) for e in envelopes]
        positions = await self.publish_checked_many(
            [spec for _, spec in checked], [e.id for e, _ in checked], [e.partition_key for e, _ in checked],
            [encode(e) for e, _ in checked],
        )
        return [PublishResult(envelope.id, position, spec.channel, spec.type, spec.version)
                for (envelope, spec), position in zip(checked, positions, strict=True)]

    async def publish_checked_many(
        self, specs: Sequence[EventSpec], ids: Sequence[str], keys: Sequence[str | None], payloads: Sequence[bytes]
    ) -> list[str]:
        """Publish events the caller has already validated and encoded: ``payloads[i]`` is the structured-mode
        JSON (``codec.encode``) of an event of ``specs[i]`` whose data is valid against that version, with id
        ``ids[i]`` and partition key ``keys[i]``. Nothing is checked again. Each channel's events go to its
        adapter as one all-or-nothing ``publish_many``, in order; returns the positions, in order."""
        if self._registering:
            await self._registered()
        headers = {spec: (spec.type, str(spec.version)) for spec in dict.fromkeys(specs)}  # per spec, once
        channels = {spec.channel for spec in headers}
        if len(channels) == 1:  # the usual batch: one adapter call, no regrouping
            [channel] = channels
            messages = [Message(payload, key, {"ce-id": id_, "ce-type": headers[spec][0],
                                               "ce-dataversion": headers[spec][1]})
                        for spec, id_, key, payload in zip(specs, ids, keys, payloads, strict=True)]
            return list(await self.adapter_for(channel).publish_many(channel, messages))
        groups: dict[str, tuple[list[int], list[Message]]] = {channel: ([], []) for channel in channels}
        for index, (spec, id_, key, payload) in enumerate(zip(specs, ids, keys, payloads, strict=True)):
            indexes, messages = groups[spec.channel]
            type_, version = headers[spec]
            indexes.append(index)
            messages.append(Message(payload, key, {"ce-id": id_, "ce-type": type_, "ce-dataversion": version}))
        positions = [""] * len(specs)
        for channel, (indexes, messages) in groups.items():
            stored = await self.adapter_for(channel).publish_many(channel, messages)
            for index, position in zip(indexes, stored, strict=True):
                positions[index] = position
        return positions

    @staticmethod
    def _message(envelope: Envelope[Any]) -> Message:
        headers = {"ce-id": envelope.id, "ce-type": envelope.type, "ce-dataversion": str(envelope.data_version)}
        return Message(encode(envelope), envelope.partition_key, headers)

    async def _publish_checked(self, envelope: Envelope[Any], spec: EventSpec) -> PublishResult:
        adapter = self.adapter_for(spec.channel)
        try:
            position = await adapter.publish(spec.channel, self._message(envelope))
        except Exception:
            adapter.recorder.add(spec.channel, "errors")
            raise
        return PublishResult(envelope.id, position, spec.channel, spec.type, spec.version)

    async def redeliver(self, envelope: Envelope[Any], *, group: str, headers: Mapping[str, str],
                        channel: str | None = None) -> PublishResult:
        """Validate ``envelope`` against its schema as the registry has it now and append a copy for ``group``
        alone to its channel's redrive channel (the group's members handle it; no other group sees it). The copy
        keeps the envelope (its id included) and carries ``headers`` besides the group's (who, what from, how
        many times): what dead-letter redrive and replay to a group are made of."""
        envelope, spec = check(envelope, self.catalog, channel=channel)
        adapter = self.adapter_for(spec.channel)
        if not adapter.capabilities_for(spec.channel).redrive:
            raise UnsupportedOperation(
                f"the {adapter.kind} adapter of channel {spec.channel!r} cannot redeliver to one group (no redrive "
                f"channel)")
        message = self._message(envelope)
        message = message._replace(headers={**message.headers, **headers, REDRIVE_GROUP_HEADER: group})
        position = await adapter.publish(redrive_channel(spec.channel), message)
        return PublishResult(envelope.id, position, spec.channel, spec.type, spec.version)

    # -- consuming -----------------------------------------------------------------------------------------

    def register(self, spec: ConsumerSpec) -> None:
        """Declare a subscription that runs whenever the bus runs (the decorator form of subscribers uses this).

        Before ``start`` it starts with the bus. On a running bus (a test kit's bus, an app already serving) it
        starts at once, in a task; the bus finishes starting it before its next publish, so an event published
        after the declaration reaches the handler even from ``StartAt.LATEST``."""
        for event_type in spec.types:
            self.catalog.channel_of(event_type)  # an unknown type fails here, where it was written
        self._declared.append(spec)
        if not self._running:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise PubSubError("the bus is running on an event loop: declare subscriptions from a coroutine "
                              "on that loop, or use `await bus.subscribe(...)`") from None
        self._registering.append(loop.create_task(self._start_consumer(spec), name=f"pubsub-register:{spec.name}"))

    async def _registered(self) -> None:
        """Wait until the subscriptions declared on the running bus are started (raising if one failed). A task
        leaves the queue only once done, so a concurrent publisher waits for it too."""
        while self._registering:
            task = self._registering[0]
            try:
                await task
            finally:
                if self._registering and self._registering[0] is task:
                    self._registering.popleft()

    async def subscribe(
        self,
        types: str | Iterable[str],
        handler: Handler,
        *,
        group: str | None = None,
        concurrency: int = 1,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        start: StartAt = StartAt.LATEST,
        name: str | None = None,
    ) -> list[Consumer]:
        """Run ``handler`` for every event of ``types`` (any version), one consumer per channel involved."""
        names = (types,) if isinstance(types, str) else tuple(types)
        spec = ConsumerSpec(names, handler, group, max(1, concurrency), retry, timeout, start, name)
        return await self._start_consumer(spec)

    async def _start_consumer(self, spec: ConsumerSpec) -> list[Consumer]:
        if not self._running:
            raise BusClosed("the bus is not running")
        channels: dict[str, list[str]] = {}
        for event_type in spec.types:
            channels.setdefault(self.catalog.channel_of(event_type), []).append(event_type)
        started = []
        for channel, types in channels.items():
            adapter = self.adapter_for(channel)
            subscription = await adapter.subscribe(
                channel, group=spec.group, consumer=self._consumer_name(spec), start=spec.start,
                max_in_flight=spec.concurrency,
            )
            retry = spec.retry or RetryPolicy.from_channel_options(self.catalog.channel(channel).options, self.retry)
            consumer = Consumer(self, channel, dataclasses.replace(spec, types=tuple(types)), subscription, retry,
                                spec.timeout or self.handler_timeout)
            self._consumers.append(consumer)
            started.append(consumer)
            if spec.group is not None and adapter.capabilities_for(channel).redrive:
                consumer.companion = await self._start_redrive_consumer(adapter, channel, consumer)
        return started

    async def _start_redrive_consumer(self, adapter: Adapter, channel: str, consumer: Consumer) -> Consumer:
        """The consumer of ``channel``'s redrive channel for ``consumer``'s group: redriven dead letters and
        replayed ranges reach that group there (``hipponot_pubsub.runtime.deadletters``), so they are handled once
        by it and no other group sees them or moves on ``channel``. Its own group (``<group>.redrive``) starts at
        the earliest copy: copies are only ever for the group they name, so none is missed while no member ran."""
        spec = consumer.spec
        assert spec.group is not None
        subscription = await adapter.subscribe(
            redrive_channel(channel), group=spec.group + REDRIVE_SUFFIX, consumer=self._consumer_name(spec),
            start=StartAt.EARLIEST, max_in_flight=spec.concurrency,
        )
        return Consumer(self, channel, spec, subscription, consumer.retry, consumer.timeout, redrives_for=spec.group)

    def _consumer_name(self, spec: ConsumerSpec) -> str:
        """A name unique to this member (host, process, counter): brokers such as Redis track pending
        deliveries per consumer name, so two members must never share one."""
        self._consumer_count += 1
        return f"{spec.name or 'consumer'}@{socket.gethostname()}:{os.getpid()}:{self._consumer_count}"

    async def unsubscribe(self, consumer: Consumer) -> None:
        """Stop one consumer (draining its in-flight handlers)."""
        if consumer in self._consumers:
            self._consumers.remove(consumer)
        await consumer.stop(self.drain_timeout)

    # -- reading and operations ----------------------------------------------------------------------------

    async def history(self, channel: str, *, after: str | None = None, limit: int = 100) -> list[Record]:
        """Retained events of ``channel``, or of its dead-letter channel (``<channel>.dead-letter``)."""
        return await self.adapter_for(self.served_by(channel)).history(channel, after=after, limit=limit)

    def served_by(self, channel: str) -> str:
        """The registry channel whose adapter serves ``channel``: itself, or the channel of a dead-letter or
        redrive channel (``<channel>.dead-letter``, ``<channel>.redrive``)."""
        if channel not in self.catalog.channels:
            for suffix in (DEAD_LETTER_SUFFIX, REDRIVE_SUFFIX):
                if channel.endswith(suffix) and channel[: -len(suffix)] in self.catalog.channels:
                    return channel[: -len(suffix)]
        return channel

    def metrics(self) -> list[MetricsSnapshot]:
        return [adapter.metrics() for adapter in self._adapters.values()]

    async def health(self) -> dict[str, Health]:
        results: dict[str, Health] = {}
        for kind, adapter in self._adapters.items():
            try:
                results[kind] = await adapter.health()
            except Exception as error:
                results[kind] = Health(False, _describe(error))
        return results
