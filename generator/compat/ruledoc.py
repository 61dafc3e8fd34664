"""The rule table in Markdown, generated from :data:`..rules.RULES` so the docs never drift.

``docs/compatibility.md`` holds the table between two marker comments; a test fails when it differs from
what this module renders. Refresh it with ``python -m hipponot_pubsub.generator.compat.ruledoc docs/compatibility.md``
(add ``--check`` to only verify).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .model import Effect
from .rules import RULES, Rule

BEGIN = "<!-- BEGIN GENERATED RULE TABLE (python -m hipponot_pubsub.generator.compat.ruledoc docs/compatibility.md) -->"
END = "<!-- END GENERATED RULE TABLE -->"

_CELL = {Effect.OK: "ok", Effect.BREAKS: "**breaks**", Effect.UNKNOWN: "**undecided** (breaking)"}


def _row(rule: Rule) -> str:
    model = rule.model.value if rule.model else ""
    cells = [
        f"`{rule.change}`",
        model,
        rule.summary.replace("|", "\\|"),
        _CELL[rule.strict.backward],
        _CELL[rule.strict.forward],
        _CELL[rule.lenient.backward],
        _CELL[rule.lenient.forward],
    ]
    return "| " + " | ".join(cells) + " |"


def render_rule_table(rules: Sequence[Rule] = RULES) -> str:
    """The Markdown table (and the lenient notes under it), without the markers."""
    lines = [
        "| Change id | Content model | Change "
        "| Strict BACKWARD | Strict FORWARD | Lenient BACKWARD | Lenient FORWARD |",
        "|---|---|---|---|---|---|---|",
        *(_row(r) for r in rules),
        "",
        "Why lenient accepts what strict refuses:",
        "",
    ]
    notes: dict[str, list[str]] = {}
    for rule in rules:
        if rule.note and rule.lenient != rule.strict:
            for note in rule.note.split("; "):
                changes = notes.setdefault(note.format(old="the old version", new="the new version"), [])
                if rule.change not in changes:
                    changes.append(rule.change)
    for note, changes in notes.items():
        lines.append(f"- {', '.join(f'`{c}`' for c in changes)}: {note}.")
    assumptions: dict[str, list[str]] = {}
    for rule in rules:
        for assumption in rule.assumes.split("; ") if rule.assumes and rule.lenient != rule.strict else ():
            changes = assumptions.setdefault(assumption, [])
            if rule.change not in changes:
                changes.append(rule.change)
    lines += ["", "The assumption each lenient acceptance rests on (printed with the finding: \"compatible under "
              "lenient rules, assuming …\"):", ""]  # fmt: skip
    for assumption, changes in assumptions.items():
        lines.append(f"- *{assumption}*: {', '.join(f'`{c}`' for c in changes)}.")
    return "\n".join(lines) + "\n"


def splice(document: str, table: str) -> str:
    """``document`` with the text between the markers replaced by ``table``."""
    head, sep, rest = document.partition(BEGIN)
    if not sep:
        raise ValueError(f"marker {BEGIN!r} not found")
    _, sep, tail = rest.partition(END)
    if not sep:
        raise ValueError(f"marker {END!r} not found")
    return f"{head}{BEGIN}\n{table}{END}{tail}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the compatibility rule table in a Markdown file.")
    parser.add_argument("file", type=Path)
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    current = args.file.read_text(encoding="utf-8")
    wanted = splice(current, render_rule_table())
    if current == wanted:
        return 0
    if args.check:
        print(f"{args.file}: rule table is out of date; "
              f"run python -m hipponot_pubsub.generator.compat.ruledoc {args.file}")
        return 1
    args.file.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
