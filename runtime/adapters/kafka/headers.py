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

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

STRUCTURED_CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"
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


def _is_json(media_type: str | None) -> bool:
    if not media_type:
        return True  # CloudEvents: absent datacontenttype means JSON
    base = media_type.split(";", 1)[0].strip().lower()
    return base in ("application/json", "text/json") or base.endswith("+json")


def binary_to_structured(value: bytes | None, key: str | None, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """A binary-mode record as structured-mode JSON bytes, plus the headers with ``ce-id``/``ce-type`` added."""
    attributes: dict[str, Any] = {
        name[len(BINARY_PREFIX):]: text for name, text in headers.items() if name.startswith(BINARY_PREFIX)
    }
    media_type = headers.get(CONTENT_TYPE_HEADER)
    if media_type:
        attributes["datacontenttype"] = media_type
    if key is not None:
        attributes.setdefault("partitionkey", key)
    head = json.dumps(attributes, separators=(",", ":"), ensure_ascii=False).encode()
    if value is None or value == b"":
        payload = head[:-1] + b',"data":null}'
    elif _is_json(media_type):
        payload = head[:-1] + b',"data":' + value + b"}"
    else:
        encoded = json.dumps(base64.b64encode(value).decode()).encode()
        payload = head[:-1] + b',"data_base64":' + encoded + b"}"
    enriched = dict(headers)
    for attribute in ("id", "type"):
        if attribute in attributes:
            enriched.setdefault(f"ce-{attribute}", str(attributes[attribute]))
    return payload, enriched
