"""The vocabulary shared by every part of the checker: directions, effects, locations, changes, findings.

Kept apart from the engine and the rules so that the rule table (data), the diff engine (detection) and the
formatters (presentation) can each be read, tested and replaced on their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Direction(StrEnum):
    """Who must cope with whose data.

    BACKWARD: a reader on the new schema reads data written with the old one.
    FORWARD: a reader on the old schema reads data written with the new one.
    """

    BACKWARD = "BACKWARD"
    FORWARD = "FORWARD"


class Effect(StrEnum):
    """What a change does to one direction. UNKNOWN means the checker cannot decide; it counts as breaking."""

    OK = "ok"
    BREAKS = "breaks"
    UNKNOWN = "unknown"

    @property
    def breaking(self) -> bool:
        return self is not Effect.OK


class ContentModel(StrEnum):
    """Whether an object schema admits property names it does not declare.

    Only the strict rule set cares: with an open model a name the schema does not declare may still carry any
    value, with a closed one (``additionalProperties: false``) it may not appear at all.
    """

    OPEN = "open"
    CLOSED = "closed"


class Severity(StrEnum):
    """How a finding counts for the level being checked.

    error: breaks a direction the level requires; warning: breaks only a direction the level does not require;
    info: breaks nothing; accepted: an error (or warning) an accept entry in the registry file waves through.
    """

    ERROR = "error"
    WARNING = "warning"
    ACCEPTED = "accepted"
    INFO = "info"


RULE_SETS = ("lenient", "strict")


@dataclass(frozen=True)
class Location:
    """A place in a schema document: the document (resource) URI and a JSON pointer inside it."""

    uri: str
    pointer: str

    def display(self, root_uri: str | None = None) -> str:
        """The pointer alone inside the root document; ``doc#pointer`` elsewhere (a ``$ref``'d file)."""
        if root_uri is not None and self.uri == root_uri:
            return self.pointer or "/"
        return f"{short_uri(self.uri)}#{self.pointer}"


def short_uri(uri: str) -> str:
    """``file:///orders/x.json`` → ``orders/x.json``: registry files are known by their path."""
    return uri[len("file:///") :] if uri.startswith("file:///") else uri


@dataclass(frozen=True)
class Change:
    """One difference the engine found between two schemas, before any rule set judges it.

    ``change`` is a rule id (see :mod:`hipponot_pubsub.generator.compat.rules`); ``model`` is the content model that
    decides the strict verdict for property changes; ``path`` is where in the *data* the change applies (a JSON pointer
    whose ``*`` tokens stand for any array item or any undeclared property name); ``detail`` says what changed
    ("maxLength tightened from 20 to 10").
    """

    change: str
    detail: str
    path: str
    old: Location | None
    new: Location | None
    model: ContentModel | None = None


@dataclass(frozen=True)
class Counterexample:
    """Data that proves a break: valid under ``writer``'s schema, refused by ``reader``'s for ``reason``.

    ``direction`` is the one it breaks (BACKWARD: written under the old version, read under the new one);
    ``pointer`` is where in the instance the reader's first error is.
    """

    direction: Direction
    instance: object
    reason: str
    pointer: str


@dataclass(frozen=True)
class Finding:
    """A change judged by a rule set for a compatibility level, with the sentence a developer reads."""

    change: str
    detail: str
    path: str
    old: Location | None
    new: Location | None
    model: ContentModel | None
    breaks: tuple[Direction, ...]
    undecidable: bool
    severity: Severity
    message: str
    rules: str
    event: str | None = None
    old_version: int | None = None
    new_version: int | None = None
    against: str | None = None  # git ref the old side came from, for in-place edits of a released version
    file: str | None = None  # file a CI annotation points at (relative to the working directory)
    line: int | None = None  # line of the change in that file
    accepted: str | None = None  # reason given by the accept entry that matched
    #: What a lenient verdict takes on trust ("producers emit only declared fields"), when it accepts a change
    #: the strict rules refuse.
    assumption: str | None = None
    #: An instance the writer's schema accepts and the reader's refuses (see :mod:`.witness`), when one is found.
    counterexample: Counterexample | None = None

    @property
    def blocking(self) -> bool:
        return self.severity is Severity.ERROR
