"""The bus on the Redis adapter with the generated package's catalog: the ``orders`` channel is a Redis
stream (``mode = "streams"``, ``retry_limit = 5`` in the registry); a poison order is retried to the limit,
dead-lettered with its error, and the group moves on."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from hipponot_pubsub.generator.registry import load_registry
from hipponot_pubsub.runtime.adapters.base import Adapter, dead_letter_channel
from hipponot_pubsub.runtime.adapters.redis import RedisAdapter, RedisSettings
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.catalog import Catalog, ChannelSpec
from hipponot_pubsub.runtime.envelope import Envelope
from hipponot_pubsub.runtime.retry import RetryPolicy

from .server import RedisServer
from .test_faults import ROOT
from .waiting import eventually

FAST = RetryPolicy(base_delay=0.005, max_delay=0.02, jitter=0.0)


def order(number: str) -> dict[str, Any]:
    example = load_registry(ROOT / "schemas").event_version("order.placed", 2).schema["examples"][0]
    data: dict[str, Any] = copy.deepcopy(example)
    data["order_number"] = number
    return data


async def test_poison_order_is_retried_to_the_registry_limit_then_dead_lettered(server: RedisServer) -> None:
    settings = RedisSettings(url=server.url, block=0.2, claim_interval=0.2)

    def redis_factory(channels: Sequence[ChannelSpec]) -> Adapter:
        return RedisAdapter(channels, settings=settings)

    catalog = Catalog.from_package("generated")
    assert catalog.channel("orders").options["retry_limit"] == 5
    attempts: list[str] = []
    handled: list[str] = []

    async def bill(event: Envelope[Any]) -> None:
        number = event.data["order_number"]
        if number == "HN-66666666":
            attempts.append(number)
            raise ValueError(f"cannot bill {number}")
        handled.append(number)

    memory = "hipponot_pubsub.runtime.adapters.memory:memory_adapter_factory"
    bus = Bus(catalog, adapters={"redis": redis_factory, "kafka": memory}, retry=FAST)
    async with bus:
        await bus.subscribe("order.placed", bill, group="billing", concurrency=4)
        results = [await bus.publish("order.placed", order(n)) for n in ("HN-00000001", "HN-66666666", "HN-00000002")]
        adapter = bus.adapter_for("orders")
        await eventually(lambda: adapter.metrics().channels["orders"].dead_lettered == 1, 15, "the dead letter")
        assert len(attempts) == 6  # the first delivery and retry_limit = 5 retries
        [dead] = await adapter.history(dead_letter_channel("orders"))
        assert dead.headers["x-error"] == "ValueError: cannot bill HN-66666666"
        assert dead.headers["ce-id"] == results[1].id
        await eventually(lambda: sorted(handled) == ["HN-00000001", "HN-00000002"], 10, "the good orders")
        later = await bus.publish("order.placed", order("HN-00000003"))
        await eventually(lambda: "HN-00000003" in handled, 10, "the group to move on")
        await eventually(lambda: adapter.metrics().channels["orders"].in_flight == 0, 10, "settled handlers")
        assert await adapter.committed_position("orders", "billing") == later.position
