"""``create_app``: the service as a Litestar app, and ``GracefulServer``: uvicorn that ends SSE streams first.

``create_app()`` with no arguments serves the registry of the package ``pubsub generate`` writes (the
``[generate]`` table of ``./schemas/pubsub.toml``, see ``.served``) with settings from the environment; adapters
are the registry's (``all_channels_on="memory"`` runs everything in-process, no outside service needed;
``channel_adapters={"orders": "nats"}`` moves single channels).
OpenAPI documents are at ``/schema`` (Swagger UI at ``/schema/swagger``), AsyncAPI at ``/asyncapi.json``.

uvicorn waits for open responses before it runs the app's shutdown, and an SSE stream never ends by itself;
``GracefulServer`` tells the service to end its streams as soon as shutdown begins, so Ctrl+C (or SIGTERM)
returns promptly whatever clients are connected.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Mapping, Sequence
from typing import Any

import uvicorn
from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from ..adapters.base import AdapterFactory
from ..bus import Bus
from ..catalog import Catalog
from .errors import EXCEPTION_HANDLERS
from .plugin import PubSubPlugin, PubSubService, service_of
from .served import served_package
from .settings import ServiceSettings

logger = logging.getLogger("hipponot_pubsub.runtime.http")


def create_app(
    catalog: Catalog | None = None,
    *,
    package: str | None = None,
    bus: Bus | None = None,
    settings: ServiceSettings | None = None,
    adapters: Mapping[str, str | AdapterFactory] | None = None,
    all_channels_on: str | None = None,
    channel_adapters: Mapping[str, str] | None = None,
    service: PubSubService | None = None,
    debug: bool = False,
) -> Litestar:
    """The HTTP service for ``catalog`` (default: read from the generated ``package``, by default the one of the
    ``[generate]`` table)."""
    if service is None:
        service = PubSubService(
            catalog if catalog is not None else Catalog.from_package(served_package(package)),
            bus=bus, settings=settings, adapters=adapters, all_channels_on=all_channels_on,
            channel_adapters=channel_adapters,
        )
    openapi = OpenAPIConfig(
        title=f"{service.catalog.name} event service",
        version="1.0.0",
        description="Publish CloudEvents validated against the registry, stream channels as Server-Sent Events, "
                    "read the registry. Errors are application/problem+json.",
        path="/schema",
        render_plugins=[SwaggerRenderPlugin(), ScalarRenderPlugin()],
    )
    return Litestar(
        plugins=[PubSubPlugin(service, path=service.settings.path_prefix)],
        exception_handlers=dict(EXCEPTION_HANDLERS),
        openapi_config=openapi,
        debug=debug,
    )


class GracefulServer(uvicorn.Server):
    """``uvicorn.Server`` that ends the service's SSE streams as soon as shutdown begins."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        app = self.config.loaded_app if self.config.loaded else None
        target: Any = getattr(self.config, "app", None)
        for candidate in (target, app):
            if isinstance(candidate, Litestar):
                with contextlib.suppress(KeyError, AttributeError):  # an app without the plugin
                    service_of(candidate).begin_shutdown()
                break
        await super().shutdown(sockets)


def serve(app: Litestar, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info",
          graceful_timeout: int = 5, sockets: Sequence[socket.socket] | None = None) -> None:
    """Run ``app`` with uvicorn until interrupted; open SSE streams are ended at shutdown."""
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="on",
                            timeout_graceful_shutdown=graceful_timeout)
    GracefulServer(config).run(sockets=list(sockets) if sockets else None)
