"""The AsyncAPI document gives addresses a client can use as written: the server it lists and every channel
address carry the path the service is mounted at, in a user's own app and under ``PUBSUB_PATH_PREFIX``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.http import PubSubPlugin, PubSubService, ServiceSettings
from litestar import Litestar, get

from .conftest import ServerFactory, example, sse, take
from .server import ServerThread

#: The fields of an AsyncAPI 3.0 server object (its JSON Schema has additionalProperties false).
SERVER_FIELDS = {"host", "pathname", "title", "summary", "description", "protocol", "protocolVersion", "variables",
                 "security", "tags", "externalDocs", "bindings"}


@get("/hello", sync_to_thread=False)
def hello() -> str:
    return "the user's own route"


async def document_and_first_stream(url: str, asyncapi_path: str, catalog: Catalog) -> dict[str, Any]:
    """Fetch the document, then prove the orders channel's address streams what is published at the
    document's publish route."""
    host = url.removeprefix("http://")
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=10) as http:
        response = await http.get(asyncapi_path)
        assert response.status_code == 200, response.text
        document: dict[str, Any] = response.json()
        address = document["channels"]["orders"]["address"]
        publish_route = document["operations"]["orders.publish"]["summary"].split("POST ")[1].rstrip(")")
        async with sse(http, address) as events:
            sent = await http.post(publish_route, json={"type": "order.placed",
                                                        "data": example(catalog, "order.placed")})
            assert sent.status_code == 202, sent.text
            [event] = await asyncio.wait_for(take(events, 1), 10)
        assert json.loads(event.data)["type"] == "order.placed"
    return document


async def test_mounted_in_a_user_app_at_a_path(catalog: Catalog) -> None:
    service = PubSubService(catalog, settings=ServiceSettings(allow_anonymous=True), all_channels_on="memory")
    app = Litestar(route_handlers=[hello], plugins=[PubSubPlugin(service, path="/pubsub")])
    with ServerThread(app) as server:
        document = await document_and_first_stream(server.url, "/pubsub/asyncapi.json", catalog)
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.get("/hello")).text == "the user's own route"
    assert document["servers"] == {"service": {
        "host": f"127.0.0.1:{server.port}", "protocol": "http",
        "description": "The HTTP service: POST events, Server-Sent Events streams"}}
    assert set(document["servers"]["service"]) <= SERVER_FIELDS
    assert {name: channel["address"] for name, channel in document["channels"].items()} == {
        name: f"/pubsub/channels/{name}/events" for name in catalog.channels}
    assert "POST /pubsub/events" in document["info"]["description"]
    for name in catalog.channels:
        assert document["operations"][f"{name}.publish"]["summary"].endswith("(POST /pubsub/events)")


async def test_the_service_under_a_path_prefix(start_server: ServerFactory, catalog: Catalog) -> None:
    server = start_server(path_prefix="/api/v1")
    document = await document_and_first_stream(server.url, "/api/v1/asyncapi.json", catalog)
    assert "pathname" not in document["servers"]["service"]  # the addresses carry the mount path
    assert document["channels"]["users"]["address"] == "/api/v1/channels/users/events"


async def test_the_service_at_the_root(server: ServerThread, catalog: Catalog) -> None:
    document = await document_and_first_stream(server.url, "/asyncapi.json", catalog)
    service = document["servers"]["service"]
    assert service["host"] == f"127.0.0.1:{server.port}" and service["protocol"] == "http"
    assert "pathname" not in service
    assert document["channels"]["orders"]["address"] == "/channels/orders/events"
