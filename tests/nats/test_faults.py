"""Faults against real NATS servers: a group member killed mid-batch, a poison event, an unreachable server, a
server killed and restarted mid-stream (a private ``nats-server -js`` on a free port, file storage).

No sleeps: every wait is on a delivery, a subprocess line or a condition, each with a timeout; the only timed
windows prove that something does *not* arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from hipponot_pubsub.runtime.adapters.base import ERROR_HEADER, Delivery, Message, StartAt, dead_letter_channel
from hipponot_pubsub.runtime.adapters.nats import NatsAdapter, NatsSettings, adapter_factory
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.catalog import ChannelSpec
from hipponot_pubsub.runtime.envelope import Envelope
from hipponot_pubsub.runtime.errors import AdapterError
from hipponot_pubsub.runtime.retry import RetryPolicy

from ..brokers import catalog_on, doomed_member, notification
from .conftest import drop_streams, settings_for
from .server import NatsServer, free_port

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 10.0

DOOMED_MEMBER = doomed_member("nats", "NatsAdapter", "NatsSettings")


def _env(settings: NatsSettings, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PUBSUB_NATS_URL": settings.url,
        "PUBSUB_NATS_STREAM_TEMPLATE": settings.stream_template,
        "PUBSUB_NATS_SUBJECT_TEMPLATE": settings.subject_template,
        "PUBSUB_NATS_GROUP_TEMPLATE": settings.group_template,
        "PUBSUB_NATS_STORAGE": settings.storage,
        "PUBSUB_NATS_ACK_WAIT": str(settings.ack_wait),
        "PYTHONPATH": str(ROOT),
        **extra,
    })
    return env


async def take(subscription: Any, timeout: float = TIMEOUT) -> Delivery:
    delivery = await asyncio.wait_for(subscription.next(), timeout)
    assert delivery is not None
    return delivery


async def test_a_member_killed_mid_batch_has_its_deliveries_go_to_the_survivor(nats_url: str, channel: str) -> None:
    settings = settings_for(nats_url, ack_wait=1.0)
    adapter = NatsAdapter([ChannelSpec(channel, "nats", {})], settings=settings)
    await adapter.start()
    try:
        positions = await adapter.publish_many(channel, [Message(b'{"n":%d}' % i) for i in range(5)])
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", DOOMED_MEMBER, channel, env=_env(settings), cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert child.stdout is not None
            line = (await asyncio.wait_for(child.stdout.readline(), 30)).decode()
            if not line.startswith("committed"):
                stderr = await asyncio.wait_for(child.stderr.read(), 5) if child.stderr else b""
                pytest.fail(f"the doomed member failed: {line!r} {stderr.decode()[-2000:]}")
            assert line.split()[1] == positions[1]  # it acked two, and the server confirmed them
        finally:
            child.kill()  # SIGKILL: no nak, no unsubscribe; the server notices only by ack_wait running out
            await child.wait()
        survivor = await adapter.subscribe(channel, group="workers", consumer="survivor", max_in_flight=10)
        redelivered = [await take(survivor) for _ in range(3)]
        assert sorted(d.record.position for d in redelivered) == positions[2:]  # exactly the unacked ones
        assert [d.attempt for d in redelivered] == [2, 2, 2]  # JetStream counted the dead member's delivery
        for delivery in redelivered:
            await delivery.ack()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(survivor.next(), 0.2)
        assert await adapter.committed_position(channel, "workers") == positions[-1]
    finally:
        await adapter.close()
        await drop_streams(settings, [channel])


# -- poison event, through the bus ------------------------------------------------------------------------


@pytest_asyncio.fixture
async def nats_bus(nats_settings: NatsSettings) -> AsyncIterator[Bus]:
    factory: Any = lambda channels: adapter_factory(channels, settings=nats_settings)  # noqa: E731
    bus = Bus(catalog_on("nats"), adapters={"nats": factory}, retry=RetryPolicy(base_delay=0.01, max_delay=0.05))
    try:
        async with bus:
            yield bus
    finally:
        await drop_streams(nats_settings, ["notifications"])


async def test_a_poison_event_is_dead_lettered_and_the_stream_moves_on(nats_bus: Bus) -> None:
    poison, good = notification(1), [notification(n) for n in range(2, 6)]
    attempts: list[int] = []
    handled: list[str] = []
    all_good = asyncio.Event()

    async def handler(envelope: Envelope[Any]) -> None:
        if envelope.data["notification_id"] == poison["notification_id"]:
            attempts.append(len(attempts) + 1)
            raise ValueError("cannot render template")
        handled.append(envelope.data["notification_id"])
        if len(handled) == len(good):
            all_good.set()

    adapter = nats_bus.adapter_for("notifications")
    dead_letters = await adapter.subscribe(dead_letter_channel("notifications"), start=StartAt.EARLIEST)
    await nats_bus.subscribe("notification.requested", handler, group="senders", start=StartAt.EARLIEST)
    for data in (poison, *good):  # the poison first
        await nats_bus.publish("notification.requested", data, key="recipient-1")
    await asyncio.wait_for(all_good.wait(), TIMEOUT)
    assert sorted(handled) == sorted(d["notification_id"] for d in good)
    dead = await take(dead_letters)
    record = dead.record
    assert [r.position for r in await adapter.history(dead_letter_channel("notifications"))] == [record.position]
    assert json.loads(record.payload)["data"] == poison
    assert record.key == "recipient-1"
    assert record.headers[ERROR_HEADER] == "ValueError: cannot render template"
    assert record.headers["x-original-channel"] == "notifications"
    assert len(attempts) == 4  # retry_limit = 3 in schemas/pubsub.toml: 1 + 3 attempts
    metrics = adapter.metrics().channels["notifications"]
    assert metrics.dead_lettered == 1 and metrics.retried == 3
    # the stream moved on: the group's ack floor is past every event, the poison included (terminated)
    last = await adapter.last_position("notifications")
    await asyncio.wait_for(committed_reaches(adapter, "notifications", "senders", last), TIMEOUT)


async def committed_reaches(adapter: Any, channel: str, group: str, position: str | None) -> None:
    """Acks follow handlers (and lost ones come back after ack_wait): poll the committed position until it gets
    there."""
    while await adapter.committed_position(channel, group) != position:
        await asyncio.sleep(0.01)  # poll the condition (each poll is a server round trip)


# -- unreachable server ----------------------------------------------------------------------------------


async def test_starting_against_no_server_fails_clearly_within_the_timeout() -> None:
    settings = settings_for(f"nats://127.0.0.1:{free_port()}", connect_timeout=2.0)
    adapter = NatsAdapter([ChannelSpec("c", "nats")], settings=settings)
    started = time.monotonic()
    with pytest.raises(AdapterError, match=r"127\.0\.0\.1"):
        await adapter.start()
    assert time.monotonic() - started < settings.connect_timeout + 2
    await adapter.close()


async def test_publishing_to_an_unreachable_server_fails_clearly_within_the_timeout(
    private_server: NatsServer,
) -> None:
    settings = settings_for(private_server.url, publish_timeout=1.5)
    adapter = NatsAdapter([ChannelSpec("c", "nats")], settings=settings)
    await adapter.start()
    try:
        await adapter.publish("c", Message(b"{}"))
        private_server.kill()
        started = time.monotonic()
        with pytest.raises(AdapterError, match=r"no answer from NATS at nats://127\.0\.0\.1"):
            await adapter.publish("c", Message(b"{}"))
        assert time.monotonic() - started < settings.publish_timeout + 1
        with pytest.raises(AdapterError, match="stored"):
            await adapter.publish_many("c", [Message(b"{}"), Message(b"{}")])
        assert time.monotonic() - started < 2 * settings.publish_timeout + 2
        assert not (await adapter.health()).ok
    finally:
        await adapter.close()


async def test_a_server_without_jetstream_is_refused_at_start() -> None:
    server = NatsServer()
    server.arguments = []  # plain NATS: no -js
    server.start()
    try:
        adapter = NatsAdapter([ChannelSpec("c", "nats")], settings=settings_for(server.url, publish_timeout=1.0))
        with pytest.raises(AdapterError, match="JetStream"):
            await adapter.start()
        await adapter.close()
    finally:
        server.stop()


# -- server restarted mid-stream ---------------------------------------------------------------------------


async def test_a_server_restarted_mid_stream_keeps_every_acknowledged_publish(private_server: NatsServer) -> None:
    """Publishing and consuming through a SIGKILL and restart of the server (same port, same store): every
    publish that was acknowledged is still in the stream afterwards, the group member and a fan-out subscriber
    reconnect by themselves and receive every acknowledged event, and the group's committed position ends past
    all of them."""
    settings = settings_for(private_server.url, storage="file", publish_timeout=1.0, pull_expires=1.0,
                            ack_wait=2.0)
    adapter = NatsAdapter([ChannelSpec("c", "nats")], settings=settings)
    await adapter.start()
    try:
        member = await adapter.subscribe("c", group="g", start=StartAt.EARLIEST, max_in_flight=20)
        watcher = await adapter.subscribe("c", start=StartAt.EARLIEST, max_in_flight=20)
        acknowledged: list[str] = []
        received: dict[str, set[str]] = {"member": set(), "watcher": set()}
        total, kill_at = 120, 40

        async def consume(name: str, subscription: Any) -> None:
            async for delivery in subscription:
                received[name].add(delivery.record.position)
                await delivery.ack()

        async def publish() -> None:
            for n in range(total):
                if n == kill_at:
                    await asyncio.to_thread(private_server.restart)
                with contextlib.suppress(AdapterError):  # while the server is away: not acknowledged, not counted
                    acknowledged.append(await adapter.publish("c", Message(b'{"n":%d}' % n)))

        consumers = [asyncio.create_task(consume("member", member)), asyncio.create_task(consume("watcher", watcher))]
        await asyncio.wait_for(publish(), 60)
        assert len(acknowledged) >= total - kill_at  # the adapter reconnected and went on publishing
        assert len(acknowledged) > kill_at  # some before the restart, some after

        async def everything_arrived() -> None:
            while not all(set(acknowledged) <= got for got in received.values()):
                await asyncio.sleep(0.01)  # poll the condition

        await asyncio.wait_for(everything_arrived(), 30)
        stored = {r.position for r in await adapter.history("c", limit=1000)}
        assert set(acknowledged) <= stored
        last = await adapter.last_position("c")
        await asyncio.wait_for(committed_reaches(adapter, "c", "g", last), 30)  # redelivered acks lost in the outage
        for task in consumers:
            task.cancel()
        await asyncio.gather(*consumers, return_exceptions=True)
    finally:
        await adapter.close()
