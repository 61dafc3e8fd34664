"""What the contract suite does not cover: retention options, key layout, pub/sub mode, settings, health."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from hipponot_pubsub.runtime.adapters.base import Message, StartAt, dead_letter_channel
from hipponot_pubsub.runtime.adapters.redis import RedisAdapter, RedisSettings
from hipponot_pubsub.runtime.adapters.redis.keys import ChannelKeys
from hipponot_pubsub.runtime.catalog import ChannelSpec
from hipponot_pubsub.runtime.errors import AdapterError, InvalidPosition, UnsupportedOperation

from .server import RedisServer, free_port
from .waiting import take


def adapter_for(server: RedisServer, *channels: ChannelSpec, **settings: float) -> RedisAdapter:
    return RedisAdapter(channels, settings=RedisSettings(url=server.url, block=0.2, **settings))  # type: ignore[arg-type]


def key_slot(key: str) -> str:
    """The part of a key Redis Cluster hashes (the first ``{...}`` hash tag)."""
    start = key.index("{")
    return key[start + 1:key.index("}", start + 1)]


def test_every_key_of_a_channel_hashes_to_one_slot() -> None:
    keys = ChannelKeys.of("pubsub", "orders")
    assert {key_slot(k) for k in (keys.stream, keys.dead_letter, keys.pubsub, keys.sequence)} == {"orders"}


async def test_maxlen_trims_approximately(server: RedisServer) -> None:
    adapter = adapter_for(server, ChannelSpec("capped", options={"maxlen": 100}))
    try:
        for _ in range(10):
            await adapter.publish_many("capped", [Message(b"x")] * 100)
        retained = await adapter.history("capped", limit=10_000)
        assert 100 <= len(retained) < 1000  # "~": Redis trims whole nodes, never below maxlen
    finally:
        await adapter.close()


async def test_max_age_trims_by_minimum_id(server: RedisServer) -> None:
    adapter = adapter_for(server, ChannelSpec("aged", options={"max_age": 3600}))
    client = aioredis.Redis.from_url(server.url)
    try:
        key = ChannelKeys.of("pubsub", "aged").stream
        for ms in range(1, 201):  # two hours old, far outside max_age
            await client.xadd(key, {"d": b"old"}, id=f"{ms}-0")
        await adapter.publish("aged", Message(b"new"))
        retained = await adapter.history("aged", limit=1000)
        assert retained[-1].payload == b"new"
        assert len(retained) < 201  # approximate: whole macro nodes of old entries went
    finally:
        await client.aclose()
        await adapter.close()


async def test_publish_many_is_one_transaction(server: RedisServer) -> None:
    adapter = adapter_for(server, ChannelSpec("batch"))
    client = aioredis.Redis.from_url(server.url)
    try:
        await client.set(ChannelKeys.of("pubsub", "batch").stream, "not a stream")
        with pytest.raises(AdapterError, match="WRONGTYPE"):
            await adapter.publish_many("batch", [Message(b"1"), Message(b"2")])
    finally:
        await client.aclose()
        await adapter.close()


async def test_group_start_after_a_position_and_history_of_positions(server: RedisServer) -> None:
    adapter = adapter_for(server, ChannelSpec("c"))
    try:
        positions = await adapter.publish_many("c", [Message(b"%d" % i) for i in range(4)])
        member = await adapter.subscribe("c", group="g", start=StartAt.after(positions[1]), max_in_flight=5)
        assert [(await take(member)).record.position for _ in range(2)] == positions[2:]
        with pytest.raises(InvalidPosition):
            await adapter.subscribe("c", group="h", start=StartAt.after("12 34"))
    finally:
        await adapter.close()


async def test_pubsub_mode_fans_out_and_refuses_history_and_groups_at_subscribe(server: RedisServer) -> None:
    adapter = adapter_for(server, ChannelSpec("pings", options={"mode": "pubsub"}))
    try:
        caps = adapter.capabilities_for("pings")
        assert (caps.history, caps.groups, caps.durable) == (False, False, False)
        with pytest.raises(UnsupportedOperation, match=r"pub/sub mode.*no consumer groups"):
            await adapter.subscribe("pings", group="g")
        with pytest.raises(UnsupportedOperation, match="keeps no history"):
            await adapter.subscribe("pings", start=StartAt.EARLIEST)
        with pytest.raises(UnsupportedOperation, match=r"pub/sub mode.*history"):
            await adapter.history("pings")
        first = await adapter.subscribe("pings", max_in_flight=10)
        second = await adapter.subscribe("pings", max_in_flight=10)
        one = await adapter.publish("pings", Message(b"1", "k", {"ce-type": "ping"}))
        rest = await adapter.publish_many("pings", [Message(b"2"), Message(b"3")])
        assert [one, *rest] == ["1", "2", "3"]
        assert await adapter.last_position("pings") == "3"
        for subscription in (first, second):
            got = [await take(subscription) for _ in range(3)]
            assert [d.record.position for d in got] == ["1", "2", "3"]
            assert got[0].record.key == "k" and got[0].record.headers == {"ce-type": "ping"}
            await got[0].ack()
            await got[1].nack()
            assert (await take(subscription)).attempt == 2
            await got[2].dead_letter("boom")
        dead = await adapter.history(dead_letter_channel("pings"))
        assert [d.headers["x-error"] for d in dead] == ["boom", "boom"]
        assert dead[0].headers["x-original-channel"] == "pings"
    finally:
        await adapter.close()


async def test_unknown_mode_fails_when_the_adapter_is_made() -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        RedisAdapter([ChannelSpec("x", options={"mode": "kafka"})], settings=RedisSettings())


def test_settings_from_the_environment() -> None:
    settings = RedisSettings.from_env({
        "PUBSUB_REDIS_URL": "rediss://user:secret@cache.example:6380/2",
        "PUBSUB_REDIS_PASSWORD": "other",
        "PUBSUB_REDIS_PUBLISH_TIMEOUT": "3",
        "PUBSUB_REDIS_CLAIM_IDLE": "60",
    })
    assert settings.url.startswith("rediss://") and settings.password == "other"
    assert settings.publish_timeout == 3.0 and settings.claim_idle == 60.0
    assert "secret" not in settings.safe_url and settings.safe_url == "rediss://cache.example:6380/2"
    with pytest.raises(ValueError, match="redis://"):
        RedisSettings.from_env({"PUBSUB_REDIS_URL": "http://nope"})
    with pytest.raises(ValueError, match="PUBSUB_REDIS_BLOCK"):
        RedisSettings.from_env({"PUBSUB_REDIS_BLOCK": "-1"})


async def test_unreachable_redis_fails_start_and_health_with_the_server_named() -> None:
    url = f"redis://:hunter2@127.0.0.1:{free_port()}/0"
    adapter = RedisAdapter([ChannelSpec("c")], settings=RedisSettings(url=url, connect_timeout=0.2, retries=1))
    try:
        with pytest.raises(AdapterError, match=r"redis at redis://127\.0\.0\.1:\d+/0: connecting failed") as raised:
            await adapter.start()
        assert "hunter2" not in str(raised.value)
        health = await adapter.health()
        assert not health.ok and "hunter2" not in health.detail
        with pytest.raises(AdapterError):
            await asyncio.wait_for(adapter.publish("c", Message(b"x")), 5)
    finally:
        await adapter.close()
