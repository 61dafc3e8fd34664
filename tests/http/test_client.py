"""The client transport and the generated typed HTTP client against a real server."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

import pytest
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.client import AsyncPubSubClient, Backoff, PubSubClient, subscribe
from hipponot_pubsub.runtime.envelope import Envelope
from hipponot_pubsub.runtime.errors import UnknownChannel, UnknownEventType, ValidationFailed
from hipponot_pubsub.runtime.http.plugin import service_of
from hipponot_pubsub.runtime.testing import wait_until

from .conftest import ServerFactory, example
from .server import ServerThread

FAST = Backoff(initial=0.01, maximum=0.05, jitter=0.0)


@pytest.fixture(scope="module")
def generated_client() -> Any:
    """The typed HTTP client ``pubsub generate`` wrote for the example registry."""
    return importlib.import_module("generated.client")


async def _collect(stream: Any, into: list[Any], count: int) -> None:
    async for event in stream:
        into.append(event)
        if len(into) >= count:
            return


async def test_typed_publish_and_subscribe(server: ServerThread, catalog: Catalog, generated_client: Any) -> None:
    import generated

    order = generated.OrderPlaced.model_validate(example(catalog, "order.placed"))
    async with AsyncPubSubClient(server.url) as client:
        events = generated_client.HttpEvents(client)
        stream = events.order_placed.subscribe()
        received: list[Envelope[Any]] = []
        reader = asyncio.create_task(_collect(stream, received, 2))
        await wait_until(lambda: stream.connections == 1)
        first = await events.order_placed.publish(order, key="k1", correlation_id="c1")
        await events.order_cancelled.publish(
            generated.OrderCancelled.model_validate(example(catalog, "order.cancelled")))  # filtered out
        [second] = await generated_client.OrderPlacedHttpPublisher(client).publish_many([order])
        await asyncio.wait_for(reader, 10)
        await stream.close()
    assert [e.id for e in received] == [first.id, second.id]
    assert isinstance(received[0].data, generated.OrderPlacedV2)
    assert received[0].data == order and received[0].correlation_id == "c1" and received[0].partition_key == "k1"
    assert stream.last_event_id == second.position


async def test_refusals_raise_runtime_errors(server: ServerThread, catalog: Catalog) -> None:
    bad = {**example(catalog, "order.placed"), "order_id": 5}
    async with AsyncPubSubClient(server.url) as client:
        with pytest.raises(ValidationFailed) as failed:
            await client.publish("order.placed", bad)
        assert [v.pointer for v in failed.value.violations] == ["/order_id"]
        with pytest.raises(UnknownEventType):
            await client.publish("nope", {})
        with pytest.raises(UnknownChannel):
            async for _ in subscribe(client, "nope"):
                pass


def test_sync_publishing(server: ServerThread, catalog: Catalog, generated_client: Any) -> None:
    import generated

    with PubSubClient(server.url) as client:
        result = client.publish("user.registered", example(catalog, "user.registered"))
        user = generated.UserRegistered.model_validate(example(catalog, "user.registered"))
        typed = generated_client.SyncHttpEvents(client).user_registered.publish(user)
        [batch] = client.publish_many([{"type": "user.registered", "data": example(catalog, "user.registered")}])
    assert int(result.position) < int(typed.position) < int(batch.position)


async def test_consumer_resumes_after_the_server_ends_the_stream(server: ServerThread, catalog: Catalog) -> None:
    hub = service_of(server.app).streams
    data = example(catalog, "user.registered")
    async with AsyncPubSubClient(server.url) as client:
        stream = subscribe(client, "users", backoff=FAST)
        received: list[Envelope[Any]] = []
        reader = asyncio.create_task(_collect(stream, received, 6))
        await wait_until(lambda: stream.connections == 1)
        results = [await client.publish("user.registered", data) for _ in range(3)]
        await wait_until(lambda: len(received) == 3)

        async def cut() -> None:
            for sse_client in list(hub.clients):
                sse_client.end("slow")

        server.call(cut())
        results += [await client.publish("user.registered", data) for _ in range(3)]
        await asyncio.wait_for(reader, 10)
        await stream.close()
    assert stream.connections == 2
    assert [e.id for e in received] == [r.id for r in results]  # no gap, no duplicate, in order
    assert stream.last_event_id == results[-1].position


async def test_consumer_detects_a_dead_stream_by_missing_heartbeats(start_server: ServerFactory,
                                                                    catalog: Catalog) -> None:
    server = start_server(heartbeat=60)  # the server stays silent: to the client this looks like a dead peer
    async with AsyncPubSubClient(server.url) as client:
        stream = subscribe(client, "users", dead_after=0.3, backoff=FAST)
        received: list[Envelope[Any]] = []
        reader = asyncio.create_task(_collect(stream, received, 1))
        await wait_until(lambda: stream.connections >= 2, timeout=10)
        accepted = await client.publish("user.registered", example(catalog, "user.registered"))
        await asyncio.wait_for(reader, 10)
        await stream.close()
    assert received[0].id == accepted.id


async def test_consumer_waits_out_a_full_server(start_server: ServerFactory, catalog: Catalog) -> None:
    server = start_server(max_subscribers=1, retry_after=0)
    hub = service_of(server.app).streams
    async with AsyncPubSubClient(server.url) as client:
        first = subscribe(client, "users", backoff=FAST)
        first_events: list[Envelope[Any]] = []
        first_reader = asyncio.create_task(_collect(first, first_events, 1))
        await wait_until(lambda: first.connections == 1)
        second = subscribe(client, "users", backoff=FAST)
        second_events: list[Envelope[Any]] = []
        second_reader = asyncio.create_task(_collect(second, second_events, 1))
        await wait_until(lambda: hub.disconnects["client"] == 0 and second.connections == 0)
        first_reader.cancel()
        await first.close()
        await wait_until(lambda: second.connections == 1, timeout=10)
        await client.publish("user.registered", example(catalog, "user.registered"))
        await asyncio.wait_for(second_reader, 10)
        await second.close()
    assert len(second_events) == 1
