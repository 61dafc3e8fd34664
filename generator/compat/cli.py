"""``pubsub compat``: check every event's versions, and the working tree against a git ref, without a server.

Exit codes: 0 compatible (accepted findings allowed), 1 a breaking finding remains, 2 bad usage or a
registry that does not load (its problems are printed).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from .accept import apply_accept, parse_accept
from .compare import EventHistory, check_registry
from .formats import FORMATS, render
from .gitref import DEFAULT_BRANCH, GitError, registry_at, resolve_ref
from .levels import LEVEL_NAMES, Level
from .lines import line_of
from .model import RULE_SETS, Finding, Severity
from .nodes import Side, UnresolvableRef
from .witness import Budget

#: ``pubsub compat`` looks this long for a counter-example per breaking pair and direction (it stops as soon
#: as every finding of the pair has one, which on the rule table's cases takes a few milliseconds).
DEFAULT_SEARCH = Budget(seconds=1.0)

EXIT_OK, EXIT_BREAKING, EXIT_USAGE = 0, 1, 2


def add_parser(subparsers: Any, common: Callable[[argparse.ArgumentParser], None] | None = None) -> None:
    """Register ``compat`` on the ``pubsub`` sub-command parser (``common`` is accepted and not needed)."""
    parser = subparsers.add_parser(
        "compat",
        help="check schema compatibility between versions and against a git ref",
        description="Compare each event's versions (and, with --against, the working tree with a git ref) and "
        "report every change with its JSON pointer, the direction it breaks and why.",
    )
    parser.add_argument("--schemas", metavar="DIR", default=argparse.SUPPRESS,
                        help="registry folder holding pubsub.toml (default: ./schemas)")  # fmt: skip
    parser.add_argument("--against", metavar="GITREF", default=None,
                        help="also compare with the registry at this git ref (e.g. origin/main, HEAD~1); 'default': "
                        "the default branch (origin/HEAD, origin/main, origin/master, else HEAD)")  # fmt: skip
    parser.add_argument("--level", choices=LEVEL_NAMES, type=str.upper, default=None,
                        help="compatibility level for every event (default: pubsub.toml, per event)")  # fmt: skip
    parser.add_argument("--rules", choices=RULE_SETS, default=None,
                        help="rule set (default: pubsub.toml's, else lenient)")  # fmt: skip
    parser.add_argument("--format", choices=FORMATS, default=argparse.SUPPRESS,
                        help="text (default), json, or github (workflow annotations)")  # fmt: skip
    parser.add_argument("--search-seconds", metavar="S", type=float, default=DEFAULT_SEARCH.seconds,
                        help="time to look for a counter-example per breaking pair and direction (default: "
                        f"{DEFAULT_SEARCH.seconds}; 0 skips the search)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=DEFAULT_SEARCH.seed,
                        help="seed of the counter-example search (the same seed finds the same instances)")
    parser.set_defaults(handler=cmd_compat, func=cmd_compat)


def cmd_compat(args: argparse.Namespace) -> int:
    return run_compat(
        Path(getattr(args, "schemas", None) or "schemas"),
        against=args.against,
        level=args.level,
        rules=args.rules,
        fmt=getattr(args, "format", None) or "text",
        search=_budget(getattr(args, "search_seconds", DEFAULT_SEARCH.seconds), getattr(args, "seed", 0)),
    )


def _budget(seconds: float, seed: int) -> Budget | None:
    """The search budget for the command line: none when the user asked for 0 seconds."""
    if not math.isfinite(seconds) or seconds <= 0:
        return None
    return Budget(seconds=seconds, seed=seed)


def _problems(problems: Any, fmt: str, out: TextIO, heading: str, root: Path) -> None:
    from hipponot_pubsub.generator.registry import format_problems

    if fmt in ("json", "github"):
        print(format_problems(problems, fmt, root=root.as_posix()), file=out)
    else:
        print(heading, file=out)
        print(format_problems(problems), file=out)


def _histories(registry: Any, schemas: Path, level: str | None) -> dict[str, EventHistory]:
    out: dict[str, EventHistory] = {}
    default = registry.settings.compatibility
    for name, event in registry.events.items():
        versions = {
            number: Side(v.schema, registry.resolver(v.uri), uri=v.uri, path=(schemas / v.path).as_posix())
            for number, v in event.versions.items()
        }
        out[name] = EventHistory(versions, Level.parse(level or event.compatibility or default))
    return out


def _file_map(registry: Any, schemas: Path) -> dict[str, str]:
    files: dict[str, str] = {}
    for doc in registry.documents.values():
        files[doc.uri] = files[doc.retrieval_uri] = (schemas / doc.path).as_posix()
    return files


def _locate(findings: list[Finding], files: Mapping[str, str]) -> list[Finding]:
    """Point each finding at the file and line that hold the change (a shared file's, not the event's).

    Findings about a version that no longer exists (or an old text) point at the working-tree file when it
    is there; the line is only given when the location is in the working tree's version of the file.
    """
    texts: dict[str, str | None] = {}
    out = []
    for f in findings:
        loc = f.new or f.old
        file = (files.get(loc.uri) if loc is not None else None) or f.file
        line = None
        if file is not None and loc is not None and loc is f.new:
            if file not in texts:
                try:
                    texts[file] = Path(file).read_text(encoding="utf-8")
                except OSError:
                    texts[file] = None
            text = texts[file]
            line = line_of(text, loc.pointer) if text is not None else None
        out.append(dataclasses.replace(f, file=file, line=line))
    return out


def run_compat(
    schemas: Path,
    *,
    against: str | None = None,
    level: str | None = None,
    rules: str | None = None,
    fmt: str = "text",
    out: TextIO | None = None,
    err: TextIO | None = None,
    search: Budget | None = DEFAULT_SEARCH,
) -> int:
    """The whole command, reusable by ``pubsub check``; returns the exit code."""
    out = out or sys.stdout
    err = err or (out if fmt != "text" else sys.stderr)
    try:
        from hipponot_pubsub.generator.registry import lint_registry
    except ImportError:  # pragma: no cover - the loader ships with the package
        print("error: the registry loader (hipponot_pubsub.generator.registry) is not available", file=err)
        return EXIT_USAGE
    registry, problems = lint_registry(schemas)
    if problems or registry is None:
        _problems(problems, fmt, err, f"{schemas}: the registry does not load:", schemas)
        return EXIT_USAGE
    rule_set = rules or registry.settings.rules or "lenient"
    events = _histories(registry, schemas, level)
    files = _file_map(registry, schemas)
    entries, accept_problems = parse_accept(registry.settings.accept, registry.events)
    if accept_problems:
        for problem in accept_problems:
            print(f"{schemas}/pubsub.toml: {problem}", file=err)
        return EXIT_USAGE
    try:
        if against == DEFAULT_BRANCH:
            against = resolve_ref(schemas.resolve(), against)
            print(f"compat: comparing with {against} (the default branch)" if against else
                  "compat: no commit yet, nothing to compare with", file=sys.stderr)
        if against is None:
            findings = check_registry(events, rules=rule_set, search=search)
        else:
            with registry_at(schemas, against) as old_root:
                baseline: dict[str, EventHistory] = {}
                if old_root is not None:
                    old_registry, old_problems = lint_registry(old_root)
                    if old_problems or old_registry is None:
                        heading = f"{schemas} at {against}: the registry does not load:"
                        _problems(old_problems, fmt, err, heading, schemas)
                        return EXIT_USAGE
                    baseline = _histories(old_registry, schemas, None)
                    for name, history in baseline.items():
                        if name in events:  # the level is the working tree's decision
                            baseline[name] = EventHistory(history.versions, events[name].level)
                        elif level:
                            baseline[name] = EventHistory(history.versions, Level.parse(level))
                findings = check_registry(events, rules=rule_set, baseline=baseline, against=against,
                                          search=search)  # fmt: skip
    except GitError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_USAGE
    except UnresolvableRef as exc:
        print(f"error: {exc}", file=err)
        return EXIT_USAGE
    findings, unused = apply_accept(_locate(findings, files), entries)
    extra: dict[str, Any] = {"rules": rule_set, "against": against}
    if level:
        extra["level"] = level
    print(render(fmt, findings, unused, **extra), file=out)
    return EXIT_BREAKING if any(f.severity is Severity.ERROR for f in findings) else EXIT_OK
