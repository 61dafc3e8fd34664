"""Dead letters you can operate, and replay: list, show, redrive, purge, and replay a range to one group.

Everything here stands on the adapter contract alone (``history`` and ``publish``), so it works the same on
every adapter that serves redrive channels (``Capabilities.redrive``: memory, Redis, Kafka):

* A dead letter is a record of ``<channel>.dead-letter``: the original event's bytes and headers plus
  ``x-error``, ``x-attempts``, ``x-original-group``, ``x-original-position`` and ``x-dead-lettered-at``.
* **Redrive** validates the event again against the schema the registry has *now* (fixing the cause may have
  meant a new schema or a fixed consumer) and appends a copy, with the same id, to ``<channel>.redrive`` for the
  group that dead-lettered it (or the one named). Each group's consumers read the redrive channel in a group of
  their own and handle only the copies for their group, so a redriven event is handled once, by its group,
  and no other group sees it or moves on the channel. The copy carries ``x-redriven-from`` (the dead letter's
  address: the causation link) and ``x-redrive-count``; an event redriven ``max_redrives`` times is not
  redriven again (it keeps failing: look at it).
* Dead-letter channels are append-only on every backend (a Kafka topic cannot delete one record), so the
  outcome of an operation is appended to the dead-letter channel itself as a **marker** record (header
  ``x-pubsub-marker``; a JSON body: action, positions, by, at, group). Reading the channel replays the markers:
  a dead letter is ``dead``, ``redriven`` or ``purged``. Redriving it again does nothing (it is reported as
  skipped); purged ones are hidden from ``list`` unless asked for. The marker is appended after the copies, so
  a crash between the two can at worst redrive a dead letter twice (at least once, as every delivery here),
  never lose one. Markers are the audit log: who did what, when.
* **Replay** copies a range of a channel (after a position or from a time, to a position or time, of one type)
  to one group through the same redrive channel (other groups' positions untouched), or into another channel
  that carries those types (a validated publish). Select first (``select_range``), count, then replay.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from .adapters.base import (
    ATTEMPTS_HEADER,
    DEAD_LETTERED_AT_HEADER,
    ERROR_HEADER,
    GROUP_HEADER,
    REDRIVE_COUNT_HEADER,
    REDRIVEN_FROM_HEADER,
    Message,
    Record,
    dead_letter_channel,
)
from .bus import Bus
from .envelope import Envelope, envelope_from_json
from .errors import NotADeadLetter, PubSubError

#: The header that marks a record of a dead-letter channel as an operation's outcome, not a dead letter.
MARKER_HEADER = "x-pubsub-marker"
#: How many dead letters one redrive or purge touches unless told otherwise: an operator's slip stays small.
DEFAULT_LIMIT = 100
#: An event redriven this many times is not redriven again.
DEFAULT_MAX_REDRIVES = 5
_PAGE = 1000

State = Literal["dead", "redriven", "purged"]


@dataclass(frozen=True)
class DeadLetter:
    """One dead letter, as ``list`` and ``show`` report it."""

    channel: str
    position: str  # in the dead-letter channel
    error: str
    attempts: int | None
    group: str | None
    dead_lettered_at: str | None
    original_position: str | None
    redrive_count: int
    attributes: dict[str, Any]  # the event's CloudEvents attributes; empty when the bytes are not an event
    payload: bytes
    state: State = "dead"
    outcome: dict[str, Any] | None = None  # the marker that settled it (by, at, group)

    @property
    def type(self) -> str | None:
        value = self.attributes.get("type")
        return value if isinstance(value, str) else None

    def to_json(self, *, with_payload: bool = False) -> dict[str, Any]:
        """A JSON-ready view (``pubsub dlq ... --format json`` and the admin routes)."""
        view: dict[str, Any] = {
            "channel": self.channel, "position": self.position, "state": self.state, "error": self.error,
            "attempts": self.attempts, "group": self.group, "dead_lettered_at": self.dead_lettered_at,
            "original_position": self.original_position, "redrive_count": self.redrive_count,
            "attributes": self.attributes,
        }
        if self.outcome is not None:
            view["outcome"] = self.outcome
        if with_payload:
            view["payload"] = self.payload.decode("utf-8", "replace")
        return view


@dataclass(frozen=True)
class DeadLetterFilter:
    """What ``list`` selects: by event type, by a substring of the error, by when it was dead-lettered."""

    type: str | None = None
    error: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    states: frozenset[State] = frozenset({"dead"})

    def matches(self, letter: DeadLetter) -> bool:
        if letter.state not in self.states:
            return False
        if self.type is not None and letter.type != self.type:
            return False
        if self.error is not None and self.error.lower() not in letter.error.lower():
            return False
        if self.since is not None or self.until is not None:
            when = parse_time(letter.dead_lettered_at) if letter.dead_lettered_at else None
            if when is None:
                return False
            if self.since is not None and when < self.since:
                return False
            if self.until is not None and when > self.until:
                return False
        return True


@dataclass
class Report:
    """What an operation did: the positions it acted on, and those it skipped with the reason."""

    action: str
    done: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "done": self.done,
                "skipped": [{"position": p, "reason": r} for p, r in self.skipped]}


def parse_time(text: str) -> datetime | None:
    """An RFC 3339 time (``Z`` or an offset; a time without one is read as UTC), or None."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_bound(value: str | None) -> tuple[str | None, datetime | None]:
    """A replay bound (``--from``/``--to``, the route's ``from``/``to``): a time when it reads as an RFC 3339
    date-time, else a position of the channel."""
    if value is None:
        return None, None
    when = parse_time(value) if len(value) >= 10 and value[4:5] == "-" and value[7:8] == "-" else None
    return (None, when) if when is not None else (value, None)


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def _records(bus: Bus, channel: str) -> AsyncIterator[Record]:
    after: str | None = None
    while True:
        page = await bus.history(channel, after=after, limit=_PAGE)
        for record in page:
            yield record
        if len(page) < _PAGE:
            return
        after = page[-1].position


