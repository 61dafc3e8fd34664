"""Pub/sub mode: ``PUBLISH``/``SUBSCRIBE`` fan-out for low-latency notifications. Nothing is stored: a
subscriber sees what is published while it is connected, there is no history and there are no groups (the
adapter refuses both when you subscribe, naming the channel's mode, rather than failing on the first event).

Positions are numbers from a per-channel counter (``INCRBY`` in the same Lua script as the ``PUBLISH``\\ es,
so they are unique and ordered across publishers, and a batch goes out whole). Each published message is
the position, a newline, then the frame streams mode stores (``entries.pack``). Dead letters still go to a
stream (the channel's dead-letter channel keeps its history: a failed notification is worth keeping).

Back-pressure does not exist in pub/sub: a subscriber that falls behind is buffered by Redis up to its
``client-output-buffer-limit pubsub`` and then disconnected, losing messages. Use streams mode when that
matters. After a reconnect redis-py subscribes again by itself; what was published meanwhile is gone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from ...errors import InvalidPosition
from ...metrics import MetricsRecorder
from ..base import Message, Record
from .connection import reader_client
from .entries import pack, text, unpack
from .keys import ChannelKeys
from .retries import LocalRetries
from .settings import RedisSettings
from .streams import StreamChannel, dead_letter_fields
from .subscription import BufferedSubscription, RedisDelivery

_PUBLISH = """
local last = redis.call('INCRBY', KEYS[1], #ARGV - 1)
local first = last - (#ARGV - 1) + 1
for i = 2, #ARGV do
  redis.call('PUBLISH', ARGV[1], tostring(first + i - 2) .. '\\n' .. ARGV[i])
end
return last
"""


def _parse(channel: str, data: bytes) -> Record:
    position, _, frame = data.partition(b"\n")
    return unpack(channel, position.decode(), frame)


def check_counter_position(position: str) -> str:
    if not (isinstance(position, str) and position.isascii() and position.isdigit()):
        raise InvalidPosition(f"{position!r} is not a position of a redis pub/sub channel (a number)")
    return position


class PubSubChannel:
    def __init__(self, name: str, settings: RedisSettings, client: Redis, recorder: MetricsRecorder,
                 dead_letter: StreamChannel) -> None:
        keys = ChannelKeys.of(settings.prefix, name)
        self.name = name
        self.settings = settings
        self.client = client
        self.recorder = recorder
        self.dead_letter = dead_letter
        self.topic = keys.pubsub
        self.sequence = keys.sequence
        self._script = client.register_script(_PUBLISH)

    async def publish_many(self, messages: Sequence[Message]) -> list[str]:
        if not messages:
            return []
        started = time.perf_counter()
        last = int(await self._script(keys=[self.sequence], args=[self.topic, *(pack(m) for m in messages)]))
        self.recorder.observe_publish(self.name, time.perf_counter() - started, len(messages))
        return [str(n) for n in range(last - len(messages) + 1, last + 1)]

    async def last_position(self) -> str | None:
        value = await self.client.get(self.sequence)
        return None if value is None else text(value)

    async def subscribe(self, max_in_flight: int) -> PubSubSubscription:
        client = reader_client(self.settings)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self.topic)
        except BaseException:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            await client.aclose()
            raise
        return PubSubSubscription(self, client, pubsub, max_in_flight)


class PubSubSubscription(BufferedSubscription):
    def __init__(self, channel: PubSubChannel, client: Redis, pubsub: PubSub, max_in_flight: int) -> None:
        super().__init__(channel.name, None, max_in_flight, channel.recorder)
        self.source = channel
        self._client = client
        self._pubsub = pubsub
        self._retries = LocalRetries(self.push)

    async def fetch(self, room: int) -> list[tuple[Record, int]]:
        got: list[tuple[Record, int]] = []
        timeout = self.source.settings.block
        while len(got) < room:
            message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
            if message is None:
                break
            if message.get("type") == "message":
                got.append((_parse(self.channel, message["data"]), 1))
                timeout = 0.0  # take what has already arrived, then hand it out
        return got

    def on_ack(self, delivery: RedisDelivery) -> None:
        return None

    async def on_nack(self, delivery: RedisDelivery, delay: float) -> None:
        self._retries.schedule(delivery.record, delivery.attempt + 1, delay)

    async def on_dead_letter(self, delivery: RedisDelivery, error: str) -> None:
        dead = self.source.dead_letter
        fields = dead_letter_fields(delivery.record, error, attempt=delivery.attempt)
        await self.source.client.xadd(dead.key, fields, **dead.trim_args())  # type: ignore[arg-type]

    async def release(self) -> None:
        self._retries.cancel()
        try:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        finally:
            await self._client.aclose()
