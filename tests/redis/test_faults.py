"""Faults against a real redis-server the tests own: restart mid-stream, a member dying with deliveries, a
poison event. Every wait is on a condition with a deadline; the few timed windows prove that something does
*not* happen too early."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hipponot_pubsub.runtime.adapters.base import Message, StartAt, dead_letter_channel
from hipponot_pubsub.runtime.adapters.redis import RedisAdapter, RedisSettings
from hipponot_pubsub.runtime.catalog import ChannelSpec
from hipponot_pubsub.runtime.errors import AdapterError

from .server import RedisServer
from .waiting import eventually, take

ROOT = Path(__file__).resolve().parents[2]


def fast_settings(server: RedisServer, **overrides: float) -> RedisSettings:
    """Short timeouts so an outage is reported (and recovered from) within a test's patience."""
    values: dict[str, float] = {"connect_timeout": 0.5, "command_timeout": 1.0, "publish_timeout": 2.0,
                                "block": 0.2, "claim_idle": 5.0, "claim_interval": 0.2, **overrides}
    return RedisSettings(url=server.url, **values)  # type: ignore[arg-type]


async def test_restart_mid_stream_loses_no_acknowledged_publish(durable_server: RedisServer) -> None:
    """Publishers and a group consumer keep running while Redis is SIGKILLed and restarted.

    The server runs with ``appendonly yes`` and ``appendfsync always`` (the ``durable_server`` fixture): a
    restarted Redis without persistence comes back empty, and then no client could deliver what it had
    acknowledged. With it: every publish that returned a position is delivered (published-and-acknowledged ⊆
    delivered), publishes while it is down fail with ``AdapterError`` within the publish timeout, and both
    sides recover without a process restart."""
    settings = fast_settings(durable_server)
    channel = "orders"
    publisher = RedisAdapter([ChannelSpec(channel)], settings=settings)
    consumer = RedisAdapter([ChannelSpec(channel)], settings=settings)
    await publisher.start()
    await consumer.start()
    subscription = await consumer.subscribe(channel, group="g", start=StartAt.EARLIEST, max_in_flight=20)
    acknowledged: set[int] = set()
    delivered: set[int] = set()
    failures: list[tuple[float, str]] = []
    stop = asyncio.Event()

    async def publish() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            started = time.monotonic()
            try:
                await publisher.publish(channel, Message(str(n).encode()))
            except AdapterError as error:
                failures.append((time.monotonic() - started, str(error)))
                await asyncio.sleep(0.01)  # pacing the retries of a publisher that saw an outage
            else:
                acknowledged.add(n)

    async def consume() -> None:
        async for delivery in subscription:
            delivered.add(int(delivery.record.payload))
            with contextlib.suppress(AdapterError):  # still pending: delivered again after the reconnect
                await delivery.ack()

    tasks = [asyncio.create_task(publish()), asyncio.create_task(consume())]
    try:
        await eventually(lambda: len(acknowledged) >= 200, 20, "200 publishes before the restart")
        durable_server.kill()
        before_outage = len(failures)
        await eventually(lambda: len(failures) >= before_outage + 3, 20, "publishes failing while Redis is down")
        durable_server.start()
        after_restart = len(acknowledged)
        await eventually(lambda: len(acknowledged) >= after_restart + 200, 20, "publishes succeeding again")
        stop.set()
        await tasks[0]
        await eventually(lambda: acknowledged <= delivered, 30, "every acknowledged publish to be delivered")
    finally:
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await subscription.close()
        await publisher.close()
        await consumer.close()
    print(f"acknowledged {len(acknowledged)}, delivered {len(delivered)}, failed publishes {len(failures)}, "
          f"slowest failure {max(s for s, _ in failures):.2f}s: {failures[0][1]}")
    assert failures, "publishes must fail while Redis is down"
    assert all(seconds < settings.publish_timeout + 1.0 for seconds, _ in failures), failures
    assert all(durable_server.url.split("@")[-1].split("/")[2] in message for _, message in failures), failures[0]
    assert acknowledged <= delivered, sorted(acknowledged - delivered)[:10]


DOOMED_MEMBER = """
import asyncio, sys
from hipponot_pubsub.runtime.adapters.redis import RedisAdapter, RedisSettings
from hipponot_pubsub.runtime.catalog import ChannelSpec

async def main() -> None:
    settings = RedisSettings(url=sys.argv[1], claim_idle=float(sys.argv[2]))
    adapter = RedisAdapter([ChannelSpec("jobs")], settings=settings)
    subscription = await adapter.subscribe("jobs", group="workers", consumer="doomed", max_in_flight=5)
    print("subscribed", flush=True)
    held = [await subscription.next() for _ in range(5)]
    print(" ".join(d.record.position for d in held), flush=True)
    await asyncio.Event().wait()  # hold them until killed

asyncio.run(main())
"""


