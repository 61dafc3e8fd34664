"""What the HTTP service can be told, from code or from the environment (``ServiceSettings.from_env``).

Environment variables (all optional):

==============================  ===========  ===============================================================
variable                        default      meaning
==============================  ===========  ===============================================================
``PUBSUB_TOKENS``               (none)       bearer tokens and their scopes, JSON (see ``.auth``)
``PUBSUB_TOKENS_FILE``          (none)       the same JSON, read from a file
``PUBSUB_ALLOW_ANONYMOUS``      ``0``        ``1``: requests without a token get every scope (local development)
``PUBSUB_MAX_BODY_BYTES``       1048576      larger request bodies are refused with 413
``PUBSUB_MAX_BATCH``            1000         more events in one batch are refused with 413
``PUBSUB_MAX_SUBSCRIBERS``      1000         open SSE streams per process; beyond it 503 + ``Retry-After``
``PUBSUB_SSE_QUEUE``            1000         events buffered per SSE client; a client further behind is cut off
``PUBSUB_SSE_BUFFER_BYTES``     8388608      the same in bytes (the frames are shared: memory is per channel)
``PUBSUB_SSE_HEARTBEAT``        15           seconds of silence before a ``: keep-alive`` comment
``PUBSUB_SSE_RETRY_MS``         2000         the ``retry:`` hint sent to SSE clients
``PUBSUB_SSE_LINGER_MS``        20           an SSE event waits at most this long to share a write with others
``PUBSUB_SOURCE``               ``urn:...``  CloudEvents ``source`` filled in when a request leaves it out
==============================  ===========  ===============================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_SOURCE = "urn:hipponot-pubsub:http"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class ServiceSettings:
    """Limits and behaviour of one service instance. ``tokens_json`` is parsed by ``.auth``."""

    tokens_json: str | None = None
    allow_anonymous: bool = False
    max_body_bytes: int = 1024 * 1024
    max_batch: int = 1000
    max_subscribers: int = 1000
    sse_queue: int = 1000
    sse_buffer_bytes: int = 8 * 1024 * 1024
    heartbeat: float = 15.0
    retry_ms: int = 2000
    retry_after: int = 5  # seconds, the ``Retry-After`` of a 503
    slow_client_grace: float = 1.0  # seconds a cut-off client gets to take the closing comment
    #: Seconds an SSE event may wait so that the events of a burst reach each client in one write (0: none).
    sse_linger: float = 0.02
    source: str = DEFAULT_SOURCE
    path_prefix: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> ServiceSettings:
        """Settings from ``env`` (default ``os.environ``); keyword arguments win over the environment."""
        env = os.environ if env is None else env
        tokens = env.get("PUBSUB_TOKENS")
        tokens_file = env.get("PUBSUB_TOKENS_FILE")
        if tokens is None and tokens_file:
            with open(tokens_file, encoding="utf-8") as handle:
                tokens = handle.read()
        values: dict[str, object] = {
            "tokens_json": tokens,
            "allow_anonymous": _flag(env, "PUBSUB_ALLOW_ANONYMOUS"),
            "max_body_bytes": _int(env, "PUBSUB_MAX_BODY_BYTES", cls.max_body_bytes),
            "max_batch": _int(env, "PUBSUB_MAX_BATCH", cls.max_batch),
            "max_subscribers": _int(env, "PUBSUB_MAX_SUBSCRIBERS", cls.max_subscribers),
            "sse_queue": max(1, _int(env, "PUBSUB_SSE_QUEUE", cls.sse_queue)),
            "sse_buffer_bytes": max(1, _int(env, "PUBSUB_SSE_BUFFER_BYTES", cls.sse_buffer_bytes)),
            "heartbeat": _float(env, "PUBSUB_SSE_HEARTBEAT", cls.heartbeat),
            "retry_ms": _int(env, "PUBSUB_SSE_RETRY_MS", cls.retry_ms),
            "sse_linger": _int(env, "PUBSUB_SSE_LINGER_MS", int(cls.sse_linger * 1000)) / 1000,
            "source": env.get("PUBSUB_SOURCE") or DEFAULT_SOURCE,
            "path_prefix": env.get("PUBSUB_PATH_PREFIX", ""),
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
