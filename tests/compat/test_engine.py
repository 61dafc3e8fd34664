"""The engine on realistic shapes: shared definitions, swapped refs, draft-07, recursion, refactorings."""

from __future__ import annotations

from typing import Any

import pytest
from hipponot_pubsub.generator.compat import Direction, Severity, compare, diff_schemas
from hipponot_pubsub.generator.compat.levels import FULL
from hipponot_pubsub.generator.compat.nodes import UnresolvableRef

from .helpers import ROOT, change_ids, side

MONEY = "https://schemas.hipponot.dev/common/money.json"


def money(max_length: int) -> dict[str, Any]:
    return {
        "$id": MONEY,
        "type": "object",
        "required": ["amount", "currency"],
        "properties": {
            "amount": {"type": "string", "maxLength": max_length},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        },
    }


ORDER = {
    "type": "object",
    "required": ["total"],
    "properties": {"total": {"$ref": MONEY}, "lines": {"type": "array", "items": {"$ref": "#/$defs/line"}}},
    "$defs": {"line": {"type": "object", "properties": {"price": {"$ref": MONEY}}}},
}


def test_change_in_shared_definition_is_found_once_and_located_in_its_file() -> None:
    old = side(ORDER, {MONEY: money(20)}, label="v1")
    new = side(ORDER, {MONEY: money(10)}, label="v2")
    findings = compare(old, new)
    assert [f.change for f in findings] == ["limit.tightened"]  # reached twice (total, lines/*/price): once
    finding = findings[0]
    assert finding.new is not None and finding.new.uri == MONEY
    assert finding.new.pointer == "/properties/amount/maxLength"
    assert finding.path == "/total/amount"
    assert finding.breaks == (Direction.BACKWARD,)
    assert finding.severity is Severity.ERROR
    assert finding.message == (
        f"{MONEY}#/properties/amount/maxLength: maxLength tightened from 20 to 10: data written under v1 may "
        "fall outside the new limit, so a v2 reader would reject it (breaks BACKWARD)"
    )


def test_message_in_root_document_uses_the_pointer_alone() -> None:
    old = {"type": "object", "properties": {"total": {"type": "object", "properties": {
        "amount": {"type": "string", "maxLength": 20}}}}}  # fmt: skip
    new = {"type": "object", "properties": {"total": {"type": "object", "properties": {
        "amount": {"type": "string", "maxLength": 10}}}}}  # fmt: skip
    (finding,) = compare(side(old, label="v1"), side(new, label="v2"))
    where = "/properties/total/properties/amount/maxLength"
    assert finding.message.startswith(f"{where}: maxLength tightened from 20 to 10")
    assert finding.message.endswith("(breaks BACKWARD)")
    assert finding.old is not None and finding.old.pointer == "/properties/total/properties/amount/maxLength"


def test_pointers_are_escaped_by_jsonpointer() -> None:
    old = {"type": "object", "properties": {"a/b~c": {"type": "string"}}}
    new = {"type": "object", "properties": {"a/b~c": {"type": "integer"}}}
    (change,) = diff_schemas(side(old), side(new))
    assert change.new is not None and change.new.pointer == "/properties/a~1b~0c/type"
    assert change.path == "/a~1b~0c"


def test_ref_target_swapped_to_a_different_definition() -> None:
    defs = {"short": {"type": "string", "maxLength": 5}, "long": {"type": "string", "maxLength": 50}}
    old = {"$defs": defs, "type": "object", "properties": {"code": {"$ref": "#/$defs/short"}}}
    new = {"$defs": defs, "type": "object", "properties": {"code": {"$ref": "#/$defs/long"}}}
    findings = compare(side(old), side(new), level=FULL)
    assert [f.change for f in findings] == ["ref.target.changed", "limit.loosened"]
    swapped, loosened = findings
    assert swapped.severity is Severity.INFO and "event.json#/$defs/short" in swapped.detail
    assert loosened.old is not None and loosened.old.pointer == "/$defs/short/maxLength"
    assert loosened.new is not None and loosened.new.pointer == "/$defs/long/maxLength"
    assert loosened.breaks == (Direction.FORWARD,)


def test_ref_target_swapped_to_another_file() -> None:
    a, b = "file:///common/a.json", "file:///common/b.json"
    root_old = {"type": "object", "properties": {"x": {"$ref": "common/a.json"}}}
    root_new = {"type": "object", "properties": {"x": {"$ref": "common/b.json"}}}
    docs = {a: {"type": "string"}, b: {"type": "integer"}}
    ids = change_ids(root_old, root_new, docs, docs)
    assert ids == ["ref.target.changed", "type.changed"]


