"""Registry endpoints, AsyncAPI, OpenAPI, health/readiness and Prometheus metrics."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import jsonschema
from hipponot_pubsub.runtime.adapters.base import Health
from hipponot_pubsub.runtime.adapters.memory import memory_adapter_factory
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.http import ServiceSettings, create_app
from hipponot_pubsub.runtime.http.plugin import service_of
from prometheus_client.parser import text_string_to_metric_families

from .conftest import example, sse, take
from .server import ServerThread


async def test_registry_listings(client: httpx.AsyncClient, catalog: Catalog) -> None:
    types = (await client.get("/registry/types")).json()
    assert [t["type"] for t in types["types"]] == catalog.types
    placed = (await client.get("/registry/types/order.placed")).json()
    assert [v["version"] for v in placed["versions"]] == [1, 2] and placed["latest"] == 2
    assert placed["channel"] == "orders"
    version = (await client.get("/registry/types/order.placed/versions/1")).json()
    assert version["version"] == 1 and version["schema_id"].endswith("order-placed.v1.json")
    channels = (await client.get("/registry/channels")).json()["channels"]
    assert {c["name"] for c in channels} == set(catalog.channels)
    orders = (await client.get("/registry/channels/orders")).json()
    assert orders["types"] == ["order.cancelled", "order.placed", "order.shipped"]


async def test_schema_document_is_self_contained(client: httpx.AsyncClient, catalog: Catalog) -> None:
    for spec in catalog:
        response = await client.get(f"/registry/types/{spec.type}/versions/{spec.version}/schema")
        assert response.headers["content-type"].startswith("application/schema+json")
        schema = response.json()
        validator = jsonschema.Draft202012Validator(schema,
                                                    format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
        valid = example(catalog, spec.type, spec.version)
        assert validator.is_valid(valid), list(validator.iter_errors(valid))  # refs resolve inside the document
        assert not validator.is_valid({**valid, "zzz_undeclared": 1}) or not validator.is_valid([])
    bundle = (await client.get("/registry/types/order.placed/versions/2/schema", params={"format": "bundle"})).json()
    assert bundle == catalog.spec("order.placed", 2).bundle


async def test_asyncapi_document(client: httpx.AsyncClient, catalog: Catalog) -> None:
    document = (await client.get("/asyncapi.json")).json()
    assert document["asyncapi"] == "3.0.0"
    assert set(document["channels"]) == set(catalog.channels)
    assert document["channels"]["orders"]["address"] == "/channels/orders/events"
    messages = document["components"]["messages"]
    assert len(messages) == len(catalog)
    message = messages["order.placed.v2"]
    envelope = {"specversion": "1.0", "id": "1", "source": "s", "type": "order.placed", "dataversion": 2,
                "data": example(catalog, "order.placed", 2)}
    schema = message["payload"]["schema"]
    assert jsonschema.Draft202012Validator(schema).is_valid(envelope)
    assert not jsonschema.Draft202012Validator(schema).is_valid({**envelope, "dataversion": 1})
    for operation in document["operations"].values():
        assert operation["channel"]["$ref"].startswith("#/channels/")


async def test_openapi_lists_every_route(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert {"/events", "/events/batch", "/channels/{channel}/events", "/registry/types", "/asyncapi.json",
            "/health", "/ready", "/metrics", "/registry/types/{event_type}/compatibility"} <= set(paths)
    assert "requestBody" in paths["/events"]["post"]


async def test_compatibility_check(client: httpx.AsyncClient, catalog: Catalog) -> None:
    spec = catalog.spec("order.placed", 2)
    root = next(r for r in spec.bundle["resources"] if spec.bundle["root"] in r["uris"])
    same: dict[str, Any] = copy.deepcopy(root["schema"])
    same.pop("$id", None)
    report = (await client.post("/registry/types/order.placed/compatibility", json=same)).json()
    assert report["compatible"] is True and report["new_version"] == 3 and report["level"] == "BACKWARD"
    breaking = copy.deepcopy(same)
    breaking["properties"]["brand_new"] = {"type": "string"}
    breaking["required"] = [*breaking.get("required", []), "brand_new"]
    report = (await client.post("/registry/types/order.placed/compatibility", json=breaking)).json()
    assert report["compatible"] is False
    assert any(f["severity"] == "error" and "brand_new" in f["path"] for f in report["findings"]), report
    lenient = (await client.post("/registry/types/order.placed/compatibility", json=breaking,
                                 params={"level": "FORWARD"})).json()
    assert lenient["level"] == "FORWARD"


async def test_health_and_readiness(server: ServerThread, client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200 and ready.json()["adapters"]["memory"]["ok"] is True
    adapter = service_of(server.app).bus.adapter_for("orders")

    async def down() -> Health:
        return Health(False, "broker unreachable")

    adapter.health = down  # type: ignore[method-assign]
    not_ready = await client.get("/ready")
    assert not_ready.status_code == 503 and not_ready.headers["retry-after"]
    assert not_ready.json()["adapters"]["memory"] == {"ok": False, "detail": "broker unreachable"}


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics(client: httpx.AsyncClient, catalog: Catalog) -> None:
    async with sse(client, "/channels/users/events") as events:
        for _ in range(3):
            assert (await client.post("/events", json={"type": "user.registered",
                                                       "data": example(catalog, "user.registered")})).status_code == 202
        await take(events, 3)
        text = (await client.get("/metrics")).text
    samples = _samples(text)
    assert samples[("pubsub_events_published_total", (("adapter", "memory"), ("channel", "users")))] == 3
    assert samples[("pubsub_http_requests_total", (("method", "POST"), ("route", "/events"), ("status", "202")))] == 3
    assert samples[("pubsub_sse_clients", ())] == 1
    assert samples[("pubsub_sse_events_sent_total", ())] >= 3
    assert ("pubsub_publish_latency_seconds_bucket",
            (("adapter", "memory"), ("channel", "users"), ("le", "+Inf"))) in samples


async def test_the_service_passes_channel_adapters_to_its_bus(catalog: Catalog) -> None:
    app = create_app(catalog, settings=ServiceSettings(allow_anonymous=True), all_channels_on="memory",
                     channel_adapters={"orders": "nats"}, adapters={"nats": memory_adapter_factory})
    bus = service_of(app).bus
    async with bus:
        assert bus.adapter_kind("orders") == "nats" and bus.adapter_kind("users") == "memory"
        assert set(await bus.health()) == {"nats", "memory"}
