"""Subscriptions: a JetStream pull consumer read through one inbox, handed out up to ``max_in_flight``.

A fan-out subscription is an ephemeral consumer of its own (deleted at ``close``, and by the server
``inactive_threshold`` after its process died); a group member binds the group's durable consumer, which every
member pulls from, so JetStream itself makes them compete. Both use explicit acks, so the broker does every
redelivery: a ``nack(delay)`` is ``-NAK {"delay": ...}``, a delivery its holder never settles comes back after
``ack_wait``, and ``attempt`` is JetStream's delivery count (carried in the message's ack subject), which
survives the process: a poison event that keeps killing its consumer still reaches the bus's retry limit and
gets dead-lettered.

Pulling: one pull request is out at a time, asking for what fits under ``max_in_flight + readahead`` minus what
is held; the next one goes when the request is used up or expires (the server's ``408``) and there is room for
at least half the limit (or the subscription is idle), so a busy member sends one request per half-window rather
than per event. A request the server never answered (a server restart drops it) is given up after
``pull_expires`` plus a margin, and every reconnection pulls afresh. A consumer the server no longer has (a
fan-out consumer deleted while the process was away, a server that lost its state) is created again, a fan-out
one after the last event it received.

Closing: the inbox is unsubscribed first (the server then skips our waiting pull request: it checks interest
before delivering), then a group member naks what it holds so the group's other members get it (once that request
expired: see ``_hand_back``), and has the server confirm its acks, so the group's committed position read right
after a member left includes everything it acked.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, Any

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsInbox
from nats.errors import Error as NatsError

from ...errors import AdapterError
from ..base import NO_HEADERS, Delivery, Record, StartAt, Subscription
from ..signal import Signal
from .headers import BINARY_MARKER, KEY_HEADER, binary_to_structured, is_binary_mode

if TYPE_CHECKING:
    from .adapter import NatsAdapter, StreamInfo

logger = logging.getLogger("hipponot_pubsub.runtime.adapters.nats")

HANDED, SETTLING, DONE, DROPPED = range(4)
ACK = b"+ACK"
TERM = b"+TERM"
NAK = b"-NAK"
#: Seconds past a pull request's expiry after which one never answered is taken as lost.
LOST_MARGIN = 2.0
#: Seconds past a pull request's expiry by which the server has dropped it (its 408 is sent at expiry).
EXPIRY_MARGIN = 0.25
#: Seconds to wait before pulling again after the server refused a pull (409: too many waiting requests, ...).
REFUSED_PAUSE = 0.1
#: ``Record``'s constructor without the Python-level ``__new__`` a named tuple adds (all fields given)
_new_tuple = tuple.__new__


def ack_tokens(reply: str) -> tuple[int, int]:
    """(stream sequence, delivery count) from a JetStream ack subject: ``$JS.ACK.<stream>.<consumer>.<delivered>.
    <stream seq>.<consumer seq>.<time>.<pending>`` or the newer form with domain and account hash first (12+
    tokens). Stream and consumer names hold no dots, so splitting is safe."""
    tokens = reply.split(".")
    at = 4 if len(tokens) == 9 else 6
    return int(tokens[at + 1]), int(tokens[at])


class NatsSubscription(Subscription):
    def __init__(self, adapter: NatsAdapter, info: StreamInfo, group: str | None, member: str | None,
                 consumer: str, max_in_flight: int, start: StartAt, after: int | None) -> None:
        self.adapter = adapter
        self.info = info
        self.channel = info.channel
        self.group = group
        self.member = member
        #: the server-side consumer: the group's durable, or this subscription's ephemeral one
        self.consumer = consumer
        self.max_in_flight = max_in_flight
        self.start = start  # where it started (a consumer made again starts after what it received, else here)
        self.after = after
        self.in_flight = 0
        self.closed = False
        self._nc = adapter.connection
        self._counters = adapter.recorder.counters(info.channel)
        self._recorder = adapter.recorder
        self._prefix = f"{info.tag}:"
        settings = adapter.settings
        self._limit = max_in_flight + settings.readahead
        self._threshold = max(1, self._limit // 2)
        self._expires = settings.pull_expires
        self._buffer: deque[Msg] = deque()
        self._held: dict[int, NatsDelivery] = {}  # handed out, not settled: by stream sequence
        self._outstanding = 0  # events the pull request that is out may still bring
        self._sent_at = 0.0
        self._activity = 0  # bumped by every message or status the inbox gets
        self._last_seq = 0  # the newest stream sequence handed out (with the buffer's: where a remade consumer starts)
        self._last_ack: str | None = None  # ack subject of the newest delivery acked (see ``sync``)
        self._refused = False
        self._check_consumer = False  # see that the server still has the consumer (after a reconnect, ...)
        self._failure: BaseException | None = None
        self._signal = Signal()  # deliveries to hand out, or closed
        self._wake = Signal()  # the puller: room, a pull ended, reconnected, closed
        self._inbox: NatsInbox | None = None
        self._reply_to = ""  # the inbox's subject: where pull requests ask JetStream to deliver
        self._task: asyncio.Task[None] | None = None
        self._next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{info.stream}.{consumer}"

    def __repr__(self) -> str:
        return f"<NatsSubscription {self.info.stream} group={self.group} member={self.member}>"

    # -- life cycle ----------------------------------------------------------------------------------------

    async def open(self) -> None:
        self._inbox = await self._nc.subscribe(self._nc.new_inbox(), cb=self._on_message,
                                               pending_msgs_limit=-1, pending_bytes_limit=-1)
        self._reply_to = self._inbox.subject
        self._task = asyncio.create_task(self._puller(), name=f"nats-pull:{self.info.stream}:{self.consumer}")

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._signal.notify_all()
        self._wake.notify_all()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._inbox is not None:
            try:
                await self._inbox.unsubscribe()
            except NatsError as error:
                logger.warning("%r: unsubscribing: %s", self, error)
        held = [d._reply for d in self._held.values()] + [m.reply for m in self._buffer]
        for delivery in self._held.values():
            delivery.state = DROPPED
            self._counters.in_flight -= 1
        self._held.clear()
        self._buffer.clear()
        self.in_flight = 0
        if self.group is not None and held:  # hand them back to the group now rather than after ack_wait
            await self._hand_back(held)
        if self.group is not None:  # the group's ack floor, read right after, includes our acks
            try:
                await self._confirm_acks()
            except AdapterError as error:
                logger.warning("%r: %s before close", self, error)
        await self.adapter._forget(self)

    async def _hand_back(self, replies: list[str]) -> None:
        """Nak what this member held, delayed until the pull request it may still have on the server expired.

        nats-server 2.9.10 mishandles a redelivery that comes due while a consumer's only waiting pull request
        has lost its interest (our inbox is gone): it takes the message off the redelivery queue, finds nobody
        to give it to and "puts it back" by rewinding the consumer's stream pointer, so the newest delivered
        event is delivered again as new and the redelivery waits for ``ack_wait``. Once the request expired the
        server has dropped it, and the naks come due with the other members' requests only."""
        delay = 1e-9
        if self._outstanding:
            remaining = self._sent_at + self._expires - asyncio.get_running_loop().time()
            delay = max(delay, remaining + EXPIRY_MARGIN)
        verb = b'-NAK {"delay":%d}' % max(1, int(delay * 1e9))
        try:
            for reply in replies:
                await self._nc.publish(reply, verb)
            await self._nc.flush(timeout=max(1, round(self.adapter.settings.publish_timeout)))
        except (NatsError, TimeoutError) as error:
            logger.warning("%r: handing back %d deliveries failed (redelivered after ack_wait): %s", self,
                           len(replies), error)

    def reconnected(self) -> None:
        """The connection came back: whatever pull request was out may be gone with the old server, and so may
        the consumer (a server that restarted without it, or deleted it while this process was away)."""
        self._outstanding = 0
        self._check_consumer = True
        self._wake.notify_all()

    # -- pulling -------------------------------------------------------------------------------------------

    async def _puller(self) -> None:
        loop = asyncio.get_running_loop()
        nc, wake = self._nc, self._wake
        while not self.closed:
            if self._check_consumer:
                if not await self._check():
                    return
                continue
            if self._refused:
                self._refused = False
                await wake.wait(REFUSED_PAUSE)
                continue
            if self._outstanding:
                activity = self._activity
                await wake.wait(self._expires + LOST_MARGIN)
                if (self._outstanding and activity == self._activity
                        and loop.time() - self._sent_at >= self._expires + LOST_MARGIN):
                    # the server answers a pull for a consumer it does not have with silence
                    logger.info("%r: pull request unanswered, checking the consumer", self)
                    self._outstanding = 0
                    self._check_consumer = True
                continue
            held = self.in_flight + len(self._buffer)
            room = self._limit - held
            if room <= 0 or (room < self._threshold and held):
                await wake.wait(None)
                continue
            self._outstanding = room
            self._sent_at = loop.time()
            request = b'{"batch":%d,"expires":%d}' % (room, int(self._expires * 1e9))
            try:
                await nc.publish(self._next_subject, request, reply=self._reply_to)
            except NatsError as error:
                logger.warning("%r: pull request failed, retrying: %s", self, error)
                self._outstanding = 0
                await wake.wait(1.0)

    async def _check(self) -> bool:
        """Make sure the server-side consumer exists, making it again if it is gone (a fan-out one after the last
        event this subscription received); ``False`` (and the subscription failed) if that cannot be done. While
        the server is unreachable it keeps trying."""
        self._outstanding = 0
        received = [ack_tokens(msg.reply)[0] for msg in self._buffer]
        after = max([self._last_seq, *received]) or self.after
        try:
            if await self.adapter._ensure_consumer(self, start=self.start, after=after):
                logger.warning("%r: its consumer was gone on the server, made it again", self)
        except AdapterError as error:
            if not self._nc.is_connected:
                await self._wake.wait(1.0)  # reconnecting: try again then (close wakes it)
                return True
            logger.error("%r: its consumer is gone and cannot be made again: %s", self, error)
            self._failure = error
            self._signal.notify_all()
            return False
        self._check_consumer = False
        return True

    async def _on_message(self, msg: Msg) -> None:
        self._activity += 1
        if msg.reply:  # an event (status messages carry no reply subject)
            if self._outstanding:
                self._outstanding -= 1
                if not self._outstanding:
                    self._wake.notify_all()
            self._buffer.append(msg)
            if self._signal.waiters:
                self._signal.notify_all()
            return
        headers = msg.headers or {}
        status = headers.get("Status", "")
        if status == "100":  # idle heartbeat / flow control
            return
        self._outstanding = 0
        if status in ("404", "408"):  # no messages / request expired: pull again
            pass
        elif status == "503" or (status == "409" and "deleted" in _description(headers).lower()):
            self._check_consumer = True
        elif status == "409":
            self._refused = True
            logger.debug("%r: pull refused: %s", self, _description(headers))
        else:
            logger.warning("%r: unexpected status %s %s", self, status, _description(headers))
            self._refused = True
        self._wake.notify_all()

    # -- handing out ---------------------------------------------------------------------------------------

    async def next(self) -> Delivery | None:
        while not self.closed:
            ready = self.take_ready()
            if ready is not None:
                return ready
            if self._failure is not None:
                raise AdapterError(f"subscription to {self.info.stream!r} failed: {self._failure}") \
                    from self._failure
            await self._signal.wait(None)
        return None

    def take_ready(self) -> Delivery | None:
        if self.in_flight >= self.max_in_flight or not self._buffer or self.closed:
            return None
        msg = self._buffer.popleft()
        reply = msg.reply
        sequence, attempt = ack_tokens(reply)
        if sequence > self._last_seq:
            self._last_seq = sequence
        headers: Any = msg.headers
        payload = msg.data
        if not headers:
            record = _new_tuple(Record, (self.channel, f"{self._prefix}{sequence}", payload, None, NO_HEADERS))
        else:
            if BINARY_MARKER in headers and is_binary_mode(headers):
                payload, headers = binary_to_structured(payload, headers)
            record = _new_tuple(Record, (self.channel, f"{self._prefix}{sequence}", payload,
                                         headers.get(KEY_HEADER), headers))
        delivery = NatsDelivery(self, reply, sequence, record, attempt)
        self._held[sequence] = delivery
        self.in_flight += 1
        counters = self._counters
        counters.delivered += 1
        counters.in_flight += 1
        return delivery

    # -- settling ------------------------------------------------------------------------------------------

    def _release(self, delivery: NatsDelivery) -> None:
        self._held.pop(delivery.sequence, None)
        self.in_flight -= 1
        self._counters.in_flight -= 1
        if self._wake.waiters:
            self._wake.notify_all()
        if self._signal.waiters and self._buffer:
            self._signal.notify_all()

    async def _send(self, reply: str, verb: bytes) -> None:
        try:
            await self._nc.publish(reply, verb)
        except NatsError as error:  # the broker redelivers it after ack_wait: at least once either way
            logger.warning("%r: settling %s failed: %s", self, reply, error)

    async def sync(self) -> None:
        """Return once the server has applied every ack this subscription sent (``AdapterError`` if it does not
        answer in time)."""
        if not self.closed:
            await self._confirm_acks()

    async def _confirm_acks(self) -> None:
        """Acks are fire-and-forget publishes; the server applies a consumer's acks in order, and answers an ack
        that carries a reply subject once it is applied. So acking the newest acked delivery again, as a request,
        waits for all before it (acking an acked message again changes nothing)."""
        last = self._last_ack
        if last is None:
            return
        try:
            await self._nc.request(last, ACK, timeout=self.adapter.settings.publish_timeout)
        except (NatsError, TimeoutError) as error:
            raise AdapterError(f"the server did not confirm the acks of {self!r}: {error}") from error


