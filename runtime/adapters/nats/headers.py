"""CloudEvents on NATS: messages this adapter writes, and messages other tools wrote.

Written messages are in CloudEvents **structured mode** (the NATS protocol binding): the payload is the
envelope's JSON and the ``Content-Type`` header says ``application/cloudevents+json``. The adapter's message
headers (``ce-id``, ``ce-type``, ``ce-dataversion``) ride along so consumers and operators (``nats stream view``)
can route without parsing; the partition key, which NATS has no slot for, is the ``pubsub-key`` header.

Read messages may also be in **binary mode**, as the CloudEvents SDKs for Go and others write them to NATS:
every attribute in a ``ce-<name>`` header (values percent-encoded), the payload is the data, and a message is
binary exactly when it has no ``application/cloudevents...`` content type and carries ``ce-specversion`` (our own
messages carry ``ce-id``/``ce-type`` too, but never ``ce-specversion``, and always the structured content
type). A binary message is turned into the structured JSON the bus decodes without parsing its data: JSON data is
spliced in as it is (if it is not valid JSON the bus dead-letters the event as malformed), other data becomes
``data_base64`` (which the bus refuses, also as malformed, since events carry JSON). ``datacontenttype`` comes
from ``ce-datacontenttype`` or, failing that, ``Content-Type``; without ``ce-partitionkey`` the ``pubsub-key``
header, if any, is the partition key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from .. import cloudevents_binary

STRUCTURED_CONTENT_TYPE = cloudevents_binary.STRUCTURED_CONTENT_TYPE
CONTENT_TYPE_HEADER = "Content-Type"
KEY_HEADER = "pubsub-key"
BINARY_PREFIX = "ce-"
BINARY_MARKER = "ce-specversion"


def encode_headers(headers: Mapping[str, str], key: str | None) -> dict[str, str]:
    """NATS headers of a structured-mode message carrying ``headers`` and ``key``."""
    encoded = dict(headers)
    encoded.pop("content-type", None)
    encoded[CONTENT_TYPE_HEADER] = STRUCTURED_CONTENT_TYPE
    if key is not None:
        encoded[KEY_HEADER] = key
    return encoded


def content_type(headers: Mapping[str, str]) -> str | None:
    found = headers.get(CONTENT_TYPE_HEADER)
    if found is not None:
        return found
    for name, value in headers.items():
        if name.lower() == "content-type":
            return value
    return None


def is_binary_mode(headers: Mapping[str, str]) -> bool:
    if BINARY_MARKER not in headers:
        return False
    return not (content_type(headers) or "").lower().startswith("application/cloudevents")


def binary_to_structured(data: bytes, headers: Mapping[str, str]) -> tuple[bytes, dict[str, str]]:
    """A binary-mode message as structured-mode JSON bytes, plus its headers with ``ce-id``/``ce-type`` decoded.

    Only the NATS binding's naming is here (percent-encoded ``ce-`` headers of any case, ``Content-Type``,
    ``pubsub-key``); the conversion itself is ``cloudevents_binary.binary_to_structured``, shared with the other
    adapters."""
    attributes: dict[str, Any] = {
        name[len(BINARY_PREFIX):].lower(): unquote(value)
        for name, value in headers.items()
        if name.lower().startswith(BINARY_PREFIX)
    }
    return cloudevents_binary.binary_to_structured(
        attributes, data, headers, media_type=attributes.get("datacontenttype") or content_type(headers),
        key=headers.get(KEY_HEADER), replace_routing_headers=True)
