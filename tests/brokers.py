"""Helpers the broker adapters' fault tests share (tests/kafka, tests/nats): the bus catalog with one channel on
the adapter under test, the events they publish, and the group member a test kills while it holds deliveries.

They were copies in each ``test_faults.py``; one copy keeps the adapters' fault tests testing the same thing.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from hipponot_pubsub.generator.codegen.bundle import bundle
from hipponot_pubsub.generator.registry import load_registry
from hipponot_pubsub.runtime.catalog import Catalog

ROOT = Path(__file__).resolve().parents[1]


def catalog_on(adapter: str, channel: str = "notifications") -> Catalog:
    """The repository's registry as a catalog, ``channel`` on ``adapter`` and every other channel in memory."""
    registry = load_registry(ROOT / "schemas")
    bundles = [bundle(registry, v) for event in registry.events.values() for v in event.versions.values()]
    channels = {
        name: {"adapter": adapter if name == channel else "memory", "options": dict(c.options)}
        for name, c in registry.channels.items()
    }
    event_channels = {name: event.channel for name, event in registry.events.items()}
    return Catalog.from_bundles(bundles, channels, event_channels, name=registry.settings.name)


def notification(n: int) -> dict[str, Any]:
    """A valid ``notification.requested`` v1 (the schema's example) whose id ends with ``n``."""
    registry = load_registry(ROOT / "schemas")
    example = copy.deepcopy(registry.event_version("notification.requested", 1).schema["examples"][0])
    example["notification_id"] = example["notification_id"][:-4] + f"{n:04d}"
    return dict(example)


def doomed_member(package: str, adapter: str, settings: str) -> str:
    """The script of a group member (``python -c``; the channel is its argument, the settings come from the
    environment) that takes five deliveries of group ``workers``, acks two, prints ``committed <position>`` and
    holds the other three until it is killed. ``package`` is the adapter's module under
    ``hipponot_pubsub.runtime.adapters``, ``adapter``/``settings`` its adapter and settings classes."""
    return f"""
import asyncio, sys
from hipponot_pubsub.runtime.adapters.base import StartAt
from hipponot_pubsub.runtime.adapters.{package} import {adapter}, {settings}
from hipponot_pubsub.runtime.catalog import ChannelSpec

async def main() -> None:
    channel = sys.argv[1]
    adapter = {adapter}([ChannelSpec(channel, "{package}", {{}})], settings={settings}.from_env())
    await adapter.start()
    member = await adapter.subscribe(channel, group="workers", consumer="doomed", start=StartAt.EARLIEST,
                                     max_in_flight=10)
    deliveries = [await asyncio.wait_for(member.next(), 10) for _ in range(5)]
    for delivery in deliveries[:2]:
        await delivery.ack()
    print("committed", await adapter.committed_position(channel, "workers"), flush=True)
    await asyncio.Event().wait()  # holds 3 unsettled deliveries until killed

asyncio.run(main())
"""
