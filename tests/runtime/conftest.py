"""Catalogs built from the example registry (through the generator's bundler, as docs/generated.md allows for
tests), the in-memory bus fixture of the test kit, and sample payloads."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from hipponot_pubsub.generator.codegen.bundle import bundle
from hipponot_pubsub.generator.registry import Registry, load_registry
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.testing import memory_bus

from .models import MODELS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_REGISTRY = ROOT / "schemas"
THIRDPARTY_REGISTRY = ROOT / "tests" / "fixtures" / "thirdparty"


def catalog_from_registry(registry: Registry, **channel_options: dict[str, Any]) -> Catalog:
    bundles = [bundle(registry, v) for event in registry.events.values() for v in event.versions.values()]
    channels = {
        name: {"adapter": c.adapter, "options": {**c.options, **channel_options.get(name, {})}}
        for name, c in registry.channels.items()
    }
    event_channels = {name: event.channel for name, event in registry.events.items()}
    return Catalog.from_bundles(bundles, channels, event_channels, models=MODELS, name=registry.settings.name)


@pytest.fixture(scope="session")
def example_registry() -> Registry:
    return load_registry(EXAMPLE_REGISTRY)


@pytest.fixture(scope="session")
def catalog(example_registry: Registry) -> Catalog:
    built = catalog_from_registry(example_registry)
    built.compile_all()
    return built


@pytest.fixture
def pubsub_catalog(catalog: Catalog) -> Catalog:
    """The test kit's catalog fixture, pointed at the example registry."""
    return catalog


@pytest_asyncio.fixture
async def bus(catalog: Catalog) -> AsyncIterator[Bus]:
    async with memory_bus(catalog) as started:
        yield started


@pytest.fixture
def order_v2(example_registry: Registry) -> dict[str, Any]:
    """A valid order.placed v2 payload (the schema's first example)."""
    return copy.deepcopy(example_registry.event_version("order.placed", 2).schema["examples"][0])


@pytest.fixture
def order_v1(example_registry: Registry) -> dict[str, Any]:
    return copy.deepcopy(example_registry.event_version("order.placed", 1).schema["examples"][0])
