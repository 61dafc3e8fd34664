"""One case per change type, written as (old schema, new schema) pairs with the expected verdicts.

Verdict notation: the directions that break ("B" = BACKWARD, "F" = FORWARD, "" = none), followed by "?" when
the checker cannot decide (and so treats the change as breaking).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

S: dict[str, Any] = {"type": "string"}
INT: dict[str, Any] = {"type": "integer"}


def obj(props: dict[str, Any], required: tuple[str, ...] = (), closed: bool = False, **extra: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    schema.update(extra)
    return schema


@dataclass(frozen=True)
class Case:
    name: str
    old: Any
    new: Any
    change: str
    strict: str
    lenient: str


DEFAULTED = {"type": "integer", "default": 0}

CASES: tuple[Case, ...] = (
    # properties (the content model of the side lacking the property decides the strict verdict)
    Case("optional added, open", obj({"a": S}), obj({"a": S, "b": INT}), "property.added.optional", "B", ""),
    Case("optional added, closed", obj({"a": S}, closed=True), obj({"a": S, "b": INT}, closed=True),
         "property.added.optional", "F", ""),
    Case("required added, open", obj({"a": S}), obj({"a": S, "b": INT}, ("b",)), "property.added.required", "B", "B"),
    Case("required added, closed", obj({"a": S}, closed=True), obj({"a": S, "b": INT}, ("b",), closed=True),
         "property.added.required", "BF", "B"),
    Case("required with default added, open", obj({"a": S}), obj({"a": S, "b": DEFAULTED}, ("b",)),
         "property.added.required.defaulted", "B", ""),
    Case("required with default added, closed", obj({"a": S}, closed=True),
         obj({"a": S, "b": DEFAULTED}, ("b",), closed=True), "property.added.required.defaulted", "BF", ""),
    Case("optional removed, open", obj({"a": S, "b": INT}), obj({"a": S}), "property.removed.optional", "F", ""),
    Case("optional removed, closed", obj({"a": S, "b": INT}, closed=True), obj({"a": S}, closed=True),
         "property.removed.optional", "B", ""),
    Case("required removed, open", obj({"a": S, "b": INT}, ("b",)), obj({"a": S}), "property.removed.required",
         "F", "F"),
    Case("required removed, closed", obj({"a": S, "b": INT}, ("b",), closed=True), obj({"a": S}, closed=True),
         "property.removed.required", "BF", "F"),
    Case("required with default removed, open", obj({"a": S, "b": DEFAULTED}, ("b",)), obj({"a": S}),
         "property.removed.required.defaulted", "F", ""),
    Case("required with default removed, closed", obj({"a": S, "b": DEFAULTED}, ("b",), closed=True),
         obj({"a": S}, closed=True), "property.removed.required.defaulted", "BF", ""),
    Case("became required", obj({"a": S}), obj({"a": S}, ("a",)), "required.added", "B", "B"),
    Case("became required, with default", obj({"b": DEFAULTED}), obj({"b": DEFAULTED}, ("b",)),
         "required.added.defaulted", "B", ""),
    Case("no longer required", obj({"a": S}, ("a",)), obj({"a": S}), "required.removed", "F", "F"),
    Case("no longer required, with default", obj({"b": DEFAULTED}, ("b",)), obj({"b": DEFAULTED}),
         "required.removed.defaulted", "F", ""),
    Case("model closed", obj({"a": S}), obj({"a": S}, closed=True), "additional_properties.closed", "B", ""),
    Case("model opened", obj({"a": S}, closed=True), obj({"a": S}), "additional_properties.opened", "F", ""),
    Case("unevaluatedProperties false", obj({"a": S}), obj({"a": S}, unevaluatedProperties=False),
         "additional_properties.closed", "B", ""),
    Case("map values closed", obj({}, additionalProperties=S), obj({}, closed=True), "schema.forbidden", "B", "B"),
    Case("map values allowed", obj({}, closed=True), obj({}, additionalProperties=S), "schema.allowed", "F", "F"),
    Case("patternProperties added", obj({}), obj({}, patternProperties={"^x-": S}), "pattern_properties.added",
         "B", "B"),
    Case("patternProperties removed", obj({}, patternProperties={"^x-": S}), obj({}),
         "pattern_properties.removed", "F", "F"),
    Case("dependentRequired added", obj({"a": S, "b": S}), obj({"a": S, "b": S}, dependentRequired={"a": ["b"]}),
         "dependent_required.added", "B", "B"),
    Case("dependentRequired removed", obj({"a": S, "b": S}, dependentRequired={"a": ["b"]}), obj({"a": S, "b": S}),
         "dependent_required.removed", "F", "F"),
    Case("dependentSchemas added", obj({"a": S}), obj({"a": S}, dependentSchemas={"a": {"required": ["b"]}}),
         "dependent_schema.added", "B", "B"),
    Case("dependentSchemas removed", obj({"a": S}, dependentSchemas={"a": {"required": ["b"]}}), obj({"a": S}),
         "dependent_schema.removed", "F", "F"),
    # types
    Case("integer to number", INT, {"type": "number"}, "type.widened", "F", "F"),
    Case("string to [string, integer]", S, {"type": ["string", "integer"]}, "type.widened", "F", "F"),
    Case("number to integer", {"type": "number"}, INT, "type.narrowed", "B", "B"),
    Case("string to integer", S, INT, "type.changed", "BF", "BF"),
    Case("T to [T, null]", S, {"type": ["string", "null"]}, "type.nullable.added", "F", "F"),
    Case("T to anyOf [T, null]", S, {"anyOf": [S, {"type": "null"}]}, "type.nullable.added", "F", "F"),
    Case("[T, null] to T", {"type": ["string", "null"]}, S, "type.nullable.removed", "B", "B"),
    Case("type added", {}, S, "type.added", "B", "B"),
    Case("type removed", S, {}, "type.removed", "F", "F"),
    # values
    Case("enum value added", {"enum": ["a", "b"]}, {"enum": ["a", "b", "c"]}, "enum.value.added", "F", "F"),
    Case("enum value removed", {"enum": ["a", "b"]}, {"enum": ["a"]}, "enum.value.removed", "B", "B"),
    Case("enum added", S, {"type": "string", "enum": ["a"]}, "enum.added", "B", "B"),
    Case("enum removed", {"type": "string", "enum": ["a"]}, S, "enum.removed", "F", "F"),
    Case("const to enum", {"const": "a"}, {"enum": ["a", "b"]}, "enum.value.added", "F", "F"),
    # limits
    Case("maxLength tightened", {"type": "string", "maxLength": 20}, {"type": "string", "maxLength": 10},
         "limit.tightened", "B", "B"),
    Case("maxLength loosened", {"type": "string", "maxLength": 10}, {"type": "string", "maxLength": 20},
         "limit.loosened", "F", "F"),
    Case("minimum added", INT, {"type": "integer", "minimum": 0}, "limit.added", "B", "B"),
    Case("maximum removed", {"type": "integer", "maximum": 9}, INT, "limit.removed", "F", "F"),
    Case("minimum to exclusiveMinimum", {"type": "number", "minimum": 0}, {"type": "number", "exclusiveMinimum": 0},
         "limit.tightened", "B", "B"),
    Case("minItems tightened", {"type": "array", "minItems": 1}, {"type": "array", "minItems": 2},
         "limit.tightened", "B", "B"),
    Case("maxProperties loosened", {"type": "object", "maxProperties": 1}, {"type": "object", "maxProperties": 2},
         "limit.loosened", "F", "F"),
    Case("multipleOf to a multiple", {"type": "number", "multipleOf": 0.01}, {"type": "number", "multipleOf": 0.05},
         "limit.tightened", "B", "B"),
    Case("multipleOf unrelated", {"type": "integer", "multipleOf": 2}, {"type": "integer", "multipleOf": 3},
         "limit.changed", "BF", "BF"),
    Case("uniqueItems added", {"type": "array"}, {"type": "array", "uniqueItems": True}, "limit.added", "B", "B"),
    Case("pattern added", S, {"type": "string", "pattern": "^[a-z]+$"}, "pattern.added", "B", "B"),
    Case("pattern removed", {"type": "string", "pattern": "^[a-z]+$"}, S, "pattern.removed", "F", "F"),
    Case("pattern changed", {"type": "string", "pattern": "^[a-z]+$"}, {"type": "string", "pattern": "^[a-f]+$"},
         "pattern.changed", "BF?", "BF?"),
    Case("format added", S, {"type": "string", "format": "email"}, "format.added", "B", "B"),
    Case("format removed", {"type": "string", "format": "uuid"}, S, "format.removed", "F", "F"),
    Case("format changed", {"type": "string", "format": "date"}, {"type": "string", "format": "date-time"},
         "format.changed", "BF", "BF"),
    # arrays
    Case("items type widened", {"type": "array", "items": INT}, {"type": "array", "items": {"type": "number"}},
         "type.widened", "F", "F"),
    Case("contains added", {"type": "array"}, {"type": "array", "contains": INT}, "contains.added", "B", "B"),
    Case("contains removed", {"type": "array", "contains": INT}, {"type": "array"}, "contains.removed", "F", "F"),
    Case("unevaluatedItems folded into items", {"type": "array", "unevaluatedItems": S},
         {"type": "array", "unevaluatedItems": INT}, "type.changed", "BF", "BF"),
    Case("unevaluatedProperties changed", obj({}, unevaluatedProperties=S), obj({}, unevaluatedProperties=INT),
         "unevaluated.changed", "BF?", "BF?"),
    Case("additionalProperties schema added to an open model", obj({"a": S}),
         obj({"a": S}, additionalProperties={"type": "number"}), "additional_properties.restricted", "B", ""),
    Case("additionalProperties schema lifted", obj({"a": S}, additionalProperties={"type": "number"}),
         obj({"a": S}), "additional_properties.unrestricted", "F", ""),
    Case("not widened", {"not": {"type": "number"}}, {"not": {"type": "integer"}}, "not.widened", "F", "F"),
    Case("not narrowed", {"not": {"type": "integer"}}, {"not": {"type": "number"}}, "not.narrowed", "B", "B"),
    # $ref
    Case("ref target changed (same content)",
         {"$defs": {"a": S, "b": S}, "$ref": "#/$defs/a"}, {"$defs": {"a": S, "b": S}, "$ref": "#/$defs/b"},
         "ref.target.changed", "", ""),
    # composition
    Case("anyOf branch added", {"anyOf": [S, INT]}, {"anyOf": [S, INT, {"type": "boolean"}]}, "anyof.branch.added",
         "F", "F"),
    Case("anyOf branch removed", {"anyOf": [S, INT]}, {"anyOf": [S]}, "anyof.branch.removed", "B", "B"),
    Case("oneOf overlapping branch added", {"oneOf": [obj({"a": S}, ("a",))]},
         {"oneOf": [obj({"a": S}, ("a",)), obj({"b": S}, ("b",))]}, "oneof.branch.added", "BF?", "F"),
    Case("oneOf disjoint branch added", {"oneOf": [S, INT]}, {"oneOf": [S, INT, {"type": "boolean"}]},
         "oneof.branch.added.disjoint", "F", "F"),
    Case("oneOf overlapping branch removed", {"oneOf": [obj({"a": S}, ("a",)), obj({"b": S}, ("b",))]},
         {"oneOf": [obj({"a": S}, ("a",))]}, "oneof.branch.removed", "BF?", "B"),
    Case("oneOf disjoint branch removed", {"oneOf": [S, INT]}, {"oneOf": [S]}, "oneof.branch.removed.disjoint",
         "B", "B"),
    Case("anyOf became oneOf", {"anyOf": [obj({"a": S}, ("a",)), obj({"b": S}, ("b",))]},
         {"oneOf": [obj({"a": S}, ("a",)), obj({"b": S}, ("b",))]}, "anyof.became.oneof", "B?", ""),
    Case("oneOf became anyOf", {"oneOf": [obj({"a": S}, ("a",)), obj({"b": S}, ("b",))]},
         {"anyOf": [obj({"a": S}, ("a",)), obj({"b": S}, ("b",))]}, "oneof.became.anyof", "F?", ""),
    Case("anyOf added next to keywords", obj({"a": S, "b": S}),
         obj({"a": S, "b": S}, anyOf=[{"required": ["a"]}, {"required": ["b"]}]), "anyof.added", "B", "B"),
    Case("anyOf removed next to keywords", obj({"a": S, "b": S}, anyOf=[{"required": ["a"]}, {"required": ["b"]}]),
         obj({"a": S, "b": S}), "anyof.removed", "F", "F"),
    Case("oneOf added next to keywords", obj({"a": S}), obj({"a": S}, oneOf=[{"required": ["a"]}, {"required": []}]),
         "oneof.added", "B", "B"),
    Case("oneOf removed next to keywords", obj({"a": S}, oneOf=[{"required": ["a"]}, {"required": []}]),
         obj({"a": S}), "oneof.removed", "F", "F"),
    Case("allOf branch added", obj({"a": S}), obj({"a": S}, allOf=[{"required": ["a"]}]), "required.added", "B", "B"),
    Case("not added", S, {"type": "string", "not": {"const": ""}}, "not.added", "B", "B"),
    Case("not removed", {"type": "string", "not": {"const": ""}}, S, "not.removed", "F", "F"),
    Case("not changed", {"type": "string", "not": {"const": ""}}, {"type": "string", "not": {"const": "x"}},
         "not.changed", "BF?", "BF?"),
    Case("if/then added", obj({"a": S}), obj({"a": S}, **{"if": {"required": ["a"]}, "then": {"required": ["b"]}}),
         "conditional.added", "B", "B"),
    Case("if/then removed", obj({"a": S}, **{"if": {"required": ["a"]}, "then": {"required": ["b"]}}),
         obj({"a": S}), "conditional.removed", "F", "F"),
    Case("if/then changed", obj({"a": S}, **{"if": {"required": ["a"]}, "then": {"required": ["b"]}}),
         obj({"a": S}, **{"if": {"required": ["a"]}, "then": {"required": ["c"]}}), "conditional.changed",
         "BF?", "BF?"),
    Case("false subschema", {"type": "array", "items": S}, {"type": "array", "items": False}, "schema.forbidden",
         "B", "B"),
)  # fmt: skip
