"""The HTTP service: publish over HTTP, stream channels as Server-Sent Events, read the registry (extra ``http``).

``create_app`` builds a ready Litestar app; ``PubSubPlugin`` mounts the same routes into your own app. See
``hipponot_pubsub.runtime.http.routes`` for every route and ``hipponot_pubsub.runtime.http.settings`` for the
environment variables.

Names are imported on first use: ``pubsub serve`` (``.cli``) is registered on every install, and reports the
missing extra itself when Litestar is not installed; here a missing library is a ``MissingExtra`` naming it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..extras import missing_extra

if TYPE_CHECKING:
    from .app import GracefulServer, create_app, serve
    from .plugin import PubSubPlugin, PubSubService
    from .settings import ServiceSettings

#: Public name → the module of this package that defines it.
_EXPORTS = {
    "GracefulServer": "app",
    "create_app": "app",
    "serve": "app",
    "PubSubPlugin": "plugin",
    "PubSubService": "plugin",
    "ServiceSettings": "settings",
}

__all__ = ["GracefulServer", "PubSubPlugin", "PubSubService", "ServiceSettings", "create_app", "serve"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
    except ModuleNotFoundError as error:
        missing = missing_extra(error, "the HTTP service (hipponot_pubsub.runtime.http)")
        if missing is None:
            raise
        raise missing from None
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
