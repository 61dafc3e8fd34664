"""The adapter contract (runtime/adapters/base.py), checked the same way on every adapter.

No sleeps for synchronisation: every wait is on a delivery with a timeout. The only timed waits prove that
something does NOT arrive (a bounded ``next`` that must time out).
"""

from __future__ import annotations

import asyncio

import pytest
from hipponot_pubsub.runtime.adapters.base import (
    ERROR_HEADER,
    Adapter,
    Delivery,
    Message,
    StartAt,
    Subscription,
    dead_letter_channel,
)
from hipponot_pubsub.runtime.errors import InvalidPosition
from hipponot_pubsub.runtime.testing import wait_until

TIMEOUT = 5.0
QUIET = 0.05  # how long "nothing arrives" is watched


def msg(n: int, key: str | None = None) -> Message:
    return Message(f'{{"n":{n}}}'.encode(), key, {"ce-type": "t", "ce-id": str(n)})


async def take(subscription: Subscription, timeout: float = TIMEOUT) -> Delivery:
    delivery = await asyncio.wait_for(subscription.next(), timeout)
    assert delivery is not None
    return delivery


async def nothing_arrives(subscription: Subscription) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(subscription.next(), QUIET)


async def test_publish_returns_distinct_ordered_positions_usable_as_sse_ids(adapter: Adapter, channel: str) -> None:
    positions = [await adapter.publish(channel, msg(i)) for i in range(5)]
    assert len(set(positions)) == 5
    for position in positions:
        assert position and position.isascii() and not any(c.isspace() for c in position)
    records = await adapter.history(channel)
    assert [r.position for r in records] == positions
    assert [r.payload for r in records] == [msg(i).payload for i in range(5)]


async def test_records_keep_payload_key_and_headers(adapter: Adapter, channel: str) -> None:
    await adapter.publish(channel, msg(1, key="customer-7"))
    [record] = await adapter.history(channel)
    assert record.channel == channel
    assert record.key == "customer-7"
    assert record.headers["ce-type"] == "t" and record.headers["ce-id"] == "1"


async def test_publish_many_returns_positions_in_order(adapter: Adapter, channel: str) -> None:
    positions = await adapter.publish_many(channel, [msg(i) for i in range(10)])
    assert [r.position for r in await adapter.history(channel)] == positions
    assert await adapter.publish_many(channel, []) == []


async def test_history_after_a_position_and_limit(adapter: Adapter, channel: str) -> None:
    positions = await adapter.publish_many(channel, [msg(i) for i in range(6)])
    after = await adapter.history(channel, after=positions[2])
    assert [r.position for r in after] == positions[3:]
    assert [r.position for r in await adapter.history(channel, after=positions[0], limit=2)] == positions[1:3]
    assert await adapter.history(channel, after=positions[-1]) == []


async def test_last_position(adapter: Adapter, channel: str) -> None:
    assert await adapter.last_position(channel) is None
    positions = await adapter.publish_many(channel, [msg(i) for i in range(3)])
    assert await adapter.last_position(channel) == positions[-1]


async def test_a_position_the_adapter_did_not_make_is_refused(adapter: Adapter, channel: str) -> None:
    with pytest.raises(InvalidPosition):
        await adapter.history(channel, after="not a position")
    with pytest.raises(InvalidPosition):
        await adapter.subscribe(channel, start=StartAt.after("not a position"))


async def test_fan_out_every_subscription_sees_every_event(adapter: Adapter, channel: str) -> None:
    first = await adapter.subscribe(channel, max_in_flight=10)
    second = await adapter.subscribe(channel, max_in_flight=10)
    positions = await adapter.publish_many(channel, [msg(i) for i in range(3)])
    for subscription in (first, second):
        got = [await take(subscription) for _ in range(3)]
        assert [d.record.position for d in got] == positions
        assert all(d.attempt == 1 for d in got)
        for d in got:
            await d.ack()


