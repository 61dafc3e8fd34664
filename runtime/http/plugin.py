"""``PubSubPlugin``: mounts the service into any Litestar app — bus in the lifespan, DI, routes, errors, metrics.

.. code-block:: python

    from litestar import Litestar
    from hipponot_pubsub.runtime.catalog import Catalog
    from hipponot_pubsub.runtime.http import PubSubPlugin, PubSubService

    service = PubSubService(Catalog.from_package("myapp.events"))
    app = Litestar(route_handlers=[...your routes...], plugins=[PubSubPlugin(service, path="/pubsub")])

Your handlers can then ask for ``pubsub: PubSubService`` or ``bus: Bus`` by name. The plugin starts the bus
when the app starts (unless you passed a bus you run yourself) and stops it after the app stops; the service
routes live under ``path``, with the service's error handling and HTTP metrics limited to them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.plugins import InitPlugin

from ..adapters.base import AdapterFactory
from ..bus import Bus
from ..catalog import Catalog
from .auth import Authenticator
from .errors import EXCEPTION_HANDLERS
from .metrics import ServiceMetrics, metrics_middleware_factory
from .registry import CompatChecker, generator_compat_checker
from .settings import ServiceSettings
from .sse import StreamHub

logger = logging.getLogger("hipponot_pubsub.runtime.http")

STATE_KEY = "pubsub"


class PubSubService:
    """Everything the routes need: the catalog and bus, settings, tokens, SSE streams, metrics, compat checker.

    Without ``bus`` it makes its own from ``adapters``, ``all_channels_on`` and ``channel_adapters`` (see ``Bus``)
    and runs it with the app."""

    def __init__(
        self,
        catalog: Catalog,
        *,
        bus: Bus | None = None,
        settings: ServiceSettings | None = None,
        adapters: Mapping[str, str | AdapterFactory] | None = None,
        all_channels_on: str | None = None,
        channel_adapters: Mapping[str, str] | None = None,
        compat: CompatChecker | None = None,
    ) -> None:
        self.settings = settings or ServiceSettings.from_env()
        self.catalog = catalog
        self._owns_bus = bus is None
        self.bus = bus or Bus(catalog, adapters=adapters, all_channels_on=all_channels_on,
                              channel_adapters=channel_adapters, source=self.settings.source)
        self.auth = Authenticator.from_json(self.settings.tokens_json, allow_anonymous=self.settings.allow_anonymous)
        self.streams = StreamHub(self.settings)
        self.metrics = ServiceMetrics(self.bus.metrics, lambda: self.streams)
        self.compat = compat or generator_compat_checker()
        #: Where the routes are mounted in the app ("" at its root; ``PubSubPlugin(path=...)`` sets it), for the
        #: documents that give clients addresses (AsyncAPI).
        self.mount_path = ""
        self._latest: dict[str, int] = {}

    def latest_version(self, event_type: str) -> int | None:
        """The latest version of a known type (None for an unknown one: the bus reports it)."""
        found = self._latest.get(event_type)
        if found is None and event_type in self.catalog.types:
            found = self._latest[event_type] = max(self.catalog.versions(event_type))
        return found

    async def start(self) -> None:
        if self._owns_bus and not self.bus.running:
            await self.bus.start()
        await self.streams.start()
        if self.auth.allow_anonymous:
            logger.warning("ANONYMOUS ACCESS IS ON (PUBSUB_ALLOW_ANONYMOUS): requests without a token may publish, "
                           "subscribe and use the registry. For local development only.")
        elif not self.auth.names:
            logger.warning("no tokens configured (PUBSUB_TOKENS) and anonymous access is off: every request to "
                           "a protected route will be refused with 401")
        else:
            logger.info("%d bearer token(s) configured: %s", len(self.auth.names), ", ".join(self.auth.names))

    def begin_shutdown(self) -> None:
        """End open SSE streams now (call it when the server starts shutting down, before it waits for them)."""
        self.streams.begin_shutdown()

    async def stop(self) -> None:
        await self.streams.stop()
        if self._owns_bus:
            await self.bus.stop()

    @asynccontextmanager
    async def lifespan(self, _: Litestar) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()


def service_of(app: Litestar) -> PubSubService:
    found: PubSubService = app.state[STATE_KEY]
    return found


def mount_path(path: str) -> str:
    """``path`` as a URL path prefix: a leading slash, no trailing one, "" for the root (``"pubsub/"`` →
    ``"/pubsub"``)."""
    stripped = path.strip("/")
    return f"/{stripped}" if stripped else ""


class PubSubPlugin(InitPlugin):
    """Wires a ``PubSubService`` into an app (see the module docstring)."""

    def __init__(self, service: PubSubService, *, path: str = "", include_routes: bool = True) -> None:
        self.service = service
        self.path = path or "/"
        self.include_routes = include_routes

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        from .routes import ROUTES  # routes import this module's types

        service = self.service
        service.mount_path = mount_path(self.path)
        app_config.state[STATE_KEY] = service
        app_config.lifespan.append(service.lifespan)

        def provide_service() -> PubSubService:
            return service

        def provide_bus() -> Bus:
            return service.bus

        app_config.dependencies.setdefault("pubsub", Provide(provide_service, sync_to_thread=False, use_cache=True))
        app_config.dependencies.setdefault("bus", Provide(provide_bus, sync_to_thread=False, use_cache=True))
        if self.include_routes:
            app_config.route_handlers.append(
                Router(
                    path=self.path,
                    route_handlers=list(ROUTES),
                    exception_handlers=dict(EXCEPTION_HANDLERS),
                    middleware=[metrics_middleware_factory(lambda: service.metrics)],
                    request_max_body_size=service.settings.max_body_bytes,
                )
            )
        return app_config
