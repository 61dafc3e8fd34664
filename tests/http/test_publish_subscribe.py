"""Publish over HTTP, receive over SSE: the three publish modes, batches, filters, resume without gap."""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from typing import Any

import httpx
from hipponot_pubsub.runtime.catalog import Catalog

from .conftest import ServerFactory, example, sse, structured, take
from .server import ServerThread

CE_JSON = {"content-type": "application/cloudevents+json"}
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def publish(http: httpx.AsyncClient, catalog: Catalog, event_type: str = "user.registered", **extra: Any
                  ) -> dict[str, Any]:
    response = await http.post("/events", json={"type": event_type, "data": example(catalog, event_type), **extra})
    assert response.status_code == 202, response.text
    accepted: dict[str, Any] = response.json()
    return accepted


async def test_structured_publish_is_received_with_position_type_and_envelope(client: httpx.AsyncClient,
                                                                              catalog: Catalog) -> None:
    data = example(catalog, "order.placed")
    async with sse(client, "/channels/orders/events") as events:
        response = await client.post("/events", content=json.dumps(structured("order.placed", data, id="evt-1")),
                                     headers={**CE_JSON, "traceparent": TRACEPARENT})
        assert response.status_code == 202, response.text
        accepted = response.json()
        assert accepted["id"] == "evt-1" and accepted["channel"] == "orders" and accepted["version"] == 2
        [event] = await asyncio.wait_for(take(events, 1), 10)
    assert event.id == accepted["position"]
    assert event.event == "order.placed"
    envelope = json.loads(event.data)
    assert envelope["id"] == "evt-1" and envelope["data"] == data and envelope["dataversion"] == 2
    assert envelope["traceparent"] == TRACEPARENT


async def test_plain_json_gets_id_time_source_filled(client: httpx.AsyncClient, catalog: Catalog) -> None:
    async with sse(client, "/channels/users/events") as events:
        accepted = await publish(client, catalog)
        [event] = await asyncio.wait_for(take(events, 1), 10)
    envelope = json.loads(event.data)
    assert envelope["id"] == accepted["id"] and envelope["specversion"] == "1.0"
    assert envelope["source"] and envelope["time"].endswith("Z")
    assert envelope["principal"] == "anonymous"


async def test_binary_mode(client: httpx.AsyncClient, catalog: Catalog) -> None:
    data = example(catalog, "order.placed", 1)
    headers = {"content-type": "application/json", "ce-specversion": "1.0", "ce-type": "order.placed",
               "ce-id": "bin-1", "ce-source": "urn:bin", "ce-dataversion": "1", "ce-subject": "caf%C3%A9"}
    async with sse(client, "/channels/orders/events") as events:
        response = await client.post("/events", content=json.dumps(data), headers=headers)
        assert response.status_code == 202, response.text
        assert response.json()["version"] == 1
        [event] = await asyncio.wait_for(take(events, 1), 10)
    envelope = json.loads(event.data)
    assert envelope["id"] == "bin-1" and envelope["subject"] == "café" and envelope["data"] == data


async def test_batch_is_published_in_order(client: httpx.AsyncClient, catalog: Catalog) -> None:
    data = example(catalog, "user.registered")
    batch = [structured("user.registered", data, id=f"b-{i}") for i in range(5)]
    async with sse(client, "/channels/users/events") as events:
        response = await client.post("/events/batch", content=json.dumps(batch),
                                     headers={"content-type": "application/cloudevents-batch+json"})
        assert response.status_code == 202, response.text
        results = response.json()["results"]
        received = await asyncio.wait_for(take(events, 5), 10)
    assert [r["id"] for r in results] == [f"b-{i}" for i in range(5)]
    assert [e.id for e in received] == [r["position"] for r in results]


async def test_batch_fills_attributes_and_spans_channels(client: httpx.AsyncClient, catalog: Catalog) -> None:
    order, user = example(catalog, "order.placed"), example(catalog, "user.registered")
    batch = [{"type": "order.placed", "data": order, "partitionkey": "cus-1"},
             {"type": "user.registered", "data": user, "dataversion": "1", "tenant": "acme"},
             {"type": "order.placed", "data": order, "id": "mine", "source": "urn:me", "subject": "o/1"}]
    async with sse(client, "/channels/orders/events") as orders, sse(client, "/channels/users/events") as users:
        response = await client.post("/events/batch", json=batch, headers={"traceparent": TRACEPARENT})
        assert response.status_code == 202, response.text
        results = response.json()["results"]
        received_orders = await asyncio.wait_for(take(orders, 2), 10)
        [received_user] = await asyncio.wait_for(take(users, 1), 10)
    assert [(r["channel"], r["type"], r["version"], r["duplicate"]) for r in results] == [
        ("orders", "order.placed", 2, False), ("users", "user.registered", 1, False),
        ("orders", "order.placed", 2, False)]
    assert [e.id for e in received_orders] == [results[0]["position"], results[2]["position"]]
    assert received_user.id == results[1]["position"]
    first, mine = (json.loads(e.data) for e in received_orders)
    user_event = json.loads(received_user.data)
    assert first["id"] == results[0]["id"] and first["source"] and first["time"].endswith("Z")
    assert first["partitionkey"] == "cus-1" and first["principal"] == "anonymous"
    assert first["traceparent"] == TRACEPARENT and first["data"] == order
    assert (mine["id"], mine["source"], mine["subject"]) == ("mine", "urn:me", "o/1") and results[2]["id"] == "mine"
    assert user_event["dataversion"] == 1 and user_event["tenant"] == "acme" and user_event["id"] == results[1]["id"]


