"""The HTTP service: publish over HTTP, stream channels as Server-Sent Events, read the registry.

``create_app`` builds a ready Litestar app; ``PubSubPlugin`` mounts the same routes into your own app. See
``hipponot_pubsub.runtime.http.routes`` for every route and ``hipponot_pubsub.runtime.http.settings`` for the
environment variables.
"""

from .app import GracefulServer, create_app, serve
from .plugin import PubSubPlugin, PubSubService
from .settings import ServiceSettings

__all__ = ["GracefulServer", "PubSubPlugin", "PubSubService", "ServiceSettings", "create_app", "serve"]
