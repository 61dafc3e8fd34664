"""CloudEvents on Kafka: records this adapter writes, and records other tools wrote.

Written records are in CloudEvents **structured mode** (the Kafka protocol binding, section 3.2): the value is
the envelope's JSON, the ``content-type`` header says ``application/cloudevents+json``, and the adapter's
message headers (``ce-id``, ``ce-type``, ...; hyphens, so they never look like binary-mode ``ce_`` headers)
ride along so consumers can route without parsing. The record key is the envelope's partition key.

Read records may also be in **binary mode** (section 3.1), as Kafka Connect, Knative or the CloudEvents SDKs
write them: attributes in ``ce_<name>`` headers, the value is the data, ``content-type`` is the data's media
type. They are turned into the structured JSON the bus decodes, without parsing the data: JSON data is spliced
in as it is (if it is not valid JSON the bus dead-letters the event as malformed); other data becomes
``data_base64`` (which the bus refuses, also as malformed, since events carry JSON). A binary-mode record
without ``ce_partitionkey`` gets its Kafka key as the partition key, as the binding's key mapping says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import cloudevents_binary

STRUCTURED_CONTENT_TYPE = cloudevents_binary.STRUCTURED_CONTENT_TYPE
CONTENT_TYPE_HEADER = "content-type"
BINARY_PREFIX = "ce_"

KafkaHeaders = Sequence[tuple[str, bytes | None]]


def encode_headers(headers: Mapping[str, str]) -> list[tuple[str, bytes]]:
    """Kafka headers of a structured-mode record carrying ``headers`` (``UnicodeEncodeError`` if unencodable)."""
    encoded = [(CONTENT_TYPE_HEADER, STRUCTURED_CONTENT_TYPE.encode())]
    encoded.extend((name, value.encode()) for name, value in headers.items() if name != CONTENT_TYPE_HEADER)
    return encoded


def decode_headers(headers: KafkaHeaders) -> dict[str, str]:
    return {name: "" if value is None else value.decode("utf-8", "replace") for name, value in headers}


def is_binary_mode(headers: Mapping[str, str]) -> bool:
    content_type = headers.get(CONTENT_TYPE_HEADER, "")
    return not content_type.startswith("application/cloudevents") and f"{BINARY_PREFIX}specversion" in headers


def binary_to_structured(value: bytes | None, key: str | None, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """A binary-mode record as structured-mode JSON bytes, plus the headers with ``ce-id``/``ce-type`` added.

    Only the Kafka binding's naming is here (``ce_`` headers, ``content-type``, the record key); the conversion
    itself is ``cloudevents_binary.binary_to_structured``, shared with the other adapters."""
    attributes: dict[str, Any] = {
        name[len(BINARY_PREFIX):]: text for name, text in headers.items() if name.startswith(BINARY_PREFIX)
    }
    return cloudevents_binary.binary_to_structured(attributes, value, headers,
                                                   media_type=headers.get(CONTENT_TYPE_HEADER), key=key)
