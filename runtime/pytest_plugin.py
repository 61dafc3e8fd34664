"""pytest plugin: ``pubsub_catalog`` and ``pubsub_bus`` fixtures (registered via the ``pytest11`` entry point).

Installed with the library, so it loads in every pytest run of every environment that has hipponot-pubsub:
it must cost nothing and break nothing where it is not used. Hence it imports no async test library up front:
without pytest-asyncio (``pip install 'hipponot-pubsub[testing]'``) the plugin still loads, and only a test
asking for ``pubsub_bus`` fails, saying what to install.

``pubsub_catalog`` is the catalog of *your* generated package, found in this order:

1. ``--pubsub-package myapp.events`` (or ini ``pubsub_package``);
2. the ``[generate]`` table of your registry's ``pubsub.toml`` (registry folder: ``--pubsub-schemas`` or ini
   ``pubsub_schemas``, default ``schemas`` under the rootdir), the table ``pubsub generate`` writes from.

The package is made importable from its folder when it is not installed (at start-up, so test modules can
import it at the top). With neither, the fixture fails and says so: it never falls back to some package named
``generated``. Override the fixture in a conftest to use another catalog.

``pubsub_bus`` is a started in-memory bus over it (see ``hipponot_pubsub.runtime.testing``), stopped, draining
handlers, after the test; subscribers declared on it with ``@XSubscriber.handler(pubsub_bus)`` start at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .extras import install_command
from .project import CONFIG_FILE, GenerateTarget, ProjectError, generate_target, read_generate_table

if TYPE_CHECKING:  # imported by the fixtures: a pytest run that uses none of them does not pay for the runtime
    from .bus import Bus
    from .catalog import Catalog

DEFAULT_SCHEMAS = "schemas"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pubsub", "hipponot-pubsub test kit")
    group.addoption("--pubsub-package", default=None, metavar="PACKAGE",
                    help="generated package the pubsub_catalog fixture reads (default: [generate] of the registry)")
    group.addoption("--pubsub-schemas", default=None, metavar="DIR",
                    help=f"registry folder holding {CONFIG_FILE}, relative to the rootdir (default: schemas)")
    parser.addini("pubsub_package", "generated package the pubsub_catalog fixture reads", default=None)
    parser.addini("pubsub_schemas", f"registry folder holding {CONFIG_FILE}, relative to the rootdir",
                  default=None)


def _setting(config: pytest.Config, option: str, ini: str) -> str | None:
    value = config.getoption(option) or config.getini(ini)
    return str(value) if value else None


def catalog_target(config: pytest.Config) -> GenerateTarget:
    """The generated package the kit binds to (see the module docstring); raises ``ProjectError`` saying how
    to name one when neither the option nor the registry's ``[generate]`` table does."""
    root = Path(config.rootpath)
    registry = root / (_setting(config, "--pubsub-schemas", "pubsub_schemas") or DEFAULT_SCHEMAS)
    package = _setting(config, "--pubsub-package", "pubsub_package")
    if package is None and "package" not in read_generate_table(registry):
        raise ProjectError(
            f"pubsub_catalog: which generated package? {registry / CONFIG_FILE} has no [generate] package; "
            "set it there, or pass --pubsub-package (ini pubsub_package), or --pubsub-schemas for another registry"
        )
    target = generate_target(registry, package=package)
    if not target.out.is_absolute():  # the flag's default folder is relative to the current directory
        target = GenerateTarget(out=root / target.out, package=target.package)
    return target


def pytest_configure(config: pytest.Config) -> None:
    """Make the configured package importable before collection, since test modules import its publishers and
    models at the top. A missing or bad configuration is left for the fixtures to report: a project that does
    not use the kit must not notice the plugin."""
    with contextlib.suppress(ProjectError):
        catalog_target(config).ensure_importable()


@pytest.fixture(scope="session")
def pubsub_catalog(request: pytest.FixtureRequest) -> Catalog:
    """The catalog of your generated package (see the module docstring)."""
    from .catalog import Catalog

    try:
        target = catalog_target(request.config)
        target.ensure_importable()
        return Catalog.from_package(target.package)
    except ProjectError as error:
        pytest.fail(str(error), pytrace=False)
    except ModuleNotFoundError as error:
        pytest.fail(f"pubsub_catalog: cannot import the generated package: {error} (run `pubsub generate`, or "
                    "set [generate] out in pubsub.toml to its folder)", pytrace=False)


def _needs_pytest_asyncio() -> None:
    pytest.fail(f"the pubsub_bus fixture needs pytest-asyncio: {install_command('testing')}", pytrace=False)


def _async_fixture(function: Callable[..., AsyncIterator[Bus]]) -> Any:
    """pytest-asyncio's fixture decorator (so strict mode works too); without pytest-asyncio, a fixture that
    fails the tests asking for it with the extra to install, and nothing else."""
    try:
        import pytest_asyncio
    except ModuleNotFoundError:
        return pytest.fixture(name=function.__name__)(_needs_pytest_asyncio)
    return pytest_asyncio.fixture(function)


@_async_fixture
async def pubsub_bus(pubsub_catalog: Catalog) -> AsyncIterator[Bus]:
    """A started bus over ``pubsub_catalog`` with every channel in memory, stopped after the test."""
    from .testing import memory_bus

    async with memory_bus(pubsub_catalog) as bus:
        yield bus
