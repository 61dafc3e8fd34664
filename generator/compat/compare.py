"""Comparing versions: one pair of schemas, one event's version history, or a whole registry against a ref.

This is the layer that knows about levels: BACKWARD/FORWARD/FULL pick the directions that must hold, the
``_TRANSITIVE`` variants compare a new version with every earlier one instead of only the previous one.
It takes plain mappings of :class:`~hipponot_pubsub.generator.compat.nodes.Side` so it does not depend on the loader.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from .diff import NEUTRAL_CHANGES, diff_schemas
from .judge import judge
from .levels import BACKWARD, FULL, NONE, Level
from .model import Change, Finding, Location
from .nodes import Side, SideLike, as_side
from .witness import Budget, attach


def compare(
    old: SideLike,
    new: SideLike,
    *,
    level: Level = BACKWARD,
    rules: str = "lenient",
    search: Budget | None = None,
) -> list[Finding]:
    """Findings for one pair of schemas (``old`` → ``new``), each a Side or a ``(schema, resolver)`` pair.

    With a ``search`` budget, each breaking or undecided finding gets a counter-example when one is found
    (see :mod:`.witness`); without one the verdicts are the rules' alone (fast, for the HTTP API and tests).
    """
    old, new = as_side(old), as_side(new)
    findings = judge(diff_schemas(old, new), rules=rules, level=level, old=old, new=new)
    if search is None or not any(f.breaks for f in findings):
        return findings
    breaking = [f for f in findings if f.breaks]
    proven = iter(attach(breaking, old, new, search))
    return [next(proven) if f.breaks else f for f in findings]


def _label(side: Side, version: int, suffix: str = "") -> Side:
    return side if side.label else dataclasses.replace(side, label=f"v{version}{suffix}")


def check_event(
    event: str,
    versions: Mapping[int, SideLike],
    level: Level | str,
    *,
    rules: str = "lenient",
    only: frozenset[int] | None = None,
    search: Budget | None = None,
) -> list[Finding]:
    """Each version of an event against its predecessor (or every earlier one, for a transitive level).

    ``only`` limits the check to the listed new versions (with ``--against``: the added or edited ones).
    Under ``NONE`` nothing is compared. Versions are Sides or ``(schema, resolver)`` pairs.
    """
    level = Level.parse(level) if isinstance(level, str) else level
    if level == NONE:
        return []
    ordered = sorted(versions)
    findings: list[Finding] = []
    for index, new_version in enumerate(ordered):
        if index == 0 or (only is not None and new_version not in only):
            continue
        earlier = ordered[:index] if level.transitive else [ordered[index - 1]]
        new = _label(as_side(versions[new_version]), new_version)
        for old_version in reversed(earlier):
            old = _label(as_side(versions[old_version]), old_version)
            for finding in compare(old, new, level=level, rules=rules, search=search):
                findings.append(
                    dataclasses.replace(finding, event=event, old_version=old_version, new_version=new_version)
                )
    return findings


@dataclass(frozen=True)
class EventHistory:
    """An event's versions and the level it must keep."""

    versions: Mapping[int, Side]
    level: Level


def check_registry(
    events: Mapping[str, EventHistory],
    *,
    rules: str = "lenient",
    baseline: Mapping[str, EventHistory] | None = None,
    against: str | None = None,
    search: Budget | None = None,
) -> list[Finding]:
    """Every event's versions; with a ``baseline`` (the registry at a git ref), also what changed since.

    With a baseline:

    * a version present in both is an in-place edit of a released version: producers and consumers of that
      version already exist on both sides of the edit, so it must be FULL compatible with its old text;
    * a version or event that disappeared is reported (``version.removed`` / ``event.removed``);
    * version-to-version checks are limited to versions that are new or were edited, so old, already
      accepted history is not re-litigated on every run.
    """
    findings: list[Finding] = []
    for name in sorted(events):
        history = events[name]
        only: frozenset[int] | None = None
        previous = baseline.get(name) if baseline is not None else None
        if baseline is not None:
            touched: set[int] = set()
            for version, side in sorted(history.versions.items()):
                if previous is None or version not in previous.versions:
                    touched.add(version)
                    continue
                edits = _in_place(name, version, previous.versions[version], side, history.level, rules, against,
                                  search)  # fmt: skip
                if any(f.change not in NEUTRAL_CHANGES for f in edits):
                    touched.add(version)
                findings.extend(edits)
            only = frozenset(touched)
        findings.extend(check_event(name, history.versions, history.level, rules=rules, only=only, search=search))
        if previous is not None:
            for version in sorted(set(previous.versions) - set(history.versions)):
                findings.extend(_removed("version.removed", name, version, previous, history.level, rules, against))
    if baseline is not None:
        for name in sorted(set(baseline) - set(events)):
            previous = baseline[name]
            findings.extend(
                _removed("event.removed", name, max(previous.versions), previous, previous.level, rules, against)
            )
    return findings


def _in_place(
    event: str,
    version: int,
    old: Side,
    new: Side,
    level: Level,
    rules: str,
    against: str | None,
    search: Budget | None = None,
) -> list[Finding]:
    if level == NONE:
        return []
    old = dataclasses.replace(old, label=f"v{version}@{against}" if against else f"v{version} (before)")
    new = dataclasses.replace(new, label=f"v{version}")
    return [
        dataclasses.replace(f, event=event, old_version=version, new_version=version, against=against)
        for f in compare(old, new, level=Level("FULL", FULL.directions, level.transitive), rules=rules, search=search)
    ]


def _removed(
    change: str, event: str, version: int, previous: EventHistory, level: Level, rules: str, against: str | None
) -> list[Finding]:
    side = previous.versions.get(version)
    what = f"event {event!r}" if change == "event.removed" else f"version {version} of {event!r}"
    location = Location(side.base_uri, "") if side is not None else None
    item = Change(change, f"{what} removed from the registry", "", location, None)
    old = dataclasses.replace(side, label=f"v{version}@{against}") if side is not None else None
    return [
        dataclasses.replace(f, event=event, old_version=version, new_version=version, against=against)
        for f in judge([item], rules=rules, level=level, old=old, new=None)
    ]
