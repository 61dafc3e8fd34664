"""Problems found while loading a registry, and how they are shown.

The loader never stops at the first problem: it collects every one, each naming the file and the JSON
pointer (or line and column for syntax errors), so a single ``pubsub lint`` run tells the whole story.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from jsonpointer import JsonPointer

from ..github import annotation


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a registry.

    ``file`` is relative to the registry root (posix separators); ``pointer`` is a JSON pointer into that
    file's data ("" for the whole document); ``line``/``column`` are set for syntax errors.
    """

    file: str
    pointer: str
    code: str
    message: str
    line: int | None = None
    column: int | None = None

    def location(self) -> str:
        """``file:line:column`` for syntax errors, ``file:/pointer`` otherwise, ``file`` for the root."""
        if self.line is not None:
            return f"{self.file}:{self.line}:{self.column or 0}"
        return f"{self.file}:{self.pointer}" if self.pointer else self.file

    def __str__(self) -> str:
        return f"{self.location()}: {self.message} [{self.code}]"


class RegistryError(Exception):
    """Raised by :func:`hipponot_pubsub.generator.registry.load_registry` with every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems)
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in the registry"
        super().__init__("\n".join([head, *(str(p) for p in self.problems)]))


def pointer(parts: Iterable[str | int]) -> str:
    """A JSON pointer from path parts, escaped by the ``jsonpointer`` library."""
    return str(JsonPointer.from_parts([str(p) for p in parts]).path)


def format_problems(problems: Sequence[Problem], fmt: str = "text", root: str = "") -> str:
    """Render problems for humans (one line each), machines (``fmt="json"``) or GitHub Actions
    (``fmt="github"``: one ``::error`` per problem on its file, ``root`` being the registry folder's path)."""
    if fmt == "json":
        return json.dumps({"problems": [asdict(p) for p in sorted(problems)]}, indent=2)
    if fmt == "github":
        return "\n".join(
            annotation("error", f"{p.pointer}: {p.message}" if p.pointer else p.message,
                       file=posixpath.join(root, p.file) if root else p.file, line=p.line,
                       title=f"registry problem ({p.code})")
            for p in sorted(problems)
        )
    return "\n".join(str(p) for p in sorted(problems))
