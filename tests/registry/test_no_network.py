"""A remote ``$ref`` is an error, and resolving it never opens a connection."""

from __future__ import annotations

import socket
import urllib.request
from typing import Any, NoReturn

import pytest
from hipponot_pubsub.generator.registry import lint_registry

from .conftest import MakeRegistry


class NetworkUsed(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail loudly (and record) any attempt to resolve a host or open a socket or URL."""
    attempts: list[str] = []

    def refuse(name: str) -> Any:
        def blocked(*args: Any, **kwargs: Any) -> NoReturn:
            attempts.append(f"{name}{args!r}")
            raise NetworkUsed(f"network used: {name}{args!r}")

        return blocked

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("socket.getaddrinfo"))
    monkeypatch.setattr(urllib.request, "urlopen", refuse("urllib.request.urlopen"))
    return attempts


def test_remote_ref_is_an_error_without_network_access(make_registry: MakeRegistry, no_network: list[str]) -> None:
    schema = {
        "type": "object",
        "properties": {"geo": {"$ref": "https://example.com/schemas/geo.json#/$defs/point"}},
    }
    registry, problems = lint_registry(make_registry(files={"order-placed.v1.json": schema}))
    assert registry is None
    assert no_network == [], "resolving the registry tried to use the network"
    [problem] = problems
    assert problem.code == "remote-ref"
    assert problem.file.endswith("order-placed.v1.json")
    assert problem.pointer == "/properties/geo/$ref"
    assert "never uses the network" in problem.message


def test_guard_catches_network_use(no_network: list[str]) -> None:
    """The guard itself works: otherwise the test above would prove nothing."""
    with pytest.raises(NetworkUsed):
        socket.create_connection(("example.com", 80))
    assert no_network
