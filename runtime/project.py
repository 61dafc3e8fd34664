"""Where a registry's generated package lives: the ``[generate]`` table of its ``pubsub.toml``.

.. code-block:: toml

    [generate]
    out = "../myapp/events"     # relative to the folder holding pubsub.toml
    package = "myapp.events"    # the import name of that folder

``pubsub generate`` and ``pubsub check`` write and compare there; ``pubsub serve``, the pytest plugin and the
pre-commit hook read the same table, so no command needs ``--out``/``--package`` repeated. The runtime owns
this reader (the bare install has no code generator); the generator's registry loader reports a bad table as
a lint problem through :func:`generate_target` too.

Without a table the defaults are those of the flags: package ``generated`` in ``./generated``, relative to the
current directory.
"""

from __future__ import annotations

import importlib.util
import keyword
import os.path
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONFIG_FILE = "pubsub.toml"
DEFAULT_PACKAGE = "generated"


class ProjectError(ValueError):
    """The ``[generate]`` table (or the flags standing in for it) cannot be used; the message names the file.

    ``file`` and ``pointer`` (a JSON pointer into the TOML data, ``/generate/package``) say where, ``reason``
    says what, so the registry linter can report the problem like any other; ``file`` is None for a flag.
    """

    def __init__(self, reason: str, *, file: Path | None = None, pointer: str = "") -> None:
        where = f"{file}: {pointer}: " if file is not None and pointer else f"{file}: " if file is not None else ""
        super().__init__(where + reason)
        self.reason = reason
        self.file = file
        self.pointer = pointer


@dataclass(frozen=True)
class GenerateTarget:
    """The generated package: its folder, its dotted import name, and the folder to import it from."""

    out: Path
    package: str

    @property
    def import_root(self) -> Path | None:
        """The folder that, on ``sys.path``, makes ``package`` import from ``out``: ``out`` with the package's
        parts taken off its end (``src/myapp/events`` for ``myapp.events`` → ``src``). None when the folder's
        name does not end with the package's parts, so only an installed package can be imported."""
        parts = self.package.split(".")
        folder = self.out
        for part in reversed(parts):
            if folder.name != part:
                return None
            folder = folder.parent
        return folder

    def ensure_importable(self) -> None:
        """Make ``package`` importable from ``out`` when it is not importable already (not installed, not on
        ``sys.path``): what ``uvicorn --app-dir`` does for an app, done for the generated package."""
        root = self.import_root
        if root is None or _importable(self.package.split(".")[0]):
            return
        sys.path.insert(0, str(root))
        importlib.invalidate_caches()


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def is_package_name(name: str) -> bool:
    """A dotted Python import name: ``events``, ``myapp.events``; not ``my-app``, ``a..b`` or ``class``."""
    parts = name.split(".")
    return all(part.isidentifier() and not keyword.iskeyword(part) for part in parts)


def read_generate_table(registry: Path) -> dict[str, Any]:
    """The ``[generate]`` table of ``registry/pubsub.toml`` as written (empty when absent), checked for shape."""
    path = registry / CONFIG_FILE
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ProjectError(str(error), file=path) from None
    return check_generate_table(document, path)


def check_generate_table(document: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """The ``[generate]`` table of a parsed ``pubsub.toml`` (``path`` names it in errors), checked for shape:
    raises :class:`ProjectError` with the pointer of the first bad key."""
    table = document.get("generate", {})
    if not isinstance(table, dict):
        raise ProjectError("must be a table", file=path, pointer="/generate")
    unknown = sorted(set(table) - {"out", "package"})
    if unknown:
        raise ProjectError("unknown key (known: out, package)", file=path, pointer=f"/generate/{unknown[0]}")
    for key in ("out", "package"):
        if key in table and (not isinstance(table[key], str) or not table[key]):
            raise ProjectError("must be a non-empty string", file=path, pointer=f"/generate/{key}")
    if "package" in table and not is_package_name(table["package"]):
        raise ProjectError(f"{table['package']!r} is not a dotted Python import name (e.g. myapp.events)",
                           file=path, pointer="/generate/package")
    return dict(table)


def generate_target(registry: Path, *, out: str | Path | None = None, package: str | None = None) -> GenerateTarget:
    """The generated package of the registry in ``registry``: flags first (``out`` relative to the current
    directory), then ``[generate]`` (``out`` relative to the registry folder), then the defaults.

    With only a package given, the folder is the package's path (``myapp.events`` → ``myapp/events``) relative
    to the current directory. Raises :class:`ProjectError` naming the file and key on a bad table or flag.
    """
    table = read_generate_table(registry)
    chosen = package or table.get("package") or DEFAULT_PACKAGE
    if not is_package_name(chosen):
        raise ProjectError(f"--package {chosen!r} is not a dotted Python import name (e.g. myapp.events)")
    if out is not None:
        folder = Path(out)
    elif "out" in table:
        folder = registry / table["out"]
    else:
        folder = Path(*chosen.split("."))
    # Lexical (``schemas/../generated`` → ``generated``), so a path shown to the user stays relative.
    return GenerateTarget(out=Path(os.path.normpath(folder)), package=chosen)
