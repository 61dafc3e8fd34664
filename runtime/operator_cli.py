"""``pubsub dlq list|show|redrive|purge CHANNEL`` and ``pubsub replay CHANNEL``: operate dead letters and replay.

Wired into the main CLI through the ``pubsub.commands`` entry points (``add_dlq_parser``, ``add_replay_parser``),
beside ``serve``. The bus is the one ``pubsub serve`` would run: the generated package of the registry's
``[generate]`` table (or ``--package``), each channel on the adapter the registry names (or ``--all-channels-on``),
settings from the environment. What these commands do is in ``hipponot_pubsub.runtime.deadletters``.

Redrive and purge act on at most ``--limit`` dead letters; purge asks for confirmation on a terminal (``--yes``
elsewhere); replay counts what it selected first (``--dry-run`` stops there) and shows a progress bar on a
terminal when tqdm is installed. Every operation is recorded with who ran it (``--by``, default the OS user at
this host) and when.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import socket
import sys
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from .bus import Bus
from .catalog import Catalog
from .deadletters import (
    DEFAULT_LIMIT,
    DEFAULT_MAX_REDRIVES,
    DeadLetter,
    DeadLetterFilter,
    Range,
    Report,
    list_dead_letters,
    parse_bound,
    parse_time,
    purge,
    redrive,
    replay,
    select_range,
    show_dead_letter,
)
from .errors import NotADeadLetter, PubSubError
from .http.served import served_package

Common = Callable[[argparse.ArgumentParser], None]


def _bus_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("channel", metavar="CHANNEL", help="a channel of the registry")
    parser.add_argument("--package", default=None, metavar="PACKAGE",
                        help="generated package (default: [generate] package of pubsub.toml in --schemas)")
    parser.add_argument("--all-channels-on", metavar="KIND", default=None,
                        help="run every channel on this adapter kind instead of the registry's")
    parser.add_argument("--by", default=None, metavar="WHO",
                        help="who is recorded as having done it (default: user@host)")


def add_dlq_parser(commands: Any, common: Common) -> None:
    """Register ``dlq`` and its sub-commands on the main CLI."""
    dlq = commands.add_parser("dlq", help="list, show, redrive or purge a channel's dead letters")
    actions = dlq.add_subparsers(dest="dlq_action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="the dead letters still dead (filters narrow it)")
    common(listing)
    _bus_options(listing)
    listing.add_argument("--type", default=None, help="only events of this type")
    listing.add_argument("--error", default=None, metavar="TEXT", help="only errors containing TEXT")
    listing.add_argument("--since", default=None, metavar="TIME", help="dead-lettered at or after TIME (RFC 3339)")
    listing.add_argument("--until", default=None, metavar="TIME", help="dead-lettered at or before TIME (RFC 3339)")
    listing.add_argument("--count", type=int, default=None, metavar="N", help="at most N (oldest first)")
    listing.add_argument("--all-states", action="store_true", help="redriven and purged ones too")
    listing.set_defaults(handler=cmd_dlq)

    show = actions.add_parser("show", help="one dead letter: error, attempts, group, attributes, payload")
    common(show)
    _bus_options(show)
    show.add_argument("position", metavar="POSITION", help="its position in the dead-letter channel")
    show.set_defaults(handler=cmd_dlq)

    again = actions.add_parser("redrive", help="validate again and redeliver to the group that failed them")
    common(again)
    _bus_options(again)
    again.add_argument("positions", nargs="*", metavar="POSITION", help="these dead letters")
    again.add_argument("--all", action="store_true", help="every dead letter still dead (up to --limit)")
    again.add_argument("--group", default=None, help="redeliver to this group instead of the one that failed")
    again.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help=f"at most N (default {DEFAULT_LIMIT})")
    again.add_argument("--max-redrives", type=int, default=DEFAULT_MAX_REDRIVES,
                       help=f"skip events redriven this many times already (default {DEFAULT_MAX_REDRIVES})")
    again.set_defaults(handler=cmd_dlq)

    gone = actions.add_parser("purge", help="mark dead letters purged (hidden, never redriven)")
    common(gone)
    _bus_options(gone)
    gone.add_argument("positions", nargs="*", metavar="POSITION", help="these dead letters")
    gone.add_argument("--all", action="store_true", help="every dead letter still dead")
    gone.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    gone.set_defaults(handler=cmd_dlq)


def add_replay_parser(commands: Any, common: Common) -> None:
    """Register ``replay`` on the main CLI."""
    again = commands.add_parser("replay", help="redeliver a range of a channel to one group, or copy it elsewhere")
    common(again)
    _bus_options(again)
    again.add_argument("--from", dest="start", required=True, metavar="POS|TIME",
                       help="after this position, or from this time (RFC 3339, the events' time)")
    again.add_argument("--to", dest="end", default=None, metavar="POS|TIME",
                       help="up to this position or time, included (default: the channel's end)")
    target = again.add_mutually_exclusive_group(required=True)
    target.add_argument("--group", default=None, help="redeliver to this consumer group only")
    target.add_argument("--into", default=None, metavar="CHANNEL", help="publish copies into this channel")
    again.add_argument("--type", default=None, help="only events of this type")
    again.add_argument("--dry-run", action="store_true", help="count what would be replayed, replay nothing")
    again.set_defaults(handler=cmd_replay)


# -- running ---------------------------------------------------------------------------------------------------


def _fail(args: argparse.Namespace, message: str) -> int:
    if getattr(args, "format", "text") == "json":
        print(json.dumps({"error": message}), flush=True)
    else:
        print(f"error: {message}", file=sys.stderr)
    return 2


def _who(args: argparse.Namespace) -> str:
    return str(args.by or f"{getpass.getuser()}@{socket.gethostname()}")


def _with_bus(args: argparse.Namespace, work: Callable[[Bus], Awaitable[int]]) -> int:
    """Run ``work`` on a started bus for the registry's package; a bad registry, channel, position or broker
    is one ``error:`` line and exit 2 (no traceback)."""
    try:
        catalog = Catalog.from_package(served_package(args.package, getattr(args, "schemas", None)))
        catalog.channel(args.channel)
    except ModuleNotFoundError as error:
        return _fail(args, f"cannot import the generated package ({error}); run `pubsub generate` or pass --package")
    except (PubSubError, ValueError, OSError) as error:
        return _fail(args, str(error))

    async def run() -> int:
        async with Bus(catalog, all_channels_on=args.all_channels_on) as bus:
            return await work(bus)

    try:
        return asyncio.run(run())
    except (PubSubError, ValueError, OSError) as error:
        return _fail(args, str(error))


def _progress(total: int, args: argparse.Namespace, what: str) -> AbstractContextManager[Any]:
    """tqdm on a terminal (text output, installed); nothing otherwise."""
    if args.format != "text" or not sys.stderr.isatty():
        return nullcontext(None)
    try:
        from tqdm import tqdm
    except ImportError:
        return nullcontext(None)
    return tqdm(total=total, desc=what, unit="event", file=sys.stderr)  # type: ignore[no-any-return]


def _print_report(args: argparse.Namespace, report: Report) -> None:
    if args.format == "json":
        print(json.dumps(report.to_json()))
        return
    print(f"{report.action}: {len(report.done)}, skipped: {len(report.skipped)}")
    for position, reason in report.skipped:
        print(f"  skipped {position}: {reason}")


def _line(letter: DeadLetter) -> str:
    who = f" group {letter.group}" if letter.group else ""
    attempts = f" after {letter.attempts} attempts" if letter.attempts is not None else ""
    state = "" if letter.state == "dead" else f" [{letter.state}]"
    return (f"{letter.position}{state}  {letter.type or '?'} {letter.attributes.get('id', '?')}{who}{attempts}"
            f" at {letter.dead_lettered_at or '?'}: {letter.error}")


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    parsed = parse_time(value)
    if parsed is None:
        raise ValueError(f"{name} {value!r} is not an RFC 3339 time")
    return parsed


def cmd_dlq(args: argparse.Namespace) -> int:
    action = args.dlq_action
    if action in ("redrive", "purge") and not args.positions and not args.all:
        return _fail(args, f"name the dead letters to {action} (POSITION ...) or pass --all")
    if action in ("redrive", "purge") and args.positions and args.all:
        return _fail(args, "either positions or --all, not both")

    async def work(bus: Bus) -> int:
        channel = args.channel
        if action == "list":
            selection = DeadLetterFilter(
                type=args.type, error=args.error, since=_time(args.since, "--since"),
                until=_time(args.until, "--until"),
                states=frozenset({"dead", "redriven", "purged"}) if args.all_states else frozenset({"dead"}))
            letters = await list_dead_letters(bus, channel, selection, limit=args.count)
            if args.format == "json":
                print(json.dumps({"channel": channel, "dead_letters": [d.to_json() for d in letters]}))
            else:
                for letter in letters:
                    print(_line(letter))
                print(f"{len(letters)} dead letter(s) on {channel}", file=sys.stderr)
            return 0
        if action == "show":
            try:
                letter = await show_dead_letter(bus, channel, args.position)
            except NotADeadLetter as error:
                return _fail(args, str(error))
            view = letter.to_json(with_payload=True)
            if args.format == "json":
                print(json.dumps(view))
            else:
                for key, value in view.items():
                    shown = json.dumps(value) if isinstance(value, dict | list) else value
                    print(f"{key}: {shown}")
            return 0
        positions = None if args.all else list(args.positions)
        if action == "redrive":
            report = await redrive(bus, channel, positions, by=_who(args), group=args.group, limit=args.limit,
                                   max_redrives=args.max_redrives)
        else:
            if not args.yes:
                count = len(positions) if positions is not None else len(await list_dead_letters(bus, channel))
                if not sys.stdin.isatty():
                    return _fail(args, f"purging {count} dead letter(s) needs confirmation: pass --yes")
                answer = input(f"purge {count} dead letter(s) of {channel}? [y/N] ")
                if answer.strip().lower() not in ("y", "yes"):
                    print("nothing purged", file=sys.stderr)
                    return 1
            report = await purge(bus, channel, positions, by=_who(args))
        _print_report(args, report)
        return 0

    return _with_bus(args, work)


def cmd_replay(args: argparse.Namespace) -> int:
    after, since = parse_bound(args.start)
    to, until = parse_bound(args.end)

    async def work(bus: Bus) -> int:
        records = await select_range(bus, args.channel, Range(after=after, since=since, to=to, until=until,
                                                              type=args.type))
        target = f"group {args.group}" if args.group else f"channel {args.into}"
        if args.format != "json" or args.dry_run:
            counted = {"channel": args.channel, "selected": len(records), "to": target, "dry_run": args.dry_run}
            if args.format == "json":
                print(json.dumps(counted))
            else:
                print(f"{len(records)} event(s) of {args.channel} selected for {target}"
                      + (" (dry run: nothing replayed)" if args.dry_run else ""), file=sys.stderr)
        if args.dry_run:
            return 0
        with _progress(len(records), args, "replay") as bar:
            report = await replay(bus, args.channel, records, by=_who(args), group=args.group, into=args.into,
                                  progress=None if bar is None else bar.update)
        _print_report(args, report)
        return 0 if not report.skipped else 1

    return _with_bus(args, work)
