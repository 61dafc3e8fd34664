"""The test kit as a user meets it: the plugin's ``pubsub_bus`` fixture and the assertion helpers."""

from __future__ import annotations

from typing import Any

import pytest
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.pytest_plugin import pubsub_bus  # noqa: F401 — the fixture, as the pytest11 plugin provides it
from hipponot_pubsub.runtime.testing import Received, assert_published


async def test_the_plugin_bus_runs_every_channel_in_memory(pubsub_bus: Bus, order_v2: dict[str, Any]) -> None:  # noqa: F811
    assert {a.kind for a in (pubsub_bus.adapter_for(c) for c in pubsub_bus.catalog.channels)} == {"memory"}
    received: Received[Any] = Received()
    await pubsub_bus.subscribe("order.placed", received)
    await pubsub_bus.publish("order.placed", order_v2, correlation_id="c-9")
    await received.wait_for(1)
    [event] = await assert_published(pubsub_bus, "order.placed", count=1, data={"order_number": "HN-00042017"})
    assert event.correlation_id == "c-9"
    await assert_published(pubsub_bus, "order.placed", where=lambda e: e.correlation_id == "c-9")


async def test_assert_published_fails_readably(pubsub_bus: Bus) -> None:  # noqa: F811
    with pytest.raises(AssertionError, match=r"expected 1 'order\.placed' event"):
        await assert_published(pubsub_bus, "order.placed", count=1)
