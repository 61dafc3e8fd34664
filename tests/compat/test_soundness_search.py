"""The checker's verdicts against a counter-example search, over generated schema pairs.

For every pair and each direction the strict rules call compatible, a bounded search must find no instance
valid under the writer's schema and invalid under the reader's (a "compatible" claim with a counter-example
is exactly the defect a CI gate must never have); and every counter-example a finding prints must be shown
by jsonschema to break. Pairs: the rule table's cases, the issue's fixtures, mutations of the example
registry (with the registry's resolver, so ``$ref``'d shared files take part) and recursive unions.

The search is seeded: a failure reproduces, and its message holds the instance. CI time is bounded by the
per-search budget (a candidate count, and a deadline as a backstop) times the number of pairs.
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hipponot_pubsub.generator.compat import Direction, Side, compare
from hipponot_pubsub.generator.compat.witness import Budget, search, validator

from .cases import CASES
from .helpers import side
from .test_decisive import union

REGISTRY = Path(__file__).resolve().parents[2] / "schemas"
#: jsonschema checks multipleOf with floats (FACTS.md): 16.15 "is not a multiple of" 0.01 — not our defect.
FLOAT_TRAP = {"multipleOf to a multiple"}
CLAIM = Budget(seconds=0.25, candidates=100, seed=1)
PROOF = Budget(seconds=0.25, candidates=400, seed=2)
#: Mutations per registry version (drawn with a fixed seed from the list in _mutations), to bound CI time.
PER_VERSION = 5

Pair = tuple[str, Side, Side]


def _case_pairs() -> Iterator[Pair]:
    for case in CASES:
        if case.name not in FLOAT_TRAP:
            yield f"case {case.name}", side(case.old), side(case.new)


def _issue_pairs() -> Iterator[Pair]:
    s, n = {"type": "string"}, {"type": "number"}
    pairs: dict[str, tuple[Any, Any]] = {
        "removed vs additionalProperties": ({"type": "object", "properties": {"bar": n}, "additionalProperties": False},
                                            {"type": "object", "additionalProperties": s}),
        "prefixItems shortened": ({"type": "array", "prefixItems": [s, n, n], "unevaluatedItems": s},
                                  {"type": "array", "prefixItems": [s, n], "unevaluatedItems": s}),
        "added under a map": ({"type": "object", "additionalProperties": s},
                              {"type": "object", "properties": {"bar": n}, "additionalProperties": s}),
        "empty branch removed": ({"anyOf": [s, {"allOf": [n, s]}]}, {"anyOf": [s]}),
        "covered by patternProperties": ({"type": "object", "patternProperties": {"^f": n}},
                                         {"type": "object", "patternProperties": {"^f": n}, "properties": {"foo": n}}),
        "not number to not integer": ({"not": n}, {"not": {"type": "integer"}}),
        "anyOf to disjoint oneOf": ({"anyOf": [s]}, {"oneOf": [n, s]}),
        "unevaluatedItems covers items": ({"type": "array", "items": s}, {"type": "array", "unevaluatedItems": s}),
        "true property on an open model": ({"type": "object"}, {"type": "object", "properties": {"foo": True}}),
    }  # fmt: skip
    for name, (old, new) in pairs.items():
        yield f"issue {name}", side(old), side(new)
        yield f"issue {name} (reversed)", side(new), side(old)


def _union_pairs() -> Iterator[Pair]:
    for width in (3, 12):
        yield f"union {width} changed", side(union(width)), side(union(width, changed=1))
        shorter = union(width)
        del shorter["$defs"]["node"]["oneOf"][-1]
        yield f"union {width} branch removed", side(union(width)), side(shorter)
        yield f"union {width} branch added", side(shorter), side(union(width))
        reordered = union(width)
        reordered["$defs"]["node"]["oneOf"].reverse()
        yield f"union {width} reordered", side(union(width)), side(reordered)


def _mutations(schema: dict[str, Any], rng: random.Random) -> Iterator[tuple[str, dict[str, Any]]]:
    """Edits a developer makes between versions, each on a copy (outside ``$defs``, which refs read)."""
    props = sorted(schema.get("properties", {}))
    required = list(schema.get("required", []))
    if not props:
        return
    name = rng.choice(props)

    def edit(what: str, change: Any) -> tuple[str, dict[str, Any]]:
        mutated = copy.deepcopy(schema)
        change(mutated)
        return f"{what} {name}", mutated

    def remove(m: dict[str, Any]) -> None:
        del m["properties"][name]
        m["required"] = [r for r in m.get("required", []) if r != name]

    yield edit("remove", remove)
    yield edit("require", lambda m: m.setdefault("required", []).append(name) if name not in required else None)
    yield edit("retype", lambda m: m["properties"].__setitem__(name, {"type": "integer"}))
    yield edit("nullable", lambda m: m["properties"].__setitem__(name, {"anyOf": [m["properties"][name],
                                                                                   {"type": "null"}]}))  # fmt: skip
    yield edit("add optional next to", lambda m: m["properties"].__setitem__("zz_new", {"type": "integer"}))
    yield edit("open the model at", lambda m: m.pop("additionalProperties", None))
    yield edit("close the model at", lambda m: m.__setitem__("additionalProperties", False))
    if name in required:
        yield edit("unrequire", lambda m: m.__setitem__("required", [r for r in m["required"] if r != name]))


def _registry_pairs() -> Iterator[Pair]:
    from hipponot_pubsub.generator.registry import lint_registry

    registry, problems = lint_registry(REGISTRY)
    assert registry is not None and not problems, problems
    rng = random.Random(22)
    for event_name, event in sorted(registry.events.items()):
        for number, version in sorted(event.versions.items()):
            if not isinstance(version.schema, dict):
                continue
            original = Side(version.schema, registry.resolver(version.uri), uri=version.uri)
            mutations = list(_mutations(version.schema, rng))
            for what, mutated in rng.sample(mutations, min(PER_VERSION, len(mutations))):
                edited = Side(mutated, registry.resolver(version.uri), uri=version.uri)
                yield f"{event_name} v{number}: {what}", original, edited
                yield f"{event_name} v{number}: undo {what}", edited, original


def all_pairs() -> list[Pair]:
    return [*_case_pairs(), *_issue_pairs(), *_union_pairs(), *_registry_pairs()]


def test_every_verdict_survives_the_search() -> None:
    start = time.perf_counter()
    defects: list[str] = []
    claims = proofs = unproven = 0
    pairs = all_pairs()
    for label, old, new in pairs:
        findings = compare(old, new, rules="strict", search=PROOF)
        broken = {d for f in findings for d in f.breaks}
        for direction in Direction:
            if direction in broken:
                continue
            claims += 1
            writer, reader = (old, new) if direction is Direction.BACKWARD else (new, old)
            found = search(writer, reader, CLAIM)
            if found:
                defects.append(f"{label}: claimed {direction.value} compatible, but {found[0].instance!r} breaks it")
        for finding in findings:
            example = finding.counterexample
            if example is None:
                unproven += bool(finding.breaks)
                continue
            proofs += 1
            writer, reader = (old, new) if example.direction is Direction.BACKWARD else (new, old)
            if not (validator(writer).is_valid(example.instance) and not validator(reader).is_valid(example.instance)):
                defects.append(f"{label}: {finding.change} printed {example.instance!r}, which breaks nothing")
    elapsed = time.perf_counter() - start
    print(f"{len(pairs)} pairs, {claims} compatible claims searched, {proofs} counter-examples checked, "
          f"{unproven} breaking findings without one, {elapsed:.1f} s")  # fmt: skip
    assert len(pairs) > 150 and claims > 100 and proofs > 100
    assert not defects, "\n".join(defects)


@pytest.mark.parametrize("label", ["case type removed", "issue removed vs additionalProperties"])
def test_the_search_finds_a_known_break(label: str) -> None:
    """The property test is only as good as its search: it must find breaks that exist."""
    (_, old, new) = next(p for p in all_pairs() if p[0] == label)
    writer_reader = (new, old) if label == "case type removed" else (old, new)
    assert search(*writer_reader, CLAIM)
