"""Issue 22's findings, one fixture each: misses (real breaks reported as safe), false alarms, undecided
cases the engine can decide, the lenient assumption named, and recursive unions of any width.

Each fixture is checked twice where it matters: the verdict, and jsonschema on the instance the issue gives,
so a test fails if the engine drifts or if the fixture stops meaning what it says.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from hipponot_pubsub.generator.compat import Direction, compare
from hipponot_pubsub.generator.compat.diff import MAX_NESTING, DiffStats, diff_schemas
from hipponot_pubsub.generator.compat.rules import ASSUME_FIELDS
from jsonschema import Draft202012Validator

from .helpers import side

S: dict[str, Any] = {"type": "string"}
N: dict[str, Any] = {"type": "number"}


def broken(old: Any, new: Any, rules: str = "strict") -> set[Direction]:
    return {d for f in compare(side(old), side(new), rules=rules) for d in f.breaks}


def valid(schema: Any, instance: Any) -> bool:
    return Draft202012Validator(schema).is_valid(instance)


# --- misses -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rules", ["strict", "lenient"])
def test_removed_property_is_compared_with_the_new_additional_properties(rules: str) -> None:
    old = {"type": "object", "properties": {"bar": N}, "additionalProperties": False}
    new = {"type": "object", "additionalProperties": S}
    assert valid(old, {"bar": 0}) and not valid(new, {"bar": 0})
    assert Direction.BACKWARD in broken(old, new, rules)


def test_shortened_prefix_items_meet_unevaluated_items() -> None:
    old = {"type": "array", "prefixItems": [S, N, N], "unevaluatedItems": S}
    new = {"type": "array", "prefixItems": [S, N], "unevaluatedItems": S}
    assert valid(old, ["a", 1, 1]) and not valid(new, ["a", 1, 1])
    assert Direction.BACKWARD in broken(old, new)


@pytest.mark.parametrize("rules", ["strict", "lenient"])
def test_property_added_where_a_map_typed_the_name(rules: str) -> None:
    old = {"type": "object", "additionalProperties": S}
    new = {"type": "object", "properties": {"bar": N}, "additionalProperties": S}
    assert valid(old, {"bar": ""}) and not valid(new, {"bar": ""})
    assert Direction.BACKWARD in broken(old, new, rules)


def test_lenient_acceptance_names_its_assumption() -> None:
    old = {"type": "object", "properties": {"a": S}}
    new = {"type": "object", "properties": {"a": S, "b": N}}
    (finding,) = compare(side(old), side(new), rules="lenient")
    assert not finding.breaks
    assert finding.assumption == ASSUME_FIELDS and ASSUME_FIELDS in finding.message
    (strict,) = compare(side(old), side(new), rules="strict")
    assert strict.assumption is None and strict.breaks


def test_lenient_open_to_map_is_as_lenient_as_open_to_closed() -> None:
    base = {"type": "object", "properties": {"a": S}}
    for narrowed in (False, {"type": "number"}):
        findings = compare(side(base), side({**base, "additionalProperties": narrowed}), rules="lenient")
        assert findings and not any(f.breaks for f in findings), narrowed
        assert all(f.assumption for f in findings)


# --- false alarms -------------------------------------------------------------------------------------------


def test_removing_a_branch_that_accepted_nothing_is_no_change() -> None:
    empty = {"allOf": [N, S]}
    assert broken({"anyOf": [S, empty]}, {"anyOf": [S]}) == set()
    assert broken({"oneOf": [S, empty]}, {"oneOf": [S]}) == set()
    assert broken({"anyOf": [S]}, {"anyOf": [S, False]}) == set()


@pytest.mark.parametrize(
    "lacking",
    [
        {"type": "object", "additionalProperties": N},
        {"type": "object", "patternProperties": {"^f": N}},
        {"type": "object", "unevaluatedProperties": N},
    ],
    ids=["additionalProperties", "patternProperties", "unevaluatedProperties"],
)
def test_property_already_typed_by_the_other_side_is_no_change(lacking: dict[str, Any]) -> None:
    having = {**lacking, "properties": {"foo": N}}
    assert broken(lacking, having) == set()
    assert broken(having, lacking) == set()


def test_required_still_counts_where_the_other_side_typed_the_name() -> None:
    lacking = {"type": "object", "additionalProperties": N}
    having = {**lacking, "properties": {"foo": N}, "required": ["foo"]}
    assert broken(lacking, having) == {Direction.BACKWARD}
    assert broken(having, lacking) == {Direction.FORWARD}


def test_true_property_on_an_open_model_is_no_change() -> None:
    assert broken({"type": "object"}, {"type": "object", "properties": {"foo": True}}) == set()
    assert broken({"type": "object", "properties": {"foo": {}}}, {"type": "object"}) == set()


def test_unevaluated_items_covering_items_is_no_change() -> None:
    assert broken({"type": "array", "items": S}, {"type": "array", "unevaluatedItems": S}) == set()
    assert broken({"type": "array", "prefixItems": [S], "items": N},
                  {"type": "array", "prefixItems": [S], "unevaluatedItems": N}) == set()  # fmt: skip


def test_additional_items_without_array_items_is_ignored() -> None:
    assert broken({"type": "array"}, {"type": "array", "additionalItems": False}) == set()


# --- decided now ---------------------------------------------------------------------------------------------


def test_not_is_read_the_other_way_round() -> None:
    findings = compare(side({"not": N}), side({"not": {"type": "integer"}}), rules="strict")
    assert [f.change for f in findings] == ["not.widened"]
    assert not any(f.undecidable for f in findings)
    assert broken({"not": N}, {"not": {"type": "integer"}}) == {Direction.FORWARD}
    assert valid({"not": {"type": "integer"}}, 1.5) and not valid({"not": N}, 1.5)  # the FORWARD break


def test_any_of_to_type_disjoint_one_of_is_decided() -> None:
    findings = compare(side({"anyOf": [S]}), side({"oneOf": [N, S]}), rules="strict")
    assert findings and not any(f.undecidable for f in findings)
    assert {d for f in findings for d in f.breaks} == {Direction.FORWARD}


# --- recursion -----------------------------------------------------------------------------------------------


def union(width: int, changed: int | None = None) -> dict[str, Any]:
    """A recursive tagged union of ``width`` branches; ``changed`` gives one branch another value type."""
    branches = [
        {
            "type": "object",
            "properties": {
                "kind": {"const": f"b{i}"},
                "value": S if i != changed else N,
                "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
            },
            "required": ["kind"],
        }
        for i in range(width)
    ]
    return {"$defs": {"node": {"oneOf": branches}}, "$ref": "#/$defs/node"}


def schema_size(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(schema_size(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(schema_size(v) for v in value)
    return 1


@pytest.mark.parametrize("width", [6, 12, 50])
def test_recursive_union_of_any_width(width: int) -> None:
    stats = DiffStats()
    start = time.perf_counter()
    changes = diff_schemas(side(union(width)), side(union(width, changed=width // 2)), stats=stats)
    elapsed = time.perf_counter() - start
    print(f"{width}-branch recursive union: {elapsed * 1000:.1f} ms, {stats}")
    assert [c.change for c in changes] == ["type.changed"]
    assert changes[0].path == "/value"
    # linear in the schema's size: a bounded number of comparisons per schema node, and a shallow stack
    assert stats.visits <= 4 * schema_size(union(width))
    assert stats.max_nesting < MAX_NESTING


def test_visits_grow_linearly_with_width() -> None:
    counts = []
    for width in (10, 20, 40):
        stats = DiffStats()
        diff_schemas(side(union(width)), side(union(width, changed=0)), stats=stats)
        counts.append(stats.visits + stats.sub_walks)
    assert counts[2] <= 2.5 * counts[1] <= 2.5 * 2.5 * counts[0], counts


def test_reordered_recursive_union_pairs_branches_by_content() -> None:
    old, new = union(50), union(50, changed=7)
    new["$defs"]["node"]["oneOf"].reverse()
    stats = DiffStats()
    changes = diff_schemas(side(old), side(new), stats=stats)
    assert [c.change for c in changes] == ["type.changed"]
    assert stats.sub_walks <= 3 * 50, stats


def test_every_lenient_acceptance_has_an_assumption() -> None:
    from hipponot_pubsub.generator.compat import RULES

    for rule in RULES:
        kinder = any(not rule.lenient.effect(d).breaking and rule.strict.effect(d).breaking for d in Direction)
        assert not kinder or rule.assumes, f"{rule.change} ({rule.model}) accepts under lenient rules silently"
