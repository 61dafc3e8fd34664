"""Which optional parts of hipponot-pubsub are installed, and what to install when one is missing.

The bare install is the runtime; code generation needs the ``codegen`` extra (datamodel-code-generator and
jinja2). A command that needs it says so in one line and exits 2 rather than ending in a traceback.
"""

from __future__ import annotations

import importlib.util

CODEGEN_MODULES = ("datamodel_code_generator", "jinja2")
EXIT_MISSING = 2


class MissingExtra(Exception):
    """A command needs an extra that is not installed; the message says which command and what to install."""


def _present(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def codegen_message(command: str) -> str:
    return f"pubsub {command} needs the code generator: pip install 'hipponot-pubsub[codegen]'"


def require_codegen(command: str) -> None:
    """Raise :class:`MissingExtra` unless the code generator's libraries can be imported (without importing
    them: ``find_spec`` only, so a current ``--check`` stays fast)."""
    if not all(_present(module) for module in CODEGEN_MODULES):
        raise MissingExtra(codegen_message(command))


def is_codegen_import_error(error: ImportError) -> bool:
    """True when ``error`` is a code generator library failing to import (not a bug of ours)."""
    name = error.name or ""
    return any(name == module or name.startswith(module + ".") for module in CODEGEN_MODULES)
