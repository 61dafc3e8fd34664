"""Where a JSON pointer lands in a JSON file, as a line number, for CI annotations.

A GitHub annotation with a ``line`` is shown on that line of the pull-request diff instead of at the top of
the file. ``json`` does not report positions, so this is a small scanner that walks the text along the
pointer's tokens and skips everything else. A pointer to a keyword that does not exist (the place where it
would be) lands on its deepest existing ancestor.
"""

from __future__ import annotations

import json
import re

from jsonpointer import JsonPointer

_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_SCALAR = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")


class _Malformed(Exception):
    pass


def scanstring(text: str, i: int) -> tuple[str, int]:
    """The string whose opening quote is at ``i - 1``, and the index after its closing quote."""
    match = _STRING.match(text, i - 1)
    if not match:
        raise _Malformed
    value = json.loads(match.group())
    assert isinstance(value, str)
    return value, match.end()


def _ws(text: str, i: int) -> int:
    match = _WS.match(text, i)
    return match.end() if match else i


def _skip(text: str, i: int) -> int:
    """The index just after the JSON value starting at ``i``."""
    i = _ws(text, i)
    if i >= len(text):
        raise _Malformed
    char = text[i]
    if char == '"':
        return scanstring(text, i + 1)[1]
    if char in "{[":
        close = "}" if char == "{" else "]"
        i = _ws(text, i + 1)
        if text.startswith(close, i):
            return i + 1
        while True:
            if char == "{":
                i = _ws(text, scanstring(text, _ws(text, i) + 1)[1])
                if not text.startswith(":", i):
                    raise _Malformed
                i += 1
            i = _ws(text, _skip(text, i))
            if text.startswith(",", i):
                i += 1
            elif text.startswith(close, i):
                return i + 1
            else:
                raise _Malformed
    match = _SCALAR.match(text, i)
    if not match:
        raise _Malformed
    return match.end()


def _find(text: str, i: int, tokens: list[str]) -> int:
    """The offset of the value at ``tokens`` below the value at ``i`` (or of its deepest existing ancestor)."""
    i = _ws(text, i)
    if not tokens:
        return i
    token, rest = tokens[0], tokens[1:]
    if text.startswith("{", i):
        j = _ws(text, i + 1)
        while j < len(text) and not text.startswith("}", j):
            key, j = scanstring(text, _ws(text, j) + 1)
            j = _ws(text, j) + 1  # past ':'
            if key == token:
                return _find(text, j, rest)
            j = _ws(text, _skip(text, j))
            if text.startswith(",", j):
                j = _ws(text, j + 1)
        return i
    if text.startswith("[", i) and token.isdigit():
        j, index = _ws(text, i + 1), 0
        while j < len(text) and not text.startswith("]", j):
            if index == int(token):
                return _find(text, j, rest)
            j = _ws(text, _skip(text, j))
            if text.startswith(",", j):
                j = _ws(text, j + 1)
            index += 1
    return i


def line_of(text: str, pointer: str) -> int | None:
    """1-based line of the value at ``pointer`` in the JSON ``text``; None if the text is not JSON."""
    try:
        offset = _find(text, 0, list(JsonPointer(pointer).parts))
    except (_Malformed, ValueError, IndexError):
        return None
    return text.count("\n", 0, offset) + 1
