"""Faults against a real broker (tansu): a member that crashes before committing, a poison event, an
unreachable broker. No sleeps: every wait is on an event, a delivery or a subprocess line, with a timeout."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from hipponot_pubsub.runtime.adapters.base import ERROR_HEADER, Message, StartAt, dead_letter_channel
from hipponot_pubsub.runtime.adapters.kafka import KafkaAdapter, KafkaSettings, adapter_factory
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.catalog import ChannelSpec
from hipponot_pubsub.runtime.envelope import Envelope
from hipponot_pubsub.runtime.errors import AdapterError
from hipponot_pubsub.runtime.retry import RetryPolicy

from ..brokers import catalog_on, doomed_member, notification
from .broker import TansuBroker, start_tansu
from .conftest import settings_for

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 10.0

CRASHING_MEMBER = doomed_member("kafka", "KafkaAdapter", "KafkaSettings")


def _env(settings: KafkaSettings) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PUBSUB_KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "PUBSUB_KAFKA_TOPIC_TEMPLATE": settings.topic_template,
        "PUBSUB_KAFKA_GROUP_TEMPLATE": settings.group_template,
        "PUBSUB_KAFKA_SESSION_TIMEOUT_MS": str(settings.session_timeout_ms),
        "PUBSUB_KAFKA_HEARTBEAT_INTERVAL_MS": str(settings.heartbeat_interval_ms),
        "PUBSUB_KAFKA_FETCH_MAX_WAIT_MS": str(settings.fetch_max_wait_ms),
        "PUBSUB_KAFKA_COMMIT_INTERVAL_MS": "0",
        "PYTHONPATH": str(ROOT),
    })
    return env


async def test_a_member_that_crashes_before_committing_has_its_events_redelivered_to_the_group(
    adapter: KafkaAdapter, kafka_settings: KafkaSettings, channel: str
) -> None:
    positions = await adapter.publish_many(channel, [Message(b'{"n":%d}' % i) for i in range(5)])
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASHING_MEMBER, channel, env=_env(kafka_settings), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        line = (await asyncio.wait_for(child.stdout.readline(), 30)).decode()
        if not line.startswith("committed"):
            stderr = await asyncio.wait_for(child.stderr.read(), 5) if child.stderr else b""
            pytest.fail(f"the crashing member failed: {line!r} {stderr.decode()[-2000:]}")
        assert line.split()[1] == positions[1]  # it acked two, and those were committed
    finally:
        child.kill()  # SIGKILL: no LeaveGroup, no last commit
        await child.wait()
    survivor = await adapter.subscribe(channel, group="workers", consumer="survivor", max_in_flight=10)
    redelivered = [await asyncio.wait_for(survivor.next(), TIMEOUT) for _ in range(3)]
    assert [d.record.position for d in redelivered if d] == positions[2:]  # exactly the unacked ones
    for delivery in redelivered:
        assert delivery is not None
        await delivery.ack()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(survivor.next(), 0.2)
    assert await adapter.committed_position(channel, "workers") == positions[-1]


async def test_a_rebalance_loses_nothing_and_commits_everything_once(kafka_settings: KafkaSettings) -> None:
    channel = "rebalanced"
    adapter = KafkaAdapter([ChannelSpec(channel, "kafka", {"partitions": 3})], settings=kafka_settings)
    await adapter.start()
    try:
        first = await adapter.subscribe(channel, group="g", consumer="first", start=StartAt.EARLIEST,
                                        max_in_flight=5)
        messages = [Message(b'{"n":%d}' % i, key=f"k{i % 7}") for i in range(60)]
        await adapter.publish_many(channel, messages)
        seen: dict[str, list[int]] = {}  # key -> payload numbers in delivery order
        done = asyncio.Event()

        async def work(member: Any) -> None:
            while not done.is_set():
                try:
                    delivery = await asyncio.wait_for(member.next(), 0.2)
                except TimeoutError:
                    continue
                assert delivery is not None
                number = json.loads(delivery.record.payload)["n"]
                seen.setdefault(delivery.record.key, []).append(number)
                await delivery.ack()
                if len({n for ns in seen.values() for n in ns}) == len(messages):
                    done.set()

        worker = asyncio.create_task(work(first))
        second = await adapter.subscribe(channel, group="g", consumer="second", max_in_flight=5)  # rebalance
        other = asyncio.create_task(work(second))
        await asyncio.wait_for(done.wait(), 30)
        await asyncio.gather(worker, other)
        for key, numbers in seen.items():  # per key: in publish order, a redelivery may repeat a suffix
            first_seen = list(dict.fromkeys(numbers))
            assert first_seen == sorted(first_seen), key
        committed = await adapter.committed_position(channel, "g")
        assert committed is not None
        assert committed.split(":")[2] == (await adapter.last_position(channel) or "").split(":")[2]
    finally:
        await adapter.close()


# -- poison event, through the bus ------------------------------------------------------------------------


@pytest_asyncio.fixture
async def kafka_bus(kafka_settings: KafkaSettings) -> AsyncIterator[Bus]:
    factory: Any = lambda channels: adapter_factory(channels, settings=kafka_settings)  # noqa: E731
    bus = Bus(catalog_on("kafka"), adapters={"kafka": factory}, retry=RetryPolicy(base_delay=0.01, max_delay=0.05))
    async with bus:
        yield bus


async def test_a_poison_event_is_dead_lettered_and_the_partition_moves_on(kafka_bus: Bus) -> None:
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

    adapter = kafka_bus.adapter_for("notifications")
    dead_letters = await adapter.subscribe(dead_letter_channel("notifications"), start=StartAt.EARLIEST)
    await kafka_bus.subscribe("notification.requested", handler, group="senders", start=StartAt.EARLIEST)
    for data in (poison, *good):  # one key: one partition, the poison first
        await kafka_bus.publish("notification.requested", data, key="recipient-1")
    await asyncio.wait_for(all_good.wait(), TIMEOUT)
    assert handled == [d["notification_id"] for d in good]
    dead = await asyncio.wait_for(dead_letters.next(), TIMEOUT)
    assert dead is not None
    record = dead.record
    assert [r.position for r in await adapter.history(dead_letter_channel("notifications"))] == [record.position]
    assert json.loads(record.payload)["data"] == poison
    assert record.key == "recipient-1"
    assert record.headers[ERROR_HEADER] == "ValueError: cannot render template"
    assert record.headers["x-original-channel"] == "notifications"
    assert len(attempts) == 4  # retry_limit = 3 in schemas/pubsub.toml: 1 + 3 attempts
    metrics = adapter.metrics().channels["notifications"]
    assert metrics.dead_lettered == 1 and metrics.retried == 3


# -- unreachable broker --------------------------------------------------------------------------------------


@pytest.fixture
def doomed_broker(kafka_broker: TansuBroker) -> Iterator[TansuBroker]:
    broker = start_tansu()
    try:
        yield broker
    finally:
        broker.stop()


async def test_publishing_to_an_unreachable_broker_fails_clearly_within_the_timeout(
    doomed_broker: TansuBroker,
) -> None:
    settings = settings_for(doomed_broker.bootstrap, publish_timeout=2.0)
    adapter = KafkaAdapter([ChannelSpec("c", "kafka")], settings=settings)
    await adapter.start()
    try:
        await adapter.publish("c", Message(b"{}"))
        doomed_broker.kill()
        started = time.monotonic()
        with pytest.raises(AdapterError, match="reachable"):
            await adapter.publish("c", Message(b"{}"))
        assert time.monotonic() - started < settings.publish_timeout + 2
        assert not (await adapter.health()).ok
    finally:
        await adapter.close()


async def test_starting_against_no_broker_fails_clearly_within_the_timeout() -> None:
    from .broker import free_port

    settings = settings_for(f"127.0.0.1:{free_port()}", connect_timeout=3.0)
    adapter = KafkaAdapter([ChannelSpec("c", "kafka")], settings=settings)
    started = time.monotonic()
    with pytest.raises(AdapterError, match=r"127\.0\.0\.1"):
        await adapter.start()
    assert time.monotonic() - started < settings.connect_timeout + 2
    await adapter.close()