async def test_start_latest_earliest_and_after(adapter: Adapter, channel: str) -> None:
    old = await adapter.publish_many(channel, [msg(i) for i in range(3)])
    latest = await adapter.subscribe(channel, start=StartAt.LATEST)
    earliest = await adapter.subscribe(channel, start=StartAt.EARLIEST, max_in_flight=10)
    after = await adapter.subscribe(channel, start=StartAt.after(old[1]), max_in_flight=10)
    new = await adapter.publish(channel, msg(3))
    assert (await take(latest)).record.position == new
    assert [(await take(earliest)).record.position for _ in range(4)] == [*old, new]
    assert [(await take(after)).record.position for _ in range(2)] == [old[2], new]


async def test_group_members_compete_each_event_goes_to_one(adapter: Adapter, channel: str) -> None:
    members = [await adapter.subscribe(channel, group="g", consumer=f"c{i}", max_in_flight=100) for i in range(2)]
    positions = await adapter.publish_many(channel, [msg(i) for i in range(20)])
    seen: list[str] = []

    async def drain(member: Subscription) -> None:
        while len(seen) < len(positions):
            try:
                delivery = await asyncio.wait_for(member.next(), QUIET)
            except TimeoutError:
                continue
            assert delivery is not None
            seen.append(delivery.record.position)
            await delivery.ack()

    await asyncio.wait_for(asyncio.gather(*(drain(m) for m in members)), TIMEOUT)
    assert sorted(seen) == sorted(positions)  # each exactly once
    assert await adapter.committed_position(channel, "g") == positions[-1]


async def test_a_new_group_member_resumes_from_the_committed_position(adapter: Adapter, channel: str) -> None:
    member = await adapter.subscribe(channel, group="g", start=StartAt.EARLIEST, max_in_flight=10)
    positions = await adapter.publish_many(channel, [msg(i) for i in range(4)])
    for _ in range(2):
        await (await take(member)).ack()
    await member.close()
    assert await adapter.committed_position(channel, "g") == positions[1]
    later = await adapter.subscribe(channel, group="g", start=StartAt.LATEST, max_in_flight=10)  # start ignored
    assert [(await take(later)).record.position for _ in range(2)] == positions[2:]


async def test_the_committed_position_never_passes_an_unsettled_delivery(adapter: Adapter, channel: str) -> None:
    """Acks finishing out of order: the group's committed position stays before the first one still out."""
    member = await adapter.subscribe(channel, group="g", start=StartAt.EARLIEST, max_in_flight=10)
    positions = await adapter.publish_many(channel, [msg(i) for i in range(4)])
    taken = [await take(member) for _ in range(4)]
    assert [d.record.position for d in taken] == positions
    for index in (0, 2, 3):
        await taken[index].ack()
    assert await adapter.committed_position(channel, "g") == positions[0]
    await taken[1].ack()
    assert await adapter.committed_position(channel, "g") == positions[3]


async def test_ack_now_settles_like_ack(adapter: Adapter, channel: str) -> None:
    """``ack_now`` (the bus's way to ack) settles at once where it says so; where it declines, ``ack`` does."""
    member = await adapter.subscribe(channel, group="g", start=StartAt.EARLIEST, max_in_flight=10)
    positions = await adapter.publish_many(channel, [msg(i) for i in range(2)])
    first, second = await take(member), await take(member)
    if not first.ack_now():
        await first.ack()
    if not first.ack_now():  # settling twice is a no-op: counted once
        await first.ack()
    assert adapter.recorder.snapshot().channels[channel].acked == 1
    await second.nack(0.0)
    assert await adapter.committed_position(channel, "g") == positions[0]
    again = await take(member)
    assert (again.record.position, again.attempt) == (positions[1], 2)
    if not again.ack_now():
        await again.ack()
    assert await adapter.committed_position(channel, "g") == positions[1]
    await nothing_arrives(member)


