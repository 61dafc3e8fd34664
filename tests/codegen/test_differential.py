"""Generated models give JSON Schema's verdict: the same instances accepted and rejected as ``jsonschema``.

Instances come from hypothesis-jsonschema (valid by construction, or near it) and from the shared near-miss
generator (``tests/codegen/differential.py``) applied to them and to the schemas' own examples. The verdict of the
model must equal jsonschema's on every one of them, in both directions, and a reader that already validated the
bytes (``context={VALIDATED: True}``) must accept every valid instance. ``fixtures/edge`` holds the schema
features where pydantic's types and jsonschema read values differently.
"""

from __future__ import annotations

import copy
import importlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hipponot_pubsub.generator.codegen.bundle import bundle
from hipponot_pubsub.generator.registry import Registry, load_registry
from hipponot_pubsub.runtime.model import VALIDATED, trusted_reader, validator_from_bundle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from pydantic import BaseModel, ValidationError

from .conftest import FIXTURES, ROOT
from .differential import UUID, inline_refs, mutations

EDGE = Path(__file__).parent / "fixtures" / "edge"
REGISTRIES = {"thirdparty_pkg": FIXTURES / "thirdparty", "example_pkg": ROOT / "schemas", "edge_pkg": EDGE}
_registries: dict[str, Registry] = {}


def registry(package: str) -> Registry:
    if package not in _registries:
        _registries[package] = load_registry(REGISTRIES[package])
    return _registries[package]


def verdicts(model: type[BaseModel], validator: Any, instance: Any) -> tuple[bool, bool]:
    schema_ok = validator.is_valid(instance)
    try:
        model.model_validate(copy.deepcopy(instance))
        model_ok = True
    except ValidationError:
        model_ok = False
    return schema_ok, model_ok


def assert_same_verdict(model: type[BaseModel], validator: Any, instance: Any, what: str) -> bool:
    schema_ok, model_ok = verdicts(model, validator, instance)
    assert schema_ok == model_ok, f"{what}: jsonschema={schema_ok} model={model_ok} on {instance!r}"
    if schema_ok:  # a reader that already validated the bytes must accept every valid instance
        model.model_validate(copy.deepcopy(instance), context={VALIDATED: True})
    return schema_ok


def event_cases() -> list[tuple[str, str, int]]:
    return [(package, event.type, number) for package in REGISTRIES
            for event in registry(package).events.values() for number in event.versions]


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from hipponot_pubsub.generator.cli import main

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
    model = getattr(importlib.import_module(module, package), cls)  # relative to the generated package
    loaded = registry(package)
    # The reference: plain jsonschema (formats asserted), not the runtime's fast path.
    validator = validator_from_bundle(bundle(loaded, loaded.event_version(type_, number))).reference
    return model, validator


def _example(package: str, type_: str, number: int, index: int = 0) -> dict[str, Any]:
    example: dict[str, Any] = registry(package).event_version(type_, number).schema["examples"][index]
    return copy.deepcopy(example)


@pytest.mark.parametrize(("package", "type_", "number"), event_cases())
def test_examples_and_their_mutations(packages: dict[str, Any], package: str, type_: str, number: int) -> None:
    model, validator = _model(packages, package, type_, number)
    examples = registry(package).event_version(type_, number).schema.get("examples", [])
    checked = accepted = 0
    for example in examples or [{}]:
        for instance in mutations(example):
            accepted += assert_same_verdict(model, validator, instance, f"{type_} v{number}")
            checked += 1
    assert checked >= 2 and (accepted >= 1 or not examples)


@pytest.mark.parametrize(("package", "type_", "number"), event_cases())
def test_generated_instances(packages: dict[str, Any], package: str, type_: str, number: int) -> None:
    model, validator = _model(packages, package, type_, number)
    schema = inline_refs(registry(package), registry(package).event_version(type_, number))

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(st.one_of(from_schema(schema), st.dictionaries(st.sampled_from(list(schema.get("properties", {"x": 1}))),
                                                         st.one_of(st.none(), st.integers(), st.text(max_size=3)))))
    def check(instance: Any) -> None:
        for variant in list(mutations(instance))[::17]:  # a spread of the near misses, each field's included
            assert_same_verdict(model, validator, variant, f"{type_} v{number}")

    check()


