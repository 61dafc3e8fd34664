"""Connection and behaviour settings of the NATS JetStream adapter, read from the environment.

Connection settings and secrets never live in the registry (``schemas/pubsub.toml``, which is committed); channel
*options* (``history``, ``max_age``, ``storage``, ``ack_wait``, ...; see ``adapter.py``) do. Every variable is
optional:

=====================================  ============================  =================================================
variable                               default                       meaning
=====================================  ============================  =================================================
``PUBSUB_NATS_URL``                    ``nats://127.0.0.1:4222``     comma-separated server URLs; ``tls://`` forces TLS;
                                                                     ``nats://user:password@host`` is accepted
``PUBSUB_NATS_USER``                   (none)                        user name (when the URL carries none)
``PUBSUB_NATS_PASSWORD``               (none)                        its password
``PUBSUB_NATS_TOKEN``                  (none)                        token authentication
``PUBSUB_NATS_CREDS``                  (none)                        a ``.creds`` file (JWT + NKey seed)
``PUBSUB_NATS_NKEY_SEED``              (none)                        a file holding an NKey seed
``PUBSUB_NATS_TLS``                    ``false``                     TLS even for ``nats://`` URLs
``PUBSUB_NATS_TLS_CAFILE``             (system CAs)                  CA bundle to verify the servers with
``PUBSUB_NATS_TLS_CERTFILE``           (none)                        client certificate (mutual TLS)
``PUBSUB_NATS_TLS_KEYFILE``            (none)                        its private key
``PUBSUB_NATS_TLS_CHECK_HOSTNAME``     ``true``
``PUBSUB_NATS_STREAM_TEMPLATE``        ``PUBSUB_{channel}``          stream of a channel (``{channel}`` required;
                                                                     characters a stream name cannot hold become ``_``)
``PUBSUB_NATS_SUBJECT_TEMPLATE``       ``pubsub.{channel}``          subject a channel's events are published on
``PUBSUB_NATS_GROUP_TEMPLATE``         ``{group}``                   durable consumer of a group (``{group}``
                                                                     required), e.g. ``staging_{group}``
``PUBSUB_NATS_CLIENT_NAME``            ``hipponot-pubsub``           connection name (server monitoring)
``PUBSUB_NATS_CREATE_STREAMS``         ``true``                      create missing streams at start
``PUBSUB_NATS_STORAGE``                ``file``                      ``file`` or ``memory``, for created streams
``PUBSUB_NATS_REPLICAS``               ``1``                         for created streams (channel option wins)
``PUBSUB_NATS_CONNECT_TIMEOUT``        ``5``                         seconds ``start`` may take to reach a server
``PUBSUB_NATS_PUBLISH_TIMEOUT``        ``10``                        seconds a publish (or an API call) may wait for
                                                                     JetStream's answer before ``AdapterError``
``PUBSUB_NATS_ACK_WAIT``               ``30``                        seconds a delivery may stay unsettled before
                                                                     JetStream redelivers it (a dead member's share)
``PUBSUB_NATS_PULL_EXPIRES``           ``0.5``                       seconds one pull request waits on the server
``PUBSUB_NATS_READAHEAD``              ``0``                         deliveries pulled beyond ``max_in_flight``
``PUBSUB_NATS_INACTIVE_THRESHOLD``     ``60``                        seconds before the server deletes the consumer
                                                                     of a fan-out subscription whose process died
``PUBSUB_NATS_RECONNECT_WAIT``         ``0.5``                       seconds between reconnection attempts
=====================================  ============================  =================================================
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..envsettings import client_tls_context, settings_from_env

PREFIX = "PUBSUB_NATS_"
STORAGES = ("file", "memory")
#: What a JetStream stream or consumer name cannot hold (the server refuses ``.``, ``*``, ``>``, white space and
#: path separators; ``-`` is fine).
_UNNAMEABLE = re.compile(r"[^A-Za-z0-9_-]")


def nameable(text: str) -> str:
    """``text`` as a JetStream stream or consumer name (every other character becomes ``_``)."""
    return _UNNAMEABLE.sub("_", text)


@dataclass(frozen=True)
class NatsSettings:
    url: str = "nats://127.0.0.1:4222"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    creds: str | None = None
    nkey_seed: str | None = None
    tls: bool = False
    tls_cafile: str | None = None
    tls_certfile: str | None = None
    tls_keyfile: str | None = None
    tls_check_hostname: bool = True
    stream_template: str = "PUBSUB_{channel}"
    subject_template: str = "pubsub.{channel}"
    group_template: str = "{group}"
    client_name: str = "hipponot-pubsub"
    create_streams: bool = True
    storage: str = "file"
    replicas: int = 1
    connect_timeout: float = 5.0
    publish_timeout: float = 10.0
    ack_wait: float = 30.0
    #: How long one pull request waits on the server for events. An idle subscription sends one per this long
    #: (cheap: a few dozen bytes), and a group member that leaves holding deliveries hands them back after at
    #: most this long (see ``NatsSubscription._hand_back``): short is better.
    pull_expires: float = 0.5
    #: Deliveries pulled beyond ``max_in_flight`` (buffered in the subscription). JetStream counts a pulled
    #: message as delivered, so a group member holding read-ahead holds events other members could take, and a
    #: member that leaves hands them back with ``attempt`` raised: 0 by default.
    readahead: int = 0
    inactive_threshold: float = 60.0
    reconnect_wait: float = 0.5

    def __post_init__(self) -> None:
        if "{channel}" not in self.stream_template:
            raise ValueError(f"{PREFIX}STREAM_TEMPLATE must contain '{{channel}}', got {self.stream_template!r}")
        if "{channel}" not in self.subject_template:
            raise ValueError(f"{PREFIX}SUBJECT_TEMPLATE must contain '{{channel}}', got {self.subject_template!r}")
        if "{group}" not in self.group_template:
            raise ValueError(f"{PREFIX}GROUP_TEMPLATE must contain '{{group}}', got {self.group_template!r}")
        if self.storage not in STORAGES:
            raise ValueError(f"{PREFIX}STORAGE must be one of {STORAGES}, got {self.storage!r}")
        if self.readahead < 0:
            raise ValueError(f"{PREFIX}READAHEAD must be at least 0")
        for name in ("connect_timeout", "publish_timeout", "ack_wait", "pull_expires", "inactive_threshold"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{PREFIX}{name.upper()} must be positive")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> NatsSettings:
        """Settings from ``environ`` (default ``os.environ``); keyword arguments win over the environment."""
        return settings_from_env(cls, PREFIX, environ, overrides)

    @property
    def servers(self) -> list[str]:
        return [part.strip() for part in self.url.split(",") if part.strip()]

    def where(self) -> str:
        """The servers, without credentials (for error messages and logs)."""
        shown = []
        for server in self.servers:
            parts = urlsplit(server if "://" in server else f"nats://{server}")
            shown.append(f"{parts.scheme}://{parts.hostname}:{parts.port or 4222}")
        return ", ".join(shown)

    def stream(self, channel: str) -> str:
        return nameable(self.stream_template.format(channel=channel))

    def subject(self, channel: str) -> str:
        return self.subject_template.format(channel=channel)

    def durable(self, group: str) -> str:
        return nameable(self.group_template.format(group=group))

    def ssl_context(self) -> ssl.SSLContext | None:
        wants = self.tls or any(s.startswith("tls://") for s in self.servers) or bool(self.tls_cafile)
        if not wants:
            return None
        context = client_tls_context(self.tls_cafile, self.tls_certfile, self.tls_keyfile,
                                     self.tls_check_hostname)
        return context

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``nats.connect`` (without callbacks)."""
        kwargs: dict[str, Any] = {
            "servers": self.servers,
            "name": self.client_name,
            "connect_timeout": self.connect_timeout,
            "reconnect_time_wait": self.reconnect_wait,
            "max_reconnect_attempts": -1,  # a running service keeps trying; publishes time out meanwhile
            "allow_reconnect": True,
        }
        context = self.ssl_context()
        if context is not None:
            kwargs["tls"] = context
        if self.user is not None:
            kwargs["user"] = self.user
            kwargs["password"] = self.password or ""
        if self.token is not None:
            kwargs["token"] = self.token
        if self.creds is not None:
            kwargs["user_credentials"] = self.creds
        if self.nkey_seed is not None:
            kwargs["nkeys_seed"] = self.nkey_seed
        return kwargs
