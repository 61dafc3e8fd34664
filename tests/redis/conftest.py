"""Fixtures for the Redis adapter's own tests: a private redis-server per test (faults stop and restart it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import RedisServer


@pytest.fixture
def server() -> Iterator[RedisServer]:
    """A private, non-persistent redis-server on a free port."""
    started = RedisServer().start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def durable_server() -> Iterator[RedisServer]:
    """A private redis-server with ``appendonly yes`` + ``appendfsync always``: what it acknowledged survives
    a SIGKILL and restart (a server without persistence restarts empty, and no adapter can help that)."""
    started = RedisServer(durable=True).start()
    try:
        yield started
    finally:
        started.stop()
