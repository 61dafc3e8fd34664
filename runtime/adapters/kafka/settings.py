"""Connection and behaviour settings of the Kafka adapter, read from the environment.

Connection settings and secrets never live in the registry (``schemas/pubsub.toml``); channel *options*
(``partitions``, ``retry_limit``, ``dead_letter``, ``replication_factor``) do. Every variable is optional:

=====================================  ============================  =================================================
variable                               default                       meaning
=====================================  ============================  =================================================
``PUBSUB_KAFKA_BOOTSTRAP_SERVERS``     ``localhost:9092``            comma-separated ``host:port`` list
``PUBSUB_KAFKA_TOPIC_TEMPLATE``        ``pubsub.{channel}``          topic name of a channel (``{channel}`` required)
``PUBSUB_KAFKA_GROUP_TEMPLATE``        ``{group}``                   consumer group id of a group (``{group}``
                                                                     required), e.g. ``staging.{group}``
``PUBSUB_KAFKA_CLIENT_ID``             ``hipponot-pubsub``           client id prefix (a consumer's name is appended)
``PUBSUB_KAFKA_SECURITY_PROTOCOL``     ``PLAINTEXT``                 ``PLAINTEXT``, ``SSL``, ``SASL_PLAINTEXT``,
                                                                     ``SASL_SSL``
``PUBSUB_KAFKA_SASL_MECHANISM``        ``PLAIN``                     ``PLAIN``, ``SCRAM-SHA-256``, ``SCRAM-SHA-512``
``PUBSUB_KAFKA_SASL_USERNAME``         (none)
``PUBSUB_KAFKA_SASL_PASSWORD``         (none)
``PUBSUB_KAFKA_SSL_CAFILE``            (system CAs)                  CA bundle to verify the brokers with
``PUBSUB_KAFKA_SSL_CERTFILE``          (none)                        client certificate (mutual TLS)
``PUBSUB_KAFKA_SSL_KEYFILE``           (none)                        its private key
``PUBSUB_KAFKA_SSL_CHECK_HOSTNAME``    ``true``
``PUBSUB_KAFKA_IDEMPOTENCE``           ``false``                     idempotent producer (needs ``InitProducerId``;
                                                                     real Kafka has it, tansu 0.6 refuses it)
``PUBSUB_KAFKA_CREATE_TOPICS``         ``true``                      create missing topics at start
``PUBSUB_KAFKA_REPLICATION_FACTOR``    ``1``                         for created topics (channel option wins)
``PUBSUB_KAFKA_PUBLISH_TIMEOUT``       ``10``                        seconds a publish may take before it fails
``PUBSUB_KAFKA_CONNECT_TIMEOUT``       ``10``                        seconds ``start``/``subscribe`` may take
``PUBSUB_KAFKA_SESSION_TIMEOUT_MS``    ``10000``                     group session timeout (dead member detection)
``PUBSUB_KAFKA_HEARTBEAT_INTERVAL_MS`` ``3000``                      group heartbeats (≤ a third of the session)
``PUBSUB_KAFKA_COMMIT_INTERVAL_MS``    ``50``                        least time between two offset commits of one
                                                                     subscription (acks are coalesced meanwhile)
``PUBSUB_KAFKA_PROBE_END_OFFSETS``     ``true``                      confirm ``ListOffsets(latest)`` with a fetch's
                                                                     high watermark (tansu 0.6 reports a wrong end)
``PUBSUB_KAFKA_FETCH_MAX_WAIT_MS``     ``500``                       fetch long-poll (idle latency on tansu)
``PUBSUB_KAFKA_FETCH_BATCH``           ``500``                       records per fetch (read-ahead)
``PUBSUB_KAFKA_MAX_BATCH_BYTES``       ``1048576``                   largest atomic ``publish_many`` share
=====================================  ============================  =================================================
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..envsettings import client_tls_context, settings_from_env

PREFIX = "PUBSUB_KAFKA_"
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str = "localhost:9092"
    topic_template: str = "pubsub.{channel}"
    group_template: str = "{group}"
    client_id: str = "hipponot-pubsub"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "PLAIN"
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_check_hostname: bool = True
    idempotence: bool = False
    create_topics: bool = True
    replication_factor: int = 1
    publish_timeout: float = 10.0
    connect_timeout: float = 10.0
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    #: Least time between two offset commits of one subscription. Each commit is a broker round trip (on tansu
    #: it held fetches: 50 ms cost group delivery ~10 % against 250 ms); a member that dies hard has the acks of
    #: at most this long delivered again (at least once either way). Kafka's own auto-commit default is 5 s.
    commit_interval_ms: int = 250
    probe_end_offsets: bool = True
    #: Records fetched per request by a subscription (its read-ahead beyond ``max_in_flight``).
    fetch_batch: int = 500
    #: How long the broker may hold a fetch waiting for data (tansu 0.6 does not answer early when data
    #: arrives, so this is the idle delivery latency there; Kafka answers as soon as data arrives).
    fetch_max_wait_ms: int = 500
    #: Largest record batch ``publish_many`` sends per partition (one batch = one atomic append).
    max_batch_bytes: int = 1_048_576

    def __post_init__(self) -> None:
        if "{channel}" not in self.topic_template:
            raise ValueError(f"{PREFIX}TOPIC_TEMPLATE must contain '{{channel}}', got {self.topic_template!r}")
        if "{group}" not in self.group_template:
            raise ValueError(f"{PREFIX}GROUP_TEMPLATE must contain '{{group}}', got {self.group_template!r}")
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise ValueError(f"{PREFIX}SECURITY_PROTOCOL must be one of {SECURITY_PROTOCOLS}")
        if self.sasl_mechanism not in SASL_MECHANISMS:
            raise ValueError(f"{PREFIX}SASL_MECHANISM must be one of {SASL_MECHANISMS}")
        if self.security_protocol.startswith("SASL") and not (self.sasl_username and self.sasl_password):
            raise ValueError(f"{self.security_protocol} needs {PREFIX}SASL_USERNAME and {PREFIX}SASL_PASSWORD")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> KafkaSettings:
        """Settings from ``environ`` (default ``os.environ``); keyword arguments win over the environment."""
        return settings_from_env(cls, PREFIX, environ, overrides)

    def topic(self, channel: str) -> str:
        return self.topic_template.format(channel=channel)

    def group_id(self, group: str) -> str:
        return self.group_template.format(group=group)

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.security_protocol.endswith("SSL"):
            return None
        context = client_tls_context(self.ssl_cafile, self.ssl_certfile, self.ssl_keyfile,
                                     self.ssl_check_hostname)
        return context

    def client_kwargs(self, client_id: str | None = None) -> dict[str, Any]:
        """Connection keyword arguments shared by aiokafka's producer, consumers and admin client."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": client_id or self.client_id,
            "security_protocol": self.security_protocol,
            "request_timeout_ms": max(1000, int(self.publish_timeout * 1000)),
        }
        context = self.ssl_context()
        if context is not None:
            kwargs["ssl_context"] = context
        if self.security_protocol.startswith("SASL"):
            kwargs.update(sasl_mechanism=self.sasl_mechanism, sasl_plain_username=self.sasl_username,
                          sasl_plain_password=self.sasl_password)
        return kwargs
