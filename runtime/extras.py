"""Which extra of the install provides which library, so a missing one is reported as the command to run.

The bare install is the runtime core; the HTTP service, the broker adapters, the code generator and the test
kit's async fixture need libraries that come with extras (``pip install 'hipponot-pubsub[redis]'``). Code that
reaches for one of them turns the ``ModuleNotFoundError`` into :class:`MissingExtra` through :func:`missing_extra`
(or checks first with :func:`require`), so the user reads which extra to install instead of a traceback.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Mapping

from .errors import MissingExtra

DISTRIBUTION = "hipponot-pubsub"

#: Top-level module → the extra that installs it.
PROVIDED_BY: Mapping[str, str] = {
    "litestar": "http",
    "uvicorn": "http",
    "httpx": "http",
    "httpx_sse": "http",
    "prometheus_client": "http",
    "anyio": "http",
    "redis": "redis",
    "aiokafka": "kafka",
    "nats": "nats",
    "aio_pika": "rabbitmq",
    "pytest": "testing",
    "pytest_asyncio": "testing",
    "datamodel_code_generator": "codegen",
    "jinja2": "codegen",
}


def install_command(extra: str) -> str:
    """``pip install 'hipponot-pubsub[EXTRA]'`` (quoted: shells expand square brackets)."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def missing_extra(error: ModuleNotFoundError, needed_by: str) -> MissingExtra | None:
    """The :class:`MissingExtra` to raise instead of ``error`` when an extra provides the missing module (None
    otherwise: the module is not ours to name, re-raise the original). ``needed_by`` says what needed it."""
    module = (error.name or "").partition(".")[0]
    extra = PROVIDED_BY.get(module)
    if extra is None:
        return None
    return MissingExtra(f"{needed_by} needs {module}, which is not installed: {install_command(extra)}", extra=extra,
                        module=module)


def require(modules: Iterable[str], needed_by: str) -> None:
    """Raise :class:`MissingExtra` unless every module in ``modules`` (top-level names) can be imported."""
    for module in modules:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            error = missing_extra(ModuleNotFoundError(f"No module named {module!r}", name=module), needed_by)
            if error is None:
                raise ModuleNotFoundError(f"{needed_by} needs {module}, which is not installed", name=module)
            raise error
