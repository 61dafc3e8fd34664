"""Bearer tokens with scopes: who may publish to, or subscribe to, which channels, and read or write the registry.

Tokens come from the environment (``PUBSUB_TOKENS``, or a file named by ``PUBSUB_TOKENS_FILE``) as JSON:

.. code-block:: json

    {"tokens": [
      {"name": "checkout", "token": "s3cr3t", "publish": ["orders"], "subscribe": [], "registry": ["read"]},
      {"name": "dashboard", "sha256": "9f86d0…", "subscribe": ["*"], "registry": ["read"]},
      {"name": "schema-ci", "token": "…", "registry": ["read", "write"]},
      {"name": "on-call", "token": "…", "admin": ["orders"]}
    ]}

``"*"`` stands for every channel. ``sha256`` (hex of the token) keeps the secret itself out of the
configuration. A token is looked up by its SHA-256, so comparing tokens takes the same time whatever they are.

Routes: publishing needs ``publish`` on the event's channel; streaming needs ``subscribe`` on the channel;
registry listings, schemas and ``/asyncapi.json`` need ``registry: read``; the compatibility check (a schema
author's pre-flight before changing the registry) needs ``registry: write``; the dead-letter and replay routes
under ``/admin/channels/{channel}`` need ``admin`` on the channel. ``/health``, ``/ready``,
``/metrics`` and the OpenAPI documents need nothing. No token (or an unknown one): ``401``; outside the
token's scopes: ``403``.

``allow_anonymous`` (``PUBSUB_ALLOW_ANONYMOUS=1``) is for local development only: a request *without* a token
gets every scope (a request with an unknown token is still refused), and the service says so at start-up.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

ANY = "*"
REGISTRY_ACTIONS = frozenset({"read", "write"})
STATE_KEY = "pubsub_principal"


@dataclass(frozen=True)
class Principal:
    """Who is calling, and what it may do."""

    name: str
    publish: frozenset[str] = frozenset()
    subscribe: frozenset[str] = frozenset()
    registry: frozenset[str] = frozenset()
    anonymous: bool = False
    admin: frozenset[str] = frozenset()  # channels whose dead letters it may redrive/purge and replay

    def can_publish(self, channel: str) -> bool:
        return ANY in self.publish or channel in self.publish

    def can_subscribe(self, channel: str) -> bool:
        return ANY in self.subscribe or channel in self.subscribe

    def can_registry(self, action: str) -> bool:
        return action in self.registry

    def can_admin(self, channel: str) -> bool:
        return ANY in self.admin or channel in self.admin


ANONYMOUS = Principal("anonymous", frozenset({ANY}), frozenset({ANY}), REGISTRY_ACTIONS, anonymous=True,
                      admin=frozenset({ANY}))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _names(entry: Mapping[str, Any], key: str, where: str) -> frozenset[str]:
    value = entry.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{where}.{key} must be a list of non-empty strings")
    return frozenset(value)


class Authenticator:
    """Resolves the ``Authorization: Bearer`` header to a ``Principal``."""

    def __init__(self, principals_by_digest: Mapping[str, Principal], *, allow_anonymous: bool = False) -> None:
        self._by_digest = dict(principals_by_digest)
        self.allow_anonymous = allow_anonymous

    @property
    def names(self) -> list[str]:
        return sorted(p.name for p in self._by_digest.values())

    @classmethod
    def from_json(cls, text: str | None, *, allow_anonymous: bool = False) -> Authenticator:
        """From the ``PUBSUB_TOKENS`` JSON (``{"tokens": [...]}`` or the bare list); ``ValueError`` if invalid."""
        if text is None or not text.strip():
            return cls({}, allow_anonymous=allow_anonymous)
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"PUBSUB_TOKENS is not JSON: {error}") from None
        entries = loaded.get("tokens") if isinstance(loaded, dict) else loaded
        if not isinstance(entries, list):
            raise ValueError('PUBSUB_TOKENS must be {"tokens": [...]} or a list of token objects')
        return cls(dict(cls._entries(entries)), allow_anonymous=allow_anonymous)

    @staticmethod
    def _entries(entries: Iterable[Any]) -> Iterable[tuple[str, Principal]]:
        for number, entry in enumerate(entries):
            where = f"tokens[{number}]"
            if not isinstance(entry, dict):
                raise ValueError(f"{where} must be an object")
            name = entry.get("name") or f"token-{number}"
            token, hashed = entry.get("token"), entry.get("sha256")
            if isinstance(token, str) and token:
                digest = _digest(token)
            elif isinstance(hashed, str) and len(hashed) == 64:
                digest = hashed.lower()
            else:
                raise ValueError(f"{where} needs a non-empty 'token' or a 64-hex-digit 'sha256'")
            registry = _names(entry, "registry", where)
            if not registry <= REGISTRY_ACTIONS:
                raise ValueError(f"{where}.registry may hold only {sorted(REGISTRY_ACTIONS)}")
            yield digest, Principal(str(name), _names(entry, "publish", where), _names(entry, "subscribe", where),
                                    registry, admin=_names(entry, "admin", where))

    def authenticate(self, authorization: str | None) -> Principal:
        """The caller, or ``NotAuthorizedException`` (401)."""
        if not authorization:
            if self.allow_anonymous:
                return ANONYMOUS
            raise NotAuthorizedException("a bearer token is required (Authorization: Bearer <token>)")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise NotAuthorizedException("the Authorization header must be 'Bearer <token>'")
        principal = self._by_digest.get(_digest(token))
        if principal is None:
            raise NotAuthorizedException("unknown bearer token")
        return principal


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The principal a guard stored on the connection (authenticating now if no guard ran)."""
    found = connection.scope.get("state", {}).get(STATE_KEY)
    if isinstance(found, Principal):
        return found
    authenticator: Authenticator = connection.app.state["pubsub"].auth
    principal = authenticator.authenticate(connection.headers.get("authorization"))
    connection.scope.setdefault("state", {})[STATE_KEY] = principal
    return principal


