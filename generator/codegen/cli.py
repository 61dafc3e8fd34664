"""``pubsub generate``: compile the registry into a typed package, or check that it is current.

Where the package goes: ``--out``/``--package``, else the ``[generate]`` table of ``pubsub.toml``
(:func:`hipponot_pubsub.runtime.project.generate_target`), else ``./generated`` as ``generated``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hipponot_pubsub.runtime.project import ProjectError, generate_target

from ..extras import EXIT_MISSING, MissingExtra
from ..options import CI_FORMATS, add_common
from .report import show
from .run import generate


def add_parser(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = commands.add_parser(
        "generate",
        help="compile the registry into typed models, publishers and subscribers",
        description="Compile the registry into an importable package of pydantic models, typed publishers and "
        "subscribers, a manifest and schema bundles. Output is byte-identical on rerun; writing is atomic.",
    )
    add_common(parser, suppress=True, formats=CI_FORMATS)
    add_target_options(parser)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 and show what differs if stale")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    parser.set_defaults(handler=run)


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """``--out`` and ``--package``, shared with ``pubsub check``."""
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="output folder (default: [generate] out in pubsub.toml, else the package's path)")
    parser.add_argument("--package", default=None,
                        help="dotted import name of the output package, e.g. myapp.events "
                        "(default: [generate] package in pubsub.toml, else generated)")


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    root = Path(args.schemas)
    try:
        target = generate_target(root, out=args.out, package=args.package)
    except ProjectError as exc:
        return _usage_error(args.format, str(exc), 2)
    show_progress = not args.quiet and sys.stderr.isatty()

    def progress(message: str) -> None:
        if show_progress:
            print(f"pubsub generate: {message} ({time.perf_counter() - started:.1f}s)", file=sys.stderr)

    try:
        result = generate(root, target, check=args.check, progress=progress)
    except MissingExtra as exc:
        return _usage_error(args.format, str(exc), EXIT_MISSING)
    show(result, args.format, root, quiet=args.quiet)
    return result.exit_code


def _usage_error(fmt: str, message: str, code: int) -> int:
    """The error on stderr; with ``--format json`` also as the one document on stdout."""
    print(f"error: {message}", file=sys.stderr)
    if fmt == "json":
        print(json.dumps({"status": "error", "error": message}))
    return code
