"""``pubsub check``: everything CI needs in one command — lint, generated code current, compatibility.

1. ``pubsub lint``: the registry loads, every problem named.
2. ``pubsub generate --check``: the generated package (``[generate]`` in pubsub.toml, or --out/--package)
   is what the schemas generate.
3. ``pubsub compat``: every event's versions (and, with ``--against``, the working tree against a git ref).
4. With ``--against``: the generated Python API against the ref's (removed classes, fields, publishers).

``--against default`` compares with the repository's default branch (origin/HEAD, origin/main, origin/master,
else the last commit). ``--format github`` prints every finding as a GitHub Actions annotation; ``--format
json`` prints one JSON document for the whole check. Exit codes: 0 all passed, 1 something failed, 2 bad usage
(unknown git ref, bad [generate] table, code generator not installed).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hipponot_pubsub.runtime.project import GenerateTarget, ProjectError, generate_target

from .codegen.cli import add_target_options
from .codegen.report import show
from .codegen.run import generate
from .compat.api import ApiFinding, api_surface, compare_api
from .compat.cli import run_compat
from .compat.gitref import DEFAULT_BRANCH, GitError, registry_at, resolve_ref
from .extras import EXIT_MISSING, MissingExtra, require_codegen
from .github import annotation
from .options import CI_FORMATS, add_common


def add_parser(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = commands.add_parser(
        "check",
        help="what CI runs: lint, generate --check, compat (against a git ref), generated-API breakage",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common(parser, suppress=True, formats=CI_FORMATS)
    parser.add_argument("--against", metavar="GITREF", default=None,
                        help="compare schemas and the generated API with this git ref (e.g. origin/main); "
                        f"{DEFAULT_BRANCH!r}: the repository's default branch")
    add_target_options(parser)
    parser.set_defaults(handler=run)


class _Check:
    """Runs the steps in order, printing each as ``fmt`` asks, and collects exit codes (and, for JSON, data)."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.codes: dict[str, int] = {}
        self.report: dict[str, Any] = {}

    def step(self, title: str) -> None:
        if self.fmt == "text":
            print(f"== {title}", flush=True)

    def fail(self, code: int, message: str) -> int:
        if self.fmt == "json":
            print(json.dumps({"ok": False, "error": message, "steps": self.report}, indent=2))
        else:
            print(f"error: {message}", file=sys.stderr)
        return code

    def finish(self) -> int:
        failed = [name for name, code in self.codes.items() if code != 0]
        if self.fmt == "json":
            print(json.dumps({"ok": not failed, "failed": failed, "steps": self.report}, indent=2))
        else:
            print(f"check: {'failed: ' + ', '.join(failed) if failed else 'all passed'}")
        if any(code == 2 for code in self.codes.values()):
            return 2
        return 1 if failed else 0


def run(args: argparse.Namespace) -> int:
    from .registry import format_problems, lint_registry

    check = _Check(args.format)
    root = Path(args.schemas)
    try:
        target = generate_target(root, out=args.out, package=args.package)
        require_codegen("check")
        against = resolve_ref(root.resolve(), args.against) if args.against else None
    except (ProjectError, MissingExtra) as exc:
        return check.fail(2 if isinstance(exc, ProjectError) else EXIT_MISSING, str(exc))
    except GitError as exc:
        return check.fail(2, f"cannot find the default branch: {exc}")
    if args.against == DEFAULT_BRANCH:
        print(f"check: comparing with {against} (the default branch)" if against else
              "check: no commit yet, nothing to compare with", file=sys.stderr)

    check.step("lint")
    _, problems = lint_registry(root)
    check.codes["lint"] = 1 if problems else 0
    check.report["lint"] = {"exit": check.codes["lint"], "problems": [asdict(p) for p in sorted(problems)]}
    if problems:
        if args.format != "json":
            print(format_problems(problems, args.format, root=root.as_posix()))
            print(f"check: {len(problems)} problem(s) in {root}; later steps skipped", file=sys.stderr)
        return check.finish()
    if args.format == "text":
        print(f"{root}: ok")

    check.step("generate --check")
    result = generate(root, target, check=True, command="check")
    check.codes["generate"] = result.exit_code
    check.report["generate"] = {"exit": result.exit_code, **result.as_json()}
    if args.format != "json":
        show(result, args.format, root, quiet=True)

    check.step("compat" + (f" --against {against}" if against else ""))
    check.codes["compat"] = _compat(check, root, against)

    if against:
        check.step(f"generated API against {against}")
        check.codes["api"] = _api_against(check, target, against)
    return check.finish()


def _compat(check: _Check, root: Path, against: str | None) -> int:
    if check.fmt != "json":
        return run_compat(root, against=against, fmt=check.fmt)
    captured = io.StringIO()
    code = run_compat(root, against=against, fmt="json", out=captured, err=captured)
    try:
        check.report["compat"] = {"exit": code, **json.loads(captured.getvalue())}
    except ValueError:
        check.report["compat"] = {"exit": code, "error": captured.getvalue().strip()}
    return code


def _api_against(check: _Check, target: GenerateTarget, ref: str) -> int:
    out = target.out
    try:
        with registry_at(out, ref) as old:
            if old is None:
                findings: list[ApiFinding] = []
                note = f"{out} did not exist at {ref}: nothing to compare"
            else:
                findings = compare_api(api_surface(old), api_surface(out), prefix=out.as_posix())
                note = ""
    except GitError as exc:
        check.report["api"] = {"exit": 2, "error": str(exc)}
        if check.fmt != "json":
            print(f"error: {exc}", file=sys.stderr)
        return 2
    breaking = [f for f in findings if f.breaking]
    code = 1 if breaking else 0
    check.report["api"] = {"exit": code, "findings": [asdict(f) for f in findings]}
    for finding in findings:
        level = "error" if finding.breaking else "notice"
        if check.fmt == "github":
            print(annotation(level, f"{finding.message} [{finding.change}]", file=finding.file,
                             title=f"generated API: {finding.change}"))
        elif check.fmt == "text":
            print(f"{finding.file}: {'error' if finding.breaking else 'info'}: {finding.message} [{finding.change}]")
    if check.fmt != "json":
        print(note or f"{len(breaking)} breaking change(s) to the generated API")
    return code
