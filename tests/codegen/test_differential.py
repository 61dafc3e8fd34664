"""Generated models give JSON Schema's verdict: the same instances accepted and rejected as ``jsonschema``.

Instances come from hypothesis-jsonschema (valid by construction, or near it) and from mutations of them and
of the schemas' own examples (wrong types, ``"5"`` for an integer, ``true`` for an integer, ``5.0`` for an
integer, ``null``, missing required fields, unknown fields, naive timestamps...). The verdict of the model
must equal jsonschema's on every one of them, in both directions.
"""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from pydantic import BaseModel, ValidationError
from runtime.model import VALIDATED, validator_from_bundle

from generator.codegen.bundle import bundle
from generator.registry import load_registry

from .conftest import FIXTURES, ROOT

REGISTRIES = {"thirdparty_pkg": FIXTURES / "thirdparty", "example_pkg": ROOT / "schemas"}


def inline_refs(registry_root: Path, type_: str, version: int) -> dict[str, Any]:
    """The event schema with every ``$ref`` replaced by its target, for hypothesis-jsonschema."""
    registry = load_registry(registry_root)
    event_version = registry.event_version(type_, version)

    def walk(node: Any, base: str) -> Any:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                resolved = registry.resolver(base).lookup(node["$ref"])
                target_base = resolved.resolver._base_uri  # the base URI in force at the target
                return walk(resolved.contents, target_base)
            literal = ("enum", "const", "examples", "default")
            return {k: v if k in literal else walk(v, base) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(item, base) for item in node]
        return node

    inlined = walk(event_version.schema, event_version.uri)
    for key in ("$id", "$schema", "$defs", "definitions"):
        inlined.pop(key, None)
    return dict(inlined)


def mutations(instance: Any) -> Iterator[Any]:
    yield instance
    if not isinstance(instance, dict):
        return
    replacements = ["5", 5, 5.0, 5.5, True, None, [], {}, "", "2024-01-01T00:00:00", "NOT-A-UUID"]
    for key, value in instance.items():
        without = dict(instance)
        del without[key]
        yield without
        for replacement in replacements:
            yield {**instance, key: replacement}
        if isinstance(value, dict):
            for inner in list(value)[:4]:
                for replacement in replacements[:6]:
                    yield {**instance, key: {**value, inner: replacement}}
            yield {**instance, key: {**value, "zz_unknown": 1}}
        if isinstance(value, list) and value:
            yield {**instance, key: [*value, value[0]]}
            if isinstance(value[0], dict):
                first = dict(value[0])
                if first:
                    first.pop(next(iter(first)))
                yield {**instance, key: [first, *value[1:]]}
        if isinstance(value, int) and not isinstance(value, bool):
            yield {**instance, key: float(value)}
    yield {**instance, "zz_unknown": "x"}


def verdicts(model: type[BaseModel], validator: Any, instance: Any) -> tuple[bool, bool]:
    schema_ok = validator.is_valid(instance)
    try:
        model.model_validate(copy.deepcopy(instance))
        model_ok = True
    except ValidationError:
        model_ok = False
    return schema_ok, model_ok


def event_cases() -> list[tuple[str, str, int]]:
    cases = []
    for package, root in REGISTRIES.items():
        registry = load_registry(root)
        for event in registry.events.values():
            for number in event.versions:
                cases.append((package, event.type, number))
    return cases


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import sys

    from generator.cli import main

    out_root = tmp_path_factory.mktemp("diff")
    for package, root in REGISTRIES.items():
        argv = ["generate", "--schemas", str(root), "--out", str(out_root / package), "--package", package, "-q"]
        assert main(argv) == 0
    sys.path.insert(0, str(out_root))
    importlib.invalidate_caches()
    loaded = {package: importlib.import_module(package) for package in REGISTRIES}
    yield loaded
    sys.path.remove(str(out_root))
    for name in list(sys.modules):
        if name.startswith(tuple(REGISTRIES)):
            del sys.modules[name]


