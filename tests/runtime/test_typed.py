"""Typed publishers and subscribers (the bases generated code subclasses), across schema versions."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from hipponot_pubsub.runtime.adapters.base import StartAt
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.envelope import Envelope
from hipponot_pubsub.runtime.errors import InvalidPosition, UnknownEventType
from hipponot_pubsub.runtime.publisher import Publisher
from hipponot_pubsub.runtime.subscriber import Subscriber
from hipponot_pubsub.runtime.testing import Received, dead_letters, memory_bus, published, wait_until

from .models import OrderPlacedV1, OrderPlacedV2


class OrderPlacedV1Publisher(Publisher[OrderPlacedV1]):
    event_type: ClassVar[str] = "order.placed"
    version: ClassVar[int] = 1
    model: ClassVar[type[OrderPlacedV1]] = OrderPlacedV1


class OrderPlacedPublisher(Publisher[OrderPlacedV2]):
    event_type: ClassVar[str] = "order.placed"
    version: ClassVar[int] = 2
    model: ClassVar[type[OrderPlacedV2]] = OrderPlacedV2


class OrderPlacedV1Subscriber(Subscriber[OrderPlacedV1]):
    event_type: ClassVar[str] = "order.placed"
    version: ClassVar[int] = 1
    model: ClassVar[type[OrderPlacedV1]] = OrderPlacedV1


class OrderPlacedSubscriber(Subscriber[OrderPlacedV2]):
    event_type: ClassVar[str] = "order.placed"
    version: ClassVar[int] = 2
    model: ClassVar[type[OrderPlacedV2]] = OrderPlacedV2


class Collecting(OrderPlacedSubscriber):
    def __init__(self, bus: Bus, **options: Any) -> None:
        super().__init__(bus, **options)
        self.received: Received[OrderPlacedV2] = Received()

    async def handle(self, event: Envelope[OrderPlacedV2]) -> None:
        await self.received(event)


async def test_subclass_subscriber_gets_typed_events(bus: Bus, order_v2: dict[str, Any]) -> None:
    subscriber = Collecting(bus, group="billing")
    await subscriber.start()
    result = await OrderPlacedPublisher(bus).publish(OrderPlacedV2.model_validate(order_v2), key="k")
    [event] = await subscriber.received.wait_for(1)
    assert isinstance(event.data, OrderPlacedV2)
    assert event.id == result.id and str(event.data.order_id) == order_v2["order_id"]
    await subscriber.stop()


async def test_publisher_writes_only_what_was_set(bus: Bus, order_v2: dict[str, Any]) -> None:
    del order_v2["gift_message"]
    order_v2["shipping_address"].pop("line2")
    await OrderPlacedPublisher(bus).publish(OrderPlacedV2.model_validate(order_v2))
    [event] = await published(bus, "order.placed")
    assert "gift_message" not in event.data and "line2" not in event.data["shipping_address"]


async def test_decorator_subscriber_starts_with_the_bus(catalog: Catalog, order_v2: dict[str, Any]) -> None:
    from hipponot_pubsub.runtime.bus import Bus as RealBus

    bus = RealBus(catalog, all_channels_on="memory")
    received: Received[OrderPlacedV2] = Received()

    @OrderPlacedSubscriber.handler(bus, group="billing", concurrency=4)
    async def bill(event: Envelope[OrderPlacedV2]) -> None:
        await received(event)

    async with bus:
        await OrderPlacedPublisher(bus).publish(OrderPlacedV2.model_validate(order_v2))
        [event] = await received.wait_for(1)
        assert event.data.sales_channel == "web"


async def test_decorator_subscriber_on_a_running_bus_gets_the_next_event(bus: Bus, order_v2: dict[str, Any]) -> None:
    """The test kit's bus is already running when a test declares its handlers."""
    received: Received[OrderPlacedV2] = Received()

    @OrderPlacedSubscriber.handler(bus, group="billing")
    async def bill(event: Envelope[OrderPlacedV2]) -> None:
        await received(event)

    # Published at once, from the latest position: the bus finishes subscribing before it publishes.
    await OrderPlacedPublisher(bus).publish(OrderPlacedV2.model_validate(order_v2))
    [event] = await received.wait_for(1)
    assert event.data.sales_channel == "web"


