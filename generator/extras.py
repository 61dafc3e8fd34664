"""What the code generator's commands need beyond the bare install, on top of :mod:`hipponot_pubsub.runtime.extras`
(which owns the module → extra table and :class:`MissingExtra`).

The bare install is the runtime; code generation needs the ``codegen`` extra (datamodel-code-generator and
jinja2). A command that needs it says so in one line and exits 2 rather than ending in a traceback.
"""

from __future__ import annotations

from hipponot_pubsub.runtime.errors import MissingExtra
from hipponot_pubsub.runtime.extras import install_command, missing_extra, require

CODEGEN_MODULES = ("datamodel_code_generator", "jinja2")
EXIT_MISSING = 2

__all__ = ["CODEGEN_MODULES", "EXIT_MISSING", "MissingExtra", "codegen_missing", "require_codegen"]


def _missing(command: str) -> MissingExtra:
    return MissingExtra(f"pubsub {command} needs the code generator: {install_command('codegen')}",
                        extra="codegen", module=CODEGEN_MODULES[0])


def require_codegen(command: str) -> None:
    """Raise :class:`MissingExtra` unless the code generator's libraries can be imported (without importing
    them: ``find_spec`` only, so a current ``--check`` stays fast)."""
    try:
        require(CODEGEN_MODULES, f"pubsub {command}")
    except MissingExtra:
        raise _missing(command) from None


def codegen_missing(error: ImportError, command: str) -> MissingExtra | None:
    """The :class:`MissingExtra` to raise for ``error`` when it is a code generator library failing to import
    (None when it is not: a bug of ours, re-raise it)."""
    if not isinstance(error, ModuleNotFoundError):
        return None
    found = missing_extra(error, f"pubsub {command}")
    return _missing(command) if found is not None and found.extra == "codegen" else None
