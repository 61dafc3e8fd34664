"""The auth table: every route without a token (401), with a token outside its scopes (403), and allowed."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.http.auth import Authenticator

from .conftest import TOKENS, ServerFactory, example
from .server import ServerThread


@pytest.fixture
def secured(start_server: ServerFactory) -> ServerThread:
    return start_server(allow_anonymous=False, tokens=TOKENS)


def routes(catalog: Catalog) -> list[tuple[str, str, dict[str, Any], str, str]]:
    """(method, path, request kwargs, a token outside the scope, a token inside it)."""
    order = {"type": "order.placed", "data": example(catalog, "order.placed")}
    user = {"type": "user.registered", "data": example(catalog, "user.registered")}
    schema = {"content": b'{"type": "object"}', "headers": {"content-type": "application/json"}}
    return [
        ("POST", "/events", {"json": order}, "users-reader", "orders-writer"),
        ("POST", "/events", {"json": user}, "orders-writer", "admin-token"),  # scope is per channel
        ("POST", "/events/batch", {"json": [order]}, "registry-reader", "orders-writer"),
        ("POST", "/events/batch", {"json": [order, user]}, "orders-writer", "admin-token"),
        ("GET", "/channels/orders/events", {}, "users-reader", "admin-token"),
        ("GET", "/channels/users/events", {}, "orders-writer", "users-reader"),
        ("GET", "/registry/types", {}, "orders-writer", "registry-reader"),
        ("GET", "/registry/types/order.placed", {}, "users-reader", "registry-reader"),
        ("GET", "/registry/types/order.placed/versions/2", {}, "nothing-token", "registry-reader"),
        ("GET", "/registry/types/order.placed/versions/2/schema", {}, "nothing-token", "registry-reader"),
        ("GET", "/registry/channels", {}, "nothing-token", "registry-reader"),
        ("GET", "/registry/channels/orders", {}, "nothing-token", "registry-reader"),
        ("GET", "/asyncapi.json", {}, "orders-writer", "registry-reader"),
        ("POST", "/registry/types/order.placed/compatibility", schema, "registry-reader", "admin-token"),
    ]


CASES = [f"{m} {p} #{i}" for i, (m, p, *_) in enumerate(routes(Catalog.from_package("generated")))]


async def _status(http: httpx.AsyncClient, method: str, path: str, token: str | None, **kwargs: Any) -> int:
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    async with http.stream(method, path, headers=headers, **kwargs) as response:
        if response.status_code >= 400:
            body = json.loads(await response.aread())
            assert response.headers["content-type"].startswith("application/problem+json")
            assert body["status"] == response.status_code
            if response.status_code == 401:
                assert response.headers["www-authenticate"].startswith("Bearer")
        return response.status_code  # a stream is closed unread


@pytest.mark.parametrize("case", CASES)
async def test_route_refuses_without_token_and_outside_scope(case: str, secured: ServerThread,
                                                            catalog: Catalog) -> None:
    method, path, kwargs, outside, inside = routes(catalog)[int(case.rsplit("#", 1)[1])]
    async with httpx.AsyncClient(base_url=secured.url, timeout=10) as http:
        assert await _status(http, method, path, None, **kwargs) == 401
        assert await _status(http, method, path, "not-a-token", **kwargs) == 401
        assert await _status(http, method, path, outside, **kwargs) == 403
        allowed = await _status(http, method, path, inside, **kwargs)
        assert allowed in (200, 202), allowed


async def test_malformed_authorization_header(secured: ServerThread) -> None:
    async with httpx.AsyncClient(base_url=secured.url) as http:
        for value in ("Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearer", "admin-token"):
            response = await http.get("/registry/types", headers={"authorization": value})
            assert response.status_code == 401, value


@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics", "/schema/openapi.json"])
async def test_operations_need_no_token(secured: ServerThread, path: str) -> None:
    async with httpx.AsyncClient(base_url=secured.url) as http:
        assert (await http.get(path)).status_code == 200


async def test_anonymous_mode_still_refuses_unknown_tokens(server: ServerThread) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/registry/types")).status_code == 200
        assert (await http.get("/registry/types", headers={"authorization": "Bearer x"})).status_code == 401


def test_anonymous_mode_says_so_at_start_up(start_server: ServerFactory) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("hipponot_pubsub.runtime.http")
    logger.addHandler(handler)  # Litestar's logging set-up replaces the root handlers, caplog's included
    try:
        start_server(allow_anonymous=True)
    finally:
        logger.removeHandler(handler)
    assert any("ANONYMOUS ACCESS IS ON" in r.getMessage() for r in records)


def test_token_configuration() -> None:
    auth = Authenticator.from_json(json.dumps([{"name": "h", "sha256": "a" * 64, "subscribe": "*"}]))
    assert auth.names == ["h"]
    for bad in ('{"tokens": 5}', "[{}]", '[{"token": "x", "registry": ["admin"]}]', "not json",
                '[{"token": "x", "publish": [1]}]'):
        with pytest.raises(ValueError):
            Authenticator.from_json(bad)
