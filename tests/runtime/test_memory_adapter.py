"""What only the memory adapter promises: its history bound and back-pressure policies."""

from __future__ import annotations

import asyncio

import pytest
from hipponot_pubsub.runtime.adapters.base import Message, StartAt
from hipponot_pubsub.runtime.adapters.memory import MemoryAdapter
from hipponot_pubsub.runtime.catalog import ChannelSpec
from hipponot_pubsub.runtime.errors import AdapterError, InvalidPosition, UnknownChannel

TIMEOUT = 5.0


def msg(n: int) -> Message:
    return Message(str(n).encode())


async def test_history_keeps_the_newest_events() -> None:
    adapter = MemoryAdapter([ChannelSpec("c", options={"history": 3})])
    positions = await adapter.publish_many("c", [msg(i) for i in range(5)])
    assert [r.position for r in await adapter.history("c")] == positions[2:]
    assert [r.position for r in await adapter.history("c", after=positions[0])] == positions[2:]  # gap: oldest kept


async def test_drop_oldest_a_lagging_subscriber_skips_ahead_and_it_is_counted() -> None:
    adapter = MemoryAdapter([ChannelSpec("c", options={"history": 3})])
    lagging = await adapter.subscribe("c", start=StartAt.EARLIEST)
    positions = await adapter.publish_many("c", [msg(i) for i in range(5)])
    delivery = await asyncio.wait_for(lagging.next(), TIMEOUT)
    assert delivery is not None and delivery.record.position == positions[2]
    assert adapter.metrics().channels["c"].skipped == 2


async def test_block_policy_makes_publishers_wait_for_the_slowest_subscriber() -> None:
    adapter = MemoryAdapter([ChannelSpec("c", options={"history": 2, "overflow": "block", "publish_timeout": 5})])
    subscriber = await adapter.subscribe("c", max_in_flight=10)
    await adapter.publish_many("c", [msg(0), msg(1)])
    third = asyncio.create_task(adapter.publish("c", msg(2)))
    done, _ = await asyncio.wait({third}, timeout=0.05)
    assert not done  # it would evict an event the subscriber has not received
    first = await asyncio.wait_for(subscriber.next(), TIMEOUT)
    assert first is not None
    await asyncio.wait_for(third, TIMEOUT)
    assert adapter.metrics().channels["c"].skipped == 0


async def test_block_policy_times_out_with_a_clear_error() -> None:
    adapter = MemoryAdapter([ChannelSpec("c", options={"history": 1, "overflow": "block", "publish_timeout": 0.01})])
    await adapter.subscribe("c")
    await adapter.publish("c", msg(0))
    with pytest.raises(AdapterError, match="full"):
        await adapter.publish("c", msg(1))


async def test_unknown_channel_and_future_positions_are_refused() -> None:
    adapter = MemoryAdapter([ChannelSpec("c")])
    with pytest.raises(UnknownChannel):
        await adapter.publish("nope", msg(0))
    with pytest.raises(InvalidPosition):
        await adapter.subscribe("c", start=StartAt.after("7"))


async def test_an_unknown_overflow_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="overflow"):
        MemoryAdapter([ChannelSpec("c", options={"overflow": "explode"})])


async def test_closed_adapter_refuses_work_and_ends_subscriptions() -> None:
    adapter = MemoryAdapter([ChannelSpec("c")])
    subscription = await adapter.subscribe("c")
    waiting = asyncio.create_task(subscription.next())
    await adapter.close()
    assert await asyncio.wait_for(waiting, TIMEOUT) is None
    with pytest.raises(AdapterError):
        await adapter.publish("c", msg(0))


async def test_a_batch_that_cannot_fit_is_refused_whole() -> None:
    adapter = MemoryAdapter([ChannelSpec("c", options={"history": 2, "overflow": "block"})])
    await adapter.subscribe("c")
    with pytest.raises(AdapterError, match="exceeds"):
        await adapter.publish_many("c", [msg(i) for i in range(3)])
    assert await adapter.history("c") == []


async def test_dead_letters_say_where_they_came_from() -> None:
    adapter = MemoryAdapter([ChannelSpec("c")])
    subscription = await adapter.subscribe("c", group="g")
    position = await adapter.publish("c", msg(1))
    delivery = await asyncio.wait_for(subscription.next(), TIMEOUT)
    assert delivery is not None
    await delivery.dead_letter("boom")
    [dead] = await adapter.history("c.dead-letter")
    assert dead.headers["x-original-channel"] == "c" and dead.headers["x-original-position"] == position
