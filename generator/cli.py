"""The ``pubsub`` command line: lint and inspect the registry, generate code, check compatibility, serve.

Exit codes: 0 success, 1 the registry (or generated code) has problems, 2 bad usage.
Human output is one line per problem (``file:pointer: message``); ``--format json`` is for machines.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .options import CI_FORMATS, add_common

if TYPE_CHECKING:
    from .registry import Registry

AddCommon = Callable[[argparse.ArgumentParser], None]
Handler = Callable[[argparse.Namespace], int]


def _version() -> str:
    try:
        return metadata.version("hipponot-pubsub")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
        return "0+unknown"


def _load(args: argparse.Namespace) -> Registry | None:
    """Load the registry, printing every problem to stderr when there are any."""
    from .registry import format_problems, lint_registry

    registry, problems = lint_registry(Path(args.schemas))
    if problems:
        print(format_problems(problems, args.format, root=Path(args.schemas).as_posix()),
              file=sys.stderr if args.format == "text" else sys.stdout)
        if args.format == "text":
            print(f"{len(problems)} problem(s) in {args.schemas}", file=sys.stderr)
    return registry


def cmd_lint(args: argparse.Namespace) -> int:
    registry = _load(args)
    if registry is None:
        return 1
    if args.format == "json":
        print(json.dumps({"problems": []}))
    elif args.format == "github":
        print(f"{args.schemas}: ok")
    else:
        versions = sum(len(event.versions) for event in registry.events.values())
        print(
            f"{args.schemas}: ok — {len(registry.events)} event types, {versions} versions, "
            f"{len(registry.channels)} channels, {len(registry.documents)} schema files"
        )
    return 0


def cmd_schemas_list(args: argparse.Namespace) -> int:
    registry = _load(args)
    if registry is None:
        return 1
    rows: list[dict[str, Any]] = []
    for event in registry.events.values():
        channel = registry.channels[event.channel]
        rows.append(
            {
                "type": event.type,
                "versions": sorted(event.versions),
                "channel": channel.name,
                "adapter": channel.adapter,
                "description": event.description,
            }
        )
    if args.format == "json":
        print(json.dumps(rows, indent=2))
        return 0
    table = [("TYPE", "VERSIONS", "CHANNEL", "ADAPTER")] + [
        (row["type"], ",".join(str(v) for v in row["versions"]), row["channel"], row["adapter"]) for row in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(4)]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    return 0


def cmd_schemas_show(args: argparse.Namespace) -> int:
    registry = _load(args)
    if registry is None:
        return 1
    try:
        version = registry.event_version(args.type, args.version)
    except KeyError as exc:
        known = ", ".join(registry.events)
        print(f"error: {exc.args[0]} (known types: {known})", file=sys.stderr)
        return 1
    event = registry.events[version.type]
    channel = registry.channels[event.channel]
    if args.format == "json":
        document = {
            "type": version.type,
            "version": version.version,
            "file": version.path,
            "uri": version.uri,
            "channel": channel.name,
            "adapter": channel.adapter,
            "schema": version.schema,
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    print(f"# {version.type} v{version.version} — {version.path} ({version.uri})")
    print(f"# channel {channel.name} on {channel.adapter}; versions {', '.join(map(str, sorted(event.versions)))}")
    print(json.dumps(version.schema, indent=2, ensure_ascii=False))
    return 0


#: The sub-commands of this package; any other comes from the ``pubsub.commands`` entry points.
BUILT_IN = frozenset({"lint", "schemas", "generate", "compat", "check", "init"})


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; for a built-in ``command`` without the entry-point commands, whose modules may be slow to
    import (``serve`` imports the HTTP service: a third of a second before ``generate --check`` could start)."""
    parser = argparse.ArgumentParser(
        prog="pubsub",
        description="hipponot-pubsub: a JSON Schema event registry, code generator and typed runtime.",
    )
    add_common(parser, suppress=False)
    parser.add_argument("--version", action="version", version=f"pubsub (hipponot-pubsub) {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    lint = commands.add_parser("lint", help="check the registry: TOML, schemas, $refs, channels, adapters")
    add_common(lint, suppress=True, formats=CI_FORMATS)
    lint.set_defaults(handler=cmd_lint)

    schemas = commands.add_parser("schemas", help="inspect the registry's event types")
    add_common(schemas, suppress=True)
    schema_commands = schemas.add_subparsers(dest="schemas_command", metavar="SUBCOMMAND", required=True)
    listing = schema_commands.add_parser("list", help="event types with their versions, channel and adapter")
    add_common(listing, suppress=True)
    listing.set_defaults(handler=cmd_schemas_list)
    show = schema_commands.add_parser("show", help="print the JSON Schema of one event version")
    add_common(show, suppress=True)
    show.add_argument("type", metavar="TYPE", help="event type, e.g. order.placed")
    show.add_argument("--version", type=int, default=None, metavar="N", help="version (default: the latest)")
    show.set_defaults(handler=cmd_schemas_show)

    for register in _plugins(entry_points=command not in BUILT_IN):
        register(commands, lambda sub: add_common(sub, suppress=True))
    return parser


def _plugins(*, entry_points: bool = True) -> list[Callable[[Any, AddCommon], None]]:
    """Sub-commands that live beside their subsystem (generate, compat, check), then those other installed
    packages contribute through the ``pubsub.commands`` entry-point group (``serve`` comes from the runtime):
    the generator never imports the service."""
    from . import check, scaffold
    from .codegen import cli as codegen_cli
    from .compat import cli as compat_cli

    found: list[Callable[[Any, AddCommon], None]] = [
        codegen_cli.add_parser,
        compat_cli.add_parser,
        check.add_parser,
        scaffold.add_parser,
    ]
    for entry in sorted(metadata.entry_points(group="pubsub.commands") if entry_points else (), key=lambda e: e.name):
        try:
            found.append(entry.load())
        except ImportError as exc:  # a broken optional plugin must not take the whole CLI down
            print(f"pubsub: command {entry.name!r} unavailable: {exc}", file=sys.stderr)
    return found


def _command(argv: Sequence[str]) -> str | None:
    """The sub-command word of ``argv`` (skipping the global options and their values), if any."""
    words = iter(argv)
    for word in words:
        if word in ("--schemas", "--format"):
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(_command(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