#: Guards are coroutines: Litestar runs a plain function guard in a worker thread (a thread hop per request).
Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def ensure_publisher(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """Authenticated, and allowed to publish somewhere (the channel itself is checked once the body is read).

    The publish routes call this first thing instead of declaring a guard: Litestar copies the route handler
    for every guard call, which cost the single-event route about a tenth of its time."""
    principal = principal_of(connection)
    if not principal.publish:
        raise PermissionDeniedException(f"token {principal.name!r} may not publish")
    return principal


async def publisher_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """``ensure_publisher`` as a route guard (for routes of your own)."""
    ensure_publisher(connection)


def require_publish(principal: Principal, channels: Iterable[str]) -> None:
    refused = sorted({c for c in channels if not principal.can_publish(c)})
    if refused:
        raise PermissionDeniedException(f"token {principal.name!r} may not publish to {', '.join(refused)}")


async def subscriber_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Authenticated, and allowed to subscribe to the ``channel`` path parameter."""
    principal = principal_of(connection)
    channel = str(connection.path_params.get("channel", ""))
    if not principal.can_subscribe(channel):
        raise PermissionDeniedException(f"token {principal.name!r} may not subscribe to {channel!r}")


async def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Authenticated, with ``admin`` on the ``channel`` path parameter."""
    principal = principal_of(connection)
    channel = str(connection.path_params.get("channel", ""))
    if not principal.can_admin(channel):
        raise PermissionDeniedException(f"token {principal.name!r} lacks the admin scope on {channel!r}")


def registry_guard(action: str) -> Guard:
    """Authenticated, with ``registry: action``."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = principal_of(connection)
        if not principal.can_registry(action):
            raise PermissionDeniedException(f"token {principal.name!r} lacks registry {action!r} scope")

    guard.__name__ = f"registry_{action}_guard"
    return guard


registry_read_guard = registry_guard("read")
registry_write_guard = registry_guard("write")
