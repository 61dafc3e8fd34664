"""The adapter contract suite runs against every adapter in ``ADAPTERS``.

Redis and Kafka add themselves here (a factory that starts a real server/broker, or a skip naming what is
missing); the tests in this folder run unchanged on each. A factory makes an adapter serving the channels
``CHANNELS`` (each test uses fresh channel names through ``channel``, so a shared broker is fine).
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pytest
import pytest_asyncio
from hipponot_pubsub.runtime.adapters.base import Adapter
from hipponot_pubsub.runtime.adapters.memory import MemoryAdapter
from hipponot_pubsub.runtime.catalog import ChannelSpec

from tests.redis.contract_adapter import redis_contract_adapter

AdapterFactory = Callable[[Sequence[ChannelSpec]], Awaitable[Adapter]]


async def _memory(channels: Sequence[ChannelSpec]) -> Adapter:
    return MemoryAdapter(channels)


ADAPTERS: dict[str, AdapterFactory] = {"memory": _memory, "redis": redis_contract_adapter}
_names = itertools.count()


@pytest.fixture
def channel() -> str:
    """A channel name no other test used (brokers may be shared between tests)."""
    return f"contract-{next(_names)}"


@pytest.fixture(params=sorted(ADAPTERS))
def adapter_factory(request: pytest.FixtureRequest) -> AdapterFactory:
    return ADAPTERS[request.param]


@pytest_asyncio.fixture
async def adapter(adapter_factory: AdapterFactory, channel: str) -> AsyncIterator[Adapter]:
    made = await adapter_factory([ChannelSpec(channel, options={"history": 1000})])
    await made.start()
    try:
        yield made
    finally:
        await made.close()
