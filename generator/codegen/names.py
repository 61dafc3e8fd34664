"""Safe Python names from event types, file paths and titles.

Event types and file names come from users and vendors: they may be Python keywords or builtins, contain
dots, hyphens, path separators or non-ASCII letters, or collide once normalised. Every name made here is a
valid identifier; a module path never leaves the output folder; and a collision is a clear error naming
both sources rather than a silent rename that would change the generated API when a schema is added.
"""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata
from collections.abc import Iterable

_WORD = re.compile(r"[A-Za-z0-9]+")
_RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))


class NameCollision(ValueError):
    """Two different sources normalise to the same generated name."""


def _ascii_words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _WORD.findall(folded)


def class_name(text: str, suffix: str = "") -> str:
    """``order.placed`` → ``OrderPlaced``; ``größe/Änderung`` → ``GroesseAenderung``-like; never empty."""
    words = _ascii_words(text.replace("ß", "ss"))
    name = "".join(word[:1].upper() + word[1:] for word in words) or "Event"
    if name[0].isdigit():
        name = "E" + name
    name += suffix
    return name + "_" if name in _RESERVED else name


def module_name(text: str) -> str:
    """A lower-case module name: ``Order-Placed.v1`` → ``order_placed_v1``; keywords get a trailing ``_``."""
    words = _ascii_words(text)
    name = "_".join(word.lower() for word in words) or "module"
    if name[0].isdigit():
        name = "m_" + name
    return name + "_" if name in _RESERVED or name.startswith("__") else name


def slug(text: str) -> str:
    """A file-name-safe slug for data files: ``order.placed`` → ``order_placed``."""
    return module_name(text).rstrip("_")


def module_path(path: str) -> tuple[str, ...]:
    """A schema file path → module path parts: ``orders/order-placed.v1.json`` → (``orders``, ``order_placed_v1``).

    ``..`` and absolute parts cannot survive: every part is reduced to ``[a-z0-9_]``.
    """
    parts = [part for part in path.split("/") if part not in ("", ".", "..")]
    if parts:
        parts[-1] = parts[-1].removesuffix(".json")
    return tuple(module_name(part) for part in parts) or ("module",)


def unique(pairs: Iterable[tuple[str, str]], what: str) -> dict[str, str]:
    """Map each source to its name, raising :class:`NameCollision` if two sources share one."""
    by_name: dict[str, str] = {}
    result: dict[str, str] = {}
    for source, name in pairs:
        folded = name.lower()
        if folded in by_name and by_name[folded] != source:
            raise NameCollision(
                f"{what} {by_name[folded]!r} and {source!r} both become {name!r} in Python; rename one of them"
            )
        by_name[folded] = source
        result[source] = name
    return result
