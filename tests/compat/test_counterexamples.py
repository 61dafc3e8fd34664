"""Counter-examples: every one printed is checked by jsonschema, on dict fixtures and through ``pubsub compat``.

The search is seeded, so these are reproducible; the assertions are about validity (the proof), never about
which instance was found, so a better generator does not break them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hipponot_pubsub.generator.compat import Direction, Side, compare
from hipponot_pubsub.generator.compat.model import Finding
from hipponot_pubsub.generator.compat.witness import Budget, search, validator

from .helpers import side
from .test_cli import Repo, order, pubsub_compat

BUDGET = Budget(seconds=2.0)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    """A committed registry with order.placed v1, as test_cli builds it."""
    made = Repo(tmp_path)
    made.write({1: order()})
    made.commit("v1")
    monkeypatch.chdir(tmp_path)
    return made


def proves(finding: Finding, old: Side, new: Side) -> bool:
    """Whether the finding's instance is valid under its writer and refused by its reader (jsonschema)."""
    example = finding.counterexample
    assert example is not None, finding.message
    writer, reader = (old, new) if example.direction is Direction.BACKWARD else (new, old)
    return validator(writer).is_valid(example.instance) and not validator(reader).is_valid(example.instance)


def test_each_miss_of_the_issue_gets_a_proof() -> None:
    pairs: list[tuple[Any, Any]] = [
        ({"type": "object", "properties": {"bar": {"type": "number"}}, "additionalProperties": False},
         {"type": "object", "additionalProperties": {"type": "string"}}),
        ({"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}, {"type": "number"}],
          "unevaluatedItems": {"type": "string"}},
         {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}],
          "unevaluatedItems": {"type": "string"}}),
        ({"type": "object", "additionalProperties": {"type": "string"}},
         {"type": "object", "properties": {"bar": {"type": "number"}}, "additionalProperties": {"type": "string"}}),
    ]  # fmt: skip
    for old_schema, new_schema in pairs:
        old, new = side(old_schema), side(new_schema)
        findings = [f for f in compare(old, new, rules="lenient", search=BUDGET) if Direction.BACKWARD in f.breaks]
        assert findings, (old_schema, new_schema)
        assert all(proves(f, old, new) for f in findings)


def test_a_counter_example_decides_an_undecided_finding() -> None:
    old = side({"type": "string", "pattern": "^[a-m]+$"})
    new = side({"type": "string", "pattern": "^[h-z]+$"})
    (undecided,) = compare(old, new, rules="strict")
    assert undecided.undecidable and "treated as breaking" in undecided.message
    (finding,) = compare(old, new, rules="strict", search=BUDGET)
    assert proves(finding, old, new)
    assert not finding.undecidable and "shown by a counter-example: breaks BACKWARD and FORWARD" in finding.message


def test_a_direction_without_a_proof_stays_undecided() -> None:
    # ^[a-f]+$ strings all match ^[a-z]+$: only BACKWARD can be shown, FORWARD stays "cannot decide"
    old = side({"type": "string", "pattern": "^[a-z]+$"})
    new = side({"type": "string", "pattern": "^[a-f]+$"})
    (finding,) = compare(old, new, rules="strict", search=Budget(seconds=0.3))
    assert proves(finding, old, new) and finding.counterexample is not None
    assert finding.counterexample.direction is Direction.BACKWARD
    assert finding.undecidable and "BACKWARD shown by a counter-example; treated as breaking" in finding.message


def test_undecided_stays_undecided_without_a_proof() -> None:
    # both patterns accept the same strings: no instance can separate them, so none is invented
    old = side({"type": "string", "pattern": "^a"})
    new = side({"type": "string", "pattern": "^(a)"})
    (finding,) = compare(old, new, rules="strict", search=Budget(seconds=0.2))
    assert finding.undecidable and finding.counterexample is None


def test_search_is_reproducible_and_bounded() -> None:
    old, new = side({"type": "integer", "maximum": 9}), side({"type": "integer", "maximum": 5})
    first = search(old, new, Budget(seconds=1.0, seed=7))
    again = search(old, new, Budget(seconds=1.0, seed=7))
    assert [f.instance for f in first] == [f.instance for f in again]
    assert first and all(6 <= f.instance <= 9 for f in first)
    assert search(old, old, Budget(seconds=5.0, candidates=50)) == []  # the count bounds it before the clock


def test_cli_prints_a_counter_example_in_every_format(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    narrowed = order(note={"type": "string", "maxLength": 3})
    repo.write({1: order(note={"type": "string"}), 2: narrowed})
    code, out = pubsub_compat(capsys)
    assert code == 1, out
    lines = out.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith("ERROR") and "[limit.added]" in line)
    assert lines[index + 1].strip().startswith("counter-example (BACKWARD): ")
    assert "is valid under v1 and refused by v2 at /note" in lines[index + 1]

    code, out = pubsub_compat(capsys, "--format", "json")
    (finding,) = json.loads(out)["findings"]
    example = finding["counterexample"]
    assert example["direction"] == "BACKWARD" and example["pointer"] == "/note"
    instance = example["instance"]
    assert isinstance(instance["note"], str) and len(instance["note"]) > 3
    assert isinstance(instance["order_id"], str) and isinstance(instance["total"]["amount"], str)

    code, out = pubsub_compat(capsys, "--format", "github")
    error = next(line for line in out.splitlines() if line.startswith("::error"))
    assert "counter-example (BACKWARD)" in error and "\n" not in error

    code, out = pubsub_compat(capsys, "--format", "json", "--search-seconds", "0")
    assert json.loads(out)["findings"][0]["counterexample"] is None


def test_cli_counter_example_through_a_shared_file(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write({1: order()}, money_length=10)  # released v1's shared money.json tightened in place
    code, out = pubsub_compat(capsys, "--against", "main", "--format", "json")
    assert code == 1, out
    (finding,) = [f for f in json.loads(out)["findings"] if f["severity"] == "error"]
    example = finding["counterexample"]
    assert example["direction"] == "BACKWARD" and example["pointer"] == "/total/amount"
    assert 10 < len(example["instance"]["total"]["amount"]) <= 20
