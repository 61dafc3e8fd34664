"""JSON Schema ``pattern``s for pydantic's Rust regex engine, with exactly the verdict of Python's ``re.search``.

``jsonschema`` tests a pattern with ``re.search``; pydantic-core runs it with Rust's ``regex`` (``is_match``, also
a search). On the common subset of the two syntaxes they agree but for one thing: Python's ``$`` also matches
before a final "\\n" ("HN-00042017\\n" matches ``^HN-[0-9]{8}$``), Rust's only at the end. So a ``$`` becomes
``\\n?$``. Outside that subset (``\\w``, ``\\s``, ``\\b`` and their complements differ in Unicode tables, flags in
case folding, ``[[:alpha:]]`` and ``&&``/``--`` in classes are Rust syntax, ``{,3}`` and a lone ``{`` are Python's,
back-references and lookaround are Python-only...) ``rust_pattern`` gives up: the model leaves the pattern to
the JSON Schema check (listed as delegated in the manifest). Python's ``re`` engine (pydantic's
``regex_engine="python-re"``) would also be exact, but costs ~0.2 µs per checked string on every read.
"""

from __future__ import annotations

import re
import warnings
from functools import cache

from pydantic_core import SchemaError, SchemaValidator, core_schema

#: Punctuation a Python escape names as itself (``\\<`` and ``\\>`` are literal in Python, word boundaries in Rust).
_PUNCTUATION = frozenset(".-+*?()[]{}\\/|^$ #&~,:;=!<>'\"@%`_")
#: Characters Rust reads as syntax, outside and inside a class (a backslash before them is a literal).
_RUST_META = frozenset("\\.+*?()|[]{}^$")
_RUST_CLASS_META = frozenset("\\[]^-&~")
_CONTROL_ESCAPES = {"n": "\\n", "t": "\\t", "r": "\\r", "f": "\\f", "v": "\\v"}
_HEX = frozenset("0123456789abcdefABCDEF")
#: Counted repetitions beyond this make Rust's compiled program too large (an import-time error).
_MAX_REPEAT = 1000


class _Unsupported(Exception):
    pass


def _literal(char: str, in_class: bool) -> str:
    return "\\" + char if char in (_RUST_CLASS_META if in_class else _RUST_META) else char


def _escape(pattern: str, at: int, *, in_class: bool, negated: bool) -> tuple[str, int]:
    """The escape at ``pattern[at] == "\\\\"``: its Rust spelling and the index after it."""
    letter = pattern[at + 1] if at + 1 < len(pattern) else ""
    if letter in _PUNCTUATION and letter:
        return _literal(letter, in_class), at + 2
    if letter in _CONTROL_ESCAPES:
        return _CONTROL_ESCAPES[letter], at + 2
    digits = pattern[at + 2:at + 4]
    if letter == "x" and len(digits) == 2 and set(digits) <= _HEX:
        return pattern[at:at + 4], at + 4
    if letter == "d" and not negated:  # Python's \d (Unicode digits) is a subset of Rust's (a newer Unicode)
        return "\\d", at + 2
    raise _Unsupported


def _class(pattern: str, at: int) -> tuple[str, int]:
    """The character class at ``pattern[at] == "["``: its Rust spelling and the index after it."""
    out = ["["]
    i = at + 1
    negated = i < len(pattern) and pattern[i] == "^"
    if negated:
        out.append("^")
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        raise _Unsupported  # "[]a]": Python's literal "]", not a syntax to rely on in Rust
    items = 0
    while i < len(pattern) and pattern[i] != "]":
        char = pattern[i]
        if char == "[" or pattern.startswith(("&&", "--", "~~"), i):
            raise _Unsupported  # nested classes and set operations are Rust syntax
        if char == "\\":
            spelled, i = _escape(pattern, i, in_class=True, negated=negated)
            out.append(spelled)
        else:
            out.append(char)  # the same in both ("-" a range between items; "&&", "~~" refused above)
            i += 1
        items += 1
    if i >= len(pattern) or not items:
        raise _Unsupported
    out.append("]")
    return "".join(out), i + 1


def _repeat(pattern: str, at: int) -> tuple[str, int] | None:
    """A counted repetition ``{m}``, ``{m,}`` or ``{m,n}`` at ``pattern[at] == "{"`` (None: not one)."""
    end = pattern.find("}", at)
    if end < 0:
        return None
    body = pattern[at + 1:end]
    low, _, high = body.partition(",")
    if not low.isascii() or not low.isdigit() or (high and not (high.isascii() and high.isdigit())):
        return None
    if int(low) > _MAX_REPEAT or (high and (int(high) > _MAX_REPEAT or int(high) < int(low))):
        raise _Unsupported
    return pattern[at:end + 1], end + 1


def _translate(pattern: str) -> str:
    out: list[str] = []
    depth = 0
    quantifiable = False  # whether the previous item may take a quantifier
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            spelled, i = _escape(pattern, i, in_class=False, negated=False)
            out.append(spelled)
            quantifiable = True
        elif char == "[":
            spelled, i = _class(pattern, i)
            out.append(spelled)
            quantifiable = True
        elif char == "(":
            if pattern.startswith("(?:", i):
                out.append("(?:")
                i += 3
            elif pattern.startswith("(?", i):
                raise _Unsupported  # flags, names, lookaround, comments, conditionals
            else:
                out.append("(")
                i += 1
            depth += 1
            quantifiable = False
        elif char == ")":
            if not depth:
                raise _Unsupported
            depth -= 1
            out.append(")")
            i += 1
            quantifiable = True
        elif char == "|":
            out.append("|")
            i += 1
            quantifiable = False
        elif char == "^":
            out.append("^")
            i += 1
            quantifiable = False
        elif char == "$":
            rest = pattern[i + 1:]
            ends = not rest.strip(")") if depth else not rest or rest.startswith("|")
            if not ends:
                raise _Unsupported  # only a $ that ends the pattern (or a top-level alternative) is rewritten
            out.append("\\n?$")  # Python's $ also matches before a final newline
            i += 1
            quantifiable = False
        elif char in "*+?{":
            if not quantifiable:
                raise _Unsupported
            if char == "{":
                counted = _repeat(pattern, i)
                if counted is None:
                    raise _Unsupported  # a literal "{" in Python, an error in Rust
                spelled, i = counted
                out.append(spelled)
            else:
                out.append(char)
                i += 1
            if i < len(pattern) and pattern[i] == "?":
                out.append("?")  # lazy: the same verdict either way
                i += 1
            if i < len(pattern) and pattern[i] in "*+?{":
                raise _Unsupported  # possessive or stacked quantifiers
            quantifiable = False
        elif char in "]}":
            raise _Unsupported  # literal in Python, not a syntax to rely on in Rust
        else:
            out.append(char)  # "." and literal characters: the same in both
            i += 1
            quantifiable = True
    if depth:
        raise _Unsupported
    return "".join(out)


@cache
def rust_pattern(pattern: str) -> str | None:
    """The pattern in Rust regex syntax with ``re.search``'s verdict on every string, or None if not sure."""
    try:
        translated = _translate(pattern)
        with warnings.catch_warnings():  # FutureWarning: "possible nested set"...
            warnings.simplefilter("ignore")
            re.compile(pattern)
        SchemaValidator(core_schema.str_schema(pattern=translated, regex_engine="rust-regex"))
    except (_Unsupported, re.error, SchemaError):
        return None
    return translated
