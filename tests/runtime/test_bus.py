"""The bus on the memory adapter: boundary validation, routing, groups, fan-out, retries, dead letters, drain."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hipponot_pubsub.runtime.adapters.base import Message, StartAt
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.envelope import Envelope
from hipponot_pubsub.runtime.errors import BusClosed, PoisonEvent, UnknownEventType, ValidationFailed, WrongChannel
from hipponot_pubsub.runtime.retry import RetryPolicy
from hipponot_pubsub.runtime.testing import Received, dead_letters, memory_bus, published, wait_until

TIMEOUT = 5.0


async def test_publish_then_deliver(bus: Bus, order_v2: dict[str, Any]) -> None:
    received: Received[Any] = Received()
    await bus.subscribe("order.placed", received)
    result = await bus.publish("order.placed", order_v2, key="cus_8fK2LmQ9xTzA1b", correlation_id="c-1")
    [event] = await received.wait_for(1)
    assert (event.id, event.type, event.data_version, event.data) == (result.id, "order.placed", 2, order_v2)
    assert event.partition_key == "cus_8fK2LmQ9xTzA1b" and event.correlation_id == "c-1"
    assert result.channel == "orders" and result.position


async def test_invalid_payload_is_refused_and_nothing_is_published(bus: Bus, order_v2: dict[str, Any]) -> None:
    order_v2["order_id"] = "not-a-uuid"
    order_v2["line_items"][0]["quantity"] = 0
    del order_v2["total"]
    with pytest.raises(ValidationFailed) as refused:
        await bus.publish("order.placed", order_v2)
    pointers = {(v.pointer, v.keyword) for v in refused.value.violations}
    assert pointers == {("/order_id", "format"), ("/line_items/0/quantity", "minimum"), ("", "required")}
    assert await bus.history("orders") == []


async def test_unknown_type_or_version_is_refused(bus: Bus, order_v2: dict[str, Any]) -> None:
    with pytest.raises(UnknownEventType):
        await bus.publish("order.teleported", order_v2)
    with pytest.raises(UnknownEventType):
        await bus.publish("order.placed", order_v2, version=9)


async def test_a_type_sent_on_the_wrong_channel_is_refused(bus: Bus, order_v2: dict[str, Any]) -> None:
    with pytest.raises(WrongChannel):
        await bus.publish("order.placed", order_v2, channel="users")
    assert await bus.history("users") == [] and await bus.history("orders") == []


async def test_publish_many_is_all_or_nothing_on_validation(bus: Bus, order_v2: dict[str, Any]) -> None:
    good = bus.envelope("order.placed", order_v2)
    bad = bus.envelope("order.placed", {**order_v2, "loyalty_points_earned": -1})
    with pytest.raises(ValidationFailed):
        await bus.publish_many([good, bad])
    assert await bus.history("orders") == []
    results = await bus.publish_many([good, bus.envelope("order.placed", order_v2)])
    assert [r.position for r in results] == [r.position for r in await bus.history("orders")]


async def test_publish_many_across_channels_keeps_the_order_of_results(bus: Bus, order_v2: dict[str, Any],
                                                                        catalog: Catalog) -> None:
    user = next(r for r in catalog.spec("user.registered").bundle["resources"]
                if catalog.spec("user.registered").bundle["root"] in r["uris"])["schema"]["examples"][0]
    envelopes = [bus.envelope("order.placed", order_v2, partition_key="k1"), bus.envelope("user.registered", user),
                 bus.envelope("order.placed", order_v2)]
    results = await bus.publish_many(envelopes)
    assert [(r.id, r.channel, r.type) for r in results] == [
        (envelopes[0].id, "orders", "order.placed"), (envelopes[1].id, "users", "user.registered"),
        (envelopes[2].id, "orders", "order.placed")]
    orders, users = await bus.history("orders"), await bus.history("users")
    assert [r.position for r in orders] == [results[0].position, results[2].position]
    assert [r.position for r in users] == [results[1].position]
    assert orders[0].key == "k1" and orders[0].headers == {"ce-id": envelopes[0].id, "ce-type": "order.placed",
                                                           "ce-dataversion": "2"}


async def test_publish_checked_many_stores_the_given_bytes(bus: Bus, catalog: Catalog) -> None:
    """Already validated and encoded events: stored as given, nothing checked again, positions in order."""
    orders, users = catalog.spec("order.placed"), catalog.spec("user.registered")
    positions = await bus.publish_checked_many([orders, users, orders], ["a", "b", "c"], [None, "key", None],
                                               [b"1", b"2", b"3"])
    stored = await bus.history("orders") + await bus.history("users")
    assert [(r.position, r.payload, r.key, r.headers["ce-id"]) for r in stored] == [
        (positions[0], b"1", None, "a"), (positions[2], b"3", None, "c"), (positions[1], b"2", "key", "b")]
    assert await bus.publish_checked_many([], [], [], []) == []


async def test_groups_compete_and_fan_out_sees_everything(bus: Bus, order_v2: dict[str, Any]) -> None:
    billing_a: Received[Any] = Received()
    billing_b: Received[Any] = Received()
    audit: Received[Any] = Received()
    await bus.subscribe("order.placed", billing_a, group="billing", concurrency=4)
    await bus.subscribe("order.placed", billing_b, group="billing", concurrency=4)
    await bus.subscribe("order.placed", audit, concurrency=4)
    for _ in range(20):
        await bus.publish("order.placed", order_v2)
    await audit.wait_for(20)
    await wait_until(lambda: len(billing_a.events) + len(billing_b.events) >= 20)
    ids = [e.id for e in billing_a.events + billing_b.events]
    assert len(ids) == len(set(ids)) == 20


class HeldHandlers:
    """A handler that holds every event until ``release`` is set, counting how many run at once."""

    def __init__(self) -> None:
        self.running, self.peak, self.done = 0, 0, 0
        self.release = asyncio.Event()

    async def __call__(self, event: Envelope[Any]) -> None:
        self.running += 1
        self.peak = max(self.peak, self.running)
        await self.release.wait()
        self.running -= 1
        self.done += 1


async def test_concurrency_limit_per_subscriber(bus: Bus, order_v2: dict[str, Any]) -> None:
    held = HeldHandlers()
    await bus.subscribe("order.placed", held, concurrency=3)
    for _ in range(10):
        await bus.publish("order.placed", order_v2)
    await wait_until(lambda: held.running == 3)
    held.release.set()
    await wait_until(lambda: held.done == 10)
    assert held.peak == 3


async def test_a_failing_handler_is_retried_then_acked(bus: Bus, order_v2: dict[str, Any]) -> None:
    attempts: list[int] = []

    async def flaky(event: Envelope[Any]) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError("not yet")

    await bus.subscribe("order.placed", flaky, group="g")
    await bus.publish("order.placed", order_v2)
    metrics = bus.adapter_for("orders").recorder
    await wait_until(lambda: metrics.snapshot().channels["orders"].acked == 1)
    snapshot = metrics.snapshot().channels["orders"]
    assert (len(attempts), snapshot.retried, snapshot.errors, snapshot.dead_lettered) == (3, 2, 2, 0)
    assert snapshot.handler_latency.count == 3


async def test_after_the_last_attempt_the_event_is_dead_lettered_with_its_error(catalog: Catalog,
                                                                                order_v2: dict[str, Any]) -> None:
    async with memory_bus(catalog) as bus:
        calls: list[int] = []

        async def broken(event: Envelope[Any]) -> None:
            calls.append(1)
            raise ValueError("card declined")

        await bus.subscribe("order.placed", broken, group="g", retry=RetryPolicy(2, base_delay=0.001, jitter=0))
        result = await bus.publish("order.placed", order_v2)
        await wait_until(lambda: bus.adapter_for("orders").metrics().channels["orders"].dead_lettered == 1)
        [(event, error)] = await dead_letters(bus, "orders")
        assert event.id == result.id and error == "ValueError: card declined"
        assert len(calls) == 2


async def test_channel_retry_limit_from_the_registry(catalog: Catalog) -> None:
    async with memory_bus(catalog, retry=None) as bus:
        [consumer] = await bus.subscribe("order.placed", Received[Any]())
        assert consumer.retry.max_attempts == 6  # orders: retry_limit = 5


async def test_poison_event_is_dead_lettered_without_retries(bus: Bus, order_v2: dict[str, Any]) -> None:
    calls: list[int] = []

    async def refuse(event: Envelope[Any]) -> None:
        calls.append(1)
        raise PoisonEvent("never valid for us")

    await bus.subscribe("order.placed", refuse)
    await bus.publish("order.placed", order_v2)
    await wait_until(lambda: bus.adapter_for("orders").metrics().channels["orders"].dead_lettered == 1)
    assert calls == [1]


async def test_invalid_bytes_on_the_channel_are_dead_lettered_and_the_subscription_goes_on(
    bus: Bus, order_v2: dict[str, Any]
) -> None:
    received: Received[Any] = Received()
    await bus.subscribe("order.placed", received)
    adapter = bus.adapter_for("orders")
    await adapter.publish("orders", Message(b"{not json"))
    await adapter.publish("orders", Message(b'{"specversion":"1.0","id":"x","source":"s","type":"order.placed",'
                                            b'"dataversion":2,"data":{"order_id":1}}'))
    await bus.publish("order.placed", order_v2)
    await received.wait_for(1)
    await wait_until(lambda: adapter.metrics().channels["orders"].dead_lettered == 2)
    errors = [r.headers["x-error"] for r in await adapter.history("orders.dead-letter")]
    assert errors[0].startswith("MalformedEvent") and errors[1].startswith("ValidationFailed")


async def test_a_raising_handler_does_not_kill_the_subscription(bus: Bus, order_v2: dict[str, Any]) -> None:
    seen: list[str] = []

    async def first_one_breaks(event: Envelope[Any]) -> None:
        seen.append(event.id)
        if len(seen) == 1:
            raise PoisonEvent("first")

    await bus.subscribe("order.placed", first_one_breaks)
    await bus.publish("order.placed", order_v2)
    second = await bus.publish("order.placed", order_v2)
    await wait_until(lambda: second.id in seen)


async def test_a_hanging_handler_is_bounded_by_the_timeout(catalog: Catalog, order_v2: dict[str, Any]) -> None:
    async with memory_bus(catalog, handler_timeout=0.05) as bus:
        async def hang(event: Envelope[Any]) -> None:
            await asyncio.Event().wait()

        await bus.subscribe("order.placed", hang, retry=RetryPolicy(1))
        await bus.publish("order.placed", order_v2)
        await wait_until(lambda: bus.adapter_for("orders").metrics().channels["orders"].dead_lettered == 1)
        [(_, error)] = await dead_letters(bus, "orders")
        assert error == "TimeoutError: handler timed out"


async def test_stop_drains_in_flight_handlers(catalog: Catalog, order_v2: dict[str, Any]) -> None:
    started, finished = asyncio.Event(), []
    bus = Bus(catalog, all_channels_on="memory")
    await bus.start()

    async def slow(event: Envelope[Any]) -> None:
        started.set()
        await asyncio.sleep(0.05)  # work in progress while the bus stops
        finished.append(event.id)

    await bus.subscribe("order.placed", slow, group="g")
    result = await bus.publish("order.placed", order_v2)
    await asyncio.wait_for(started.wait(), TIMEOUT)
    await bus.stop()
    assert finished == [result.id]
    with pytest.raises(BusClosed):
        await bus.publish("order.placed", order_v2)


async def test_idempotency_key_publishes_once(bus: Bus, order_v2: dict[str, Any]) -> None:
    first = await bus.publish("order.placed", order_v2, idempotency_key="checkout-42")
    again = await bus.publish("order.placed", order_v2, idempotency_key="checkout-42")
    together = await asyncio.gather(*(bus.publish("order.placed", order_v2, idempotency_key="k2") for _ in range(5)))
    assert (again.id, again.position, again.duplicate, first.duplicate) == (first.id, first.position, True, False)
    assert len({r.id for r in together}) == 1
    assert len(await published(bus, "order.placed")) == 2


async def test_publish_raw_validates_bytes_from_outside(bus: Bus, order_v2: dict[str, Any]) -> None:
    from hipponot_pubsub.runtime.codec import encode

    raw = encode(bus.envelope("order.placed", order_v2))
    result = await bus.publish_raw(raw, channel="orders")
    [record] = await bus.history("orders")
    assert record.position == result.position
    with pytest.raises(ValidationFailed):
        await bus.publish_raw(encode(bus.envelope("order.placed", {**order_v2, "order_number": "X"})))


async def test_an_older_version_is_validated_against_its_own_schema(bus: Bus, order_v1: dict[str, Any]) -> None:
    received: Received[Any] = Received()
    await bus.subscribe("order.placed", received)
    await bus.publish("order.placed", order_v1, version=1)
    [event] = await received.wait_for(1)
    assert event.data_version == 1
    with pytest.raises(ValidationFailed):  # v1 has no gift_message and is closed
        await bus.publish("order.placed", {**order_v1, "gift_message": "hi"}, version=1)


async def test_health_and_metrics(bus: Bus, order_v2: dict[str, Any]) -> None:
    await bus.publish("order.placed", order_v2)
    assert all(h.ok for h in (await bus.health()).values())
    [snapshot] = bus.metrics()
    assert snapshot.total("published") == 1


async def test_a_failing_fetch_does_not_end_the_subscription(bus: Bus, order_v2: dict[str, Any]) -> None:
    received: Received[Any] = Received()
    [consumer] = await bus.subscribe("order.placed", received)
    real_next = consumer.subscription.next
    failures = [RuntimeError("connection reset")]

    async def flaky_next() -> Any:
        if failures:
            raise failures.pop()
        return await real_next()

    consumer.subscription.next = flaky_next  # type: ignore[method-assign]
    await bus.publish("order.placed", order_v2)  # wakes the waiting fetch; the next fetch fails once
    await bus.publish("order.placed", order_v2)
    await received.wait_for(2)
    assert bus.adapter_for("orders").metrics().channels["orders"].errors >= 1


async def test_a_consumer_handles_an_idempotency_key_once(bus: Bus, order_v2: dict[str, Any]) -> None:
    from hipponot_pubsub.runtime.codec import encode

    received: Received[Any] = Received()
    await bus.subscribe("order.placed", received)
    adapter = bus.adapter_for("orders")
    for _ in range(2):  # the same logical event published twice by another process (two ids, one key)
        await adapter.publish("orders", Message(encode(bus.envelope("order.placed", order_v2, idempotency_key="k"))))
    last = await bus.publish("order.placed", order_v2)
    await wait_until(lambda: adapter.metrics().channels["orders"].acked == 3)
    assert [e.idempotency_key for e in received.events] == ["k", None]
    assert received.events[1].id == last.id


async def test_unsubscribe_stops_one_consumer(bus: Bus, order_v2: dict[str, Any]) -> None:
    kept: Received[Any] = Received()
    dropped: Received[Any] = Received()
    await bus.subscribe("order.placed", kept)
    [consumer] = await bus.subscribe("order.placed", dropped)
    await bus.unsubscribe(consumer)
    await bus.publish("order.placed", order_v2)
    await kept.wait_for(1)
    assert dropped.events == []


async def test_handler_latency_is_recorded(bus: Bus, order_v2: dict[str, Any]) -> None:
    received: Received[Any] = Received()
    await bus.subscribe("order.placed", received)
    await bus.publish("order.placed", order_v2)
    await received.wait_for(1)
    recorder = bus.adapter_for("orders").recorder
    await wait_until(lambda: recorder.snapshot().channels["orders"].handler_latency.count == 1)
    latency = recorder.snapshot().channels["orders"].handler_latency
    assert 0 < latency.quantile(0.99) <= 30.0 and latency.sum >= 0


async def test_dead_letter_channels_have_history(catalog: Catalog, order_v2: dict[str, Any]) -> None:
    async with memory_bus(catalog) as bus:
        async def poison(event: Envelope[Any]) -> None:
            raise PoisonEvent("never")

        await bus.subscribe("order.placed", poison, group="g")
        await bus.publish("order.placed", order_v2)
        await wait_until(lambda: bus.adapter_for("orders").metrics().channels["orders"].dead_lettered == 1)
        [record] = await bus.history("orders.dead-letter")
        assert record.headers["x-error"] == "PoisonEvent: never"


@pytest.mark.parametrize("awaited", [False, True], ids=["ack_now", "awaited ack"])
async def test_a_failing_ack_is_reported_and_the_consumer_goes_on(bus: Bus, order_v2: dict[str, Any],
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  awaited: bool) -> None:
    """Whether the adapter acks without waiting (``ack_now``) or only through ``ack`` (``ack_now`` declines)."""
    from hipponot_pubsub.runtime.adapters import memory
    from hipponot_pubsub.runtime.errors import AdapterError

    failures: list[int] = []
    original_ack_now = memory._MemoryDelivery.ack_now

    def fail_once() -> None:
        if not failures:
            failures.append(1)
            raise AdapterError("backend down")

    def ack_now(self: Any) -> bool:
        if awaited:
            return False
        fail_once()
        return original_ack_now(self)

    async def ack(self: Any) -> None:
        fail_once()
        original_ack_now(self)

    monkeypatch.setattr(memory._MemoryDelivery, "ack_now", ack_now)
    monkeypatch.setattr(memory._MemoryDelivery, "ack", ack)
    received: Received[Any] = Received()
    await bus.subscribe("order.placed", received, concurrency=2)  # the unsettled first one holds a slot
    await bus.publish("order.placed", order_v2)
    await bus.publish("order.placed", order_v2)
    await received.wait_for(2)
    recorder = bus.adapter_for("orders").recorder
    await wait_until(lambda: recorder.snapshot().channels["orders"].acked == 1)
    assert failures == [1] and recorder.snapshot().channels["orders"].errors == 1


async def test_a_fetched_backlog_is_shared_by_the_workers(bus: Bus, order_v2: dict[str, Any]) -> None:
    """A backlog comes out of the adapter in one batch; while the first handler waits on I/O, the other workers
    must take the rest of that batch, so ``concurrency`` handlers run at once (and never more)."""
    for _ in range(9):
        await bus.publish("order.placed", order_v2)
    held = HeldHandlers()
    await bus.subscribe("order.placed", held, concurrency=3, start=StartAt.EARLIEST)
    await wait_until(lambda: held.running == 3)
    held.release.set()
    await wait_until(lambda: held.done == 9)
    assert held.peak == 3


async def test_stop_handles_every_delivery_already_fetched(catalog: Catalog, order_v2: dict[str, Any]) -> None:
    """Whatever the workers took from the adapter is handled before ``stop`` returns (nobody else would), and
    nothing new is fetched once stopping began."""
    bus = Bus(catalog, all_channels_on="memory")
    await bus.start()
    for _ in range(8):
        await bus.publish("order.placed", order_v2)
    gate, running, handled = asyncio.Event(), [0], []

    async def slow(event: Envelope[Any]) -> None:
        running[0] += 1
        await gate.wait()
        handled.append(event.id)

    [consumer] = await bus.subscribe("order.placed", slow, concurrency=3, start=StartAt.EARLIEST)
    await wait_until(lambda: running[0] == 3)
    stopping = asyncio.create_task(bus.stop())
    await wait_until(lambda: consumer._stopping)
    gate.set()
    await asyncio.wait_for(stopping, TIMEOUT)
    delivered = consumer.recorder.counters("orders").delivered  # what the adapter handed out
    assert len(handled) == delivered
    assert 3 <= delivered < 8
    assert consumer.in_flight == 0
