"""Clients built from ``RedisSettings``, and the one place redis-py errors become runtime errors.

Two kinds of connections:

* one shared, bounded pool (``BlockingConnectionPool``) for everything short: publishes, acks, claims,
  history. Concurrent publishers share it; when it is exhausted a caller waits for a connection up to the
  command timeout rather than opening connections without bound.
* one connection per running subscription for its blocking reads (``XREADGROUP BLOCK`` holds a connection for
  its whole wait, which must never starve publishers of the shared pool). These parse replies with
  ``replies.FastResp2Parser`` (whole socket reads parsed in one loop) unless hiredis is installed.

redis-py reconnects by itself on the next command after a connection is lost; its ``Retry`` makes a few quick
attempts with jittered exponential backoff inside one command, so a blip is invisible and a dead server is
reported within ``retries`` short backoffs instead of hanging.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis import exceptions as redis_errors
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from ...errors import AdapterError
from .replies import reader_parser
from .settings import RedisSettings

#: RESP2 replies are what the entry parsing in ``entries`` expects first; it copes with RESP3 too.
PROTOCOL = 2


def _connection_kwargs(settings: RedisSettings, socket_timeout: float) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "socket_connect_timeout": settings.connect_timeout,
        "socket_timeout": socket_timeout,
        "socket_keepalive": True,
        "health_check_interval": 0,
        "protocol": PROTOCOL,
        "retry": Retry(ExponentialWithJitterBackoff(base=0.02, cap=0.5), settings.retries),
        "retry_on_error": [redis_errors.ConnectionError, redis_errors.TimeoutError],
    }
    if settings.password is not None:
        kwargs["password"] = settings.password
    if settings.ca_certs is not None and settings.url.startswith("rediss://"):
        kwargs["ssl_ca_certs"] = settings.ca_certs
    return kwargs


def shared_client(settings: RedisSettings) -> Redis:
    """The client over the shared, bounded pool."""
    pool = BlockingConnectionPool.from_url(
        settings.url,
        max_connections=settings.max_connections,
        timeout=settings.command_timeout,
        **_connection_kwargs(settings, settings.command_timeout),
    )
    return Redis(connection_pool=pool)


def reader_client(settings: RedisSettings) -> Redis:
    """A single-connection client for one subscription's blocking reads (its socket timeout outlasts a block)."""
    kwargs = _connection_kwargs(settings, settings.block + settings.command_timeout)
    parser = reader_parser()  # whole-buffer parsing of the (large) read replies, unless hiredis is there
    if parser is not None:
        kwargs["parser_class"] = parser
    return Redis.from_url(settings.url, single_connection_client=True, **kwargs)


@contextmanager
def translated(settings: RedisSettings, doing: str) -> Iterator[None]:
    """Re-raise redis-py errors as ``AdapterError`` naming the server (without password) and the operation."""
    try:
        yield
    except redis_errors.RedisError as error:
        raise translate(settings, doing, error) from error


def translate(settings: RedisSettings, doing: str, error: Exception) -> AdapterError:
    """The ``AdapterError`` for a redis-py ``error`` while ``doing`` (for hot paths that skip ``translated``)."""
    return AdapterError(f"redis at {settings.safe_url}: {doing} failed: {type(error).__name__}: {error}")
