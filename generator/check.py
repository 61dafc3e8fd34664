"""``pubsub check``: everything CI needs in one command — lint, generated code current, compatibility.

1. ``pubsub lint``: the registry loads, every problem named.
2. ``pubsub generate --check``: ``generated/`` matches the schemas.
3. ``pubsub compat``: every event's versions (and, with ``--against``, the working tree against a git ref).
4. With ``--against``: the generated Python API against the ref's (removed classes, fields, publishers).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .compat.api import api_surface, compare_api
from .compat.cli import run_compat
from .compat.gitref import GitError, registry_at


def add_parser(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = commands.add_parser(
        "check",
        help="what CI runs: lint, generate --check, compat (against a git ref), generated-API breakage",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common(parser)
    parser.add_argument("--against", metavar="GITREF", default=None,
                        help="compare schemas and the generated API with this git ref (e.g. origin/main)")
    parser.add_argument("--out", metavar="DIR", default=None, help="generated package folder (default: ./<package>)")
    parser.add_argument("--package", default="generated", help="import name of the generated package")
    parser.set_defaults(handler=run)


def _step(title: str) -> None:
    print(f"== {title}", flush=True)


def run(args: argparse.Namespace) -> int:
    from .cli import main as pubsub

    schemas: str = args.schemas
    out = args.out or args.package
    codes: dict[str, int] = {}
    _step("lint")
    codes["lint"] = pubsub(["--schemas", schemas, "lint"])
    if codes["lint"] != 0:
        print("check: the registry has problems; later steps skipped", file=sys.stderr)
        return 1
    _step("generate --check")
    codes["generate"] = pubsub(["--schemas", schemas, "generate", "--check", "--out", out, "--package",
                                args.package, "-q"])
    _step("compat" + (f" --against {args.against}" if args.against else ""))
    codes["compat"] = run_compat(Path(schemas), against=args.against)
    if args.against:
        _step(f"generated API against {args.against}")
        codes["api"] = _api_against(Path(out), args.against)
    failed = [name for name, code in codes.items() if code != 0]
    print(f"check: {'failed: ' + ', '.join(failed) if failed else 'all passed'}")
    return 1 if failed else 0


def _api_against(out: Path, ref: str) -> int:
    try:
        with registry_at(out, ref) as old:
            if old is None:
                print(f"{out} did not exist at {ref}: nothing to compare")
                return 0
            findings = compare_api(api_surface(old), api_surface(out), prefix=out.as_posix())
    except GitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    breaking = [f for f in findings if f.breaking]
    for finding in findings:
        level = "error" if finding.breaking else "info"
        print(f"{finding.file}: {level}: {finding.message} [{finding.change}]")
    print(f"{len(breaking)} breaking change(s) to the generated API")
    return 1 if breaking else 0