def test_inline_schema_moved_to_defs_is_not_a_change() -> None:
    inline = {"type": "object", "properties": {"a": {"type": "string", "format": "uuid"}}, "required": ["a"]}
    moved = {"$defs": {"thing": inline}, "$ref": "#/$defs/thing"}
    assert diff_schemas(side(inline), side(moved)) == []
    assert diff_schemas(side(moved), side(inline)) == []


def test_allof_refactoring_is_not_a_change() -> None:
    flat = {"type": "object", "properties": {"x": {"type": "string"}, "y": {"type": "integer"}}, "required": ["x"]}
    mixed = {
        "$defs": {"base": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}},
        "allOf": [{"$ref": "#/$defs/base"}, {"properties": {"y": {"type": "integer"}}}],
    }
    assert diff_schemas(side(flat), side(mixed)) == []


def test_change_inside_allof_branch_is_found() -> None:
    def schema(n: int) -> dict[str, Any]:
        return {"allOf": [{"type": "object", "properties": {"x": {"type": "string", "maxLength": n}}}]}

    (change,) = diff_schemas(side(schema(5)), side(schema(3)))
    assert change.change == "limit.tightened"
    assert change.new is not None and change.new.pointer == "/allOf/0/properties/x/maxLength"


def test_recursive_schema_terminates_and_reports_once() -> None:
    def tree(value_type: str) -> dict[str, Any]:
        return {
            "$defs": {
                "node": {
                    "type": "object",
                    "properties": {
                        "value": {"type": value_type},
                        "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                    },
                }
            },
            "$ref": "#/$defs/node",
        }

    changes = diff_schemas(side(tree("integer")), side(tree("number")))
    assert [c.change for c in changes] == ["type.widened"]
    assert changes[0].path == "/value"


def test_mutually_recursive_unions_terminate() -> None:
    def schema(extra: str) -> dict[str, Any]:
        return {
            "$defs": {
                "expr": {"anyOf": [{"type": "number"}, {"$ref": "#/$defs/pair"}, {"type": extra}]},
                "pair": {"type": "array", "prefixItems": [{"$ref": "#/$defs/expr"}, {"$ref": "#/$defs/expr"}]},
            },
            "$ref": "#/$defs/expr",
        }

    assert diff_schemas(side(schema("string")), side(schema("string"))) == []
    assert "anyof.branch.added" in change_ids(schema("string"), {
        "$defs": {
            "expr": {"anyOf": [{"type": "number"}, {"$ref": "#/$defs/pair"}, {"type": "string"}, {"type": "boolean"}]},
            "pair": {"type": "array", "prefixItems": [{"$ref": "#/$defs/expr"}, {"$ref": "#/$defs/expr"}]},
        },
        "$ref": "#/$defs/expr",
    })  # fmt: skip


DRAFT7 = "http://json-schema.org/draft-07/schema#"


def test_draft07_definitions_and_ref_siblings_ignored() -> None:
    def schema(n: int, sibling: int) -> dict[str, Any]:
        return {
            "$schema": DRAFT7,
            "definitions": {"code": {"type": "string", "maxLength": n}},
            "type": "object",
            # in draft-07, keywords beside $ref are ignored: changing maxLength here is not a change
            "properties": {"code": {"$ref": "#/definitions/code", "maxLength": sibling}},
        }

    assert diff_schemas(side(schema(5, 1)), side(schema(5, 2))) == []
    (change,) = diff_schemas(side(schema(5, 1)), side(schema(3, 1)))
    assert change.change == "limit.tightened"
    assert change.new is not None and change.new.pointer == "/definitions/code/maxLength"


def test_2020_ref_siblings_apply() -> None:
    def schema(sibling: int) -> dict[str, Any]:
        return {"$defs": {"code": {"type": "string"}}, "$ref": "#/$defs/code", "maxLength": sibling}

    assert change_ids(schema(5), schema(3)) == ["limit.tightened"]


def test_draft07_tuple_items_and_additional_items() -> None:
    def schema(second: str, additional: Any) -> dict[str, Any]:
        return {"$schema": DRAFT7, "type": "array", "items": [{"type": "string"}, {"type": second}],
                "additionalItems": additional}  # fmt: skip

    changes = diff_schemas(side(schema("integer", True)), side(schema("number", False)))
    assert [(c.change, c.path) for c in changes] == [("type.widened", "/1"), ("schema.forbidden", "/*")]


def test_draft07_against_2020_12_equivalent_tuple() -> None:
    old = {"$schema": DRAFT7, "type": "array", "items": [{"type": "string"}], "additionalItems": False}
    new = {"type": "array", "prefixItems": [{"type": "string"}], "items": False}
    assert diff_schemas(side(old), side(new)) == []


def test_nullable_via_anyof_with_ref() -> None:
    old = {"$defs": {"m": {"type": "object"}}, "type": "object", "properties": {"m": {"$ref": "#/$defs/m"}}}
    new = {
        "$defs": {"m": {"type": "object"}},
        "type": "object",
        "properties": {"m": {"anyOf": [{"$ref": "#/$defs/m"}, {"type": "null"}], "description": "optional"}},
    }
    assert change_ids(old, new) == ["type.nullable.added"]
    assert change_ids(new, old) == ["type.nullable.removed"]


def test_type_list_equals_union_of_types() -> None:
    old = {"type": ["string", "null"], "maxLength": 3}
    new = {"anyOf": [{"type": "string", "maxLength": 3}, {"type": "null"}]}
    assert diff_schemas(side(old), side(new)) == []


def test_changed_union_branch_is_compared_not_replaced() -> None:
    old = {"oneOf": [{"type": "string", "maxLength": 5}, {"type": "integer"}]}
    new = {"oneOf": [{"type": "string", "maxLength": 9}, {"type": "integer"}]}
    assert change_ids(old, new) == ["limit.loosened"]


def test_integer_bounds_normalised() -> None:
    assert change_ids({"type": "integer", "exclusiveMinimum": 4}, {"type": "integer", "minimum": 5}) == []
    assert change_ids({"type": "number", "exclusiveMinimum": 4}, {"type": "number", "minimum": 5}) == [
        "limit.tightened"
    ]


def test_decimal_multiple_of_is_exact() -> None:
    assert change_ids({"type": "number", "multipleOf": 0.01}, {"type": "number", "multipleOf": 0.1}) == [
        "limit.tightened"
    ]
    assert change_ids({"type": "number", "multipleOf": 0.1}, {"type": "number", "multipleOf": 0.01}) == [
        "limit.loosened"
    ]


def test_annotations_are_not_changes() -> None:
    old = {"type": "string", "title": "A", "description": "x", "examples": ["a"], "default": "a"}
    new = {"type": "string", "title": "B", "description": "y", "examples": ["b"], "deprecated": True}
    assert diff_schemas(side(old), side(new)) == []


def test_enum_implies_type() -> None:
    assert change_ids({"enum": ["a", "b"]}, {"type": "string", "enum": ["a", "b"]}) == []


def test_property_added_under_pattern_properties_is_open() -> None:
    old = {"type": "object", "additionalProperties": False, "patternProperties": {"^x_": {}}}
    new = {"type": "object", "additionalProperties": False, "patternProperties": {"^x_": {}},
           "properties": {"x_a": {"type": "string"}}}  # fmt: skip
    (change,) = diff_schemas(side(old), side(new))
    assert change.change == "property.added.optional" and change.model is not None
    assert change.model.value == "open"


def test_unresolvable_ref_raises_with_location() -> None:
    with pytest.raises(UnresolvableRef) as info:
        diff_schemas(side({"type": "string"}), side({"$ref": "missing.json"}))
    assert "missing.json" in str(info.value)


def test_side_uri_defaults_to_resolver_base() -> None:
    from hipponot_pubsub.generator.compat import Side

    s = side({"type": "string"})
    assert Side(s.schema, s.resolver).base_uri == ROOT


def test_local_refs_in_two_version_files_are_the_same_target() -> None:
    schema = {"$defs": {"line": {"type": "string"}}, "type": "array", "items": {"$ref": "#/$defs/line"}}
    old = side(schema, uri="file:///order.v1.json")
    new = side(schema, uri="file:///order.v2.json")
    assert diff_schemas(old, new) == []


def test_union_branches_paired_by_discriminator() -> None:
    def branch(kind: str, **props: Any) -> dict[str, Any]:
        return {"type": "object", "required": ["kind"], "properties": {"kind": {"const": kind}, **props}}

    old = {"oneOf": [branch("card", last4={"type": "string"}), branch("cash")]}
    new = {"oneOf": [branch("voucher"), branch("cash"), branch("card", last4={"type": "string", "maxLength": 4})]}
    changes = diff_schemas(side(old), side(new))
    assert sorted(c.change for c in changes) == ["limit.added", "oneof.branch.added.disjoint"]
    added = next(c for c in changes if c.change == "oneof.branch.added.disjoint")
    assert added.new is not None and added.new.pointer == "/oneOf/0"
