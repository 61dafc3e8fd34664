"""Every error the runtime raises on purpose, so callers can catch the runtime's errors in one place."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class PubSubError(Exception):
    """Base class of every error the runtime raises on purpose."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One way an instance breaks its schema: where (a JSON pointer into the instance) and why."""

    pointer: str
    message: str
    keyword: str = ""

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


class ValidationFailed(PubSubError):
    """The payload breaks the JSON Schema of the version it declares; ``violations`` lists every breach."""

    def __init__(self, event_type: str, version: int, violations: Sequence[Violation]) -> None:
        self.event_type = event_type
        self.version = version
        self.violations = tuple(violations)
        lines = "\n".join(f"  {v}" for v in self.violations)
        super().__init__(f"{event_type} v{version}: {len(self.violations)} schema violation(s)\n{lines}")


class MalformedEvent(PubSubError):
    """The bytes are not JSON, or not a CloudEvents 1.0 structured-mode envelope this runtime understands.

    ``problems`` lists what is wrong, one ``Violation`` per attribute (JSON pointer into the envelope, e.g.
    ``/specversion``; an empty pointer for the document as a whole); the message lists the same."""

    def __init__(self, message: str, problems: Sequence[Violation] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[Violation, ...] = tuple(problems)

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (str(self), self.problems)


class UnknownEventType(PubSubError):
    """The catalog has no such event type or version."""


class WrongChannel(PubSubError):
    """The event type is registered on another channel than the one it was sent on."""


class UnknownChannel(PubSubError):
    """The catalog has no such channel."""


class AdapterError(PubSubError):
    """An adapter could not do what was asked (broker unreachable, closed, ...)."""


class UnsupportedOperation(AdapterError):
    """The adapter (or the channel's mode) cannot do this at all, e.g. history on an ephemeral pub/sub channel."""


class InvalidPosition(AdapterError):
    """The position string was not made by this adapter for this channel."""


class NotADeadLetter(PubSubError):
    """A position that names no dead letter of the channel (``hipponot_pubsub.runtime.deadletters``)."""


class PoisonEvent(PubSubError):
    """Raised by (or on behalf of) a handler when retrying cannot help: the bus dead-letters the event at once."""


class UnreadableEvent(PoisonEvent):
    """A valid event the subscriber's model cannot read (e.g. a newer version's enum value in an old model)."""


class BusClosed(PubSubError):
    """The bus is not running (not started yet, or stopped)."""


class MissingExtra(PubSubError, ImportError):
    """A library of an optional part of the install is missing; the message names the extra to install
    (``pip install 'hipponot-pubsub[redis]'``). An ``ImportError`` too, so ``except ImportError`` still works."""

    def __init__(self, message: str, *, extra: str, module: str) -> None:
        super().__init__(message)
        self.extra = extra
        self.name = module
