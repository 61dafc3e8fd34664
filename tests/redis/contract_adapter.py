"""The Redis entry of the shared contract suite's ``ADAPTERS`` (tests/runtime/contract/conftest.py)."""

from __future__ import annotations

from collections.abc import Sequence

from hipponot_pubsub.runtime.adapters.base import Adapter
from hipponot_pubsub.runtime.adapters.redis import RedisAdapter, RedisSettings
from hipponot_pubsub.runtime.catalog import ChannelSpec

from .server import shared_server


async def redis_contract_adapter(channels: Sequence[ChannelSpec]) -> Adapter:
    server = shared_server()
    return RedisAdapter(channels, settings=RedisSettings(url=server.url, prefix="contract"))