def _model(packages: dict[str, Any], package: str, type_: str, number: int) -> tuple[type[BaseModel], Any]:
    manifest = json.loads((Path(packages[package].__file__).parent / "manifest.json").read_text())
    entry = next(e for e in manifest["events"] if (e["type"], e["version"]) == (type_, number))
    module, cls = entry["model"].split(":")
    model = getattr(importlib.import_module(module), cls)
    registry = load_registry(REGISTRIES[package])
    # The reference: plain jsonschema (formats asserted), not the runtime's fast path.
    validator = validator_from_bundle(bundle(registry, registry.event_version(type_, number))).reference
    return model, validator


@pytest.mark.parametrize(("package", "type_", "number"), event_cases())
def test_examples_and_their_mutations(packages: dict[str, Any], package: str, type_: str, number: int) -> None:
    model, validator = _model(packages, package, type_, number)
    registry = load_registry(REGISTRIES[package])
    examples = registry.event_version(type_, number).schema.get("examples", [])
    checked = accepted = 0
    for example in examples or [{}]:
        for instance in mutations(example):
            schema_ok, model_ok = verdicts(model, validator, instance)
            assert schema_ok == model_ok, f"{type_} v{number}: jsonschema={schema_ok} model={model_ok} on {instance}"
            checked += 1
            accepted += schema_ok
            if schema_ok:  # a reader that already validated the bytes must accept every valid instance
                model.model_validate(copy.deepcopy(instance), context={VALIDATED: True})
    assert checked >= 2


@pytest.mark.parametrize(("package", "type_", "number"), event_cases())
def test_generated_instances(packages: dict[str, Any], package: str, type_: str, number: int) -> None:
    model, validator = _model(packages, package, type_, number)
    schema = inline_refs(REGISTRIES[package], type_, number)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.one_of(from_schema(schema), st.dictionaries(st.sampled_from(list(schema.get("properties", {"x": 1}))),
                                                         st.one_of(st.none(), st.integers(), st.text(max_size=3)))))
    def check(instance: Any) -> None:
        for variant in list(mutations(instance))[:30]:
            schema_ok, model_ok = verdicts(model, validator, variant)
            assert schema_ok == model_ok, f"{type_} v{number}: jsonschema={schema_ok} model={model_ok} on {variant}"
            if schema_ok:
                model.model_validate(copy.deepcopy(variant), context={VALIDATED: True})

    check()


@pytest.mark.parametrize(
    ("value", "valid"),
    [(5, True), (5.0, True), ("5", False), (True, False), (5.5, False), (None, False)],
)
def test_integer_edge_cases(packages: dict[str, Any], value: Any, valid: bool) -> None:
    model, validator = _model(packages, "example_pkg", "order.placed", 2)
    example = load_registry(ROOT / "schemas").event_version("order.placed", 2).schema["examples"][0]
    instance = {**example, "loyalty_points_earned": value}
    assert verdicts(model, validator, instance) == (valid, valid)


@pytest.mark.parametrize(
    ("value", "valid"),
    [("2024-05-01T10:00:00Z", True), ("2024-05-01T10:00:00+02:00", True), ("2024-05-01T10:00:00", False),
     (1714557600, False), ("2024-05-01", False)],
)
def test_date_time_edge_cases(packages: dict[str, Any], value: Any, valid: bool) -> None:
    model, validator = _model(packages, "example_pkg", "order.placed", 2)
    example = load_registry(ROOT / "schemas").event_version("order.placed", 2).schema["examples"][0]
    instance = {**example, "placed_at": value}
    assert verdicts(model, validator, instance) == (valid, valid)


@pytest.mark.xfail(
    strict=True,
    reason="known divergence: jsonschema (Python re, `$` matches before a final newline) accepts 'HN-00042017\\n' "
    "for ^HN-[0-9]{8}$ and a date-time ending in '\\n'; the pydantic model's pattern and datetime refuse them",
)
@pytest.mark.parametrize("field", ["order_number", "placed_at"])
def test_trailing_newline_divergence(packages: dict[str, Any], field: str) -> None:
    model, validator = _model(packages, "example_pkg", "order.placed", 2)
    example = load_registry(ROOT / "schemas").event_version("order.placed", 2).schema["examples"][0]
    instance = {**example, field: example[field] + "\n"}
    assert verdicts(model, validator, instance) == (True, True)
