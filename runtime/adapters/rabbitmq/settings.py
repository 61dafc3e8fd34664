"""Connection and behaviour settings of the RabbitMQ adapter, read from the environment.

Connection settings and secrets never live in the registry (``schemas/pubsub.toml``); channel *options*
(``retry_limit``, ``delivery_limit``, ``max_length_bytes``, ``max_age``) do. Every variable is optional:

=====================================  ==================================  ===========================================
variable                               default                             meaning
=====================================  ==================================  ===========================================
``PUBSUB_RABBITMQ_URL``                ``amqp://guest:guest@localhost/``   AMQP URL (``amqps://`` for TLS; vhost as
                                                                           the path)
``PUBSUB_RABBITMQ_USERNAME``           (from the URL)                      wins over the URL's user
``PUBSUB_RABBITMQ_PASSWORD``           (from the URL)                      wins over the URL's password
``PUBSUB_RABBITMQ_NAME_TEMPLATE``      ``pubsub.{channel}``                exchange and stream name of a channel
                                                                           (``{channel}`` required)
``PUBSUB_RABBITMQ_SSL_CAFILE``         (system CAs)                        CA bundle to verify the server with
``PUBSUB_RABBITMQ_SSL_CERTFILE``       (none)                              client certificate (mutual TLS)
``PUBSUB_RABBITMQ_SSL_KEYFILE``        (none)                              its private key
``PUBSUB_RABBITMQ_SSL_CHECK_HOSTNAME`` ``true``
``PUBSUB_RABBITMQ_CONNECT_TIMEOUT``    ``10``                              seconds ``start`` may take
``PUBSUB_RABBITMQ_PUBLISH_TIMEOUT``    ``10``                              seconds a publish (confirm and position)
                                                                           or a history read may take
``PUBSUB_RABBITMQ_FETCH_BATCH``        ``500``                             stream read-ahead (prefetch) per reader
``PUBSUB_RABBITMQ_INDEX_SIZE``         ``200000``                          message ids → offsets remembered per
                                                                           channel (see ``tail.py``)
=====================================  ==================================  ===========================================
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from yarl import URL

from ..envsettings import client_tls_context, settings_from_env

PREFIX = "PUBSUB_RABBITMQ_"


@dataclass(frozen=True)
class RabbitMQSettings:
    url: str = field(default="amqp://guest:guest@localhost/", repr=False)  # may carry a password
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    name_template: str = "pubsub.{channel}"
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_check_hostname: bool = True
    connect_timeout: float = 10.0
    publish_timeout: float = 10.0
    #: Messages a stream reader (subscription, position index, history) may hold unacknowledged: its read-ahead.
    fetch_batch: int = 500
    index_size: int = 200_000

    def __post_init__(self) -> None:
        if "{channel}" not in self.name_template:
            raise ValueError(f"{PREFIX}NAME_TEMPLATE must contain '{{channel}}', got {self.name_template!r}")
        if URL(self.url).scheme not in ("amqp", "amqps"):
            raise ValueError(f"{PREFIX}URL must be an amqp:// or amqps:// URL")
        if self.fetch_batch < 1 or self.index_size < 1:
            raise ValueError(f"{PREFIX}FETCH_BATCH and {PREFIX}INDEX_SIZE must be positive")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> RabbitMQSettings:
        """Settings from ``environ`` (default ``os.environ``); keyword arguments win over the environment."""
        return settings_from_env(cls, PREFIX, environ, overrides)

    def name(self, channel: str) -> str:
        """The exchange and the stream queue of ``channel`` (they share the name)."""
        return self.name_template.format(channel=channel)

    def connection_url(self) -> URL:
        url = URL(self.url)
        if self.username is not None or self.password is not None:
            url = url.with_user(self.username if self.username is not None else url.user)
            url = url.with_password(self.password if self.password is not None else url.password)
        return url

    def where(self) -> str:
        """The server, for error messages (never the credentials)."""
        url = URL(self.url)
        return f"RabbitMQ at {url.host}:{url.port}{url.path}"

    def ssl_context(self) -> ssl.SSLContext | None:
        if URL(self.url).scheme != "amqps":
            return None
        context = client_tls_context(self.ssl_cafile, self.ssl_certfile, self.ssl_keyfile,
                                     self.ssl_check_hostname)
        if not self.ssl_check_hostname:
            context.verify_mode = ssl.CERT_NONE if self.ssl_cafile is None else ssl.CERT_REQUIRED
        return context
