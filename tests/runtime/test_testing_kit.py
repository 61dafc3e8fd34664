"""The test kit as a user meets it: the plugin's ``pubsub_bus`` fixture and the assertion helpers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.pytest_plugin import pubsub_bus  # noqa: F401 — the fixture, as the pytest11 plugin provides it
from hipponot_pubsub.runtime.testing import Received, assert_published

ROOT = Path(__file__).resolve().parents[2]
ORDER = json.loads((ROOT / "schemas" / "orders" / "order-placed.v2.json").read_text())["examples"][0]


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


def test_the_plugin_as_a_user_project_loads_it(tmp_path: Path) -> None:
    """What the ``pytest11`` entry point gives a user's project: fixtures reading the generated package."""
    (tmp_path / "test_user.py").write_text(
        "from generated.publishers import OrderPlacedPublisher\n"
        "from hipponot_pubsub.runtime.testing import assert_published\n\n"
        "async def test_publish(pubsub_bus):\n"
        "    model = OrderPlacedPublisher.model\n"
        f"    await OrderPlacedPublisher(pubsub_bus).publish(model.model_validate({ORDER!r}))\n"
        "    await assert_published(pubsub_bus, 'order.placed', count=1)\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-o", "asyncio_mode=auto", "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
