"""pytest plugin: ``pubsub_catalog`` and ``pubsub_bus`` fixtures (register via the ``pytest11`` entry point).

``pubsub_catalog`` reads the generated package (``generated``, or the ``--pubsub-package`` option); override
the fixture in a conftest to use another catalog. ``pubsub_bus`` is a started in-memory bus (see
``hipponot_pubsub.runtime.testing``) that is stopped, draining handlers, after the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from .bus import Bus
from .catalog import Catalog
from .testing import memory_bus


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--pubsub-package", default="generated", help="generated package the pubsub_catalog reads")


@pytest.fixture
def pubsub_catalog(request: pytest.FixtureRequest) -> Catalog:
    return Catalog.from_package(str(request.config.getoption("--pubsub-package", default="generated")))


@pytest_asyncio.fixture
async def pubsub_bus(pubsub_catalog: Catalog) -> AsyncIterator[Bus]:
    async with memory_bus(pubsub_catalog) as bus:
        yield bus
