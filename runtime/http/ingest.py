"""Request bodies to envelopes: the three CloudEvents HTTP modes, batches, and what the server fills in.

* **structured** — ``Content-Type: application/cloudevents+json``, the body is one CloudEvent;
* **plain JSON** — ``application/json`` with a body ``{"type": ..., "data": ...}`` (any other CloudEvents
  attribute may be given too; ``specversion`` defaults to ``1.0``);
* **binary** — any JSON content type plus ``ce-specversion`` / ``ce-type`` / ... headers, the body is ``data``.

A batch (``application/cloudevents-batch+json``, or ``application/json``) is a JSON array of structured or
plain events. The server fills ``id``, ``time`` and ``source`` when absent, takes ``traceparent`` and
``Idempotency-Key`` from the request headers when the event has none, and states the authenticated caller as
``principal`` when the event names none. Nothing here validates ``data``: the bus does, before publishing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ..envelope import BATCH_CONTENT_TYPE, CONTENT_TYPE, SPEC_VERSION, Envelope, envelope_from_wire, utc_now_rfc3339
from ..errors import MalformedEvent
from ..ids import new_event_id
from ..jsonparse import parse_json
from .errors import Problem

JSON = "application/json"
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
_BINARY_PREFIX = "ce-"


@dataclass(frozen=True)
class RequestContext:
    """What the request adds to the events it carries."""

    source: str
    principal: str | None = None
    traceparent: str | None = None
    idempotency_key: str | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], source: str, principal: str | None) -> RequestContext:
        traceparent = headers.get("traceparent")
        if traceparent is not None:
            traceparent = traceparent.strip().lower()
            # W3C trace context: an invalid traceparent is ignored, and version ff is invalid.
            if not _TRACEPARENT.match(traceparent) or traceparent.startswith("ff-"):
                traceparent = None
        key = headers.get("idempotency-key")
        return cls(source, principal, traceparent, key.strip() or None if key else None)


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_json_media(media: str) -> bool:
    return media == JSON or (media.startswith("application/") and media.endswith("+json"))


def unsupported(media: str, accepted: str) -> Problem:
    shown = media or "none"
    return Problem(415, "unsupported-media-type", "Unsupported content type",
                   f"content type {shown!r} is not accepted here; send {accepted}", headers={"Accept-Post": accepted})


def _fill(wire: dict[str, Any], context: RequestContext) -> dict[str, Any]:
    wire.setdefault("specversion", SPEC_VERSION)
    if wire.get("id") is None:
        wire["id"] = new_event_id()
    if wire.get("source") is None:
        wire["source"] = context.source
    if wire.get("time") is None:
        wire["time"] = utc_now_rfc3339()
    if wire.get("traceparent") is None and context.traceparent is not None:
        wire["traceparent"] = context.traceparent
    if wire.get("principal") is None and context.principal is not None:
        wire["principal"] = context.principal
    return wire


def envelope_of(wire: Any, context: RequestContext, *, idempotency: bool = True,
                latest: Callable[[str], int | None] | None = None, owned: bool = False) -> Envelope[Any]:
    """A structured or plain event object (parsed JSON) as an envelope, defaults filled in. ``latest(type)``
    names the version to assume when ``dataversion`` is absent (saves the bus re-building the envelope).
    ``owned``: ``wire`` was parsed for this call alone, so it is filled in place rather than copied."""
    if not isinstance(wire, dict):
        raise MalformedEvent(f"not a valid CloudEvent: /: must be a JSON object, got {_json_type(wire)}")
    wire = _fill(wire if owned else dict(wire), context)
    if latest is not None and wire.get("dataversion") is None and isinstance(wire.get("type"), str):
        version = latest(wire["type"])
        if version is not None:
            wire["dataversion"] = version
    if idempotency and wire.get("idempotencykey") is None and context.idempotency_key is not None:
        wire["idempotencykey"] = context.idempotency_key
    return envelope_from_wire(wire)


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else type(value).__name__


def binary_wire(headers: Mapping[str, str], data: Any, media: str) -> dict[str, Any]:
    """The CloudEvent that binary mode's ``ce-*`` headers and body stand for (header values percent-decoded)."""
    wire: dict[str, Any] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered.startswith(_BINARY_PREFIX) and len(lowered) > len(_BINARY_PREFIX):
            wire[lowered[len(_BINARY_PREFIX):]] = unquote(value)
    wire["datacontenttype"] = media
    wire["data"] = data
    return wire


def read_event(headers: Mapping[str, str], body: bytes, context: RequestContext,
               latest: Callable[[str], int | None] | None = None) -> Envelope[Any]:
    """The one event of a ``POST /events`` request; ``Problem`` (415) or ``MalformedEvent`` (400/422)."""
    media = media_type(headers.get("content-type"))
    if "ce-specversion" in headers:
        if not is_json_media(media):
            raise unsupported(media, "JSON data (application/json) with ce-* headers")
        return envelope_of(binary_wire(headers, parse_json(body), media), context, latest=latest, owned=True)
    if media == CONTENT_TYPE or (is_json_media(media) and media != BATCH_CONTENT_TYPE):
        return envelope_of(parse_json(body), context, latest=latest, owned=True)
    raise unsupported(media, f"{CONTENT_TYPE}, {JSON} or binary mode (ce-* headers)")


def read_batch_items(headers: Mapping[str, str], body: bytes, max_batch: int) -> list[Any]:
    """The JSON array of a batch request; ``Problem`` (413, 415, 422) or ``MalformedEvent`` (400)."""
    media = media_type(headers.get("content-type"))
    if media not in (BATCH_CONTENT_TYPE, JSON):
        raise unsupported(media, f"{BATCH_CONTENT_TYPE} or {JSON}")
    items = parse_json(body)
    if not isinstance(items, list):
        raise Problem(422, "invalid-batch", "Not a CloudEvents batch",
                      f"a batch is a JSON array of events, got {_json_type(items)}",
                      errors=[{"pointer": "", "message": "must be an array"}])
    if len(items) > max_batch:
        raise Problem(413, "batch-too-large", "Too many events in one batch",
                      f"{len(items)} events; at most {max_batch} per batch", extra={"max_batch": max_batch})
    return items