async def test_deliveries_of_a_member_that_dies_go_to_another_after_the_idle_time(server: RedisServer) -> None:
    claim_idle = 1.0
    settings = fast_settings(server, claim_idle=claim_idle, claim_interval=0.1)
    survivor_adapter = RedisAdapter([ChannelSpec("jobs")], settings=settings)
    doomed = subprocess.Popen([sys.executable, "-c", DOOMED_MEMBER, server.url, str(claim_idle)],
                              stdout=subprocess.PIPE, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert doomed.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(doomed.stdout.readline), 20)
        assert line.strip() == b"subscribed", line
        positions = await survivor_adapter.publish_many("jobs", [Message(b"%d" % i) for i in range(5)])
        survivor = await survivor_adapter.subscribe("jobs", group="workers", consumer="survivor", max_in_flight=5)
        held = (await asyncio.wait_for(asyncio.to_thread(doomed.stdout.readline), 20)).split()
        assert [p.decode() for p in held] == positions
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
        killed_at = time.monotonic()
        got = [await take(survivor, 10 * claim_idle) for _ in range(5)]
        waited = time.monotonic() - killed_at
        assert sorted(d.record.position for d in got) == positions
        assert all(d.attempt == 2 for d in got)
        assert waited >= claim_idle * 0.5  # not before the dead member's deliveries were idle long enough
        for delivery in got:
            await delivery.ack()
        assert await survivor_adapter.committed_position("jobs", "workers") == positions[-1]
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait(10)
        await survivor_adapter.close()


async def test_a_live_member_with_a_slow_handler_keeps_its_delivery(server: RedisServer) -> None:
    """The heartbeat keeps a delivery held longer than the claim idle time from being taken over."""
    claim_idle = 0.6
    settings = fast_settings(server, claim_idle=claim_idle, claim_interval=0.05)
    adapter = RedisAdapter([ChannelSpec("jobs")], settings=settings)
    try:
        slow = await adapter.subscribe("jobs", group="workers", consumer="slow")
        other = await adapter.subscribe("jobs", group="workers", consumer="other")
        await adapter.publish("jobs", Message(b"1"))
        delivery = await take(slow)
        taken_over = asyncio.create_task(other.next())
        done, _ = await asyncio.wait({taken_over}, timeout=3 * claim_idle)  # proving a negative: a window
        assert not done, "a live member's delivery was claimed by another member"
        await delivery.ack()
        taken_over.cancel()
    finally:
        await adapter.close()


async def test_a_poison_event_is_retried_to_the_limit_then_dead_lettered_and_the_group_moves_on(
    server: RedisServer,
) -> None:
    settings = fast_settings(server)
    adapter = RedisAdapter([ChannelSpec("jobs")], settings=settings)
    limit = 3  # deliveries in all
    attempts: list[int] = []
    handled: list[bytes] = []
    try:
        subscription = await adapter.subscribe("jobs", group="workers", max_in_flight=4)
        positions = await adapter.publish_many("jobs", [Message(b"good-1"), Message(b"poison", "k"),
                                                        Message(b"good-2")])

        async def consume() -> None:
            async for delivery in subscription:
                if delivery.record.payload != b"poison":
                    handled.append(delivery.record.payload)
                    await delivery.ack()
                    continue
                attempts.append(delivery.attempt)
                if delivery.attempt >= limit:
                    await delivery.dead_letter("ValueError: cannot parse poison")
                else:
                    await delivery.nack(0.05)

        task = asyncio.create_task(consume())
        dead_channel = dead_letter_channel("jobs")
        await eventually(lambda: len(attempts) >= limit and len(handled) == 2, 10, "the poison event's retries")
        await eventually(lambda: adapter.metrics().channels["jobs"].dead_lettered == 1, 10, "the dead letter")
        [dead] = await adapter.history(dead_channel)
        assert dead.payload == b"poison" and dead.key == "k"
        assert dead.headers["x-error"] == "ValueError: cannot parse poison"
        assert dead.headers["x-original-position"] == positions[1]
        assert attempts == [1, 2, 3]
        assert await adapter.committed_position("jobs", "workers") == positions[-1]
        await adapter.publish("jobs", Message(b"good-3"))
        await eventually(lambda: handled[-1:] == [b"good-3"], 10, "the group to move on")
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        await adapter.close()
