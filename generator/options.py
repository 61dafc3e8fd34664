"""The options every ``pubsub`` command shares, accepted before or after the sub-command word."""

from __future__ import annotations

import argparse
import os

DEFAULT_SCHEMAS = "schemas"
TEXT_JSON = ("text", "json")
#: The formats of the commands CI runs (lint, generate, compat, check): GitHub Actions annotations too.
CI_FORMATS = ("text", "json", "github")


def add_common(parser: argparse.ArgumentParser, *, suppress: bool, formats: tuple[str, ...] = TEXT_JSON) -> None:
    """``--schemas`` and ``--format``; on a sub-command (``suppress``) they default to the top-level values."""
    default = argparse.SUPPRESS
    parser.add_argument(
        "--schemas",
        metavar="DIR",
        default=default if suppress else os.environ.get("PUBSUB_SCHEMAS", DEFAULT_SCHEMAS),
        help="registry folder holding pubsub.toml (default: $PUBSUB_SCHEMAS or ./schemas)",
    )
    parser.add_argument(
        "--format",
        choices=formats,
        default=default if suppress else "text",
        help="output for humans (text, default), machines (json)"
        + (" or GitHub Actions annotations (github)" if "github" in formats else ""),
    )
