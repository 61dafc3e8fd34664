"""Whole fixture registries: the example registry, third-party schemas adopted unedited, and one registry
with every kind of problem planted at a known place (see tests/fixtures/broken/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hipponot_pubsub.generator.registry import lint_registry, load_registry
from jsonschema.validators import validator_for

FIXTURES = Path(__file__).parent.parent / "fixtures"
EXAMPLE = Path(__file__).parent.parent.parent / "schemas"


def test_every_planted_problem_is_reported_with_file_and_pointer() -> None:
    root = FIXTURES / "broken"
    registry, problems = lint_registry(root)
    assert registry is None
    found = {(p.file.removeprefix(root.as_posix() + "/"), p.pointer, p.code) for p in problems}
    assert found == {
        ("orders/order-updated.v1.json", "", "invalid-json"),
        ("orders/order-refunded.v1.json", "/properties/x/type", "invalid-schema"),
        ("orders/order-refunded.v1.json", "/properties/y/minLength", "invalid-schema"),
        ("orders/order-returned.v1.json", "/properties/a/$ref", "unresolvable-ref"),
        ("orders/order-returned.v1.json", "/properties/b/$ref", "unresolvable-ref"),
        ("orders/order-returned.v1.json", "/properties/c/$ref", "remote-ref"),
        ("pubsub.toml", "/events/order.placed/versions/01", "duplicate-version"),
        ("pubsub.toml", "/imports/0", "duplicate-version"),
        ("pubsub.toml", "/events/order.disputed/versions/1", "missing-file"),
        ("pubsub.toml", "/channels/audit", "channel-without-adapter"),
        ("pubsub.toml", "/channels/jobs/adapter", "unknown-adapter"),
        ("pubsub.toml", "/events/user.deleted/channel", "undeclared-channel"),
    }
    invalid_json = next(p for p in problems if p.code == "invalid-json")
    assert (invalid_json.line, invalid_json.column) == (7, 5)


def test_toml_syntax_error_names_line_and_column() -> None:
    _, [problem] = lint_registry(FIXTURES / "broken-toml")
    assert (problem.code, problem.line, problem.column) == ("invalid-toml", 9, 11)
    assert problem.file.endswith("broken-toml/pubsub.toml")


def test_remote_ref_fixture() -> None:
    _, [problem] = lint_registry(FIXTURES / "remote-ref")
    assert (problem.code, problem.pointer) == ("remote-ref", "/properties/meta/$ref")


def test_third_party_draft07_schemas_load_unedited() -> None:
    registry = load_registry(FIXTURES / "thirdparty")
    assert set(registry.events) == {
        "acme.label_voided",
        "acme.shipment_created_event",
        "acme.shipment_delivered_event",
    }
    created = registry.events["acme.shipment_created_event"].latest
    assert created.dialect.startswith("http://json-schema.org/draft-07/schema")
    assert created.path == "vendor/acme/shipment-created-event.json"
    # Its $id is a relative name that differs from the file name; $refs to siblings go by those $ids.
    assert created.uri == "file:///vendor/acme/shipment-created.json"
    resolver = registry.resolver(created.uri)
    assert resolver.lookup("address.json").contents["$id"] == "address.json"


def _examples(registry_root: Path) -> list[tuple[str, int, object]]:
    registry = load_registry(registry_root)
    cases = []
    for event in registry.events.values():
        for version in event.versions.values():
            for example in version.schema.get("examples", []):
                cases.append((event.type, version.version, example))
    return cases


@pytest.mark.parametrize("root", [EXAMPLE], ids=["example-registry"])
def test_example_registry_examples_are_valid(root: Path) -> None:
    registry = load_registry(root)
    cases = _examples(root)
    assert len(cases) >= 2 * sum(len(e.versions) for e in registry.events.values())
    for type_, number, example in cases:
        version = registry.event_version(type_, number)
        cls = validator_for(version.schema)
        validator = cls({"$ref": version.uri}, registry=registry.resources, format_checker=cls.FORMAT_CHECKER)
        errors = list(validator.iter_errors(example))
        assert errors == [], f"{type_} v{number}: {[e.message for e in errors]}"