@pytest.mark.parametrize(
    ("value", "valid"),
    [(5, True), (5.0, True), ("5", False), (True, False), (5.5, False), (None, False)],
)
def test_integer_edge_cases(packages: dict[str, Any], value: Any, valid: bool) -> None:
    model, validator = _model(packages, "example_pkg", "order.placed", 2)
    instance = {**_example("example_pkg", "order.placed", 2), "loyalty_points_earned": value}
    assert verdicts(model, validator, instance) == (valid, valid)


@pytest.mark.parametrize(
    ("value", "valid"),
    [("2024-05-01T10:00:00Z", True), ("2024-05-01T10:00:00+02:00", True), ("2024-05-01T10:00:00", False),
     (1714557600, False), ("2024-05-01", False), ("2024-05-01T10:00:00Z\n", True), ("2024-05-01T10:00:00Z\n\n", False),
     ("2024-05-01t10:00:00z", True), ("2024-05-01 10:00:00Z", False), ("2024-05-01T10:00:60Z", False)],
)
def test_date_time_edge_cases(packages: dict[str, Any], value: Any, valid: bool) -> None:
    model, validator = _model(packages, "example_pkg", "order.placed", 2)
    instance = {**_example("example_pkg", "order.placed", 2), "placed_at": value}
    assert verdicts(model, validator, instance) == (valid, valid)


@pytest.mark.parametrize(
    ("value", "valid"),
    [(UUID, True), (UUID.upper(), True), (UUID + "}", True), (UUID[:28] + "-" + UUID[28:], True),
     (UUID.replace("-", ""), False), ("{" + UUID + "}", False), (f"urn:uuid:{UUID}", False), (UUID + "\n", False)],
)
def test_uuid_edge_cases(packages: dict[str, Any], value: str, valid: bool) -> None:
    """jsonschema's ``uuid`` is ``uuid.UUID(s)`` plus hyphens at 8, 13, 18 and 23: a final "}" or one more
    hyphen pass, a braced, URN or hyphen-less form does not."""
    model, validator = _model(packages, "example_pkg", "order.placed", 2)
    instance = {**_example("example_pkg", "order.placed", 2), "order_id": value}
    assert verdicts(model, validator, instance) == (valid, valid)


@pytest.mark.parametrize("path", [("order_number",), ("customer_id",), ("placed_at",), ("line_items", 0, "sku"),
                                  ("total", "currency")])
def test_a_trailing_newline_passes_as_in_jsonschema(packages: dict[str, Any], path: tuple[str | int, ...]) -> None:
    """Python's ``$`` matches before a final "\\n", so jsonschema accepts 'HN-00042017\\n' for ^HN-[0-9]{8}$ (and a
    date-time ending in one, which rfc3339-validator matches with ``$``): the model must too, in root models
    (``customer_id`` is a RootModel), nested models and both readers. The value keeps its "\\n"."""
    model, validator = _model(packages, "example_pkg", "order.placed", 2)
    instance = _example("example_pkg", "order.placed", 2)
    parent: Any = instance
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] += "\n"
    assert verdicts(model, validator, instance) == (True, True)
    built = model.model_validate(copy.deepcopy(instance), context={VALIDATED: True})
    if path != ("placed_at",):
        assert built.model_dump(mode="json", by_alias=True, exclude_unset=True) == instance