def _description(headers: dict[str, str]) -> str:
    for name, value in headers.items():
        if str(name).lower().endswith("description"):
            return value
    return ""


class NatsDelivery(Delivery):
    """One hand-over of a JetStream message; settling it publishes ``+ACK``, ``-NAK`` or ``+TERM`` to its ack
    subject."""

    __slots__ = ("_reply", "_subscription", "attempt", "record", "sequence", "state")

    def __init__(self, subscription: NatsSubscription, reply: str, sequence: int, record: Record,
                 attempt: int) -> None:
        self._subscription = subscription
        self._reply = reply
        self.sequence = sequence
        self.record = record
        self.attempt = attempt
        self.state = HANDED

    async def ack(self) -> None:
        if self.state != HANDED:
            return
        self.state = DONE
        subscription = self._subscription
        subscription._release(self)
        subscription._counters.acked += 1
        subscription._last_ack = self._reply
        await subscription._send(self._reply, ACK)

    async def nack(self, delay: float = 0.0) -> None:
        if self.state != HANDED:
            return
        self.state = DONE
        subscription = self._subscription
        subscription._release(self)
        subscription._recorder.add(self.record.channel, "retried")
        verb = NAK if delay <= 0 else b'-NAK {"delay":%d}' % max(1, int(delay * 1e9))
        await subscription._send(self._reply, verb)

    async def dead_letter(self, error: str) -> None:
        if self.state != HANDED:
            return
        self.state = SETTLING
        subscription = self._subscription
        try:
            await subscription.adapter._dead_letter(self.record, error)
        except Exception:
            if self.state == SETTLING:  # try again later rather than lose it
                self.state = DONE
                subscription._release(self)
                await subscription._send(self._reply, b'-NAK {"delay":1000000000}')
            raise
        if self.state == SETTLING:  # not handed back by a close meanwhile
            self.state = DONE
            subscription._release(self)
            subscription._last_ack = self._reply  # +TERM moves the ack floor as +ACK does
            await subscription._send(self._reply, TERM)
