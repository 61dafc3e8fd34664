"""A real uvicorn server per test (``ServerThread``) over the generated package's catalog, on memory adapters."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.http import ServiceSettings, create_app
from httpx_sse import EventSource, ServerSentEvent

from .server import ServerThread

TOKENS = {
    "tokens": [
        {"name": "admin", "token": "admin-token", "publish": ["*"], "subscribe": ["*"], "registry": ["read", "write"]},
        {"name": "orders-writer", "token": "orders-writer", "publish": ["orders"]},
        {"name": "users-reader", "token": "users-reader", "subscribe": ["users"]},
        {"name": "registry-reader", "token": "registry-reader", "registry": ["read"]},
        {"name": "nothing", "token": "nothing-token"},
    ]
}


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    built = Catalog.from_package("generated")
    built.compile_all()
    return built


def example(catalog: Catalog, event_type: str, version: int | None = None) -> dict[str, Any]:
    """The first example of the version's schema (a valid payload)."""
    spec = catalog.spec(event_type, version)
    root = next(r for r in spec.bundle["resources"] if spec.bundle["root"] in r["uris"])
    return copy.deepcopy(root["schema"]["examples"][0])


ServerFactory = Callable[..., ServerThread]


@pytest.fixture
def start_server(catalog: Catalog) -> Iterator[ServerFactory]:
    started: list[ServerThread] = []

    def start(**settings: Any) -> ServerThread:
        settings.setdefault("allow_anonymous", True)
        if "tokens" in settings:
            settings["tokens_json"] = json.dumps(settings.pop("tokens"))
        app = create_app(catalog, settings=ServiceSettings(**settings), all_channels_on="memory")
        server = ServerThread(app).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__()


@pytest.fixture
def server(start_server: ServerFactory) -> ServerThread:
    return start_server()


@pytest.fixture
async def client(server: ServerThread) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        yield http


def structured(event_type: str, data: Any, **attributes: Any) -> dict[str, Any]:
    return {"specversion": "1.0", "type": event_type, "source": "urn:test", "id": attributes.pop("id", None) or
            f"test-{id(data)}-{event_type}", "data": data, **attributes}


@asynccontextmanager
async def sse(http: httpx.AsyncClient, path: str, **kwargs: Any) -> AsyncIterator[AsyncIterator[ServerSentEvent]]:
    """An open SSE stream yielding real events only (the id-only/retry prelude is skipped)."""
    headers = {"Accept": "text/event-stream", **kwargs.pop("headers", {})}
    async with http.stream("GET", path, headers=headers, **kwargs) as response:
        assert response.status_code == 200, (response.status_code, await response.aread())

        stream = EventSource(response).aiter_sse()
        prelude = await anext(stream)  # sent once the stream is attached: publishing after it cannot be missed
        assert prelude.retry is not None and not prelude.data, prelude

        async def events() -> AsyncIterator[ServerSentEvent]:
            async for event in stream:
                if event.data:
                    yield event

        yield events()


async def take(events: AsyncIterator[ServerSentEvent], count: int) -> list[ServerSentEvent]:
    got = []
    async for event in events:
        got.append(event)
        if len(got) == count:
            break
    return got
