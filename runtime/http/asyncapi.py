"""``GET /asyncapi.json``: an AsyncAPI 3.0 document generated from the catalog (the generated manifest).

One AsyncAPI channel per registry channel, at the address of its SSE stream; one message per event version,
whose payload is the CloudEvents structured-mode envelope with ``data`` constrained by the version's JSON Schema
(the self-contained document of ``.registry.compound_schema``, given in its own dialect through
AsyncAPI's multi-format schema object). Operations are from the service's point of view: it *receives*
events published with ``POST /events`` and *sends* them to SSE subscribers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..catalog import Catalog, EventSpec
from ..envelope import CONTENT_TYPE
from .registry import compound_schema

ASYNCAPI_VERSION = "3.0.0"
_FORMATS = {
    "https://json-schema.org/draft/2020-12/schema": "application/schema+json;version=draft-2020-12",
    "https://json-schema.org/draft/2019-09/schema": "application/schema+json;version=draft-2019-09",
    "http://json-schema.org/draft-07/schema": "application/schema+json;version=draft-07",
}


def message_key(spec: EventSpec) -> str:
    return f"{spec.type}.v{spec.version}"


def _schema_format(spec: EventSpec) -> str:
    root = next(r for r in spec.bundle["resources"] if spec.bundle["root"] in r["uris"])
    return _FORMATS.get(str(root["dialect"]).rstrip("#"), "application/schema+json;version=draft-2020-12")


def envelope_schema(spec: EventSpec) -> dict[str, Any]:
    """The CloudEvent carrying this version: attributes, and ``data`` as the version's schema."""
    string = {"type": "string"}
    data = compound_schema(spec.bundle)
    dialect = data.pop("$schema", None)
    schema: dict[str, Any] = {
        "type": "object",
        "required": ["specversion", "id", "source", "type", "data"],
        "properties": {
            "specversion": {"const": "1.0"},
            "id": string, "source": string, "time": {"type": "string", "format": "date-time"},
            "type": {"const": spec.type},
            "dataversion": {"const": spec.version},
            "datacontenttype": string, "dataschema": string, "subject": string,
            "correlationid": string, "causationid": string, "traceparent": string, "partitionkey": string,
            "principal": string, "idempotencykey": string,
            "data": data,
        },
    }
    if dialect:
        schema["$schema"] = dialect
    return schema


def asyncapi_document(catalog: Catalog, *, base_url: str | None = None) -> dict[str, Any]:
    """The document for the service reached at ``base_url`` (scheme, host and the path it is mounted at, e.g.
    ``https://api.example.com/pubsub``): listed as the server (``host``, ``protocol``), and every channel address
    and route named in it is a path from the host's root, mount path included, so a client requests
    ``{protocol}://{host}{address}`` as written. The server carries no ``pathname``: AsyncAPI does not say how a
    tool joins it with an address, and one that joins them would double the mount path. Without ``base_url``: no
    server, addresses from the service's root."""
    parts = urlsplit(base_url or "")
    mount = parts.path.rstrip("/")
    document: dict[str, Any] = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": f"{catalog.name} events",
            "version": "1",
            "description": f"Publish with POST {mount}/events (CloudEvents, validated against the registry); "
                           "subscribe with Server-Sent Events at each channel's address (id = position, resume "
                           "with Last-Event-ID).",
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": {},
        "operations": {},
        "components": {"messages": {}},
    }
    if parts.netloc:
        server: dict[str, Any] = {"host": parts.netloc, "protocol": parts.scheme or "http",
                                  "description": "The HTTP service: POST events, Server-Sent Events streams"}
        document["servers"] = {"service": server}
    messages = document["components"]["messages"]
    for name in sorted(catalog.channels):
        channel = catalog.channels[name]
        specs = sorted((s for s in catalog if s.channel == name), key=lambda s: (s.type, s.version))
        refs = {message_key(s): {"$ref": f"#/components/messages/{message_key(s)}"} for s in specs}
        entry: dict[str, Any] = {"address": f"{mount}/channels/{name}/events", "messages": refs}
        if channel.description:
            entry["description"] = channel.description
        document["channels"][name] = entry
        for spec in specs:
            messages[message_key(spec)] = {
                "name": spec.type,
                "title": f"{spec.type} v{spec.version}",
                "contentType": CONTENT_TYPE,
                "payload": {"schemaFormat": _schema_format(spec), "schema": envelope_schema(spec)},
            }
        channel_ref = {"$ref": f"#/channels/{name}"}
        message_refs = [{"$ref": f"#/channels/{name}/messages/{key}"} for key in refs]
        document["operations"][f"{name}.publish"] = {
            "action": "receive", "channel": channel_ref, "messages": message_refs,
            "summary": f"Events published to {name} (POST {mount}/events)",
        }
        document["operations"][f"{name}.stream"] = {
            "action": "send", "channel": channel_ref, "messages": message_refs,
            "summary": f"Server-Sent Events of {name}",
        }
    return document
