"""CloudEvents binary mode → structured mode: the one conversion every broker adapter applies to what it reads.

Adapters write CloudEvents in **structured mode** (the payload is the envelope's JSON), but other tools (the
CloudEvents SDKs, Kafka Connect, Knative, Spring) may write **binary mode**: the attributes in headers, the
payload is the data. The bus decodes structured JSON only, so an adapter turns a binary-mode message into it
when reading. How the attributes are named in headers is each protocol binding's business (``ce_`` on Kafka,
``ce-`` on NATS, ``cloudEvents:`` on AMQP) and stays in the adapter's ``headers.py``; what is done with them
once collected is the same everywhere and lives here, so the adapters cannot drift apart on it:

* the data is never parsed: JSON data (``datacontenttype`` absent, ``application/json``, ``text/json`` or
  ``…+json``) is spliced in as it is (if it is not valid JSON the bus dead-letters the event as malformed);
  other data becomes ``data_base64`` (which the bus refuses, also as malformed, since events carry JSON);
  no data is ``"data": null``;
* the message's media type becomes ``datacontenttype``, and the adapter's key (when the binding has one) the
  ``partitionkey`` unless the attributes carry one;
* ``ce-id``/``ce-type`` are added to the record's headers so the bus can route without parsing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

#: The content type of a structured-mode message (what every adapter writes).
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"


def is_json_media_type(media_type: str | None) -> bool:
    """Whether data of ``media_type`` is JSON (CloudEvents: an absent ``datacontenttype`` means JSON)."""
    if not media_type:
        return True
    base = media_type.split(";", 1)[0].strip().lower()
    return base in ("application/json", "text/json") or base.endswith("+json")


def binary_to_structured(attributes: dict[str, Any], data: bytes | None, headers: Mapping[str, str], *,
                         media_type: str | None, key: str | None,
                         replace_routing_headers: bool = False) -> tuple[bytes, dict[str, str]]:
    """The structured-mode JSON of a binary-mode message, and its record headers with ``ce-id``/``ce-type``.

    ``attributes`` are the CloudEvents attributes the adapter read from the message's headers (named without
    their binding prefix); ``media_type`` is the data's media type (it becomes ``datacontenttype`` and decides
    whether the data is spliced in as JSON) and ``key`` the message's partition key, if the binding has one.
    ``attributes`` is updated with both. ``headers`` are the record's headers to return; ``ce-id``/``ce-type``
    are added where missing, or always with ``replace_routing_headers`` (NATS: its binary-mode ``ce-`` headers
    are percent-encoded, and the record keeps the decoded values)."""
    if media_type:
        attributes["datacontenttype"] = media_type
    if key is not None:
        attributes.setdefault("partitionkey", key)
    head = json.dumps(attributes, separators=(",", ":"), ensure_ascii=False).encode()
    if not data:
        payload = head[:-1] + b',"data":null}'
    elif is_json_media_type(media_type):
        payload = head[:-1] + b',"data":' + data + b"}"
    else:
        payload = head[:-1] + b',"data_base64":' + json.dumps(base64.b64encode(data).decode()).encode() + b"}"
    enriched = dict(headers)
    for attribute in ("id", "type"):
        if attribute in attributes:
            if replace_routing_headers:
                enriched[f"ce-{attribute}"] = str(attributes[attribute])
            else:
                enriched.setdefault(f"ce-{attribute}", str(attributes[attribute]))
    return payload, enriched
