"""Measure how far plain generated pydantic models are from JSON Schema's verdict, and how far ours are.

For every event version of a registry, feed the schema's examples and many mutations of them (wrong types,
"5" for an integer, true for an integer, 5.0 for an integer, null, missing and unknown fields, naive
timestamps...) to ``jsonschema`` (the reference, formats asserted), to the generated model with its JSON
Schema check switched off (what datamodel-code-generator's pydantic model alone decides), and to the
generated model as shipped. Prints the disagreements of each against the reference.

    python -m bench.strictness [--schemas schemas]
"""

from __future__ import annotations

import argparse
import copy
import importlib
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from hipponot_pubsub.generator.cli import main as pubsub
from hipponot_pubsub.generator.codegen.bundle import bundle
from hipponot_pubsub.generator.registry import load_registry
from hipponot_pubsub.runtime.model import VALIDATED, validator_from_bundle
from pydantic import ValidationError

from tests.codegen.test_differential import mutations


def accepts(model: Any, instance: Any, context: dict[str, Any] | None) -> bool:
    try:
        model.model_validate(copy.deepcopy(instance), context=context)
    except ValidationError:
        return False
    return True


def run(schemas: Path) -> None:
    registry = load_registry(schemas)
    with tempfile.TemporaryDirectory() as scratch:
        assert pubsub(["generate", "--schemas", str(schemas), "--out", f"{scratch}/strict_pkg", "--package",
                       "strict_pkg", "-q"]) == 0
        sys.path.insert(0, scratch)
        import json

        manifest = json.loads(Path(scratch, "strict_pkg", "manifest.json").read_text())
        totals: Counter[str] = Counter()
        print(f"{'event':32} {'instances':>9} {'plain: accepts invalid':>23} {'plain: rejects valid':>21} "
              f"{'ours: disagree':>15}")
        for entry in manifest["events"]:
            module, name = entry["model"].split(":")
            model = getattr(importlib.import_module(module), name)
            version = registry.event_version(entry["type"], entry["version"])
            validator = validator_from_bundle(bundle(registry, version)).reference
            counts: Counter[str] = Counter()
            for example in version.schema.get("examples", []) or [{}]:
                for instance in mutations(example):
                    truth = validator.is_valid(instance)
                    plain = accepts(model, instance, {VALIDATED: True})
                    ours = accepts(model, instance, None)
                    counts["instances"] += 1
                    counts["plain_accepts_invalid"] += plain and not truth
                    counts["plain_rejects_valid"] += truth and not plain
                    counts["ours_disagree"] += ours != truth
            totals.update(counts)
            label = f"{entry['type']} v{entry['version']}"
            print(f"{label:32} {counts['instances']:>9} {counts['plain_accepts_invalid']:>23} "
                  f"{counts['plain_rejects_valid']:>21} {counts['ours_disagree']:>15}")
        print(f"{'total':32} {totals['instances']:>9} {totals['plain_accepts_invalid']:>23} "
              f"{totals['plain_rejects_valid']:>21} {totals['ours_disagree']:>15}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schemas", type=Path, default=Path("schemas"))
    run(parser.parse_args().schemas)
