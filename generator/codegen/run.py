"""One ``pubsub generate`` run as data: what it found (current, stale, written, invalid registry), without
printing, so ``pubsub generate`` and ``pubsub check`` render the same result as text, JSON or GitHub
annotations.

A ``--check`` first asks the local cache (:mod:`hipponot_pubsub.generator.codegen.cache`): when it knows these
inputs and these tools produced exactly the files on disk, nothing is built. Otherwise the package is built in
memory and compared file by file, so the verdict is "stale" only when some output file would change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from hipponot_pubsub.runtime.project import GenerateTarget

from ..extras import codegen_missing, require_codegen
from ..registry.problems import Problem
from .cache import known_current, remember_current
from .digest import fast_path_key
from .output import Difference, compare, write_atomically

Status = Literal["current", "stale", "written", "invalid", "error"]


@dataclass
class GenerateResult:
    status: Status
    target: GenerateTarget
    difference: Difference = field(default_factory=Difference)
    problems: list[Problem] = field(default_factory=list)
    error: str = ""
    files: int = 0
    events: int = 0
    delegated: int = 0
    fast_path: bool = False

    @property
    def exit_code(self) -> int:
        return 0 if self.status in ("current", "written") else 1

    def as_json(self) -> dict[str, Any]:
        return {
            "out": self.target.out.as_posix(),
            "package": self.target.package,
            "status": self.status,
            "up_to_date": self.status in ("current", "written"),
            "changed": [f"{self.target.out.as_posix()}/{p}" for p in self.difference.changed],
            "missing": [f"{self.target.out.as_posix()}/{p}" for p in self.difference.added],
            "removed": [f"{self.target.out.as_posix()}/{p}" for p in self.difference.removed],
            "problems": [asdict(p) for p in sorted(self.problems)],
            "error": self.error or None,
            "files": self.files,
            "events": self.events,
            "delegated": self.delegated,
        }


def generate(
    root: Path, target: GenerateTarget, *, check: bool, command: str = "generate",
    progress: Callable[[str], None] | None = None,
) -> GenerateResult:
    """Generate (or with ``check``, compare) the package of the registry in ``root`` at ``target``.

    Raises :class:`~hipponot_pubsub.runtime.errors.MissingExtra` when the code generator is not installed.
    """
    say = progress or (lambda _message: None)
    out = target.out
    key = fast_path_key(root) if (root / "pubsub.toml").is_file() else None
    if check and key is not None and known_current(out, key):
        return GenerateResult("current", target, fast_path=True)
    require_codegen(command)
    try:  # only now: a current --check never imports the loader, datamodel-code-generator or jinja2
        from ..registry import lint_registry
        from .names import NameCollision
        from .pipeline import build, manifest_of
    except ImportError as error:
        missing = codegen_missing(error, command)
        if missing is not None:
            raise missing from None
        raise
    say(f"loading {root}")
    registry, problems = lint_registry(root)
    if registry is None:
        return GenerateResult("invalid", target, problems=problems)
    try:
        files = build(registry, say)
    except NameCollision as error:
        return GenerateResult("error", target, error=str(error))
    delegated = sum(len(event["delegated"]) for event in manifest_of(files)["events"])
    result = GenerateResult("current", target, files=len(files), events=len(registry.events), delegated=delegated)
    if check:
        result.difference = compare(files, out)
        if result.difference:
            result.status = "stale"
            return result
    else:
        write_atomically(files, out)
        result.status = "written"
    if key is not None:
        remember_current(out, key)
    return result