async def test_a_decorator_subscriber_declared_while_running_restarts_with_the_bus(
        catalog: Catalog, order_v2: dict[str, Any]) -> None:
    received: Received[OrderPlacedV2] = Received()
    async with memory_bus(catalog) as bus:
        OrderPlacedSubscriber.handler(bus)(received)
    assert not bus.running  # stopped right after declaring: the consumer being started was stopped with it
    async with bus:
        await OrderPlacedPublisher(bus).publish(OrderPlacedV2.model_validate(order_v2))
        await received.wait_for(1)


async def test_a_subscription_declared_on_a_running_bus_that_cannot_start_fails_the_next_publish(
        bus: Bus, order_v2: dict[str, Any]) -> None:
    Collecting(bus, start=StartAt.after("not-a-position")).register()
    with pytest.raises(InvalidPosition):
        await OrderPlacedPublisher(bus).publish(OrderPlacedV2.model_validate(order_v2))
    await OrderPlacedPublisher(bus).publish(OrderPlacedV2.model_validate(order_v2))  # reported once


async def test_a_decorator_for_an_unknown_type_fails_where_it_is_written(bus: Bus) -> None:
    class Unknown(OrderPlacedSubscriber):
        event_type: ClassVar[str] = "order.vanished"

    with pytest.raises(UnknownEventType, match=r"order\.vanished"):
        Unknown.handler(bus)(Received())


async def test_an_old_consumer_reads_a_new_version_ignoring_new_fields(bus: Bus, order_v2: dict[str, Any]) -> None:
    received: Received[OrderPlacedV1] = Received()

    class Old(OrderPlacedV1Subscriber):
        async def handle(self, event: Envelope[OrderPlacedV1]) -> None:
            await received(event)

    await Old(bus).start()
    assert order_v2["gift_message"]  # a v2-only field, unknown to the closed v1 model
    await OrderPlacedPublisher(bus).publish(OrderPlacedV2.model_validate(order_v2))
    [event] = await received.wait_for(1)
    assert isinstance(event.data, OrderPlacedV1) and event.data_version == 2


async def test_a_new_consumer_reads_an_old_version(bus: Bus, order_v1: dict[str, Any]) -> None:
    subscriber = Collecting(bus)
    await subscriber.start()
    await OrderPlacedV1Publisher(bus).publish(OrderPlacedV1.model_validate(order_v1))
    [event] = await subscriber.received.wait_for(1)
    assert isinstance(event.data, OrderPlacedV2) and event.data_version == 1


async def test_an_event_the_model_cannot_read_is_dead_lettered_at_once(bus: Bus, order_v2: dict[str, Any]) -> None:
    calls: list[int] = []

    class Old(OrderPlacedV1Subscriber):
        async def handle(self, event: Envelope[OrderPlacedV1]) -> None:
            calls.append(1)

    await Old(bus, group="old").start()
    order_v2["sales_channel"] = "pos"  # new in v2: the v1 model cannot read it
    await OrderPlacedPublisher(bus).publish(OrderPlacedV2.model_validate(order_v2))
    await wait_until(lambda: bus.adapter_for("orders").metrics().channels["orders"].dead_lettered == 1)
    [(_, error)] = await dead_letters(bus, "orders")
    assert error.startswith("UnreadableEvent") and calls == []
    assert bus.adapter_for("orders").metrics().channels["orders"].retried == 0


async def test_publish_many_typed(catalog: Catalog, order_v2: dict[str, Any]) -> None:
    async with memory_bus(catalog) as bus:
        results = await OrderPlacedPublisher(bus).publish_many(
            [OrderPlacedV2.model_validate(order_v2) for _ in range(3)], correlation_id="batch-1"
        )
        events = await published(bus, "order.placed")
        assert [e.id for e in events] == [r.id for r in results]
        assert {e.correlation_id for e in events} == {"batch-1"}
