"""Output formats: one line per finding for people, JSON for tools, workflow commands for GitHub Actions.

Every format carries the same facts (change id, pointers, directions, severity, sentence); only the
packaging differs. GitHub annotations put the sentence on the schema file in the pull request diff.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..github import annotation
from .accept import AcceptEntry
from .model import Direction, Finding, Location, Severity

FORMATS = ("text", "json", "github")


def _context(finding: Finding) -> str:
    if finding.event is None:
        return ""
    if finding.against is not None and finding.old_version == finding.new_version:
        return f"{finding.event} v{finding.new_version} (edited since {finding.against})"
    if finding.old_version == finding.new_version:
        return f"{finding.event} v{finding.new_version}"
    return f"{finding.event} v{finding.old_version}→v{finding.new_version}"


def summary(findings: Sequence[Finding]) -> str:
    counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    plural = {Severity.ERROR: "errors", Severity.WARNING: "warnings"}
    parts = [f"{counts[s]} {plural.get(s, s.value) if counts[s] > 1 else s.value}" for s in Severity if counts[s]]
    verdict = "incompatible" if counts[Severity.ERROR] else "compatible"
    return f"{verdict}: " + (", ".join(parts) if parts else "no changes")


def format_text(findings: Sequence[Finding], unused: Sequence[AcceptEntry] = ()) -> str:
    lines = []
    for f in findings:
        context = _context(f)
        head = f"{f.severity.value.upper()}: " + (f"{context}: " if context else "")
        tail = f" — accepted: {f.accepted}" if f.accepted else ""
        lines.append(f"{head}[{f.change}] {f.message}{tail}")
        if f.counterexample is not None:
            lines.append(f"    {counterexample_text(f)}")
    for entry in unused:
        lines.append(f"NOTE: {entry.describe()} matched no finding (remove it?)")
    lines.append(summary(findings))
    return "\n".join(lines)


def counterexample_text(f: Finding) -> str:
    """One sentence: the instance, who writes it, who refuses it and why."""
    example = f.counterexample
    assert example is not None
    writer, reader = ("old", "new") if example.direction is Direction.BACKWARD else ("new", "old")
    versions = {"old": f.old_version, "new": f.new_version}
    names = {k: (f"v{v}" if v is not None else f"the {k} schema") for k, v in versions.items()}
    if f.old_version is not None and f.old_version == f.new_version:
        names = {"old": f"v{f.old_version} before", "new": f"v{f.new_version}"}
    where = example.pointer or "/"
    return (
        f"counter-example ({example.direction.value}): {_json(example.instance)} is valid under {names[writer]} "
        f"and refused by {names[reader]} at {where}: {example.reason}"
    )


def _json(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 300 else text[:297] + "..."


def _counterexample(f: Finding) -> dict[str, Any] | None:
    example = f.counterexample
    if example is None:
        return None
    return {
        "direction": example.direction.value,
        "instance": example.instance,
        "reason": example.reason,
        "pointer": example.pointer,
    }


def _location(loc: Location | None) -> dict[str, str] | None:
    return None if loc is None else {"uri": loc.uri, "pointer": loc.pointer}


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "event": f.event,
        "old_version": f.old_version,
        "new_version": f.new_version,
        "against": f.against,
        "change": f.change,
        "severity": f.severity.value,
        "breaks": [d.value for d in f.breaks],
        "undecidable": f.undecidable,
        "rules": f.rules,
        "content_model": f.model.value if f.model else None,
        "path": f.path,
        "old": _location(f.old),
        "new": _location(f.new),
        "old_pointer": f.old.pointer if f.old else None,
        "new_pointer": f.new.pointer if f.new else None,
        "detail": f.detail,
        "message": f.message,
        "accepted": f.accepted,
        "file": f.file,
        "line": f.line,
        "assumption": f.assumption,
        "counterexample": _counterexample(f),
    }


def format_json(findings: Sequence[Finding], unused: Sequence[AcceptEntry] = (), **extra: Any) -> str:
    payload = {
        "compatible": not any(f.severity is Severity.ERROR for f in findings),
        **extra,
        "summary": summary(findings),
        "findings": [finding_dict(f) for f in findings],
        "unused_accept": [e.describe() for e in unused],
    }
    return json.dumps(payload, indent=2)


_COMMANDS = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.ACCEPTED: "notice",
    Severity.INFO: "notice",
}


def format_github(findings: Sequence[Finding], unused: Sequence[AcceptEntry] = ()) -> str:
    """``::error file=...,title=...::message`` lines (GitHub Actions workflow commands)."""
    lines = []
    for f in findings:
        context = _context(f)
        title = f"{context}: {f.change}" if context else f.change
        if f.severity is Severity.ACCEPTED:
            title += " (accepted)"
        message = f.message + (f" — accepted: {f.accepted}" if f.accepted else "")
        if f.counterexample is not None:
            message += "\n" + counterexample_text(f)
        lines.append(annotation(_COMMANDS[f.severity], message, file=f.file, line=f.line, title=title))
    for entry in unused:
        lines.append(annotation("notice", entry.describe(), title="unused compat.accept entry"))
    lines.append(summary(findings))
    return "\n".join(lines)


def render(fmt: str, findings: Sequence[Finding], unused: Sequence[AcceptEntry] = (), **extra: Any) -> str:
    if fmt == "json":
        return format_json(findings, unused, **extra)
    if fmt == "github":
        return format_github(findings, unused)
    return format_text(findings, unused)
