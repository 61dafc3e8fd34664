"""A flattened, keyword-by-keyword view of one side of a comparison.

JSON Schema lets a constraint live in many places: inline, behind a ``$ref``, in any branch of an ``allOf``.
Two schemas that say the same thing in different shapes (an inline object moved into ``$defs``; a base type
mixed in with ``allOf``) must compare equal, and a change must be found wherever it was made. So before
comparing, each side's conjuncts (the node, its ``$ref`` targets, its ``allOf`` branches, recursively) are
collected and their keywords merged as a validator would combine them: types and enums intersect, limits
take the tightest value, properties and required names are gathered. Each merged value remembers the node it
came from, so findings point at the file and JSON pointer where the keyword is written.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .nodes import Node

JSON_TYPES = ("null", "boolean", "object", "array", "number", "integer", "string")

#: Keywords that constrain data. Anything else (title, description, default, examples, $defs, $comment,
#: contentMediaType, unknown vendor keywords ...) is an annotation and never changes compatibility.
VALIDATION_KEYWORDS = frozenset(
    {
        "type", "enum", "const",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "minLength", "maxLength", "pattern", "format",
        "items", "prefixItems", "additionalItems", "unevaluatedItems", "contains", "minContains", "maxContains",
        "minItems", "maxItems", "uniqueItems",
        "properties", "patternProperties", "additionalProperties", "unevaluatedProperties", "required",
        "propertyNames", "minProperties", "maxProperties", "dependentRequired", "dependentSchemas",
        "dependencies",
        "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
        "$ref", "$dynamicRef",
    }
)  # fmt: skip

#: Size keywords: (keyword, True when a larger value is tighter).
SIZE_KEYWORDS = {
    "string": (("minLength", True), ("maxLength", False)),
    "array": (("minItems", True), ("maxItems", False), ("minContains", True), ("maxContains", False)),
    "object": (("minProperties", True), ("maxProperties", False)),
}


def canonical(value: Any) -> str:
    """A key for JSON equality: 1 == 1.0, true != 1, object key order ignored."""
    return json.dumps(_normal(value), sort_keys=True, separators=(",", ":"))


def _normal(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(k): _normal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    return value


def json_type(value: Any) -> str:
    """The JSON type of a value (integers are reported as "integer", which "number" also admits)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def normalise_types(types: Iterable[str]) -> frozenset[str]:
    """A type set where "number" also lists "integer" (it admits every integer), so set algebra just works."""
    out = set(types)
    if "number" in out:
        out.add("integer")
    return frozenset(out)


def show_types(types: frozenset[str] | None) -> str:
    if types is None:
        return "any"
    shown = sorted(t for t in types if not (t == "integer" and "number" in types))
    return shown[0] if len(shown) == 1 else "[" + ", ".join(shown) + "]"


def families(types: frozenset[str] | None) -> frozenset[str] | None:
    """Types with integer and number folded together, for pairing union branches."""
    if types is None:
        return None
    return frozenset("number" if t == "integer" else t for t in types)


