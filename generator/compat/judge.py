"""Turn the engine's changes into findings: apply a rule set and a level, and write the sentence.

Separate from the engine so that the same detected changes can be judged under ``strict`` and ``lenient``
rules and any level without walking the schemas again, and so the wording lives in one place.
"""

from __future__ import annotations

from collections.abc import Iterable

from .levels import BACKWARD, Level
from .model import Change, Direction, Effect, Finding, Severity
from .nodes import Side
from .rules import Rule, rule_for


def severity(breaks: Iterable[Direction], level: Level) -> Severity:
    broken = set(breaks)
    if broken & level.directions:
        return Severity.ERROR
    return Severity.WARNING if broken else Severity.INFO


def explain(
    change: Change,
    rule: Rule,
    rules: str,
    old_label: str,
    new_label: str,
    where: str,
) -> tuple[tuple[Direction, ...], bool, str]:
    """The directions broken, whether it was undecidable, and the one-sentence explanation."""
    verdict = rule.verdict(rules)
    broken = tuple(d for d in Direction if verdict.effect(d).breaking)
    undecidable = any(verdict.effect(d) is Effect.UNKNOWN for d in Direction)
    labels = {"old": old_label, "new": new_label}
    if broken:
        reasons: list[str] = []
        for direction in broken:
            template = rule.why_backward if direction is Direction.BACKWARD else rule.why_forward
            text = template.format(**labels)
            if text not in reasons:
                reasons.append(text)
        verdict_text = " and ".join(d.value for d in broken)
        suffix = f"treated as breaking {verdict_text}" if undecidable else f"breaks {verdict_text}"
        reason = "; ".join(reasons)
    else:
        reason = rule.note.format(**labels) if rule.note else "compatible in both directions"
        suffix = f"compatible under {rules} rules"
        assumption = assumed(rule, rules)
        if assumption:
            suffix += f", assuming {assumption}"
    return broken, undecidable, f"{where}: {change.detail}: {reason} ({suffix})"


def assumed(rule: Rule, rules: str) -> str:
    """What a verdict takes on trust: the rule's assumption when ``rules`` accepts a direction strict refuses."""
    if rules == "strict" or not rule.assumes:
        return ""
    kinder = any(not rule.lenient.effect(d).breaking and rule.strict.effect(d).breaking for d in Direction)
    return rule.assumes if kinder else ""


def judge(
    changes: Iterable[Change],
    *,
    rules: str = "lenient",
    level: Level = BACKWARD,
    old: Side | None = None,
    new: Side | None = None,
) -> list[Finding]:
    """Findings for ``changes`` under a rule set and level; the sides give labels and root documents."""
    old_label = (old.label if old else "") or "the old schema"
    new_label = (new.label if new else "") or "the new schema"
    out: list[Finding] = []
    seen: set[tuple[object, ...]] = set()
    for change in changes:
        identity = (change.change, change.old, change.new, change.detail)
        if identity in seen:  # a shared definition reached along two paths is reported once
            continue
        seen.add(identity)
        rule = rule_for(change.change, change.model)
        if change.new is not None:
            where = change.new.display(new.base_uri if new else change.new.uri)
        elif change.old is not None:
            where = change.old.display(old.base_uri if old else change.old.uri)
        else:
            where = change.path or "/"
        broken, undecidable, message = explain(change, rule, rules, old_label, new_label, where)
        out.append(
            Finding(
                change=change.change,
                detail=change.detail,
                path=change.path,
                old=change.old,
                new=change.new,
                model=change.model,
                breaks=broken,
                undecidable=undecidable,
                severity=severity(broken, level),
                message=message,
                rules=rules,
                assumption=assumed(rule, rules) or None,
                file=(new.path if new else None) or (old.path if old else None),
            )
        )
    return out
