"""Subscriptions: a fan-out reader of the channel's stream, or a member of a group's quorum queue.

Both hand out at most ``max_in_flight`` unsettled deliveries.

* **Fan-out** (``StreamSubscription``): a stream consumer from the start offset (``next``, ``first`` or the
  offset after a position), reading ahead up to ``fetch_batch``; stream messages are acknowledged to RabbitMQ
  as they are handed out (on a stream an ack is only flow-control credit: nothing is removed). A stream has no
  per-message redelivery, so a nack keeps the record in the subscription and hands it out again after the
  delay (``attempt`` + 1), as a fan-out subscription's state lives in its process anyway.
* **Group member** (``GroupSubscription``): a consumer of the group's quorum queue with a prefetch of
  ``max_in_flight``, so RabbitMQ itself bounds what a member holds and gives each message to one member.
  ``ack`` is ``basic.ack``; ``nack(0)`` is ``basic.nack(requeue)`` (RabbitMQ counts it in
  ``x-delivery-count``, which is the attempt); ``nack(delay)`` appends a copy to a durable delay queue
  (see ``adapter.py``) and then acks, so the delay survives a crash of this process or of RabbitMQ; a member
  that closes or dies has RabbitMQ requeue what it held, for the other members, with ``x-delivery-count`` + 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from ..base import Delivery, Record, Subscription
from ..signal import Signal
from .headers import ATTEMPT_HEADER, POSITION_HEADER
from .tail import is_marker, offset_of

if TYPE_CHECKING:
    from .adapter import ChannelInfo, GroupState, RabbitMQAdapter

logger = logging.getLogger("hipponot_pubsub.runtime.adapters.rabbitmq")


class _BaseSubscription(Subscription):
    def __init__(self, adapter: RabbitMQAdapter, info: ChannelInfo, group: str | None, limit: int) -> None:
        self.adapter = adapter
        self.info = info
        self.channel = info.channel
        self.group = group
        self.max_in_flight = limit
        self.in_flight = 0
        self.closed = False
        self.signal = Signal()
        self.counters = adapter.recorder.counters(info.channel)
        self.amqp: AbstractChannel | None = None
        self._consumer_tag: str | None = None
        self._queue: Any = None

    async def _consume(self, queue_name: str, prefetch: int, arguments: dict[str, Any] | None = None) -> None:
        self.amqp = channel = await self.adapter.connection().channel()
        await channel.set_qos(prefetch_count=prefetch)
        self._queue = await channel.get_queue(queue_name, ensure=False)
        self._consumer_tag = await self._queue.consume(self._on_message, arguments=arguments)
        channel.close_callbacks.add(self._on_channel_close)

    def _on_channel_close(self, _channel: object, error: BaseException | None = None) -> None:
        if not self.closed and error is not None:
            logger.warning("subscription to %r lost its AMQP channel: %s", self.channel, error)
            self.closed = True
            self.signal.notify_all()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        raise NotImplementedError

    def _take(self, now: float) -> Delivery | None:
        raise NotImplementedError

    def _due(self, now: float) -> float | None:
        """Seconds until a held-back record is due again (None: nothing held back)."""
        return None

    async def next(self) -> Delivery | None:
        loop = asyncio.get_running_loop()
        while not self.closed:
            now = loop.time()
            if self.in_flight < self.max_in_flight:
                delivery = self._take(now)
                if delivery is not None:
                    return delivery
                delivery = await self._take_slow()
                if delivery is not None:
                    return delivery
            await self.signal.wait(self._due(now) if self.in_flight < self.max_in_flight else None)
        return None

    async def _take_slow(self) -> Delivery | None:
        """A delivery that needs I/O before it can be handed out (a group record's offset lookup)."""
        return None

    def take_ready(self) -> Delivery | None:
        if self.closed or self.in_flight >= self.max_in_flight:
            return None
        return self._take(asyncio.get_running_loop().time())

    def _handed_out(self) -> None:
        self.in_flight += 1
        counters = self.counters
        counters.delivered += 1
        counters.in_flight += 1

    def _released(self) -> None:
        self.in_flight -= 1
        self.counters.in_flight -= 1
        if self.in_flight == self.max_in_flight - 1:
            self.signal.notify_all()

    async def close(self) -> None:
        if self.closed and self.amqp is None:
            return
        self.closed = True
        self.adapter._forget(self)
        channel, self.amqp = self.amqp, None
        if channel is not None and not channel.is_closed:
            with contextlib.suppress(Exception):  # closing must not fail; RabbitMQ requeues what it held
                if self._consumer_tag is not None:
                    await self._queue.cancel(self._consumer_tag)
                await channel.close()
        self.signal.notify_all()


# -- fan-out ---------------------------------------------------------------------------------------------------


class StreamSubscription(_BaseSubscription):
    def __init__(self, adapter: RabbitMQAdapter, info: ChannelInfo, limit: int) -> None:
        super().__init__(adapter, info, None, limit)
        self.buffer: deque[tuple[int, AbstractIncomingMessage]] = deque()
        self.held: list[tuple[float, Record, int]] = []  # nacked: (due, record, attempt it comes back with)
        self._ack_upto: AbstractIncomingMessage | None = None
        self._acked_tag = 0  # highest delivery tag acknowledged (a lower one again would close the channel)
        self._acking = False

    async def open(self, start: Any) -> None:
        batch = max(self.adapter.settings.fetch_batch, self.max_in_flight)
        await self._consume(self.info.stream, batch, {"x-stream-offset": start})

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        if is_marker(message):
            self._ack_later(message)
            return
        self.buffer.append((offset_of(message), message))
        if len(self.buffer) == 1:
            self.signal.notify_all()

    def _ack_later(self, message: AbstractIncomingMessage) -> None:
        """Acknowledge up to ``message`` soon, with one ``multiple`` ack per burst. Tags only grow: a marker read
        after buffered records may have acknowledged them already (harmless on a stream: an ack is credit)."""
        upto = self._ack_upto
        if (message.delivery_tag or 0) <= max(self._acked_tag, (upto.delivery_tag or 0) if upto else 0):
            return
        self._ack_upto = message
        if not self._acking:
            self._acking = True
            asyncio.get_running_loop().call_soon(self._start_ack)

    def _start_ack(self) -> None:
        asyncio.get_running_loop().create_task(self._flush_acks())

    async def _flush_acks(self) -> None:
        message, self._ack_upto = self._ack_upto, None
        self._acking = False
        if message is not None and self.amqp is not None:
            self._acked_tag = max(self._acked_tag, message.delivery_tag or 0)
            with contextlib.suppress(Exception):  # closed meanwhile: nothing to give credit to
                await message.ack(multiple=True)

    def _due(self, now: float) -> float | None:
        return min(due for due, _, _ in self.held) - now if self.held else None

    def _take(self, now: float) -> Delivery | None:
        if self.held:
            entry = min(self.held, key=lambda held: held[0])
            if entry[0] <= now:
                self.held.remove(entry)
                self._handed_out()
                return StreamDelivery(self, entry[1], entry[2])
        if self.buffer:
            offset, message = self.buffer.popleft()
            self._ack_later(message)
            self._handed_out()
            return StreamDelivery(self, self.adapter._record(self.info, offset, message), 1)
        return None

    def _hold(self, record: Record, attempt: int, delay: float) -> None:
        loop = asyncio.get_running_loop()
        self.held.append((loop.time() + delay, record, attempt + 1))
        if delay > 0:
            loop.call_later(delay, self.signal.notify_all)
        else:
            self.signal.notify_all()


class StreamDelivery(Delivery):
    __slots__ = ("_settled", "_subscription", "attempt", "record")

    def __init__(self, subscription: StreamSubscription, record: Record, attempt: int) -> None:
        self._subscription = subscription
        self._settled = False
        self.record = record
        self.attempt = attempt

    async def ack(self) -> None:
        self.ack_now()

    def ack_now(self) -> bool:
        if not self._settled:
            self._settled = True
            self._subscription._released()
            self._subscription.counters.acked += 1
        return True

    async def nack(self, delay: float = 0.0) -> None:
        if self._settled:
            return
        self._settled = True
        subscription = self._subscription
        subscription._released()
        subscription.counters.retried += 1
        if not subscription.closed:
            subscription._hold(self.record, self.attempt, max(0.0, delay))

    async def dead_letter(self, error: str) -> None:
        if self._settled:
            return
        self._settled = True
        subscription = self._subscription
        try:
            await subscription.adapter._dead_letter(self.record, error)
        finally:
            subscription._released()


# -- groups ----------------------------------------------------------------------------------------------------


class GroupSubscription(_BaseSubscription):
    def __init__(self, adapter: RabbitMQAdapter, info: ChannelInfo, group: str, state: GroupState,
                 limit: int) -> None:
        super().__init__(adapter, info, group, limit)
        self.state = state
        self.buffer: deque[AbstractIncomingMessage] = deque()
        self._acks: list[AbstractIncomingMessage] = []

    async def open(self) -> None:
        await self._consume(self.state.queue, self.max_in_flight)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        self.buffer.append(message)
        if len(self.buffer) == 1:
            self.signal.notify_all()

    def _known_offset(self, message: AbstractIncomingMessage) -> int | None:
        headers = message.headers
        carried = headers.get(POSITION_HEADER) if headers else None
        if isinstance(carried, int):
            return carried
        mid = message.message_id
        return None if mid is None else self.info.tail.index.get(mid)

    def _over_limit(self, message: AbstractIncomingMessage) -> bool:
        return _int((message.headers or {}).get("x-delivery-count")) >= self.state.delivery_limit

    def _take(self, now: float) -> Delivery | None:
        if not self.buffer:
            return None
        message = self.buffer[0]
        offset = self._known_offset(message)
        if offset is None or self._over_limit(message):
            return None  # needs a lookup or a dead-lettering: ``next`` does it
        self.buffer.popleft()
        return self._deliver(offset, message)

    async def _take_slow(self) -> Delivery | None:
        while self.buffer and not self.closed:
            message = self.buffer[0]
            offset = self._known_offset(message)
            if offset is None:
                offset = await self.adapter._find_offset(self.info, message)
            if self.closed or not self.buffer or self.buffer[0] is not message:
                return None
            self.buffer.popleft()
            if not self._over_limit(message):
                return self._deliver(offset, message)
            # Delivered ``delivery_limit`` times and returned unsettled each time (a member dying on it, or nacks):
            # the queue's own count says so, and the record goes to the dead-letter channel, not to a handler.
            count = _int((message.headers or {}).get("x-delivery-count"))
            record = self.adapter._record(self.info, offset, message)
            await self.adapter._dead_letter(record, f"delivery limit reached: delivered {count} times unsettled "
                                                    f"in group {self.group!r}")
            self.state.handed_out(offset)
            self.state.settled(offset)
            await _quietly(message.ack())
        return None

    def _deliver(self, offset: int, message: AbstractIncomingMessage) -> GroupDelivery:
        headers = message.headers or {}
        attempt = 1 + _int(headers.get(ATTEMPT_HEADER)) + _int(headers.get("x-delivery-count"))
        self.state.handed_out(offset)
        self._handed_out()
        return GroupDelivery(self, self.adapter._record(self.info, offset, message), attempt, offset, message)

    def _ack_in_background(self, message: AbstractIncomingMessage) -> None:
        self._acks.append(message)
        if len(self._acks) == 1:
            asyncio.get_running_loop().create_task(self._flush_acks())

    async def _flush_acks(self) -> None:
        await asyncio.sleep(0)  # a yield, not a wait: lets the acks of this turn of the loop gather
        acks, self._acks = self._acks, []
        for message in acks:
            await _quietly(message.ack())


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


async def _quietly(operation: Any) -> None:
    """Settle on an AMQP channel that may be gone: a member that closed had RabbitMQ requeue it already."""
    try:
        await operation
    except Exception as error:
        logger.debug("settling on a closed AMQP channel: %s", error)


class GroupDelivery(Delivery):
    __slots__ = ("_message", "_offset", "_settled", "_subscription", "attempt", "record")

    def __init__(self, subscription: GroupSubscription, record: Record, attempt: int, offset: int,
                 message: AbstractIncomingMessage) -> None:
        self._subscription = subscription
        self._settled = False
        self._offset = offset
        self._message = message
        self.record = record
        self.attempt = attempt

    def _live(self) -> bool:
        """Still ours to settle: not settled, and its member has not closed (RabbitMQ took it back then)."""
        if self._settled:
            return False
        self._settled = True
        subscription = self._subscription
        subscription._released()
        return not subscription.closed

    async def ack(self) -> None:
        if self._live():
            self._subscription.state.settled(self._offset)
            self._subscription.counters.acked += 1
            await _quietly(self._message.ack())

    def ack_now(self) -> bool:
        if self._live():
            subscription = self._subscription
            subscription.state.settled(self._offset)
            subscription.counters.acked += 1
            subscription._ack_in_background(self._message)
        return True

    async def nack(self, delay: float = 0.0) -> None:
        if not self._live():
            return
        subscription = self._subscription
        subscription.counters.retried += 1
        if delay > 0:
            await subscription.adapter._delay(subscription.state, self.record, self._message, self.attempt, delay)
            await _quietly(self._message.ack())
        else:
            await _quietly(self._message.nack(requeue=True))

    async def dead_letter(self, error: str) -> None:
        if not self._live():
            return
        subscription = self._subscription
        await subscription.adapter._dead_letter(self.record, error)
        subscription.state.settled(self._offset)
        await _quietly(self._message.ack())
