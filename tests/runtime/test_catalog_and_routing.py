"""The catalog's sources and the bus's routing of channels to adapters by kind."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hipponot_pubsub.runtime.adapters.memory import MemoryAdapter
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.catalog import Catalog, ChannelSpec
from hipponot_pubsub.runtime.errors import PubSubError, UnknownChannel, UnknownEventType

ROOT = Path(__file__).resolve().parents[2]


def test_from_folder_reads_the_generated_package(catalog: Catalog) -> None:
    folder = ROOT / "generated"
    if not (folder / "manifest.json").exists():
        pytest.skip("generated/ has not been generated")
    from_folder = Catalog.from_folder(folder)
    assert {(s.type, s.version) for s in from_folder} == {(s.type, s.version) for s in catalog}
    assert from_folder.spec("order.placed").version == 2
    assert from_folder.channel("orders").options["retry_limit"] == 5


def test_lookups_and_their_errors(catalog: Catalog) -> None:
    assert catalog.versions("order.placed") == [1, 2]
    assert catalog.spec("order.placed").latest and not catalog.spec("order.placed", 1).latest
    assert catalog.channel_of("user.registered") == "users"
    with pytest.raises(UnknownEventType, match="versions: 1, 2"):
        catalog.spec("order.placed", 3)
    with pytest.raises(UnknownChannel):
        catalog.channel("nope")
    with pytest.raises(LookupError):
        _ = Catalog.from_bundles([catalog.spec("user.registered").bundle], {"users": {}},
                                 {"user.registered": "users"}).spec("user.registered").model


def test_manifest_format_and_channels_are_checked(tmp_path: Path, catalog: Catalog) -> None:
    bundle = catalog.spec("user.registered").bundle
    (tmp_path / "b.json").write_text(json.dumps(bundle))
    manifest: dict[str, Any] = {"format": 1, "channels": {}, "events": [
        {"type": "user.registered", "version": 1, "channel": "users", "bundle": "b.json"}]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UnknownChannel):
        Catalog.from_folder(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({**manifest, "format": 2}))
    with pytest.raises(ValueError, match="format"):
        Catalog.from_folder(tmp_path)


async def test_each_channel_goes_to_the_adapter_kind_the_registry_names(catalog: Catalog) -> None:
    made: dict[str, list[str]] = {}

    def fake(kind: str) -> Any:
        def factory(channels: Sequence[ChannelSpec]) -> MemoryAdapter:
            made[kind] = sorted(c.name for c in channels)
            return MemoryAdapter(channels)
        return factory

    async with Bus(catalog, adapters={"redis": fake("redis"), "kafka": fake("kafka"), "memory": fake("memory")}):
        assert made == {"redis": ["orders"], "kafka": ["notifications"], "memory": ["users"]}


async def test_an_adapter_kind_without_factory_fails_at_start(catalog: Catalog) -> None:
    bus = Bus(catalog, adapters={"redis": "hipponot_pubsub.runtime.adapters.memory:memory_adapter_factory"})
    bus._factories.pop("kafka")
    with pytest.raises(PubSubError, match="kafka"):
        await bus.start()
    assert not bus.running


async def test_channel_adapters_move_single_channels_without_touching_the_registry(catalog: Catalog) -> None:
    made: dict[str, list[str]] = {}

    def fake(kind: str) -> Any:
        def factory(channels: Sequence[ChannelSpec]) -> MemoryAdapter:
            made[kind] = sorted(c.name for c in channels)
            return MemoryAdapter(channels)
        return factory

    kinds = {kind: fake(kind) for kind in ("redis", "kafka", "memory", "nats", "rabbitmq")}
    async with Bus(catalog, adapters=kinds, channel_adapters={"orders": "nats", "notifications": "rabbitmq"}) as bus:
        assert made == {"nats": ["orders"], "rabbitmq": ["notifications"], "memory": ["users"]}
        assert bus.adapter_kind("orders") == "nats" and bus.adapter_kind("users") == "memory"
        assert catalog.channel("orders").adapter == "redis"  # the registry's own answer is unchanged
    made.clear()
    # An override wins over all_channels_on: one channel on a broker, the rest in memory.
    async with Bus(catalog, adapters=kinds, all_channels_on="memory", channel_adapters={"orders": "nats"}):
        assert made == {"nats": ["orders"], "memory": ["notifications", "users"]}


def test_channel_adapters_refuse_an_unknown_channel_at_once(catalog: Catalog) -> None:
    with pytest.raises(UnknownChannel, match="order"):
        Bus(catalog, channel_adapters={"order": "nats"})
