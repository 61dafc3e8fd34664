"""Bytes to Python values: orjson for speed, the standard library where orjson is stricter than JSON.

orjson refuses integers beyond 64 bits, which RFC 8259 allows; those documents are re-read with ``json``. Both
parsers refuse ``NaN`` and ``Infinity``, which are not JSON, so a document means the same to every adapter.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from .errors import MalformedEvent, Violation


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes | bytearray | memoryview | str) -> Any:
    """The JSON value of ``raw``; raises ``MalformedEvent`` with the parser's reason."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as fast_error:
        try:
            text = raw if isinstance(raw, str) else bytes(raw).decode("utf-8")
            return json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError):
            raise MalformedEvent(f"not JSON: {fast_error}", [Violation("", f"not JSON: {fast_error}")]) from None


def dump_json(value: Any) -> bytes:
    """Compact UTF-8 JSON bytes."""
    try:
        return orjson.dumps(value)
    except TypeError:  # e.g. an integer beyond 64 bits: the standard library writes any int
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
