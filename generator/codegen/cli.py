"""``pubsub generate``: compile the registry into a typed package, or check that it is current."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .digest import inputs_digest
from .output import compare, quick_check, write_atomically


def add_parser(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = commands.add_parser(
        "generate",
        help="compile the registry into typed models, publishers and subscribers",
        description="Compile the registry into an importable package of pydantic models, typed publishers and "
        "subscribers, a manifest and schema bundles. Output is byte-identical on rerun; writing is atomic.",
    )
    common(parser)
    parser.add_argument("--out", metavar="DIR", default=None, help="output folder (default: ./<package>)")
    parser.add_argument("--package", default="generated", help="import name of the output package (default: generated)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 and show what differs if stale")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    package: str = args.package
    if not package.isidentifier():
        print(f"error: --package {package!r} is not a Python identifier", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else Path(package)
    root = Path(args.schemas)
    show = not args.quiet and sys.stderr.isatty()

    def progress(message: str) -> None:
        if show:
            print(f"pubsub generate: {message} ({time.perf_counter() - started:.1f}s)", file=sys.stderr)

    if args.check and (root / "pubsub.toml").is_file() and quick_check(out, inputs_digest(root, package)):
        print(f"{out}: up to date")
        return 0
    # Only now: a current --check never imports the loader, datamodel-code-generator or jinja2.
    from ..registry import format_problems, lint_registry
    from .names import NameCollision
    from .pipeline import build, manifest_of

    progress(f"loading {root}")
    registry, problems = lint_registry(root)
    if registry is None:
        print(format_problems(problems, args.format), file=sys.stderr)
        print(f"{len(problems)} problem(s) in {root}; nothing generated", file=sys.stderr)
        return 1
    try:
        files = build(registry, package, progress)
    except NameCollision as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.check:
        difference = compare(files, out)
        if not difference:
            print(f"{out}: up to date")
            return 0
        print(f"{out} is stale: run `pubsub generate` and commit the result", file=sys.stderr)
        for path in difference.changed:
            print(f"  changed: {out}/{path}", file=sys.stderr)
        for path in difference.added:
            print(f"  missing: {out}/{path}", file=sys.stderr)
        for path in difference.removed:
            print(f"  not generated any more: {out}/{path}", file=sys.stderr)
        for text in list(difference.diffs.values())[:5]:
            print(text, file=sys.stderr)
        return 1
    write_atomically(files, out)
    progress("done")
    if not args.quiet:
        print(f"{out}: {len(files)} files for {len(registry.events)} event types")
        delegated = [item for event in manifest_of(files)["events"] for item in event["delegated"]]
        if delegated:
            print(
                f"{len(delegated)} schema keyword(s) are not expressible as pydantic types and are enforced by the "
                f"JSON Schema check instead (listed per event under 'delegated' in {out}/manifest.json)"
            )
    return 0
