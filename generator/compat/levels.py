"""Compatibility levels: which directions a new version must keep, and against which earlier versions.

``BACKWARD`` (the usual default) lets consumers upgrade first: a new reader must read old data. ``FORWARD``
lets producers upgrade first: an old reader must read new data. ``FULL`` is both. The ``_TRANSITIVE``
variants check a new version against every earlier one instead of only its predecessor; ``NONE`` checks
nothing (findings are still reported, as information).
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Direction

_DIRECTIONS: dict[str, frozenset[Direction]] = {
    "NONE": frozenset(),
    "BACKWARD": frozenset({Direction.BACKWARD}),
    "FORWARD": frozenset({Direction.FORWARD}),
    "FULL": frozenset({Direction.BACKWARD, Direction.FORWARD}),
}

LEVEL_NAMES: tuple[str, ...] = (
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
)


@dataclass(frozen=True)
class Level:
    """A parsed compatibility level."""

    name: str
    directions: frozenset[Direction]
    transitive: bool

    @classmethod
    def parse(cls, text: str) -> Level:
        """``"backward_transitive"`` → Level(BACKWARD_TRANSITIVE). Raises ``ValueError`` for unknown names."""
        name = text.strip().upper().replace("-", "_")
        if name not in LEVEL_NAMES:
            raise ValueError(f"unknown compatibility level {text!r} (expected one of {', '.join(LEVEL_NAMES)})")
        base, _, suffix = name.partition("_")
        return cls(name, _DIRECTIONS[base], suffix == "TRANSITIVE")

    def requires(self, direction: Direction) -> bool:
        return direction in self.directions

    def __str__(self) -> str:
        return self.name


NONE = Level.parse("NONE")
BACKWARD = Level.parse("BACKWARD")
FORWARD = Level.parse("FORWARD")
FULL = Level.parse("FULL")
