"""The rule table in docs/compatibility.md is generated from the rules data and must not drift."""

from __future__ import annotations

from pathlib import Path

from hipponot_pubsub.generator.compat.ruledoc import BEGIN, END, main, render_rule_table, splice
from hipponot_pubsub.generator.compat.rules import RULES

DOC = Path(__file__).resolve().parents[2] / "docs" / "compatibility.md"


def test_doc_table_matches_rules_data() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert splice(text, render_rule_table()) == text, (
        "docs/compatibility.md is out of date: "
        "run python -m hipponot_pubsub.generator.compat.ruledoc docs/compatibility.md"
    )


def test_every_rule_is_a_row() -> None:
    table = render_rule_table()
    for rule in RULES:
        assert f"| `{rule.change}` |" in table
    assert table.count("\n| `") == len(RULES)


def test_check_mode(tmp_path: Path) -> None:
    stale = tmp_path / "c.md"
    stale.write_text(f"# x\n{BEGIN}\nold\n{END}\ntail\n", encoding="utf-8")
    assert main([str(stale), "--check"]) == 1
    assert main([str(stale)]) == 0
    assert main([str(stale), "--check"]) == 0
    assert stale.read_text(encoding="utf-8").endswith(f"{END}\ntail\n")


def test_neutral_changes_are_ok_in_every_rule_set() -> None:
    from hipponot_pubsub.generator.compat.diff import NEUTRAL_CHANGES
    from hipponot_pubsub.generator.compat.model import Effect

    for rule in RULES:
        neutral = all(
            v.backward is Effect.OK and v.forward is Effect.OK for v in (rule.strict, rule.lenient)
        ) and not rule.change.startswith("property.")
        if rule.change in NEUTRAL_CHANGES:
            assert neutral, rule.change


def test_docs_show_a_counter_example_and_the_lenient_assumption() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert "    counter-example (BACKWARD): {" in text and "is valid under v2 and refused by v3 at /" in text
    assert "assuming producers emit only declared fields" in text