async def test_nack_redelivers_with_a_higher_attempt(adapter: Adapter, channel: str) -> None:
    subscription = await adapter.subscribe(channel, group="g")
    position = await adapter.publish(channel, msg(1))
    first = await take(subscription)
    await first.nack(0.01)
    again = await take(subscription)
    assert (again.record.position, again.attempt) == (position, 2)
    await again.ack()
    await nothing_arrives(subscription)


async def test_nack_on_a_fan_out_subscription_redelivers_to_it(adapter: Adapter, channel: str) -> None:
    subscription = await adapter.subscribe(channel)
    await adapter.publish(channel, msg(1))
    await (await take(subscription)).nack()
    assert (await take(subscription)).attempt == 2


async def test_dead_letter_moves_the_event_with_its_error(adapter: Adapter, channel: str) -> None:
    subscription = await adapter.subscribe(channel, group="g")
    position = await adapter.publish(channel, msg(1, key="k"))
    await (await take(subscription)).dead_letter("ValueError: boom")
    [dead] = await adapter.history(dead_letter_channel(channel))
    assert dead.payload == msg(1).payload and dead.key == "k"
    assert dead.headers[ERROR_HEADER] == "ValueError: boom"
    await nothing_arrives(subscription)
    assert await adapter.committed_position(channel, "g") == position


async def test_unsettled_deliveries_of_a_member_that_leaves_go_to_another(adapter: Adapter, channel: str) -> None:
    leaving = await adapter.subscribe(channel, group="g", consumer="a")
    staying = await adapter.subscribe(channel, group="g", consumer="b")
    position = await adapter.publish(channel, msg(1))
    taken = await take(leaving)
    await leaving.close()
    redelivered = await take(staying)
    assert (redelivered.record.position, redelivered.attempt) == (position, taken.attempt + 1)


async def test_max_in_flight_bounds_unsettled_deliveries(adapter: Adapter, channel: str) -> None:
    subscription = await adapter.subscribe(channel, max_in_flight=2)
    await adapter.publish_many(channel, [msg(i) for i in range(3)])
    first, _second = await take(subscription), await take(subscription)
    await nothing_arrives(subscription)
    await first.ack()
    assert (await take(subscription)).record.payload == msg(2).payload


async def test_settling_twice_is_a_no_op(adapter: Adapter, channel: str) -> None:
    subscription = await adapter.subscribe(channel, group="g")
    await adapter.publish(channel, msg(1))
    delivery = await take(subscription)
    await delivery.ack()
    await delivery.ack()
    await delivery.nack()
    await nothing_arrives(subscription)
    assert adapter.metrics().channels[channel].acked == 1


async def test_iteration_ends_when_closed(adapter: Adapter, channel: str) -> None:
    subscription = await adapter.subscribe(channel)
    received = []

    async def consume() -> None:
        async for delivery in subscription:
            received.append(delivery)
            await delivery.ack()

    task = asyncio.create_task(consume())
    await adapter.publish(channel, msg(1))
    await wait_until(lambda: bool(received), TIMEOUT)
    await subscription.close()
    await asyncio.wait_for(task, TIMEOUT)


async def test_metrics_count_what_happened(adapter: Adapter, channel: str) -> None:
    subscription = await adapter.subscribe(channel, group="g", max_in_flight=10)
    await adapter.publish_many(channel, [msg(i) for i in range(3)])
    a, b, c = [await take(subscription) for _ in range(3)]
    await a.ack()
    await b.nack()
    await c.dead_letter("boom")
    snapshot = adapter.metrics()
    assert snapshot.adapter == adapter.kind
    metrics = snapshot.channels[channel]
    counted = (metrics.published, metrics.delivered, metrics.acked, metrics.retried, metrics.dead_lettered)
    assert counted == (3, 3, 1, 1, 1)
    assert metrics.in_flight == 0
    assert metrics.publish_latency.count >= 1
    await take(subscription)
    assert adapter.metrics().channels[channel].in_flight == 1


async def test_health_and_idempotent_close(adapter: Adapter) -> None:
    assert (await adapter.health()).ok
    await adapter.close()
    await adapter.close()
