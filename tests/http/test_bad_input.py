"""The bad-input table: every refusal has its status and a problem+json body, and nothing is published."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.http.plugin import service_of

from .conftest import example, structured
from .server import ServerThread

CE = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"


def stored(server: ServerThread) -> int:
    bus = service_of(server.app).bus

    async def count() -> int:
        total = 0
        for channel in bus.catalog.channels:
            total += len(await bus.history(channel, limit=100_000))
        return total

    total: int = server.call(count())
    return total


def cases(catalog: Catalog) -> list[tuple[str, str, str, dict[str, str], bytes | None, int, str]]:
    order = example(catalog, "order.placed")
    bad_order = {**order, "order_id": 5}
    user = example(catalog, "user.registered")

    def js(value: Any) -> bytes:
        return json.dumps(value).encode()

    return [
        # (id, method, path, headers, body, status, problem type suffix)
        ("structured not JSON", "POST", "/events", {"content-type": CE}, b"{nope", 400, "malformed-json"),
        ("plain not JSON", "POST", "/events", {"content-type": "application/json"}, b"[1,", 400, "malformed-json"),
        ("binary not JSON", "POST", "/events", {"content-type": "application/json", "ce-specversion": "1.0",
                                               "ce-type": "order.placed", "ce-id": "x", "ce-source": "s"}, b"{",
         400, "malformed-json"),
        ("batch not JSON", "POST", "/events/batch", {"content-type": BATCH}, b"[{]", 400, "malformed-json"),
        ("schema violation", "POST", "/events", {"content-type": CE}, js(structured("order.placed", bad_order)),
         422, "schema-violation"),
        ("missing data", "POST", "/events", {"content-type": "application/json"}, js({"type": "order.placed"}),
         422, "invalid-cloudevent"),
        ("wrong specversion", "POST", "/events", {"content-type": CE},
         js({**structured("user.registered", user), "specversion": "0.3"}), 422, "invalid-cloudevent"),
        ("event is an array", "POST", "/events", {"content-type": "application/json"}, b"[]", 422,
         "invalid-cloudevent"),
        ("unknown type", "POST", "/events", {"content-type": "application/json"},
         js({"type": "no.such", "data": {}}), 404, "unknown-event-type"),
        ("unknown version", "POST", "/events", {"content-type": "application/json"},
         js({"type": "order.placed", "dataversion": 9, "data": order}), 404, "unknown-event-type"),
        ("text/plain", "POST", "/events", {"content-type": "text/plain"}, js(structured("order.placed", order)),
         415, "unsupported-media-type"),
        ("no content type", "POST", "/events", {}, js(structured("order.placed", order)), 415,
         "unsupported-media-type"),
        ("binary with XML data", "POST", "/events", {"content-type": "application/xml", "ce-specversion": "1.0",
                                                     "ce-type": "order.placed"}, b"<a/>", 415,
         "unsupported-media-type"),
        ("batch text/plain", "POST", "/events/batch", {"content-type": "text/plain"}, b"[]", 415,
         "unsupported-media-type"),
        ("batch not an array", "POST", "/events/batch", {"content-type": BATCH}, b"{}", 422, "invalid-batch"),
        ("batch with one invalid", "POST", "/events/batch", {"content-type": BATCH},
         js([structured("order.placed", order), structured("order.placed", bad_order)]), 422, "invalid-batch"),
        ("batch with unknown type", "POST", "/events/batch", {"content-type": "application/json"},
         js([{"type": "user.registered", "data": user}, {"type": "nope", "data": {}}]), 422, "invalid-batch"),
        ("stream unknown channel", "GET", "/channels/nope/events", {}, None, 404, "unknown-channel"),
        ("stream unknown type", "GET", "/channels/orders/events?type=nope", {}, None, 404, "unknown-event-type"),
        ("stream type of another channel", "GET", "/channels/orders/events?type=user.registered", {}, None, 422,
         "wrong-channel"),
        ("stream garbage position", "GET", "/channels/orders/events", {"last-event-id": "abc"}, None, 400,
         "invalid-position"),
        ("stream position ahead", "GET", "/channels/orders/events?after=99999", {}, None, 400, "invalid-position"),
        ("registry unknown type", "GET", "/registry/types/nope", {}, None, 404, "unknown-event-type"),
        ("registry unknown version", "GET", "/registry/types/order.placed/versions/9/schema", {}, None, 404,
         "unknown-event-type"),
        ("registry version zero", "GET", "/registry/types/order.placed/versions/0", {}, None, 404,
         "unknown-event-type"),
        ("registry bad version", "GET", "/registry/types/order.placed/versions/x/schema", {}, None, 404,
         "not-found"),
        ("registry unknown channel", "GET", "/registry/channels/nope", {}, None, 404, "unknown-channel"),
        ("compat unknown type", "POST", "/registry/types/nope/compatibility", {"content-type": "application/json"},
         b"{}", 404, "unknown-event-type"),
        ("compat not JSON", "POST", "/registry/types/order.placed/compatibility",
         {"content-type": "application/json"}, b"{", 400, "malformed-json"),
        ("compat text/plain", "POST", "/registry/types/order.placed/compatibility", {"content-type": "text/plain"},
         b"{}", 415, "unsupported-media-type"),
        ("compat not a schema", "POST", "/registry/types/order.placed/compatibility",
         {"content-type": "application/json"}, b"[1]", 422, "invalid-schema"),
        ("compat invalid schema", "POST", "/registry/types/order.placed/compatibility",
         {"content-type": "application/json"}, b'{"type": 5}', 422, "invalid-schema"),
        ("compat bad level", "POST", "/registry/types/order.placed/compatibility?level=SIDEWAYS",
         {"content-type": "application/json"}, b'{"type": "object"}', 422, "compat-input"),
        ("unknown route", "GET", "/nowhere", {}, None, 404, "not-found"),
        ("wrong method", "DELETE", "/events", {}, None, 405, "method-not-allowed"),
    ]


def _ids() -> list[str]:
    return [c[0] for c in cases(Catalog.from_package("generated"))]


@pytest.mark.parametrize("case", _ids())
async def test_bad_input(case: str, server: ServerThread, client: httpx.AsyncClient, catalog: Catalog) -> None:
    _, method, path, headers, body, status, kind = next(c for c in cases(catalog) if c[0] == case)
    before = stored(server)
    response = await client.request(method, path, headers=headers, content=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == status and problem["type"].endswith(":" + kind), problem
    assert stored(server) == before


async def test_schema_violations_list_json_pointers(client: httpx.AsyncClient, catalog: Catalog) -> None:
    order = example(catalog, "order.placed")
    order["order_id"] = 5
    del order["customer_id"]
    response = await client.post("/events", json={"type": "order.placed", "data": order})
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert "/data/order_id" in pointers and "/data" in pointers  # the missing property is reported on its parent


async def test_batch_errors_are_indexed_and_nothing_is_published(server: ServerThread, client: httpx.AsyncClient,
                                                                catalog: Catalog) -> None:
    order = example(catalog, "order.placed")
    events = [{"type": "order.placed", "data": order}, {"type": "order.placed", "data": {**order, "order_id": 5}},
              {"type": "order.placed", "data": order}, {"type": "order.placed"}]
    before = stored(server)
    response = await client.post("/events/batch", json=events)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {e["index"] for e in errors} == {3}  # the envelope problems are found before any data is validated
    del events[3]
    response = await client.post("/events/batch", json=events)
    errors = response.json()["errors"]
    assert {(e["index"], e["pointer"]) for e in errors} == {(1, "/data/order_id")}
    assert stored(server) == before


async def test_malformed_cloudevent_lists_each_attribute(client: httpx.AsyncClient) -> None:
    response = await client.post("/events", content=b'{"specversion": "1.0", "type": 5, "id": 7}',
                                 headers={"content-type": CE})
    assert response.status_code == 422
    pointers = {e["pointer"] for e in response.json()["errors"]}
    assert {"/type", "/id", "/data"} <= pointers
