"""Bytes to Python values: msgspec for speed, the standard library where msgspec is stricter than JSON.

Integers of any size are read exactly. (orjson and msgspec's default both turn an integer beyond 64 bits into a
float, silently dropping digits: an event forwarded would change, and a schema's ``maximum`` or ``const`` could
judge a value the publisher never sent. A ``float_hook`` makes msgspec keep such integers exact; floats are then
read by ``float``, correctly rounded as every parser here rounds them.) Documents msgspec refuses — lone
surrogate escapes, nesting deeper than the recursion limit — are re-read with ``json``. Both refuse ``NaN`` and
``Infinity``, which are not JSON, so a document means the same to every adapter.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
import orjson

from .errors import MalformedEvent, Violation

#: Reads any JSON value (shared: a decoder is reusable and thread-safe).
_decode = msgspec.json.Decoder(float_hook=float).decode


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes | bytearray | memoryview | str) -> Any:
    """The JSON value of ``raw``; raises ``MalformedEvent`` with the parser's reason."""
    try:
        return _decode(raw)
    except (msgspec.DecodeError, RecursionError) as fast_error:
        try:
            text = raw if isinstance(raw, str) else bytes(raw).decode("utf-8")
            return json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise MalformedEvent(f"not JSON: {fast_error}", [Violation("", f"not JSON: {fast_error}")]) from None


def dump_json(value: Any) -> bytes:
    """Compact UTF-8 JSON bytes."""
    try:
        return orjson.dumps(value)
    except TypeError:  # e.g. an integer beyond 64 bits: the standard library writes any int
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")