@pytest.mark.parametrize(
    ("field", "value", "valid"),
    [("count", 1e20, True), ("count", 2**64, True), ("count", -1e20, False), ("count", 1e20 + 0.5, True),
     ("bounded", 1e20, False), ("ratio", 10**400, True), ("ratio", -(10**400), False),
     ("price", -68963174495437.3, True), ("price", 0.1, True), ("price", 19.99, False), ("triple", -9.0, True),
     ("triple", 10, False),
     ("stamp", 10**30, True), ("either", "2024-05-01T10:00:00Z\n", True), ("duration", "not a duration", True),
     ("uuid4", "not a uuid", True), ("search", "abbc", True), ("word", "hello\n", True), ("codes", {"k1\n": 1}, True),
     ("names", {"pa\n": "x"}, True), ("tag", "\u00bd", True), ("tag", "a-b", False), ("shout", "HEY\n", True),
     ("labels", {"\u00bd": 1}, True), ("labels", {"a-b": 1}, False), ("labels", {"a": "x"}, False)],
)
def test_edge_fixture(packages: dict[str, Any], field: str, value: Any, valid: bool) -> None:
    """Integral floats from 2**63 on are integers to jsonschema (pydantic's int refuses them), integers beyond
    1.8e308 are numbers (pydantic's float refuses them), a negative multiple of 0.01 passes jsonschema's float
    division (not pydantic's check), formats its checker does not assert are any string, patterns are searched,
    and Python's ``\\w`` (which takes "½") and flags are Python's, not Rust's."""
    model, validator = _model(packages, "edge_pkg", "edge.formats", 1)
    instance = {**_example("edge_pkg", "edge.formats", 1), field: value}
    assert verdicts(model, validator, instance) == (valid, valid)


def test_draft_07_ref_siblings_and_formats(packages: dict[str, Any]) -> None:
    """Draft-07 ignores the siblings of ``$ref`` and asserts no ``uuid`` format: the model follows (a shared
    document reached from a 2020-12 event too types ``uuid`` only where both events' checkers assert it)."""
    model, validator = _model(packages, "edge_pkg", "edge.legacy", 1)
    instance = _example("edge_pkg", "edge.legacy", 1)
    assert verdicts(model, validator, instance) == (True, True)
    assert verdicts(model, validator, {**instance, "at": "2024-05-01T10:00:00"}) == (False, False)
    formats, formats_validator = _model(packages, "edge_pkg", "edge.formats", 1)
    shared = {**_example("edge_pkg", "edge.formats", 1), "shared": {"ref": "not-a-uuid"}}
    assert verdicts(formats, formats_validator, shared) == (False, False)  # refused by the 2020-12 event's check


def test_typed_fields_stay_typed(packages: dict[str, Any]) -> None:
    """The Python values are the usual ones: aware ``datetime``, ``UUID``, ``int`` for a float integer."""
    from datetime import datetime
    from uuid import UUID as PyUUID

    model, _ = _model(packages, "edge_pkg", "edge.formats", 1)
    built: Any = model.model_validate({**_example("edge_pkg", "edge.formats", 1), "id": UUID + "}", "count": 1e20,
                                       "at": "2024-05-01T10:00:00Z\n"})
    assert built.id == PyUUID(UUID) and built.count == 10**20 and type(built.count) is int
    assert isinstance(built.at, datetime) and built.at.tzinfo is not None
    assert model.model_validate(built.model_dump()).id == PyUUID(UUID)  # Python objects round-trip
    with pytest.raises(ValidationError):
        model.model_validate({**_example("edge_pkg", "edge.formats", 1), "at": datetime(2024, 5, 1)})  # naive


def test_a_json_name_equal_to_another_fields_python_name(generate_package: Any) -> None:
    out = generate_package(FIXTURES / "hostile", "hostile_pkg")
    manifest = json.loads((out / "manifest.json").read_text())
    entry = next(e for e in manifest["events"] if e["type"] == "import")
    module, cls = entry["model"].split(":")
    model = getattr(importlib.import_module(module, "hostile_pkg"), cls)
    validator = validator_from_bundle(json.loads((out / entry["bundle"]).read_text())).reference
    instance = {"class": "x", "from": 1, "a_b": 5}
    assert trusted_reader(model)(instance).a_b_1 == 5  # the subscribers' reader reads JSON names only
    assert verdicts(model, validator, instance) == (True, True)
    assert model.model_validate(instance).a_b_1 == 5  # a JSON document is read by its JSON names
    assert model(class_="x", from_=1).class_ == "x"  # keyword construction still by Python name
