"""Learning stream offsets: the tail follower, end-of-stream markers and bounded stream reads.

RabbitMQ tells an AMQP 0-9-1 client a stream message's offset only when it *reads* the message
(``x-stream-offset``): a publisher confirm carries no offset, and RabbitMQ 3.10 has no query for a stream's
end (``queue.declare`` reports 0 messages for a stream; the stream protocol's ``StreamStats`` came in 3.11 and
needs its own plugin and port). So, per channel, the adapter keeps a **tail follower**: a stream consumer from
``next`` that maps every message id it reads to its offset (a bounded map, ``PUBSUB_RABBITMQ_INDEX_SIZE``).

* ``publish`` sends with a fresh message id and returns once the message is confirmed *and* the tail has read
  it: the position is the offset RabbitMQ gave it.
* The **end** of the stream is learned by appending a **marker** (an empty message with ``x-pubsub-marker``,
  published to the stream queue itself, so group queues never see it) and waiting for the tail to read it:
  every event before the marker's offset was appended before the call. ``history`` and ``last_position`` do
  this; every reader skips markers. Markers are the price of an exact end: one small message per call.
* A group delivery (from its quorum queue) is matched to its stream offset through the same map; a message
  older than the tail (queued before this process started) is looked up by reading the stream from its
  timestamp (``find``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import itertools
import logging
import os
from collections import OrderedDict
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage

from ...errors import AdapterError
from .headers import MARKER_HEADER

logger = logging.getLogger("hipponot_pubsub.runtime.adapters.rabbitmq")

#: Publisher clocks and the broker's chunk timestamps may disagree: a lookup by timestamp starts this early.
CLOCK_SKEW = datetime.timedelta(seconds=30)

_process = os.urandom(4).hex()
_instances = itertools.count()


class MessageIds:
    """Message ids unique across processes and adapters: a random process prefix, an instance and a counter
    (no uuid per message: a counter is ~20 times cheaper)."""

    __slots__ = ("_counter", "prefix")

    def __init__(self) -> None:
        self.prefix = f"{_process}.{next(_instances)}."
        self._counter = itertools.count()

    def next(self) -> str:
        return self.prefix + str(next(self._counter))


def is_marker(message: AbstractIncomingMessage) -> bool:
    headers = message.headers
    return bool(headers) and MARKER_HEADER in headers


def offset_of(message: AbstractIncomingMessage) -> int:
    offset = message.headers.get("x-stream-offset")
    if not isinstance(offset, int):
        raise AdapterError("a stream message without x-stream-offset (is the queue a stream queue?)")
    return offset


class StreamTail:
    """Follows one stream from ``next``; see the module docstring."""

    def __init__(self, stream: str, index_size: int, fetch_batch: int) -> None:
        self.stream = stream
        self.index: OrderedDict[str, int] = OrderedDict()
        self.index_size = index_size
        self.fetch_batch = fetch_batch
        #: message id -> future of (its offset, the newest non-marker offset before it)
        self.waiting: dict[str, asyncio.Future[tuple[int, int | None]]] = {}
        self.last_real: int | None = None  # newest non-marker offset read
        self.channel: AbstractChannel | None = None
        self._unacked = 0
        self._failed: BaseException | None = None

    async def open(self, connection: AbstractConnection) -> None:
        self.channel = channel = await connection.channel()
        await channel.set_qos(prefetch_count=self.fetch_batch)
        queue = await channel.get_queue(self.stream, ensure=False)
        await queue.consume(self._on_message, arguments={"x-stream-offset": "next"})
        channel.close_callbacks.add(self._on_close)

    def _on_close(self, _channel: object, error: BaseException | None = None) -> None:
        self._failed = error or AdapterError(f"the position reader of stream {self.stream!r} stopped")
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(AdapterError(f"lost the stream {self.stream!r}: {self._failed}"))
        self.waiting.clear()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        offset = offset_of(message)
        mid = message.message_id
        before = self.last_real
        if not is_marker(message):
            self.last_real = offset
            if mid is not None:
                index = self.index
                index[mid] = offset
                if len(index) > self.index_size:
                    index.popitem(last=False)
        if mid is not None:
            future = self.waiting.pop(mid, None)
            if future is not None and not future.done():
                future.set_result((offset, before))
        self._unacked += 1
        if self._unacked * 2 >= self.fetch_batch:  # one multiple-ack per half read-ahead keeps credit flowing
            self._unacked = 0
            asyncio.get_running_loop().create_task(self._ack(message))

    @staticmethod
    async def _ack(message: AbstractIncomingMessage) -> None:
        with contextlib.suppress(Exception):  # a closed channel: the reader is being closed anyway
            await message.ack(multiple=True)

    def expect(self, mid: str) -> asyncio.Future[tuple[int, int | None]]:
        """A future resolved when the tail reads message ``mid`` (register it *before* publishing)."""
        if self._failed is not None:
            raise AdapterError(f"lost the stream {self.stream!r}: {self._failed}")
        future: asyncio.Future[tuple[int, int | None]] = asyncio.get_running_loop().create_future()
        self.waiting[mid] = future
        return future

    def forget(self, mid: str) -> None:
        self.waiting.pop(mid, None)

    async def close(self) -> None:
        channel, self.channel = self.channel, None
        if channel is not None and not channel.is_closed:
            with contextlib.suppress(Exception):
                await channel.close()


async def read_stream(connection: AbstractConnection, stream: str, start: Any, stop: int, *, limit: int,
                      fetch_batch: int, timeout: float, want: str | None = None,
                      ) -> list[tuple[int, AbstractIncomingMessage]]:
    """Non-marker messages of ``stream`` from ``start`` (an ``x-stream-offset`` value) to before offset ``stop``
    (an offset known to exist, e.g. a marker's), at most ``limit``; with ``want``, stop at that message id."""
    if limit <= 0 or (isinstance(start, int) and start >= stop):
        return []
    found: list[tuple[int, AbstractIncomingMessage]] = []
    done = asyncio.get_running_loop().create_future()
    prefetch = max(16, min(fetch_batch, limit + 16))
    received = 0

    async def on_message(message: AbstractIncomingMessage) -> None:
        nonlocal received
        if done.done():
            return
        offset = offset_of(message)
        if offset >= stop:
            done.set_result(None)
            return
        if not is_marker(message):
            found.append((offset, message))
            if len(found) >= limit or (want is not None and message.message_id == want):
                done.set_result(None)
                return
        received += 1
        if received % (prefetch // 2) == 0:  # credit for the next messages (markers count too)
            asyncio.get_running_loop().create_task(StreamTail._ack(message))

    channel = await connection.channel()
    try:
        await channel.set_qos(prefetch_count=prefetch)
        queue = await channel.get_queue(stream, ensure=False)
        await queue.consume(on_message, arguments={"x-stream-offset": start})
        try:
            async with asyncio.timeout(timeout):
                await done
        except TimeoutError:
            raise AdapterError(f"reading stream {stream!r} timed out after {timeout:g}s") from None
    finally:
        with contextlib.suppress(Exception):
            await channel.close()
    return found


def marker(mid: str) -> aio_pika.Message:
    return aio_pika.Message(b"", message_id=mid, headers={MARKER_HEADER: 1})
