"""The Redis adapter: routes each channel to its mode (``streams`` or ``pubsub``, per channel in the registry)
and owns the shared connection pool, the subscriptions and the metrics.

Errors: anything redis-py raises reaches callers as ``AdapterError`` naming the server (never its password)
and the operation; ``publish`` is bounded by ``publish_timeout`` in all, reconnect attempts included.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
from collections.abc import Sequence
from typing import Any

from redis.exceptions import RedisError

from ...catalog import ChannelSpec
from ...errors import AdapterError, UnknownChannel, UnsupportedOperation
from ..base import Adapter, Capabilities, Health, Message, Record, StartAt, Subscription, dead_letter_channel
from .connection import shared_client, translate, translated
from .entries import check_position
from .fanout import FanOutSubscription
from .groups import GroupSubscription
from .pubsub import PubSubChannel, check_counter_position
from .reader import BlockingReader
from .settings import ChannelOptions, RedisSettings
from .streams import StreamChannel
from .subscription import BufferedSubscription

STREAMS = Capabilities(history=True, groups=True, durable=True, redrive=True)
PUBSUB = Capabilities(history=False, groups=False, durable=False)

_members = itertools.count(1)


def member_name(consumer: str | None) -> str:
    """A name no other member of any group shares: the given name is a readable prefix only, so two replicas
    started with the same name never share (and release) one pending-entries list."""
    return f"{consumer or 'member'}@{socket.gethostname()}:{os.getpid()}:{next(_members)}"


class RedisAdapter(Adapter):
    kind = "redis"
    capabilities = STREAMS

    def __init__(self, channels: Sequence[ChannelSpec], *, settings: RedisSettings | None = None) -> None:
        super().__init__(channels)
        self.settings = settings or RedisSettings.from_env()
        self.client = shared_client(self.settings)
        self._streams: dict[str, StreamChannel] = {}
        self._pubsub: dict[str, PubSubChannel] = {}
        self._subscriptions: set[BufferedSubscription] = set()
        self._closed = False
        for spec in channels:
            options = ChannelOptions.parse(spec.name, spec.options)
            dead_name = dead_letter_channel(spec.name)
            stream = StreamChannel.with_dead_letters(spec.name, dead_name, options, self.settings, self.client,
                                                     self.recorder)
            assert stream.dead_letter is not None
            self._streams[dead_name] = stream.dead_letter
            side = stream.redrive_stream()
            self._streams[side.name] = side
            if options.mode == "pubsub":
                self._pubsub[spec.name] = PubSubChannel(spec.name, self.settings, self.client, self.recorder,
                                                        stream.dead_letter)
            else:
                self._streams[spec.name] = stream

    # -- routing -------------------------------------------------------------------------------------------

    def capabilities_for(self, channel: str) -> Capabilities:
        return PUBSUB if channel in self._pubsub else STREAMS

    def _check_open(self) -> None:
        if self._closed:
            raise AdapterError("the redis adapter is closed")

    def _stream(self, channel: str, doing: str) -> StreamChannel:
        self._check_open()
        stream = self._streams.get(channel)
        if stream is not None:
            return stream
        if channel in self._pubsub:
            raise UnsupportedOperation(
                f"channel {channel!r} is in redis pub/sub mode (mode = \"pubsub\"): it keeps no events, so it has "
                f"no {doing}; use mode = \"streams\" for that")
        raise UnknownChannel(f"the redis adapter serves no channel {channel!r}")

    # -- life cycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Fail at start, with the server named, when Redis is unreachable."""
        self._check_open()
        with translated(self.settings, "connecting"):
            await self.client.ping()

    async def health(self) -> Health:
        try:
            async with asyncio.timeout(self.settings.command_timeout):
                await self.client.ping()
        except Exception as error:
            return Health(False, f"redis at {self.settings.safe_url}: {type(error).__name__}: {error}")
        return Health(True, f"redis at {self.settings.safe_url}")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        subscriptions, self._subscriptions = self._subscriptions, set()
        await asyncio.gather(*(s.close() for s in subscriptions), return_exceptions=True)
        await self.client.aclose()
        await self.client.connection_pool.disconnect()

    # -- publishing ----------------------------------------------------------------------------------------

    async def publish(self, channel: str, message: Message) -> str:
        if channel in self._pubsub:
            return (await self.publish_many(channel, (message,)))[0]
        stream = self._streams.get(channel) if not self._closed else None
        if stream is None:
            stream = self._stream(channel, "publishing")
        try:  # not ``translated``: its context manager and message cost more than the XADD's own Python work
            return await stream.publish(message)
        except RedisError as error:
            raise translate(self.settings, f"publishing to {channel!r}", error) from error

    async def publish_many(self, channel: str, messages: Sequence[Message]) -> list[str]:
        self._check_open()
        pubsub = self._pubsub.get(channel)
        with translated(self.settings, f"publishing {len(messages)} event(s) to {channel!r}"):
            if pubsub is not None:
                return await pubsub.publish_many(messages)
            return await self._stream(channel, "publishing").publish_many(messages)

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
        self._check_open()
        subscription: BufferedSubscription
        if channel in self._pubsub:
            subscription = await self._subscribe_pubsub(channel, group, start, max_in_flight)
        else:
            stream = self._stream(channel, "subscriptions")
            with translated(self.settings, f"subscribing to {channel!r}"):
                if group is None:
                    subscription = await self._subscribe_fan_out(stream, start, max_in_flight)
                else:
                    subscription = await self._subscribe_group(stream, group, consumer, start, max_in_flight)
        self._subscriptions.add(subscription)
        return subscription

    async def _subscribe_pubsub(self, channel: str, group: str | None, start: StartAt,
                                max_in_flight: int) -> BufferedSubscription:
        if group is not None:
            raise UnsupportedOperation(
                f"channel {channel!r} is in redis pub/sub mode (mode = \"pubsub\"): it has no consumer groups "
                f"(group {group!r} asked); use mode = \"streams\" for groups")
        if start.kind != "latest":
            raise UnsupportedOperation(
                f"channel {channel!r} is in redis pub/sub mode (mode = \"pubsub\"): it keeps no history, so a "
                f"subscription can only start at the latest event, not {start.kind!r}")
        with translated(self.settings, f"subscribing to {channel!r}"):
            return await self._pubsub[channel].subscribe(max_in_flight)

    async def _subscribe_fan_out(self, stream: StreamChannel, start: StartAt, max_in_flight: int) -> FanOutSubscription:
        if start.kind == "after":
            cursor = check_position(start.position or "")
        elif start.kind == "earliest":
            cursor = "0-0"
        else:
            cursor = await stream.last_position() or "0-0"
        reader = BlockingReader(self.settings, self.client)
        return FanOutSubscription(stream, reader, cursor, max_in_flight, self.recorder)

    async def _subscribe_group(self, stream: StreamChannel, group: str, consumer: str | None, start: StartAt,
                               max_in_flight: int) -> GroupSubscription:
        start_id = {"latest": "$", "earliest": "0"}.get(start.kind) or check_position(start.position or "")
        await stream.ensure_group(group, start_id)
        reader = BlockingReader(self.settings, self.client)
        return GroupSubscription(stream, reader, group, member_name(consumer), max_in_flight, self.recorder,
                                 self._member_left)

    async def _member_left(self, member: GroupSubscription) -> None:
        self._subscriptions.discard(member)
        for other in list(self._subscriptions):
            if isinstance(other, GroupSubscription) and other is not member and not other.closed \
                    and other.stream is member.stream and other.group_name == member.group_name:
                await other.reclaim_soon()

    # -- reading -------------------------------------------------------------------------------------------

    async def history(self, channel: str, *, after: str | None = None, limit: int = 100) -> list[Record]:
        stream = self._stream(channel, "history")
        with translated(self.settings, f"reading history of {channel!r}"):
            return await stream.history(after, limit)

    async def last_position(self, channel: str) -> str | None:
        self._check_open()
        with translated(self.settings, f"reading the last position of {channel!r}"):
            if channel in self._pubsub:
                return await self._pubsub[channel].last_position()
            return await self._stream(channel, "positions").last_position()

    async def committed_position(self, channel: str, group: str) -> str | None:
        if channel in self._pubsub:
            return None  # no group can exist on a pub/sub channel
        stream = self._stream(channel, "groups")
        for member in list(self._subscriptions):  # acks are sent behind the handlers' backs: let them land
            if isinstance(member, GroupSubscription) and member.stream is stream and member.group_name == group:
                await member.flush_acks()
        with translated(self.settings, f"reading the committed position of group {group!r} on {channel!r}"):
            return await stream.committed_position(group)

    def check_position(self, channel: str, position: str) -> str:
        """``position`` if this adapter could have made it for ``channel``, else ``InvalidPosition``."""
        if channel in self._pubsub:
            return check_counter_position(position)
        return check_position(position)


def adapter_factory(channels: Sequence[ChannelSpec], **options: Any) -> RedisAdapter:
    """The ``AdapterFactory`` for kind ``"redis"`` (``settings=RedisSettings(...)`` overrides the environment)."""
    return RedisAdapter(channels, **options)