def _attributes(payload: bytes) -> dict[str, Any]:
    try:
        wire = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(wire, dict):
        return {}
    return {k: v for k, v in wire.items() if k not in ("data", "data_base64")}


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _letter(channel: str, record: Record) -> DeadLetter:
    headers = record.headers
    return DeadLetter(
        channel=channel, position=record.position, error=headers.get(ERROR_HEADER, ""),
        attempts=_int(headers.get(ATTEMPTS_HEADER)), group=headers.get(GROUP_HEADER),
        dead_lettered_at=headers.get(DEAD_LETTERED_AT_HEADER),
        original_position=headers.get("x-original-position"),
        redrive_count=_int(headers.get(REDRIVE_COUNT_HEADER)) or 0, attributes=_attributes(record.payload),
        payload=record.payload,
    )


async def read_dead_letters(bus: Bus, channel: str) -> list[DeadLetter]:
    """Every dead letter of ``channel``, oldest first, each with its state from the markers after it."""
    bus.catalog.channel(channel)  # an unknown channel fails here, by name
    letters: dict[str, DeadLetter] = {}
    async for record in _records(bus, dead_letter_channel(channel)):
        action = record.headers.get(MARKER_HEADER)
        if action is None:
            letters[record.position] = _letter(channel, record)
            continue
        try:
            marker = json.loads(record.payload)
        except ValueError:
            continue
        state: State = "redriven" if action == "redriven" else "purged"
        for position in marker.get("positions", []):
            letter = letters.get(position)
            if letter is not None and letter.state == "dead":
                outcome = {k: marker.get(k) for k in ("by", "at", "group") if marker.get(k) is not None}
                outcome["marker"] = record.position
                letters[position] = replace(letter, state=state, outcome=outcome)
    return list(letters.values())


async def list_dead_letters(bus: Bus, channel: str, selection: DeadLetterFilter | None = None,
                            *, limit: int | None = None) -> list[DeadLetter]:
    """The dead letters ``selection`` matches (by default those still dead), oldest first, at most ``limit``."""
    selection = selection or DeadLetterFilter()
    found = [letter for letter in await read_dead_letters(bus, channel) if selection.matches(letter)]
    return found if limit is None else found[:limit]


async def show_dead_letter(bus: Bus, channel: str, position: str) -> DeadLetter:
    for letter in await read_dead_letters(bus, channel):
        if letter.position == position:
            return letter
    raise NotADeadLetter(f"{dead_letter_channel(channel)} holds no dead letter at {position!r}")


def _pick(letters: Sequence[DeadLetter], positions: Iterable[str] | None, report: Report,
          limit: int) -> list[DeadLetter]:
    """The dead letters an operation acts on: the named ones (unknown or settled ones reported as skipped),
    or all still dead; at most ``limit``, the rest reported as skipped."""
    by_position = {letter.position: letter for letter in letters}
    if positions is None:
        chosen = [letter for letter in letters if letter.state == "dead"]
    else:
        chosen = []
        for position in dict.fromkeys(positions):
            letter = by_position.get(position)
            if letter is None:
                report.skipped.append((position, "no such dead letter"))
            elif letter.state != "dead":
                report.skipped.append((position, f"already {letter.state}"))
            else:
                chosen.append(letter)
    for letter in chosen[limit:]:
        report.skipped.append((letter.position, f"over the limit of {limit} per operation"))
    return chosen[:limit]


