"""Generate fixture registries into temporary packages and import them."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hipponot_pubsub.generator.cli import main

ROOT = Path(__file__).parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

Generate = Callable[[Path, str], Path]


@pytest.fixture
def generate_package(tmp_path: Path) -> Iterator[Generate]:
    """``generate_package(registry, package)`` → the output folder, importable as ``package``."""
    added: list[str] = []

    def run(registry: Path, package: str) -> Path:
        out = tmp_path / "pkgs" / package
        assert main(["generate", "--schemas", str(registry), "--out", str(out), "--package", package, "-q"]) == 0
        if str(out.parent) not in sys.path:
            sys.path.insert(0, str(out.parent))
            added.append(str(out.parent))
        importlib.invalidate_caches()
        return out

    yield run
    for entry in added:
        sys.path.remove(entry)
    for name in list(sys.modules):
        if name.startswith(("thirdparty_pkg", "hostile_pkg", "example_pkg")):
            del sys.modules[name]


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fast-path cache of ``generate --check`` in a folder of the test's own, never the user's."""
    folder = tmp_path_factory.mktemp("pubsub-cache")
    monkeypatch.setenv("PUBSUB_CACHE_DIR", str(folder))
    return folder
