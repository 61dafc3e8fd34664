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

import gc
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from ..catalog import Catalog, EventSpec
from ..envelope import (
    BATCH_CONTENT_TYPE,
    CONTENT_TYPE,
    KNOWN_ATTRIBUTES,
    SPEC_VERSION,
    Envelope,
    envelope_from_wire,
    utc_now_rfc3339,
)
from ..errors import MalformedEvent, UnknownEventType
from ..ids import new_event_id, new_event_ids
from ..jsonparse import dump_json, parse_json
from .errors import Problem, envelope_errors, violation_errors

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


# -- batches ----------------------------------------------------------------------------------------------------

#: The optional string attributes in the order ``Envelope.to_wire`` writes them.
_OPTIONAL_ATTRIBUTES = ("datacontenttype", "dataschema", "subject", "correlationid", "causationid", "traceparent",
                        "partitionkey", "principal", "idempotencykey")
#: An event with no attribute outside these takes the shortest path through ``read_batch``.
_PLAIN_ATTRIBUTES = frozenset({"specversion", "id", "source", "type", "time", "dataversion", "data"})


@dataclass
class Batch:
    """A batch's events as they will be stored: ``wires[i]`` is event ``i``'s structured-mode object exactly as
    ``codec.encode`` writes it (attributes filled in, ``dataversion`` the version it is validated against),
    ``specs[i]`` its type's version. ``errors`` lists the envelope problems (each with ``index`` and
    ``status``); the data is not validated yet (``encode_batch``)."""

    specs: list[EventSpec] = field(default_factory=list)
    wires: list[dict[str, Any]] = field(default_factory=list)
    channels: set[str] = field(default_factory=set)
    errors: list[dict[str, Any]] = field(default_factory=list)


def read_batch(items: list[Any], context: RequestContext, catalog: Catalog,
               latest: Callable[[str], int | None]) -> Batch:
    """Each event of a batch as it will be stored, or why it cannot be (``Batch.errors``).

    The same verdicts and stored objects as ``envelope_of`` + ``codec.check`` + ``Envelope.to_wire`` per event,
    in a fraction of their cost: an event whose attributes are all well-formed is turned into its stored object
    directly (ids made in bulk, one timestamp for the batch, one catalog look-up per type and version); any
    other is handed to ``envelope_of``, whose verdict and errors are the single event route's. Request-level
    ``Idempotency-Key`` headers do not apply to batches; an event's own ``idempotencykey`` is kept."""
    batch = Batch()
    specs, wires, channels, errors = batch.specs, batch.wires, batch.channels, batch.errors
    missing_ids = [type(item) is dict and item.get("id") is None for item in items].count(True)
    ids = new_event_ids(missing_ids)
    next_id = 0
    now = utc_now_rfc3339()
    source, traceparent, principal = context.source, context.traceparent, context.principal
    context_defaults = {"traceparent": traceparent, "principal": principal}
    by_kind: dict[str | tuple[str, int], EventSpec] = {}  # type (its latest version) or (type, version)
    plain, optional_names, known, str_ = _PLAIN_ATTRIBUTES, _OPTIONAL_ATTRIBUTES, KNOWN_ATTRIBUTES, str
    for index, item in enumerate(items):
        wire: dict[str, Any] | None = None
        if type(item) is dict:
            if item.get("id") is None:
                item["id"] = ids[next_id]
                next_id += 1
            get = item.get
            type_, version, id_, event_source, time_ = get("type"), get("dataversion"), get("id"), get("source"), \
                get("time")
            if event_source is None:
                event_source = source
            if time_ is None:
                time_ = now
            spec: EventSpec | None = None
            if type(type_) is str_ and (version is None or (type(version) is int and version >= 0)):
                # a true int only: (type, True) or (type, 2.0) would find version 1 or 2 among the keys
                kind = type_ if version is None else (type_, version)
                spec = by_kind.get(kind)
                if spec is None:
                    try:
                        spec = by_kind[kind] = catalog.spec(type_, version or None)
                        channels.add(spec.channel)
                    except UnknownEventType:
                        pass  # the slow path below reports it
            if (
                spec is not None
                and get("specversion", SPEC_VERSION) == SPEC_VERSION
                and type(id_) is str_ and id_
                and type(event_source) is str_ and event_source
                and type(time_) is str_ and time_
                and "data" in item and "data_base64" not in item
            ):
                wire = {"specversion": SPEC_VERSION, "id": id_, "source": event_source, "type": type_,
                        "time": time_, "dataversion": spec.version}
                if item.keys() <= plain:
                    if traceparent is not None:
                        wire["traceparent"] = traceparent
                    if principal is not None:
                        wire["principal"] = principal
                else:
                    for name in optional_names:
                        value = get(name)
                        if value is None:
                            value = context_defaults.get(name)
                        if value is not None:
                            if type(value) is not str_:
                                wire = None
                                break
                            wire[name] = value
                    if wire is not None and not item.keys() <= known:
                        for name, value in item.items():
                            if name not in known:
                                wire[name] = value
                if wire is not None:
                    wire["data"] = item["data"]
                    specs.append(spec)
                    wires.append(wire)
        if wire is None:  # anything unusual: the single-event path decides, and names every problem
            try:
                envelope = envelope_of(item, context, idempotency=False, latest=latest, owned=True)
                spec = catalog.spec(envelope.type, envelope.data_version or None)
            except MalformedEvent as error:
                errors.extend({**e, "status": 422} for e in envelope_errors(error, index))
                continue
            except UnknownEventType as error:
                errors.append({"index": index, "pointer": "/type", "message": str(error), "status": 404})
                continue
            wire = envelope.to_wire()
            wire["dataversion"] = spec.version
            channels.add(spec.channel)
            specs.append(spec)
            wires.append(wire)
    return batch


