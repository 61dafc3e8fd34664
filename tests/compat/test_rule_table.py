"""Table-driven: one case per change type, each direction, each rule set; then nested and $ref'd variants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hipponot_pubsub.generator.compat import RULES, Direction, compare, diff_schemas
from hipponot_pubsub.generator.compat.diff import NEUTRAL_CHANGES

from .cases import CASES, Case
from .helpers import ROOT, side

RULE_SETS = ("strict", "lenient")


def verdict(findings: list[Any]) -> str:
    """The notation of cases.py for the (single) non-neutral finding, or "" when it breaks nothing."""
    breaking = [f for f in findings if f.breaks]
    broken = {d for f in breaking for d in f.breaks}
    text = ("B" if Direction.BACKWARD in broken else "") + ("F" if Direction.FORWARD in broken else "")
    return text + ("?" if any(f.undecidable for f in breaking) else "")


def expected(case: Case, rules: str) -> str:
    return case.strict if rules == "strict" else case.lenient


@pytest.mark.parametrize("rules", RULE_SETS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_change_verdict(case: Case, rules: str) -> None:
    changes = diff_schemas(side(case.old), side(case.new))
    ids = [c.change for c in changes]
    assert case.change in ids, f"expected {case.change}, got {ids}"
    others = [i for i in ids if i != case.change and i not in NEUTRAL_CHANGES]
    assert not others, f"unexpected extra changes {others}"
    findings = compare(side(case.old), side(case.new), rules=rules)
    assert verdict(findings) == expected(case, rules)
    for finding in findings:
        assert finding.message.count(":") >= 2 and finding.detail in finding.message


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_identical_schemas_have_no_findings(case: Case) -> None:
    assert diff_schemas(side(case.old), side(case.old)) == []
    assert diff_schemas(side(case.new), side(case.new)) == []


def test_every_rule_has_a_case() -> None:
    covered = {c.change for c in CASES} | {"version.removed", "event.removed"}  # registry-level: test_compare
    missing = sorted({r.change for r in RULES} - covered)
    assert not missing, f"rules without a table case: {missing}"


# --- the same cases, one level down ---------------------------------------------------------------------


def _hoist(schema: Any) -> tuple[Any, Any]:
    """Split "$defs" off a case schema so "#/$defs/..." refs still resolve when the schema is nested."""
    if isinstance(schema, dict) and "$defs" in schema:
        rest = {k: v for k, v in schema.items() if k != "$defs"}
        return rest, schema["$defs"]
    return schema, None


def in_property(schema: Any) -> dict[str, Any]:
    inner, defs = _hoist(schema)
    out: dict[str, Any] = {
        "type": "object",
        "properties": {"outer": {"type": "object", "properties": {"inner": inner}}},
    }
    if defs:
        out["$defs"] = defs
    return out


def in_items(schema: Any) -> dict[str, Any]:
    inner, defs = _hoist(schema)
    out: dict[str, Any] = {"type": "object", "properties": {"lines": {"type": "array", "items": inner}}}
    if defs:
        out["$defs"] = defs
    return out


Wrapper = Callable[[Any], dict[str, Any]]
WRAPPERS: dict[str, tuple[Wrapper, str, str]] = {
    "nested property": (in_property, "/outer/inner", "/properties/outer/properties/inner"),
    "array items": (in_items, "/lines/*", "/properties/lines/items"),
}


@pytest.mark.parametrize("rules", RULE_SETS)
@pytest.mark.parametrize("where", list(WRAPPERS))
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_nested_change_verdict(case: Case, where: str, rules: str) -> None:
    wrap, data_path, schema_pointer = WRAPPERS[where]
    findings = compare(side(wrap(case.old)), side(wrap(case.new)), rules=rules)
    assert case.change in [f.change for f in findings]
    assert verdict(findings) == expected(case, rules)
    for finding in findings:
        assert finding.path.startswith(data_path)
        for loc in (finding.old, finding.new):
            if loc is not None and loc.uri == ROOT and not loc.pointer.startswith("/$defs"):
                assert loc.pointer.startswith(schema_pointer), loc


SHARED = "file:///common/shared.json"


@pytest.mark.parametrize("rules", RULE_SETS)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_change_inside_referenced_file(case: Case, rules: str) -> None:
    """The event schema is unchanged; the shared file it references changed."""
    root = {"type": "object", "properties": {"payload": {"$ref": "common/shared.json"}}}
    old, new = side(root, {SHARED: case.old}), side(root, {SHARED: case.new})
    findings = compare(old, new, rules=rules)
    assert verdict(findings) == expected(case, rules)
    changed = [f for f in findings if f.change == case.change]
    assert changed
    for finding in changed:
        assert finding.path.startswith("/payload")
        located = finding.new or finding.old
        assert located is not None and located.uri == SHARED
        assert finding.message.startswith("common/shared.json#")
