"""What the benchmarks share: the example registry as a catalog, a sample order event and its model.

Uses ``generated/`` when the generator has produced it; otherwise builds the catalog from ``schemas/``
with the generator's bundler and the hand-written models of the runtime tests.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hipponot_pubsub.runtime.catalog import Catalog

ROOT = Path(__file__).resolve().parents[1]


def example_catalog() -> Catalog:
    """The generated package's catalog (real generated models) if present, else one built from ``schemas/``."""
    try:
        catalog = Catalog.from_package("generated")
        catalog.compile_all()
        return catalog
    except (FileNotFoundError, ModuleNotFoundError):
        pass
    from hipponot_pubsub.generator.codegen.bundle import bundle
    from hipponot_pubsub.generator.registry import load_registry

    from tests.runtime.models import MODELS

    registry = load_registry(ROOT / "schemas")
    bundles = [bundle(registry, v) for event in registry.events.values() for v in event.versions.values()]
    channels = {n: {"adapter": c.adapter, "options": dict(c.options)} for n, c in registry.channels.items()}
    catalog = Catalog.from_bundles(bundles, channels, {n: e.channel for n, e in registry.events.items()},
                                   models=MODELS)
    catalog.compile_all()
    return catalog


def sample_order(catalog: Catalog) -> dict[str, Any]:
    example: dict[str, Any] = catalog.spec("order.placed", 2).bundle["resources"][0]["schema"]["examples"][0]
    return copy.deepcopy(example)


def _calibrate(function: Callable[[], object], seconds: float) -> int:
    count = 1
    while True:
        started = time.perf_counter()
        for _ in range(count):
            function()
        elapsed = time.perf_counter() - started
        if elapsed > 0.02:
            return max(1, int(count * seconds / elapsed))
        count *= 2


def rates(functions: dict[str, Callable[[], object]], *, seconds: float = 0.25, rounds: int = 12) -> dict[str, float]:
    """Calls per second of each function: the best of ``rounds`` runs of about ``seconds`` each.

    Rounds interleave the functions (a, b, c, a, b, c, ...), so a burst of load from other processes on a shared
    machine hits every row alike instead of skewing the ratios."""
    counts = {name: _calibrate(function, seconds) for name, function in functions.items()}
    best = dict.fromkeys(functions, 0.0)
    for _ in range(rounds):
        for name, function in functions.items():
            started = time.perf_counter()
            for _ in range(counts[name]):
                function()
            best[name] = max(best[name], counts[name] / (time.perf_counter() - started))
    return best
