"""Faults on RabbitMQ: a group member killed mid-batch, a poison event, an unreachable server, a delayed retry
outliving its process, and RabbitMQ's own delivery limit.

Every wait is on an event (a line from the member process, a delivery) bounded by a timeout; no sleeps.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hipponot_pubsub.runtime.adapters.base import ERROR_HEADER, Message, StartAt, Subscription, dead_letter_channel
from hipponot_pubsub.runtime.adapters.rabbitmq import RabbitMQAdapter, RabbitMQSettings
from hipponot_pubsub.runtime.catalog import ChannelSpec
from hipponot_pubsub.runtime.errors import AdapterError

from .conftest import drop
from .server import settings_for

TIMEOUT = 10.0
ROOT = Path(__file__).resolve().parents[2]


def msg(n: int) -> Message:
    return Message(f'{{"n":{n}}}'.encode(), f"k{n}", {"ce-type": "t", "ce-id": str(n)})


async def take(subscription: Subscription, timeout: float = TIMEOUT):  # type: ignore[no-untyped-def]
    delivery = await asyncio.wait_for(subscription.next(), timeout)
    assert delivery is not None
    return delivery


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def made(settings: RabbitMQSettings, channel: str, **options: object) -> RabbitMQAdapter:
    adapter = RabbitMQAdapter([ChannelSpec(channel, "rabbitmq", dict(options))], settings=settings)
    await adapter.start()
    return adapter


async def read_line(process: asyncio.subprocess.Process, prefix: str) -> str:
    assert process.stdout is not None
    async with asyncio.timeout(TIMEOUT * 3):
        while True:
            line = (await process.stdout.readline()).decode()
            if not line:
                raise AssertionError(f"the member process exited before printing {prefix!r}")
            if line.startswith(prefix):
                return line[len(prefix):].strip()


async def test_a_killed_members_deliveries_go_to_the_survivor(rabbitmq_settings: RabbitMQSettings) -> None:
    adapter = await made(rabbitmq_settings, "orders")
    try:
        survivor = await adapter.subscribe("orders", group="g", consumer="survivor", max_in_flight=1)
        doomed = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.rabbitmq.member", rabbitmq_settings.url, rabbitmq_settings.name_template,
            "orders", "g", "3", cwd=ROOT, stdout=subprocess.PIPE)
        try:
            await read_line(doomed, "ready")
            # the survivor holds one unsettled delivery (prefetch 1), so the next three go to the doomed member
            positions = [await adapter.publish("orders", msg(0))]
            held = await take(survivor)
            positions += await adapter.publish_many("orders", [msg(i) for i in range(1, 4)])
            taken = (await read_line(doomed, "took ")).split()
            assert sorted(taken) == sorted(positions[1:])
        finally:
            doomed.kill()
            await doomed.wait()
        await held.ack()
        redelivered = []
        for _ in range(3):  # the survivor holds one at a time
            redelivered.append(await take(survivor))
            await redelivered[-1].ack()
        assert sorted(d.record.position for d in redelivered) == sorted(taken)
        assert all(d.attempt == 2 for d in redelivered)  # RabbitMQ counted the requeue
        assert await adapter.committed_position("orders", "g") == max(positions, key=lambda p: int(p.split(":")[1]))
    finally:
        await drop(adapter, rabbitmq_settings)


async def test_a_poison_event_is_dead_lettered_and_the_group_moves_on(rabbitmq_settings: RabbitMQSettings) -> None:
    adapter = await made(rabbitmq_settings, "orders")
    try:
        member = await adapter.subscribe("orders", group="g", max_in_flight=5)
        positions = await adapter.publish_many("orders", [msg(i) for i in range(3)])
        poison = await take(member)
        assert poison.record.position == positions[0]
        await poison.dead_letter("ValueError: cannot parse")
        rest = [await take(member) for _ in range(2)]
        assert [d.record.position for d in rest] == positions[1:]
        [dead] = await adapter.history(dead_letter_channel("orders"))
        assert dead.headers[ERROR_HEADER] == "ValueError: cannot parse"
        assert dead.headers["x-original-position"] == positions[0] and dead.key == "k0"
    finally:
        await drop(adapter, rabbitmq_settings)


async def test_the_delivery_limit_dead_letters_what_keeps_coming_back(rabbitmq_settings: RabbitMQSettings) -> None:
    """A consumer that never settles (it crashes each time) is what the delivery limit is for."""
    adapter = await made(rabbitmq_settings, "orders", delivery_limit=2)
    try:
        member = await adapter.subscribe("orders", group="g")
        first = await adapter.publish("orders", msg(0))
        attempts = []
        for _ in range(2):
            delivery = await take(member)
            assert delivery.record.position == first
            attempts.append(delivery.attempt)
            await delivery.nack()
        second = await adapter.publish("orders", msg(1))
        assert (await take(member)).record.position == second  # the third delivery of the first went elsewhere
        assert attempts == [1, 2]  # delivered twice unsettled: the next receiver moves it
        history = await adapter.history(dead_letter_channel("orders"))
        assert [r.payload for r in history] == [msg(0).payload]
        assert "delivered 2 times unsettled" in history[0].headers[ERROR_HEADER]
    finally:
        await drop(adapter, rabbitmq_settings)


async def test_a_delayed_retry_outlives_the_process_that_asked_for_it(rabbitmq_settings: RabbitMQSettings) -> None:
    adapter = await made(rabbitmq_settings, "orders")
    later = None
    try:
        member = await adapter.subscribe("orders", group="g")
        position = await adapter.publish("orders", msg(1))
        asked = time.monotonic()
        await (await take(member)).nack(0.5)
        await adapter.close()  # the copy waits in a durable delay queue, not in this process
        later = await made(rabbitmq_settings, "orders")
        again = await take(await later.subscribe("orders", group="g"))
        assert time.monotonic() - asked >= 0.5
        assert (again.record.position, again.attempt, again.record.key) == (position, 2, "k1")
        await again.ack()
    finally:
        await drop(later or adapter, rabbitmq_settings)
        await delete_queue(rabbitmq_settings, rabbitmq_settings.name("orders") + ".group.g.retry.500")


async def delete_queue(settings: RabbitMQSettings, name: str) -> None:
    """Delete a queue an adapter that is gone declared (the delay queue of the first adapter above)."""
    import aio_pika

    async with await aio_pika.connect(settings.url) as connection:
        channel = await connection.channel()
        await channel.queue_delete(name)


async def test_an_unreachable_server_fails_clearly_within_the_timeout() -> None:
    for url in (f"amqp://guest:guest@127.0.0.1:{free_port()}/", "amqp://guest:guest@10.255.255.1:5672/"):
        adapter = RabbitMQAdapter([ChannelSpec("orders", "rabbitmq")],
                                  settings=RabbitMQSettings(url=url, connect_timeout=1.0))
        started = time.monotonic()
        with pytest.raises(AdapterError, match=r"RabbitMQ at (127\.0\.0\.1|10\.255\.255\.1)"):
            await adapter.start()
        assert time.monotonic() - started < 3.0
        assert not (await adapter.health()).ok


async def test_binary_mode_cloudevents_from_other_tools_are_read(rabbitmq_settings: RabbitMQSettings) -> None:
    import aio_pika

    adapter = await made(rabbitmq_settings, "orders")
    try:
        connection = await aio_pika.connect(rabbitmq_settings.url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(rabbitmq_settings.name("orders"))
            await exchange.publish(aio_pika.Message(b'{"total":3}', content_type="application/json", headers={
                "cloudEvents:specversion": "1.0", "cloudEvents:id": "e1", "cloudEvents:type": "order.placed",
                "cloudEvents:source": "/shop"}), routing_key="customer-9")
        [record] = await adapter.history("orders")
        assert record.payload.startswith(b"{") and b'"data":{"total":3}' in record.payload
        assert b'"datacontenttype":"application/json"' in record.payload
        assert (record.key, record.headers["ce-id"], record.headers["ce-type"]) == ("customer-9", "e1", "order.placed")
    finally:
        await drop(adapter, rabbitmq_settings)


async def test_a_group_created_at_earliest_gets_the_retained_backlog(rabbitmq_settings: RabbitMQSettings) -> None:
    adapter = await made(rabbitmq_settings, "orders")
    try:
        positions = await adapter.publish_many("orders", [msg(i) for i in range(4)])
        member = await adapter.subscribe("orders", group="late", start=StartAt.after(positions[0]), max_in_flight=5)
        got = [await take(member) for _ in range(3)]
        assert [d.record.position for d in got] == positions[1:]
        for delivery in got:
            await delivery.ack()
        assert await adapter.committed_position("orders", "late") == positions[-1]
    finally:
        await drop(adapter, rabbitmq_settings)


async def test_positions_resume_in_a_new_process(rabbitmq_settings: RabbitMQSettings) -> None:
    """The tail of a fresh adapter has read nothing: last_position and group offsets come from the stream."""
    adapter = await made(rabbitmq_settings, "orders")
    member = await adapter.subscribe("orders", group="g", max_in_flight=5)
    positions = await adapter.publish_many("orders", [msg(i) for i in range(3)])
    await adapter.close()
    fresh = await made(rabbitmq_settings, "orders")
    try:
        assert await fresh.last_position("orders") == positions[-1]
        member = await fresh.subscribe("orders", group="g", max_in_flight=5)
        assert [(await take(member)).record.position for _ in range(3)] == positions
        assert [r.position for r in await fresh.history("orders", after=positions[0])] == positions[1:]
    finally:
        await drop(fresh, rabbitmq_settings)


def test_settings_from_the_environment() -> None:
    settings = RabbitMQSettings.from_env({"PUBSUB_RABBITMQ_URL": "amqps://u:p@mq.example:5671/prod",
                                          "PUBSUB_RABBITMQ_PASSWORD": "secret", "PUBSUB_RABBITMQ_FETCH_BATCH": "64",
                                          "PUBSUB_RABBITMQ_SSL_CHECK_HOSTNAME": "false"})
    assert settings.connection_url().password == "secret" and settings.fetch_batch == 64
    assert settings.ssl_context() is not None and "secret" not in repr(settings) and "p@" not in repr(settings)
    assert settings.where() == "RabbitMQ at mq.example:5671/prod"
    with pytest.raises(ValueError, match="NAME_TEMPLATE"):
        settings_for(name_template="no-placeholder")


async def test_a_reader_skips_markers_between_its_buffered_records(rabbitmq_settings: RabbitMQSettings) -> None:
    """A marker (appended by ``history``) read behind records still buffered is acknowledged first; the records'
    own acknowledgements after it must not repeat a delivery tag (RabbitMQ closes the channel then)."""
    adapter = await made(rabbitmq_settings, "orders")
    try:
        reader = await adapter.subscribe("orders", start=StartAt.EARLIEST, max_in_flight=1)
        positions = await adapter.publish_many("orders", [msg(i) for i in range(3)])
        assert [r.position for r in await adapter.history("orders")] == positions  # appends a marker
        for position in positions:
            delivery = await take(reader)
            assert delivery.record.position == position
            await delivery.ack()
        assert [r.position for r in await adapter.history("orders", limit=2)] == positions[:2]
        later = await adapter.publish("orders", msg(3))
        assert (await take(reader)).record.position == later  # the reader is still alive past two markers
    finally:
        await drop(adapter, rabbitmq_settings)
