"""Levels over an event's history, registry-wide checks against a baseline, the accept list, formats."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hipponot_pubsub.generator.compat import (
    EventHistory,
    Level,
    Severity,
    apply_accept,
    check_event,
    check_registry,
    parse_accept,
)
from hipponot_pubsub.generator.compat.formats import format_github, format_json, format_text
from hipponot_pubsub.generator.compat.levels import LEVEL_NAMES

from .helpers import side


def order(**props: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"id": {"type": "string"}, **props}, "required": ["id"]}


V1 = order()
V2 = order(note={"type": "string", "maxLength": 10})
V3 = order(note={"type": "string", "maxLength": 20})  # loosened vs v2; vs v1 only "added optional"


def history(*schemas: dict[str, Any]) -> dict[int, Any]:
    return {n: side(s, uri=f"file:///order.v{n}.json") for n, s in enumerate(schemas, start=1)}


def test_level_parsing() -> None:
    assert [Level.parse(n).name for n in LEVEL_NAMES] == list(LEVEL_NAMES)
    full = Level.parse("full_transitive")
    assert full.transitive and len(full.directions) == 2
    with pytest.raises(ValueError, match="unknown compatibility level"):
        Level.parse("SIDEWAYS")


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("BACKWARD", {(2, 3, "limit.loosened", Severity.WARNING)}),
        ("FORWARD", {(2, 3, "limit.loosened", Severity.ERROR)}),
        ("FULL", {(2, 3, "limit.loosened", Severity.ERROR)}),
        ("FULL_TRANSITIVE", {(2, 3, "limit.loosened", Severity.ERROR)}),
        ("NONE", set()),
    ],
)
def test_levels_pick_directions(level: str, expected: set[tuple[Any, ...]]) -> None:
    findings = check_event("order.placed", history(V1, V2, V3), Level.parse(level), rules="lenient")
    got = {(f.old_version, f.new_version, f.change, f.severity) for f in findings if f.breaks}
    assert got == expected


def test_transitive_compares_with_every_earlier_version() -> None:
    plain = check_event("e", history(V1, V2, V3), Level.parse("BACKWARD"), rules="strict")
    transitive = check_event("e", history(V1, V2, V3), Level.parse("BACKWARD_TRANSITIVE"), rules="strict")
    assert {(f.old_version, f.new_version) for f in plain} == {(1, 2), (2, 3)}
    assert {(f.old_version, f.new_version) for f in transitive} == {(1, 2), (2, 3), (1, 3)}
    v1_v3 = [f for f in transitive if (f.old_version, f.new_version) == (1, 3)]
    assert [f.change for f in v1_v3] == ["property.added.optional"]
    assert v1_v3[0].severity is Severity.ERROR  # strict: old data may carry "note" with another type
    assert "v1" in v1_v3[0].message and "v3" in v1_v3[0].message


def test_lenient_accepts_optional_field_strict_refuses() -> None:
    lenient = check_event("e", history(V1, V2), Level.parse("FULL"), rules="lenient")
    strict = check_event("e", history(V1, V2), Level.parse("FULL"), rules="strict")
    assert [f.severity for f in lenient] == [Severity.INFO]
    assert [f.severity for f in strict] == [Severity.ERROR]
    assert "generated subscribers ignore undeclared fields" in lenient[0].message


def test_registry_against_baseline() -> None:
    level = Level.parse("BACKWARD")
    baseline = {
        "order.placed": EventHistory(history(V1, V2), level),
        "order.cancelled": EventHistory(history(V1), level),
    }
    edited_v2 = order(note={"type": "string", "maxLength": 5})  # v2 edited in place: tightened
    current = {"order.placed": EventHistory({**history(V1, edited_v2), 3: history(V1, V2, V3)[3]}, level)}
    findings = check_registry(current, rules="lenient", baseline=baseline, against="main")
    got = [(f.event, f.old_version, f.new_version, f.change, f.severity) for f in findings]
    assert ("order.placed", 2, 2, "limit.tightened", Severity.ERROR) in got  # in-place edit: FULL
    assert ("order.placed", 2, 3, "limit.loosened", Severity.WARNING) in got  # new version vs edited v2
    assert ("order.cancelled", 1, 1, "event.removed", Severity.ERROR) in got
    assert ("order.placed", 1, 2, "property.added.optional", Severity.INFO) in got  # v2 edited: re-checked
    in_place = next(f for f in findings if f.old_version == f.new_version == 2)
    assert in_place.against == "main" and "v2@main" in in_place.message


def test_registry_baseline_version_removed_and_untouched_history_skipped() -> None:
    level = Level.parse("BACKWARD")
    baseline = {"e": EventHistory(history(V1, V2, V3), level)}
    current = {"e": EventHistory(history(V1, V2), level)}
    findings = check_registry(current, baseline=baseline, against="HEAD~1")
    assert [(f.change, f.new_version) for f in findings] == [("version.removed", 3)]


# --- accept list -----------------------------------------------------------------------------------------


def test_accept_parsing_reports_every_problem() -> None:
    entries, problems = parse_accept(
        [
            {"event": "order.placed", "version": 2, "change": "limit.tightened", "reason": "ADR-7"},
            {"event": "nope", "version": 0, "change": "made.up", "reason": " ", "pointer": "x", "colour": 1},
        ],
        known_events=["order.placed"],
    )
    assert len(entries) == 1 and entries[0].reason == "ADR-7"
    text = "\n".join(problems)
    for expected in (
        "unknown key(s) colour",
        "unknown event 'nope'",
        "'version' must be a positive integer",
        "'change' must be a change id",
        "'reason' is required",
        "'pointer' must be a JSON pointer",
    ):
        assert expected in text  # fmt: skip
    assert all(p.startswith("compat.accept[1]") for p in problems)


def test_accept_turns_error_into_accepted_and_reports_unused() -> None:
    findings = check_event("e", history(V1, V2, V3), Level.parse("FORWARD"))
    entries, problems = parse_accept(
        [
            {"event": "e", "version": 3, "change": "limit.loosened", "pointer": "/properties/note/maxLength",
             "reason": "consumers upgraded first"},
            {"event": "e", "version": 3, "change": "limit.loosened", "against": 1, "reason": "stale"},
        ]
    )  # fmt: skip
    assert not problems
    accepted, unused = apply_accept(findings, entries)
    loosened = next(f for f in accepted if f.change == "limit.loosened")
    assert loosened.severity is Severity.ACCEPTED and loosened.accepted == "consumers upgraded first"
    assert [e.index for e in unused] == [1]
    assert not any(f.severity is Severity.ERROR for f in accepted)


def test_accept_does_not_match_other_pointer() -> None:
    findings = check_event("e", history(V1, V2, V3), Level.parse("FORWARD"))
    entries, _ = parse_accept(
        [{"event": "e", "version": 3, "change": "limit.loosened", "pointer": "/properties/other", "reason": "r"}]
    )
    accepted, unused = apply_accept(findings, entries)
    assert any(f.severity is Severity.ERROR for f in accepted) and len(unused) == 1


# --- formats ---------------------------------------------------------------------------------------------


def _findings() -> list[Any]:
    findings = check_event("order.placed", history(V1, V2, V3), Level.parse("FORWARD"))
    return [f.__class__(**{**f.__dict__, "file": "schemas/order.v3.json"}) for f in findings]


def test_text_format_one_line_per_finding() -> None:
    findings = _findings()
    lines = format_text(findings).splitlines()
    assert len(lines) == len(findings) + 1
    assert lines[-1].startswith("incompatible: 1 error")
    error = next(line for line in lines if line.startswith("ERROR"))
    assert "order.placed v2→v3: [limit.loosened] /properties/note/maxLength: maxLength loosened from 10 to 20" in error
    assert error.endswith("(breaks FORWARD)")


def test_json_format() -> None:
    payload = json.loads(format_json(_findings(), rules="lenient"))
    assert payload["compatible"] is False and payload["rules"] == "lenient"
    error = next(f for f in payload["findings"] if f["severity"] == "error")
    assert error["change"] == "limit.loosened"
    assert error["breaks"] == ["FORWARD"]
    assert error["old_pointer"] == error["new_pointer"] == "/properties/note/maxLength"
    assert error["new"]["uri"] == "file:///order.v3.json"
    assert error["event"] == "order.placed" and (error["old_version"], error["new_version"]) == (2, 3)


def test_github_format_escapes() -> None:
    lines = format_github(_findings()).splitlines()
    error = next(line for line in lines if line.startswith("::error "))
    assert error.startswith("::error file=schemas/order.v3.json,title=order.placed v2→v3%3A limit.loosened::")
    assert "%0A" not in error and "\n" not in error
    assert any(line.startswith("::notice ") for line in lines)


def test_plain_schema_resolver_pairs_are_accepted() -> None:
    pairs = {n: (s.schema, s.resolver) for n, s in history(V1, V2, V3).items()}
    findings = check_event("e", pairs, "FORWARD_TRANSITIVE")
    assert {(f.old_version, f.new_version) for f in findings} == {(1, 2), (2, 3), (1, 3)}
    assert any(f.severity is Severity.ERROR and f.change == "limit.loosened" for f in findings)