def number(value: Any) -> Fraction | None:
    """An exact number (so multipleOf 0.01 divides 19.99), or None for non-numbers and booleans."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return Fraction(str(value)) if isinstance(value, float) else Fraction(value)


@dataclass(frozen=True)
class Bound:
    """A numeric bound: its value, whether it is exclusive, the keyword and node that set it."""

    value: Fraction
    exclusive: bool
    keyword: str
    raw: Any
    node: Node

    def normalised(self, integers_only: bool, lower: bool) -> tuple[Fraction, bool]:
        """For integer-only data, ``exclusiveMinimum: 4`` and ``minimum: 5`` are the same bound."""
        if not integers_only:
            return self.value, self.exclusive
        if lower:
            return Fraction(math.floor(self.value) + 1 if self.exclusive else math.ceil(self.value)), False
        return Fraction(math.ceil(self.value) - 1 if self.exclusive else math.floor(self.value)), False


@dataclass(frozen=True)
class Value:
    """A merged keyword value and the node that contributed it."""

    value: Any
    node: Node


@dataclass
class ObjectPart:
    """What one conjunct says about undeclared property names (for the content model and its changes)."""

    node: Node
    declared: frozenset[str]
    patterns: tuple[str, ...]
    additional: Node | None  # the additionalProperties subschema, if written
    unevaluated: Node | None  # the unevaluatedProperties subschema, if written


@dataclass
class ArrayPart:
    """What one conjunct says about array positions: leading (tuple) items and the rest."""

    node: Node
    prefix: list[Node]
    rest: Node | None


@dataclass
class Disjunction:
    """One anyOf/oneOf keyword: where it is written and its branches."""

    kind: str
    node: Node
    branches: list[Node]


@dataclass
class View:
    """Every keyword of one side, merged across its conjuncts."""

    conjuncts: list[Node]
    ref_nodes: list[Node] = field(default_factory=list)
    false: Node | None = None
    types: frozenset[str] | None = None
    type_node: Node | None = None
    enum: dict[str, Any] | None = None
    enum_node: Node | None = None
    enum_keyword: str = "enum"
    lower: Bound | None = None
    upper: Bound | None = None
    sizes: dict[str, Value] = field(default_factory=dict)
    multiple_of: dict[Fraction, Value] = field(default_factory=dict)
    unique_items: Node | None = None
    patterns: dict[str, Node] = field(default_factory=dict)
    formats: dict[str, Node] = field(default_factory=dict)
    properties: dict[str, list[Node]] = field(default_factory=dict)
    required: dict[str, Node] = field(default_factory=dict)
    object_parts: list[ObjectPart] = field(default_factory=list)
    pattern_properties: dict[str, list[Node]] = field(default_factory=dict)
    property_names: list[Node] = field(default_factory=list)
    dependent_required: dict[tuple[str, str], Node] = field(default_factory=dict)
    dependent_schemas: dict[str, list[Node]] = field(default_factory=dict)
    array_parts: list[ArrayPart] = field(default_factory=list)
    contains: list[Node] = field(default_factory=list)
    disjunctions: list[Disjunction] = field(default_factory=list)
    nots: list[Node] = field(default_factory=list)
    conditionals: list[Node] = field(default_factory=list)
    unevaluated_items: list[Node] = field(default_factory=list)
    validating: bool = False  # any validation keyword besides $ref/allOf/anyOf/oneOf

    def allows(self, json_kind: str) -> bool:
        """Whether data of that JSON type can be valid here (so its keywords matter)."""
        if self.types is None:
            return True
        if json_kind == "number":
            return "integer" in self.types or "number" in self.types
        return json_kind in self.types

    @property
    def pure_union(self) -> Disjunction | None:
        """The single anyOf/oneOf this side *is*, when nothing else constrains it."""
        if self.validating or self.false is not None or len(self.disjunctions) != 1:
            return None
        return self.disjunctions[0]

    @property
    def object_node(self) -> Node:
        """The conjunct that reads as "the object schema" (for locating property findings)."""
        for node in self.conjuncts:
            if "properties" in node.mapping:
                return node
        return self.conjuncts[0]


def expand(nodes: Iterable[Node], refs: list[Node] | None = None) -> list[Node]:
    """The conjuncts of a list of nodes: each node, its ``$ref`` targets and ``allOf`` branches, recursively.

    A cycle (a schema that refers to itself through ``$ref``) stops at the first repeat. Nodes holding a
    ``$ref`` are also appended to ``refs`` (in draft-07 they are not conjuncts: ``$ref`` replaces them).
    """
    out: list[Node] = []
    refs = refs if refs is not None else []
    seen: set[tuple[str, str, tuple[str, ...]]] = set()

    def visit(node: Node) -> None:
        if node.key in seen:
            return
        seen.add(node.key)
        mapping = node.mapping
        for keyword in ("$ref", "$dynamicRef"):
            if isinstance(mapping.get(keyword), str):
                refs.append(node)
                target = node.follow(keyword)
                if node.ref_overrides_siblings:
                    visit(target)
                    return
                out.append(node)
                visit(target)
                break
        else:
            out.append(node)
        branches = mapping.get("allOf")
        if isinstance(branches, list):
            for index in range(len(branches)):
                visit(node.child("allOf", index))

    for node in nodes:
        visit(node)
    return out


def build_view(nodes: Iterable[Node], restrict: frozenset[str] | None = None) -> View:
    """Merge the keywords of ``nodes`` (expanded) into one :class:`View`; ``restrict`` limits the types."""
    refs: list[Node] = []
    conjuncts = expand(nodes, refs)
    view = View(conjuncts=conjuncts, ref_nodes=refs)
    if restrict is not None:
        view.types = restrict
    for node in conjuncts:
        if node.schema is False:
            view.false = view.false or node
            continue
        _merge(view, node)
    if view.enum is not None and view.types is not None:
        view.enum = {k: v for k, v in view.enum.items() if json_type(v) in view.types}
    return view


def _merge(view: View, node: Node) -> None:
    s = node.mapping
    if any(k in VALIDATION_KEYWORDS for k in s if k not in ("$ref", "$dynamicRef", "allOf", "anyOf", "oneOf")):
        view.validating = True
    _merge_values(view, node, s)
    _merge_numbers(view, node, s)
    _merge_strings(view, node, s)
    _merge_objects(view, node, s)
    _merge_arrays(view, node, s)
    for kind in ("anyOf", "oneOf"):
        if isinstance(s.get(kind), list):
            branches = [node.child(kind, i) for i in range(len(s[kind]))]
            view.disjunctions.append(Disjunction(kind, node, branches))
    if "not" in s:
        view.nots.append(node.child("not"))
    if "if" in s:
        view.conditionals.append(node)


def _merge_values(view: View, node: Node, s: Mapping[str, Any]) -> None:
    if "type" in s:
        raw = s["type"]
        types = normalise_types([raw] if isinstance(raw, str) else [t for t in raw if isinstance(t, str)])
        view.types = types if view.types is None else view.types & types
        view.type_node = view.type_node or node
    for keyword in ("const", "enum"):
        if keyword not in s or (keyword == "enum" and not isinstance(s[keyword], list)):
            continue
        values = [s["const"]] if keyword == "const" else list(s["enum"])
        found = {canonical(v): v for v in values}
        if view.enum is None:
            view.enum, view.enum_node, view.enum_keyword = found, node, keyword
        else:
            view.enum = {k: v for k, v in view.enum.items() if k in found}


def _merge_numbers(view: View, node: Node, s: Mapping[str, Any]) -> None:
    for keyword, exclusive, lower in (
        ("minimum", False, True),
        ("exclusiveMinimum", True, True),
        ("maximum", False, False),
        ("exclusiveMaximum", True, False),
    ):
        value = number(s.get(keyword))
        if value is None:
            continue
        bound = Bound(value, exclusive, keyword, s[keyword], node)
        current = view.lower if lower else view.upper
        if current is None or _tighter(bound, current, lower):
            if lower:
                view.lower = bound
            else:
                view.upper = bound
    step = number(s.get("multipleOf"))
    if step is not None and step > 0:
        view.multiple_of.setdefault(step, Value(s["multipleOf"], node))


def _tighter(a: Bound, b: Bound, lower: bool) -> bool:
    if a.value != b.value:
        return a.value > b.value if lower else a.value < b.value
    return a.exclusive and not b.exclusive


def _merge_sizes(view: View, node: Node, s: Mapping[str, Any], kind: str) -> None:
    for keyword, larger_is_tighter in SIZE_KEYWORDS[kind]:
        value = s.get(keyword)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        current = view.sizes.get(keyword)
        if current is None or (value > current.value if larger_is_tighter else value < current.value):
            view.sizes[keyword] = Value(value, node)


def _merge_strings(view: View, node: Node, s: Mapping[str, Any]) -> None:
    _merge_sizes(view, node, s, "string")
    if isinstance(s.get("pattern"), str):
        view.patterns.setdefault(s["pattern"], node)
    if isinstance(s.get("format"), str):
        view.formats.setdefault(s["format"], node)


def _merge_objects(view: View, node: Node, s: Mapping[str, Any]) -> None:
    _merge_sizes(view, node, s, "object")
    props = s.get("properties") if isinstance(s.get("properties"), Mapping) else {}
    assert isinstance(props, Mapping)
    for name in props:
        view.properties.setdefault(name, []).append(node.child("properties", name))
    if isinstance(s.get("required"), list):
        for name in s["required"]:
            if isinstance(name, str):
                view.required.setdefault(name, node)
    patterns = s.get("patternProperties") if isinstance(s.get("patternProperties"), Mapping) else {}
    assert isinstance(patterns, Mapping)
    for pattern in patterns:
        view.pattern_properties.setdefault(pattern, []).append(node.child("patternProperties", pattern))
    if props or patterns or "additionalProperties" in s or "unevaluatedProperties" in s:
        view.object_parts.append(
            ObjectPart(
                node,
                frozenset(props),
                tuple(patterns),
                node.child("additionalProperties") if "additionalProperties" in s else None,
                node.child("unevaluatedProperties") if "unevaluatedProperties" in s else None,
            )
        )
    if "propertyNames" in s:
        view.property_names.append(node.child("propertyNames"))
    dependent: list[tuple[str, str, Any]] = []
    for keyword in ("dependentRequired", "dependentSchemas", "dependencies"):
        if isinstance(s.get(keyword), Mapping):
            dependent.extend((keyword, name, value) for name, value in s[keyword].items())
    for keyword, name, value in dependent:
        if isinstance(value, list):
            for dep in value:
                view.dependent_required.setdefault((name, str(dep)), node)
        else:
            view.dependent_schemas.setdefault(name, []).append(node.child(keyword, name))


def _merge_arrays(view: View, node: Node, s: Mapping[str, Any]) -> None:
    _merge_sizes(view, node, s, "array")
    if s.get("uniqueItems") is True:
        view.unique_items = view.unique_items or node
    prefix: list[Node] = []
    rest: Node | None = None
    if isinstance(s.get("prefixItems"), list):
        prefix = [node.child("prefixItems", i) for i in range(len(s["prefixItems"]))]
    items = s.get("items")
    if isinstance(items, list):  # draft-07 / 2019-09 tuple form
        prefix = [node.child("items", i) for i in range(len(items))]
        if "additionalItems" in s:
            rest = node.child("additionalItems")
    elif "items" in s:
        rest = node.child("items")
    if prefix or rest is not None:
        view.array_parts.append(ArrayPart(node, prefix, rest))
    if "contains" in s:
        view.contains.append(node.child("contains"))
    if "unevaluatedItems" in s:
        view.unevaluated_items.append(node.child("unevaluatedItems"))