async def test_many_streams_each_get_every_event_once_in_order(server: ServerThread, catalog: Catalog) -> None:
    """More streams than the tail writes to per loop callback (``SLICE``), some filtered, published to while
    they are being written to: each gets exactly its events, in order, every frame intact."""
    placed, cancelled = example(catalog, "order.placed"), example(catalog, "order.cancelled")
    streams = 80
    limits = httpx.Limits(max_connections=streams + 10, max_keepalive_connections=streams + 10)
    async with httpx.AsyncClient(base_url=server.url, timeout=20, limits=limits) as http, AsyncExitStack() as stack:
        opened = []
        for index in range(streams):
            params = {"type": "order.cancelled"} if index % 10 == 3 else None
            opened.append(await stack.enter_async_context(sse(http, "/channels/orders/events", params=params)))
        positions: list[tuple[str, str]] = []
        for round_ in range(3):
            batch = [{"type": "order.placed", "data": placed}] * 150 + [{"type": "order.cancelled", "data": cancelled}]
            response = await http.post("/events/batch", json=batch[round_:] + batch[:round_])
            assert response.status_code == 202, response.text
            positions += [(r["position"], r["type"]) for r in response.json()["results"]]
        everything = [p for p, _ in positions]
        only_cancelled = [p for p, t in positions if t == "order.cancelled"]

        async def read(index: int) -> None:
            expected = only_cancelled if index % 10 == 3 else everything
            got = await asyncio.wait_for(take(opened[index], len(expected)), 20)
            assert [e.id for e in got] == expected, index
            assert all(json.loads(e.data)["type"] == e.event for e in got)

        await asyncio.gather(*(read(index) for index in range(streams)))


async def test_type_filter(client: httpx.AsyncClient, catalog: Catalog) -> None:
    async with sse(client, "/channels/orders/events", params={"type": "order.cancelled"}) as events:
        await publish(client, catalog, "order.placed")
        cancelled = await publish(client, catalog, "order.cancelled")
        [event] = await asyncio.wait_for(take(events, 1), 10)
    assert event.event == "order.cancelled" and event.id == cancelled["position"]


async def test_resume_with_last_event_id_across_a_dropped_connection(client: httpx.AsyncClient,
                                                                     catalog: Catalog) -> None:
    positions = []
    async with sse(client, "/channels/users/events") as events:
        for _ in range(5):
            positions.append((await publish(client, catalog))["position"])
        first = await asyncio.wait_for(take(events, 2), 10)
    # dropped after two; more are published while disconnected
    for _ in range(5):
        positions.append((await publish(client, catalog))["position"])
    last_seen = first[-1].id
    async with sse(client, "/channels/users/events", headers={"Last-Event-ID": last_seen}) as events:
        rest = await asyncio.wait_for(take(events, 8), 10)
        positions.append((await publish(client, catalog))["position"])
        [live] = await asyncio.wait_for(take(events, 1), 10)
    received = [e.id for e in first] + [e.id for e in rest] + [live.id]
    assert received == positions  # every event exactly once, in order


async def test_after_query_and_header_precedence(client: httpx.AsyncClient, catalog: Catalog) -> None:
    positions = [(await publish(client, catalog))["position"] for _ in range(4)]
    async with sse(client, "/channels/users/events", params={"after": positions[0]}) as events:
        got = await asyncio.wait_for(take(events, 3), 10)
    assert [e.id for e in got] == positions[1:]
    async with sse(client, "/channels/users/events", params={"after": positions[0]},
                   headers={"Last-Event-ID": positions[2]}) as events:
        got = await asyncio.wait_for(take(events, 1), 10)
    assert [e.id for e in got] == positions[3:]


async def test_resume_far_behind_pages_through_history_then_goes_live(client: httpx.AsyncClient,
                                                                      catalog: Catalog) -> None:
    data = example(catalog, "user.registered")
    first = await publish(client, catalog)
    expected = []
    for _ in range(2):
        response = await client.post("/events/batch", json=[{"type": "user.registered", "data": data}] * 600)
        assert response.status_code == 202
        expected += [r["position"] for r in response.json()["results"]]
    async with sse(client, "/channels/users/events", headers={"Last-Event-ID": first["position"]}) as events:
        got = await asyncio.wait_for(take(events, 1200), 20)
        live = await publish(client, catalog)
        [last] = await asyncio.wait_for(take(events, 1), 10)
    assert [e.id for e in got] == expected
    assert last.id == live["position"]


async def test_stream_anchor_lets_an_idle_client_resume_without_gap(client: httpx.AsyncClient,
                                                                    catalog: Catalog) -> None:
    before = await publish(client, catalog)
    async with client.stream("GET", "/channels/users/events") as response:
        from httpx_sse import EventSource

        prelude = await anext(EventSource(response).aiter_sse())
    assert prelude.id == before["position"] and prelude.retry == 2000
    missed = await publish(client, catalog)
    async with sse(client, "/channels/users/events", headers={"Last-Event-ID": prelude.id}) as events:
        [event] = await asyncio.wait_for(take(events, 1), 10)
    assert event.id == missed["position"]


async def test_heartbeat_comments(start_server: ServerFactory) -> None:
    server: ServerThread = start_server(heartbeat=0.2)
    async with httpx.AsyncClient(base_url=server.url) as http, http.stream("GET", "/channels/users/events") as r:
        lines = r.aiter_lines()
        async with asyncio.timeout(10):
            async for line in lines:
                if line.startswith(": keep-alive"):
                    break
