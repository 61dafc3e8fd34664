"""GitHub Actions workflow commands: ``::error file=...,line=...,title=...::message``, escaped as the runner
reads them (data: ``%``, CR, LF; properties also ``:`` and ``,``), so a message can hold any text.

Every command that prints ``--format github`` (lint, generate, compat, check) builds its lines here.
"""

from __future__ import annotations

LEVELS = ("error", "warning", "notice")


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, message: str, *, file: str | None = None, line: int | None = None,
               title: str | None = None) -> str:
    """One workflow command; ``file`` is relative to the repository root (where the job runs)."""
    if level not in LEVELS:
        raise ValueError(f"unknown annotation level {level!r} (known: {', '.join(LEVELS)})")
    props = []
    if file:
        props.append(f"file={escape_property(file)}")
        if line is not None:
            props.append(f"line={line}")
    if title:
        props.append(f"title={escape_property(title)}")
    head = f"::{level} {','.join(props)}" if props else f"::{level}"
    return f"{head}::{escape_data(message)}"
