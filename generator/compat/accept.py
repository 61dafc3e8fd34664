"""The escape hatch: ``[[compat.accept]]`` entries that wave a named breaking finding through, with a reason.

A deliberate breaking change must be visible in review, not silenced: the entry sits in ``pubsub.toml`` next
to the event, names the exact finding (event, version, change id, optionally the pointer and the older
version), and carries a reason. A matched finding is still reported, as ``accepted``; an entry that matches
nothing is reported too, so stale entries do not pile up.

TOML shape::

    [[compat.accept]]
    event = "order.placed"          # required
    version = 2                     # required: the new version whose finding is accepted
    change = "property.removed.required"   # required: a change id from the rule table
    pointer = "/properties/coupon"  # optional: JSON pointer of the finding (old or new side) or data path
    against = 1                     # optional: only the comparison with this older version
    reason = "coupon was never sent by any producer (ADR-12)"   # required, non-empty
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .model import Finding, Severity
from .rules import CHANGE_IDS

_KEYS = frozenset({"event", "version", "change", "pointer", "against", "reason"})


@dataclass(frozen=True)
class AcceptEntry:
    """One parsed ``[[compat.accept]]`` table; ``index`` is its position in the file (for messages)."""

    event: str
    version: int
    change: str
    reason: str
    pointer: str | None = None
    against: int | None = None
    index: int = 0

    def matches(self, finding: Finding) -> bool:
        if finding.event != self.event or finding.new_version != self.version or finding.change != self.change:
            return False
        if self.against is not None and finding.old_version != self.against:
            return False
        if self.pointer is not None:
            places = {finding.path}
            places.update(loc.pointer for loc in (finding.old, finding.new) if loc is not None)
            if self.pointer not in places:
                return False
        return True

    def describe(self) -> str:
        extra = f" at {self.pointer}" if self.pointer is not None else ""
        versus = f" against v{self.against}" if self.against is not None else ""
        return f"compat.accept[{self.index}]: {self.event} v{self.version} {self.change}{extra}{versus}"


def parse_accept(
    raw: Iterable[Mapping[str, Any]], known_events: Iterable[str] | None = None
) -> tuple[list[AcceptEntry], list[str]]:
    """Parse the entries; return them and a list of problems (each naming ``compat.accept[i]``)."""
    entries: list[AcceptEntry] = []
    problems: list[str] = []
    events = set(known_events) if known_events is not None else None
    for index, item in enumerate(raw):
        where = f"compat.accept[{index}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: must be a table")
            continue
        unknown = sorted(set(item) - _KEYS)
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_KEYS))})")
        event, version, change = item.get("event"), item.get("version"), item.get("change")
        reason, pointer, against = item.get("reason"), item.get("pointer"), item.get("against")
        before = len(problems)
        if not isinstance(event, str) or not event:
            problems.append(f"{where}: 'event' must name an event type")
        elif events is not None and event not in events:
            problems.append(f"{where}: unknown event {event!r}")
        if not _positive_int(version):
            problems.append(f"{where}: 'version' must be a positive integer")
        if not isinstance(change, str) or change not in CHANGE_IDS:
            problems.append(f"{where}: 'change' must be a change id of the rule table, got {change!r}")
        if not isinstance(reason, str) or not reason.strip():
            problems.append(f"{where}: 'reason' is required: say why the breaking change is acceptable")
        if pointer is not None and not (isinstance(pointer, str) and (pointer == "" or pointer.startswith("/"))):
            problems.append(f"{where}: 'pointer' must be a JSON pointer such as \"/properties/total\"")
        if against is not None and not _positive_int(against):
            problems.append(f"{where}: 'against' must be a positive integer")
        if len(problems) == before and not unknown:
            assert isinstance(version, int) and (against is None or isinstance(against, int))
            entries.append(AcceptEntry(str(event), version, str(change), str(reason), pointer, against, index))
    return entries, problems


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def apply_accept(
    findings: Sequence[Finding], entries: Sequence[AcceptEntry]
) -> tuple[list[Finding], list[AcceptEntry]]:
    """Mark matching breaking findings as accepted; return the findings and the entries that matched none."""
    used: set[int] = set()
    out: list[Finding] = []
    for finding in findings:
        if finding.breaks:
            for entry in entries:
                if entry.matches(finding):
                    used.add(entry.index)
                    finding = dataclasses.replace(finding, severity=Severity.ACCEPTED, accepted=entry.reason)
                    break
        out.append(finding)
    return out, [e for e in entries if e.index not in used]