async def _mark(bus: Bus, channel: str, action: str, positions: list[str], by: str, **extra: Any) -> None:
    body = {"action": action, "positions": positions, "by": by, "at": now_rfc3339(), **extra}
    adapter = bus.adapter_for(channel)
    await adapter.publish(dead_letter_channel(channel),
                          Message(json.dumps(body).encode(), None, {MARKER_HEADER: action}))


async def redrive(bus: Bus, channel: str, positions: Iterable[str] | None = None, *, by: str,
                  group: str | None = None, limit: int = DEFAULT_LIMIT,
                  max_redrives: int = DEFAULT_MAX_REDRIVES,
                  progress: Callable[[int], None] | None = None) -> Report:
    """Redrive the named dead letters (``None``: every one still dead), at most ``limit``, each to the group
    that dead-lettered it (or ``group``), after validating it against the current schema."""
    report = Report("redriven")
    letters = await read_dead_letters(bus, channel)
    for letter in _pick(letters, positions, report, limit):
        target = group or letter.group
        reason = None
        if target is None:
            reason = "dead-lettered by a subscription without a group: name the group to redrive it to"
        elif letter.redrive_count >= max_redrives:
            reason = f"redriven {letter.redrive_count} times already (the limit is {max_redrives})"
        if reason is None:
            assert target is not None
            try:
                envelope: Envelope[Any] = envelope_from_json(letter.payload)
                await bus.redeliver(envelope, group=target, channel=channel, headers={
                    REDRIVE_COUNT_HEADER: str(letter.redrive_count + 1),
                    REDRIVEN_FROM_HEADER: f"{dead_letter_channel(channel)}@{letter.position}",
                })
            except PubSubError as error:
                reason = f"not redriven: {error}"
        if reason is not None:
            report.skipped.append((letter.position, reason))
            continue
        report.done.append(letter.position)
        if progress is not None:
            progress(1)
    if report.done:
        await _mark(bus, channel, "redriven", report.done, by, group=group)
    return report


async def purge(bus: Bus, channel: str, positions: Iterable[str] | None = None, *, by: str,
                limit: int | None = None) -> Report:
    """Mark the named dead letters (``None``: every one still dead) purged: hidden, never redriven."""
    report = Report("purged")
    letters = await read_dead_letters(bus, channel)
    chosen = _pick(letters, positions, report, limit if limit is not None else len(letters))
    report.done = [letter.position for letter in chosen]
    if report.done:
        await _mark(bus, channel, "purged", report.done, by)
    return report


# -- replay --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """A range of a channel: after a position or from a time; up to a position or a time (both inclusive)."""

    after: str | None = None
    since: datetime | None = None
    to: str | None = None
    until: datetime | None = None
    type: str | None = None


async def select_range(bus: Bus, channel: str, selection: Range) -> list[Record]:
    """The retained records of ``channel`` in ``selection``, oldest first (what ``replay`` would copy)."""
    bus.catalog.channel(channel)
    chosen: list[Record] = []
    after = selection.after
    while True:
        page = await bus.history(channel, after=after, limit=_PAGE)
        for record in page:
            attributes = _attributes(record.payload)
            when = parse_time(attributes["time"]) if isinstance(attributes.get("time"), str) else None
            if selection.until is not None and when is not None and when > selection.until:
                return chosen
            keep = (selection.since is None or (when is not None and when >= selection.since)) and \
                (selection.type is None or attributes.get("type") == selection.type)
            if keep:
                chosen.append(record)
            if selection.to is not None and record.position == selection.to:
                return chosen
        if len(page) < _PAGE:
            return chosen
        after = page[-1].position


async def replay(bus: Bus, channel: str, records: Sequence[Record], *, by: str, group: str | None = None,
                 into: str | None = None, progress: Callable[[int], None] | None = None) -> Report:
    """Copy ``records`` (from ``select_range``) to ``group`` through the channel's redrive channel, or
    publish them into channel ``into``; each validated against the current schema, keeping its id."""
    if (group is None) == (into is None):
        raise ValueError("replay to exactly one of a group or a channel")
    report = Report("replayed")
    for record in records:
        try:
            envelope: Envelope[Any] = envelope_from_json(record.payload)
            if group is not None:
                await bus.redeliver(envelope, group=group, channel=channel, headers={
                    REDRIVEN_FROM_HEADER: f"{channel}@{record.position}", "x-replayed-by": by})
            else:
                await bus.publish_envelope(envelope, channel=into)
        except PubSubError as error:
            report.skipped.append((record.position, str(error)))
            continue
        report.done.append(record.position)
        if progress is not None:
            progress(1)
    return report
