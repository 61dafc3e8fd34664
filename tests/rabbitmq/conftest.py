"""The fixtures the shared adapter contract tests (tests/runtime/contract) need, ``adapter`` and ``channel``,
on the machine's RabbitMQ; every adapter gets its own names and deletes its queues and exchanges afterwards."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from hipponot_pubsub.runtime.adapters.rabbitmq import RabbitMQAdapter, RabbitMQSettings
from hipponot_pubsub.runtime.catalog import ChannelSpec

from .server import URL, reachable, settings_for

_names = itertools.count()


@pytest.fixture(scope="session")
def rabbitmq_url() -> str:
    problem = reachable(URL)
    if problem is not None:
        pytest.skip(problem + " (scripts/services starts it)")
    return URL


@pytest.fixture
def rabbitmq_settings(rabbitmq_url: str) -> RabbitMQSettings:
    return settings_for(rabbitmq_url)


@pytest.fixture
def channel() -> str:
    return f"contract-{next(_names)}"


@pytest_asyncio.fixture
async def adapter(rabbitmq_settings: RabbitMQSettings, channel: str) -> AsyncIterator[RabbitMQAdapter]:
    made = RabbitMQAdapter([ChannelSpec(channel, "rabbitmq", {"history": 1000})], settings=rabbitmq_settings)
    await made.start()
    try:
        yield made
    finally:
        await drop(made, rabbitmq_settings)


async def drop(adapter: RabbitMQAdapter, settings: RabbitMQSettings) -> None:
    """Close ``adapter`` and delete what it declared (through a fresh adapter if it was closed already)."""
    with contextlib.suppress(Exception):
        await adapter.delete_topology()
    await adapter.close()
