"""How a :class:`~hipponot_pubsub.generator.codegen.run.GenerateResult` is shown: text for people (problems
and diffs on stderr), one JSON document on stdout, or GitHub annotations on the stale files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from ..github import annotation
from ..registry.problems import format_problems
from .run import GenerateResult

STALE_HINT = "run `pubsub generate` and commit the result"


def github_lines(result: GenerateResult, root: Path) -> list[str]:
    """One ``::error`` per stale, missing or leftover file (and per registry problem)."""
    out = result.target.out.as_posix()
    difference = result.difference
    lines = [format_problems(result.problems, "github", root=root.as_posix())] if result.problems else []
    if result.error:
        lines.append(annotation("error", result.error, title="pubsub generate"))
    for what, paths in (("stale", difference.changed), ("missing", difference.added),
                        ("not generated any more", difference.removed)):
        for path in paths:
            lines.append(annotation("error", f"{out}/{path} is {what}: {STALE_HINT}", file=f"{out}/{path}",
                                    title=f"generated file {what}"))
    return lines


def show(result: GenerateResult, fmt: str, root: Path, *, quiet: bool = False, out: TextIO | None = None,
         err: TextIO | None = None) -> None:
    out = out or sys.stdout
    err = err or sys.stderr
    folder = result.target.out
    if fmt == "json":
        print(json.dumps(result.as_json(), indent=2), file=out)
        return
    if fmt == "github":
        lines = github_lines(result, root)
        if lines:
            print("\n".join(lines), file=out)
    if result.status == "invalid":
        if fmt == "text":
            print(format_problems(result.problems), file=err)
        print(f"{len(result.problems)} problem(s) in {root}; nothing generated", file=err)
    elif result.status == "error":
        print(f"error: {result.error}", file=err)
    elif result.status == "stale":
        print(f"{folder} is stale: {STALE_HINT}", file=err)
        if fmt == "text":
            difference = result.difference
            for path in difference.changed:
                print(f"  changed: {folder}/{path}", file=err)
            for path in difference.added:
                print(f"  missing: {folder}/{path}", file=err)
            for path in difference.removed:
                print(f"  not generated any more: {folder}/{path}", file=err)
            for text in list(difference.diffs.values())[:5]:
                print(text, file=err)
    elif result.status == "current":
        print(f"{folder}: up to date", file=out if fmt == "text" else err)
    elif not quiet:
        print(f"{folder}: {result.files} files for {result.events} event types", file=out if fmt == "text" else err)
        if result.delegated:
            print(
                f"{result.delegated} schema keyword(s) are not expressible as pydantic types and are enforced by "
                f"the JSON Schema check instead (listed per event under 'delegated' in {folder}/manifest.json)",
                file=out if fmt == "text" else err,
            )
