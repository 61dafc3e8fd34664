"""CloudEvents on AMQP: messages this adapter writes, and messages other tools wrote.

Written messages are in CloudEvents **structured mode** (the AMQP protocol binding, section 3.2): the body is the
envelope's JSON, the ``content-type`` property says ``application/cloudevents+json``, and the adapter's message
headers (``ce-id``, ``ce-type``, ...) ride along as AMQP headers (application properties) so consumers and
bindings can route without parsing. The partition key travels in ``x-pubsub-key`` (a message copied onto a
retry queue or into a group queue keeps it; a routing key would not survive that).

Read messages may also be in **binary mode** (section 3.1), as the CloudEvents SDKs, Knative or a Spring
application write them: attributes in ``cloudEvents:<name>`` application properties (``cloudEvents_<name>``
where a ``:`` is not allowed, as on JMS), the body is the data, the ``content-type`` property is the data's media
type. They become the structured JSON the bus decodes, without parsing the data, as Kafka's binary mode does:
JSON data is spliced in as it is; other data becomes ``data_base64`` (which the bus refuses as malformed).

Headers RabbitMQ or this adapter add for their own bookkeeping (``x-stream-offset``, ``x-delivery-count``,
``x-death``, ``x-pubsub-*``) are not part of a record's headers; on a dead-letter channel, a message RabbitMQ
dead-lettered itself (``x-death``, after a group queue's delivery limit) gets an ``x-error`` saying so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .. import cloudevents_binary

STRUCTURED_CONTENT_TYPE = cloudevents_binary.STRUCTURED_CONTENT_TYPE
BINARY_PREFIXES = ("cloudEvents:", "cloudEvents_")
KEY_HEADER = "x-pubsub-key"
MARKER_HEADER = "x-pubsub-marker"
POSITION_HEADER = "x-pubsub-position"
ATTEMPT_HEADER = "x-pubsub-attempt"
ERROR_HEADER = "x-error"
_INTERNAL = ("x-pubsub-", "x-stream-", "x-delivery-count", "x-death", "x-first-death-", "x-last-death-")

AmqpHeaders = Mapping[str, Any]


def encode_headers(headers: Mapping[str, str], key: str | None) -> dict[str, Any]:
    """AMQP headers of a structured-mode message carrying ``headers`` and the partition ``key``."""
    encoded: dict[str, Any] = dict(headers)
    if key is not None:
        encoded[KEY_HEADER] = key
    return encoded


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, separators=(",", ":")) if isinstance(value, list | dict) else str(value)


def decode_headers(headers: AmqpHeaders) -> dict[str, str]:
    """A record's string headers: AMQP headers without the bookkeeping ones (see the module docstring)."""
    return {name: _text(value) for name, value in headers.items() if not name.startswith(_INTERNAL)}


def decode_dead_letter_headers(headers: AmqpHeaders) -> dict[str, str]:
    """``decode_headers`` for a dead-letter channel: a message RabbitMQ dead-lettered itself (a group queue's
    delivery limit) carries ``x-death`` but no ``x-error``; it gets one naming the queue and the reason."""
    decoded = decode_headers(headers)
    deaths = headers.get("x-death")
    if ERROR_HEADER not in decoded and isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        death = deaths[0]
        decoded[ERROR_HEADER] = (f"dead-lettered by RabbitMQ from queue {_text(death.get('queue', '?'))!r}: "
                                 f"{_text(death.get('reason', 'rejected'))}")
    return decoded


def is_binary_mode(headers: AmqpHeaders, content_type: str | None) -> bool:
    if content_type and content_type.startswith("application/cloudevents"):
        return False
    return any(prefix + "specversion" in headers for prefix in BINARY_PREFIXES)


def binary_to_structured(body: bytes, content_type: str | None, routing_key: str | None,
                         headers: AmqpHeaders) -> tuple[bytes, dict[str, str], str | None]:
    """A binary-mode message as structured JSON bytes, its record headers (with ``ce-id``/``ce-type``) and key.

    Only the AMQP binding's naming is here (``cloudEvents:``/``cloudEvents_`` application properties, the
    ``content-type`` property, the routing key as the key); the conversion itself is
    ``cloudevents_binary.binary_to_structured``, shared with the other adapters."""
    attributes: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for name, value in headers.items():
        prefix = next((p for p in BINARY_PREFIXES if name.startswith(p)), None)
        if prefix is None:
            rest[name] = value
        else:
            attributes[name[len(prefix):]] = _text(value)
    key = attributes.get("partitionkey") or routing_key or None
    payload, decoded = cloudevents_binary.binary_to_structured(attributes, body, decode_headers(rest),
                                                               media_type=content_type, key=key)
    return payload, decoded, key