@dataclass
class EncodedBatch:
    """A batch ready for ``Bus.publish_checked_many``: event ``i`` is of ``specs[i]``, has id ``ids[i]`` and
    partition key ``keys[i]``, and ``payloads[i]`` is its stored JSON."""

    specs: list[EventSpec] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)
    payloads: list[bytes] = field(default_factory=list)


def encode_batch(batch: Batch) -> tuple[EncodedBatch, list[dict[str, Any]]]:
    """Validate every event's data against its version (``SchemaValidator``: jsonschema's verdict, the fast
    path first) and encode it: (encoded, errors). Errors carry the event's ``index``, the JSON pointer and
    ``status`` 422; ``encoded`` is complete only when there are none."""
    encoded = EncodedBatch(batch.specs)
    ids, keys, payloads = encoded.ids, encoded.keys, encoded.payloads
    errors: list[dict[str, Any]] = []
    last: EventSpec | None = None
    fast: Any = None
    for index, (spec, wire) in enumerate(zip(batch.specs, batch.wires, strict=True)):
        if spec is not last:
            last, fast = spec, spec.validator.fast
        data = wire["data"]
        try:
            valid = fast is not None and fast.is_valid(data)
        except Exception:  # a value jsonschema-rs cannot convert: the reference decides
            valid = False
        if not valid:
            violations = spec.validator.violations(data)
            if violations:
                errors.extend({**e, "status": 422} for e in violation_errors(violations, index))
                continue
        ids.append(wire["id"])
        keys.append(wire.get("partitionkey"))
        payloads.append(dump_json(wire))
    return encoded, errors


@contextmanager
def collector_paused() -> Iterator[None]:
    """CPython's cyclic garbage collector paused for a stretch of synchronous work (never hold it across an
    ``await``: other requests would run without it).

    A batch's parsed JSON is about ten containers per event, all alive until the batch is encoded: every 700
    allocations the collector would scan them, promote them towards the oldest generation and so bring on
    full collections, which traverse every object of the process (the memory adapter's history included)
    — measured, more time than parsing and validating together. The values form no reference cycles
    (reference counting frees them once the batch is encoded), so pausing loses nothing; the collector
    resumes afterwards with whatever is left."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
