"""A fan-out subscription on a stream: ``XREAD`` from a cursor this subscription keeps, no group.

Nothing about a fan-out reader lives in Redis, so acks are local and a nack puts the record back in the local
buffer once its delay has passed (``attempt`` + 1). A fan-out reader never misses an entry the stream still
retains, however slow it is: it reads from its cursor.
"""

from __future__ import annotations

from ...metrics import MetricsRecorder
from ..base import Record
from .entries import stream_entries, to_record
from .reader import BlockingReader
from .retries import LocalRetries
from .streams import StreamChannel
from .subscription import BufferedSubscription, RedisDelivery


class FanOutSubscription(BufferedSubscription):
    def __init__(self, stream: StreamChannel, reader: BlockingReader, cursor: str, max_in_flight: int,
                 recorder: MetricsRecorder) -> None:
        super().__init__(stream.name, None, max_in_flight, recorder)
        self.stream = stream
        self.reader = reader
        self.cursor = cursor
        self._retries = LocalRetries(self.push)

    async def fetch(self, room: int) -> list[tuple[Record, int]]:
        key = self.stream.key
        reply = await self.reader.read("XREAD", "COUNT", room, "STREAMS", key, self.cursor,
                                       block_ms=self.reader.block_ms(None))
        entries = stream_entries(reply, key)
        if not entries:
            return []
        last = entries[-1][0]
        self.cursor = last.decode() if isinstance(last, bytes) else str(last)
        return [(to_record(self.channel, entry_id, fields), 1) for entry_id, fields in entries]

    def on_ack(self, delivery: RedisDelivery) -> None:
        return None

    async def on_nack(self, delivery: RedisDelivery, delay: float) -> None:
        self._retries.schedule(delivery.record, delivery.attempt + 1, delay)

    async def on_dead_letter(self, delivery: RedisDelivery, error: str) -> None:
        await self.stream.append_dead_letter(delivery.record, error, attempt=delivery.attempt)

    async def release(self) -> None:
        self._retries.cancel()
        await self.reader.close()
