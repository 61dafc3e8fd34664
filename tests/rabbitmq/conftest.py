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
from hipponot_pubsub.runtime.errors import AdapterError

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
    """Close ``adapter`` and delete what it declared (its streams through a fresh adapter if it was closed
    already, so the shared broker keeps nothing of a test)."""
    try:
        await adapter.delete_topology()
    except AdapterError:  # closed by the test: the channels' streams and exchanges are still to go
        fresh = RabbitMQAdapter(list(adapter.channels.values()), settings=settings)
        with contextlib.suppress(AdapterError):
            await fresh.start()
            await fresh.delete_topology()
        await fresh.close()
    await adapter.close()
