"""Connection settings from the environment, and the per-channel options the registry passes through.

Connection settings and secrets never live in ``pubsub.toml`` (it is committed); they come from the
environment, so one registry runs unchanged against a laptop's Redis and a TLS-only managed one:

``PUBSUB_REDIS_URL``
    ``redis://[user:password@]host:port/db`` or ``rediss://...`` for TLS (default ``redis://localhost:6379/0``).
``PUBSUB_REDIS_PASSWORD``
    Used when the URL carries no password (so the URL can sit in a config map and the secret elsewhere).
``PUBSUB_REDIS_CA_CERTS``
    A CA bundle for ``rediss://`` servers signed by a private CA.
``PUBSUB_REDIS_PREFIX``
    First part of every key (default ``pubsub``), so several registries can share one Redis.
``PUBSUB_REDIS_CONNECT_TIMEOUT`` / ``PUBSUB_REDIS_COMMAND_TIMEOUT`` / ``PUBSUB_REDIS_PUBLISH_TIMEOUT``
    Seconds: opening a connection, one command's reply, and one whole publish including reconnect retries
    (a publish never waits longer than this: it raises ``AdapterError`` instead of hanging).
``PUBSUB_REDIS_MAX_CONNECTIONS``
    Size of the shared pool publishers and settles use (blocking reads have their own connections).
``PUBSUB_REDIS_CLAIM_IDLE`` / ``PUBSUB_REDIS_CLAIM_INTERVAL`` / ``PUBSUB_REDIS_BLOCK``
    Seconds: how long a delivery may sit unsettled by a silent member before another member takes it over,
    how often members look for such deliveries, and how long one blocking read waits on the server.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import urlsplit

MODES = ("streams", "pubsub")
Mode = Literal["streams", "pubsub"]


def _float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r} must be positive")
    return value


@dataclass(frozen=True, slots=True)
class RedisSettings:
    """Where Redis is and how patient to be with it. ``from_env`` reads the ``PUBSUB_REDIS_*`` variables."""

    url: str = "redis://localhost:6379/0"
    password: str | None = None
    ca_certs: str | None = None
    prefix: str = "pubsub"
    connect_timeout: float = 2.0
    command_timeout: float = 5.0
    publish_timeout: float = 10.0
    max_connections: int = 64
    #: A member that stops refreshing a delivery for this long (it died) loses it to another member.
    claim_idle: float = 30.0
    #: How often a member looks for deliveries other members left idle longer than ``claim_idle``.
    claim_interval: float = 5.0
    #: Longest single blocking read; a read also returns early when local state needs attention.
    block: float = 1.0
    #: Reconnect attempts redis-py makes inside one command before the error reaches us.
    retries: int = 3

    def __post_init__(self) -> None:
        scheme = urlsplit(self.url).scheme
        if scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"PUBSUB_REDIS_URL must be redis://, rediss:// or unix://, not {self.url!r}")
        if self.block >= self.claim_idle / 2:
            object.__setattr__(self, "block", self.claim_idle / 3)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> RedisSettings:
        env = os.environ if environ is None else environ
        base = cls()
        settings = cls(
            url=env.get("PUBSUB_REDIS_URL") or base.url,
            password=env.get("PUBSUB_REDIS_PASSWORD") or None,
            ca_certs=env.get("PUBSUB_REDIS_CA_CERTS") or None,
            prefix=env.get("PUBSUB_REDIS_PREFIX") or base.prefix,
            connect_timeout=_float(env, "PUBSUB_REDIS_CONNECT_TIMEOUT", base.connect_timeout),
            command_timeout=_float(env, "PUBSUB_REDIS_COMMAND_TIMEOUT", base.command_timeout),
            publish_timeout=_float(env, "PUBSUB_REDIS_PUBLISH_TIMEOUT", base.publish_timeout),
            max_connections=int(env.get("PUBSUB_REDIS_MAX_CONNECTIONS") or base.max_connections),
            claim_idle=_float(env, "PUBSUB_REDIS_CLAIM_IDLE", base.claim_idle),
            claim_interval=_float(env, "PUBSUB_REDIS_CLAIM_INTERVAL", base.claim_interval),
            block=_float(env, "PUBSUB_REDIS_BLOCK", base.block),
        )
        return replace(settings, **overrides) if overrides else settings

    @property
    def safe_url(self) -> str:
        """The URL without its password, for error messages and logs."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"


@dataclass(frozen=True, slots=True)
class ChannelOptions:
    """A channel's ``options`` from the registry, as this adapter reads them.

    ``mode``: ``"streams"`` (default: durable, groups, history) or ``"pubsub"`` (ephemeral fan-out).
    ``maxlen``: keep about this many newest entries (``XADD MAXLEN ~``); ``history`` is accepted as an alias
    so a channel moved from the memory adapter keeps its bound. ``max_age``: seconds; entries older than
    this are trimmed (``XADD MINID ~``); wins over ``maxlen`` when both are set, since Redis takes one.
    ``claim_idle``: overrides the connection-wide setting for this channel.
    """

    mode: Mode = "streams"
    maxlen: int | None = None
    max_age: float | None = None
    claim_idle: float | None = None

    @classmethod
    def parse(cls, channel: str, options: Mapping[str, Any]) -> ChannelOptions:
        mode = options.get("mode", "streams")
        if mode not in MODES:
            raise ValueError(f"channel {channel!r}: redis mode must be one of {MODES}, not {mode!r}")
        maxlen = options.get("maxlen", options.get("history"))
        max_age = options.get("max_age")
        claim_idle = options.get("claim_idle")
        for name, value in (("maxlen", maxlen), ("max_age", max_age), ("claim_idle", claim_idle)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value <= 0):
                raise ValueError(f"channel {channel!r}: option {name} must be a positive number, not {value!r}")
        return cls(
            mode=mode,
            maxlen=int(maxlen) if maxlen is not None else None,
            max_age=float(max_age) if max_age is not None else None,
            claim_idle=float(claim_idle) if claim_idle is not None else None,
        )
