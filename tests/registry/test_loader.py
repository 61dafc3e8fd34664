"""The loader: happy path, and every kind of problem named with its file and JSON pointer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hipponot_pubsub.generator.registry import Problem, RegistryError, lint_registry, load_registry

from .conftest import BASE_TOML, ORDER_V1, MakeRegistry


def problems_of(root: Path) -> list[Problem]:
    registry, problems = lint_registry(root)
    assert registry is None, "a registry with problems must not load"
    assert problems
    return problems


def only(problems: list[Problem], code: str) -> Problem:
    matching = [p for p in problems if p.code == code]
    assert len(matching) == 1, f"expected one {code!r}, got {problems}"
    return matching[0]


def test_happy_path_resolves_relative_path_and_id_refs(make_registry: MakeRegistry) -> None:
    root = make_registry()
    registry = load_registry(root)
    event = registry.events["order.placed"]
    assert event.channel == "orders"
    assert registry.channels["orders"].adapter == "memory"
    assert list(event.versions) == [1]
    version = event.latest
    assert version.path == "order-placed.v1.json"
    assert version.uri == "file:///order-placed.v1.json"
    # The shared Money schema is reachable from the event by relative path and by its $id.
    resolver = registry.resolver(version.uri)
    by_path = resolver.lookup("common/money.json#/$defs/currency").contents
    by_id = resolver.lookup("https://schemas.test/common/money.json#/$defs/currency").contents
    assert by_path == by_id == {"type": "string", "pattern": "^[A-Z]{3}$"}


def test_several_versions_are_ordered_and_latest_is_highest(make_registry: MakeRegistry) -> None:
    toml = BASE_TOML.replace(
        '{ 1 = "order-placed.v1.json" }', '{ 10 = "v10.json", 2 = "v2.json", 1 = "order-placed.v1.json" }'
    )
    root = make_registry(toml, {"v2.json": ORDER_V1, "v10.json": ORDER_V1})
    event = load_registry(root).events["order.placed"]
    assert list(event.versions) == [1, 2, 10]
    assert event.latest.version == 10


def test_invalid_json_names_line_and_column(make_registry: MakeRegistry) -> None:
    root = make_registry(files={"order-placed.v1.json": '{\n  "type": "object",\n  "properties": {,}\n}'})
    problem = only(problems_of(root), "invalid-json")
    assert problem.file.endswith("schemas/order-placed.v1.json")
    assert (problem.line, problem.column) == (3, 18)
    assert str(problem).startswith(f"{problem.file}:3:18: invalid JSON")


def test_invalid_schema_names_every_pointer(make_registry: MakeRegistry) -> None:
    bad = {"type": "object", "properties": {"x": {"type": "strng"}, "y": {"minLength": -1}}}
    problems = problems_of(make_registry(files={"order-placed.v1.json": bad}))
    invalid = sorted(p.pointer for p in problems if p.code == "invalid-schema")
    assert invalid == ["/properties/x/type", "/properties/y/minLength"]
    assert all(p.file.endswith("order-placed.v1.json") for p in problems)


def test_unresolvable_refs_point_at_the_ref(make_registry: MakeRegistry) -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"$ref": "#/$defs/nope"},
            "b": {"$ref": "common/missing.json"},
            "c": {"items": {"$ref": "https://schemas.test/common/money.json#/$defs/nothing"}},
        },
    }
    problems = problems_of(make_registry(files={"order-placed.v1.json": schema}))
    unresolved = {p.pointer: p.message for p in problems if p.code == "unresolvable-ref"}
    assert set(unresolved) == {"/properties/a/$ref", "/properties/b/$ref", "/properties/c/items/$ref"}
    assert "file:///common/missing.json" in unresolved["/properties/b/$ref"]
    assert "/$defs/nothing" in unresolved["/properties/c/items/$ref"]


def test_a_property_named_ref_is_not_a_reference(make_registry: MakeRegistry) -> None:
    schema = {"type": "object", "properties": {"$ref": {"type": "string"}}, "examples": [{"$ref": "nowhere.json"}]}
    load_registry(make_registry(files={"order-placed.v1.json": schema}))


def test_duplicate_type_and_version(make_registry: MakeRegistry) -> None:
    toml = BASE_TOML.replace('{ 1 = "order-placed.v1.json" }', '{ 1 = "order-placed.v1.json", 01 = "v1b.json" }')
    problem = only(problems_of(make_registry(toml, {"v1b.json": ORDER_V1})), "duplicate-version")
    assert problem.file.endswith("schemas/pubsub.toml")
    assert problem.pointer in ("/events/order.placed/versions/01", "/events/order.placed/versions/1")
    assert "defined twice" in problem.message


def test_duplicate_between_import_glob_and_explicit_event(make_registry: MakeRegistry) -> None:
    toml = BASE_TOML + '\n[[imports]]\nglob = "vendor/*.json"\nchannel = "orders"\ntype = "order.{name}"\n'
    problem = only(problems_of(make_registry(toml, {"vendor/placed.json": ORDER_V1})), "duplicate-version")
    assert problem.pointer == "/imports/0"


def test_missing_file(make_registry: MakeRegistry) -> None:
    toml = BASE_TOML.replace('{ 1 = "order-placed.v1.json" }', '{ 1 = "order-placed.v1.json", 2 = "gone.json" }')
    problem = only(problems_of(make_registry(toml)), "missing-file")
    assert (problem.file.rsplit("/", 1)[-1], problem.pointer) == ("pubsub.toml", "/events/order.placed/versions/2")
    assert "gone.json" in problem.message


def test_path_outside_the_registry_is_refused(make_registry: MakeRegistry, tmp_path: Path) -> None:
    (tmp_path / "outside.json").write_text(json.dumps(ORDER_V1))
    toml = BASE_TOML.replace('"order-placed.v1.json"', '"../outside.json"')
    problem = only(problems_of(make_registry(toml)), "invalid-config")
    assert problem.pointer == "/events/order.placed/versions/1"
    assert "outside the registry" in problem.message


def test_channel_without_adapter(make_registry: MakeRegistry) -> None:
    toml = BASE_TOML + '\n[channels.audit]\ndescription = "no adapter here"\n'
    problem = only(problems_of(make_registry(toml)), "channel-without-adapter")
    assert (problem.file.rsplit("/", 1)[-1], problem.pointer) == ("pubsub.toml", "/channels/audit")


def test_unknown_adapter_kind(make_registry: MakeRegistry) -> None:
    toml = BASE_TOML + '\n[channels.audit]\nadapter = "rabbit"\n'
    problem = only(problems_of(make_registry(toml)), "unknown-adapter")
    assert problem.pointer == "/channels/audit/adapter"
    assert "'rabbit'" in problem.message and "memory, redis, kafka" in problem.message


def test_event_on_undeclared_channel(make_registry: MakeRegistry) -> None:
    toml = BASE_TOML.replace('channel = "orders"', 'channel = "ordrs"')
    problem = only(problems_of(make_registry(toml)), "undeclared-channel")
    assert problem.pointer == "/events/order.placed/channel"
    assert "'ordrs'" in problem.message and "orders" in problem.message


def test_unknown_keys_are_reported(make_registry: MakeRegistry) -> None:
    toml = BASE_TOML.replace('channel = "orders"', 'channel = "orders"\nchanel = "x"')
    problem = only(problems_of(make_registry(toml)), "unknown-key")
    assert problem.pointer == "/events/order.placed/chanel"


def test_invalid_toml_names_line_and_column(make_registry: MakeRegistry) -> None:
    problem = only(problems_of(make_registry("[registry\nname = 1\n")), "invalid-toml")
    assert problem.line == 1 and problem.column is not None


def test_duplicate_id_across_files(make_registry: MakeRegistry) -> None:
    problems = problems_of(make_registry(files={"copy.json": {"$id": "https://schemas.test/common/money.json"}}))
    problem = only(problems, "duplicate-id")
    assert problem.pointer == "/$id"


def test_all_problems_reported_at_once(make_registry: MakeRegistry) -> None:
    toml = (
        BASE_TOML.replace('{ 1 = "order-placed.v1.json" }', '{ 1 = "order-placed.v1.json", 2 = "gone.json" }')
        + '\n[channels.audit]\nadapter = "rabbit"\n'
    )
    root = make_registry(toml, {"broken.json": "{", "bad.json": {"type": 5}})
    codes = sorted(p.code for p in problems_of(root))
    assert codes == ["invalid-json", "invalid-schema", "missing-file", "unknown-adapter"]
    with pytest.raises(RegistryError) as raised:
        load_registry(root)
    assert len(raised.value.problems) == 4
    assert "4 problems in the registry" in str(raised.value)


def test_excluded_files_are_not_schemas(make_registry: MakeRegistry) -> None:
    toml = BASE_TOML.replace('name = "test"', 'name = "test"\nexclude = ["examples/**"]')
    load_registry(make_registry(toml, {"examples/payload.json": "[1, 2"}))
