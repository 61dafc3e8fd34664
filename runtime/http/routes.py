"""Every HTTP route of the service, in one place.

=======  ============================================================  =================  ==========================
method   path                                                          scope              answers
=======  ============================================================  =================  ==========================
POST     ``/events``                                                   publish: channel   202 id + position
POST     ``/events/batch``                                             publish: channels  202 results, all or none
GET      ``/channels/{channel}/events``                                subscribe: channel SSE stream
GET      ``/registry/types``                                           registry: read     event types
GET      ``/registry/types/{type}``                                    registry: read     one type, its versions
GET      ``/registry/types/{type}/versions/{version}/schema``          registry: read     JSON Schema (one document)
POST     ``/registry/types/{type}/compatibility``                      registry: write    compatibility verdict
GET      ``/registry/channels``                                        registry: read     channels
GET      ``/registry/channels/{channel}``                              registry: read     one channel
GET      ``/asyncapi.json``                                            registry: read     AsyncAPI 3.0 document
GET      ``/health``                                                   (none)             liveness
GET      ``/ready``                                                    (none)             readiness (adapters' health)
GET      ``/metrics``                                                  (none)             Prometheus exposition
GET      ``/admin/channels/{channel}/dead-letters``                    admin: channel     dead letters (filters)
GET      ``/admin/channels/{channel}/dead-letters/{position}``         admin: channel     one dead letter
POST     ``/admin/channels/{channel}/dead-letters/redrive``            admin: channel     redrive report
POST     ``/admin/channels/{channel}/dead-letters/purge``              admin: channel     purge report (confirm)
POST     ``/admin/channels/{channel}/replay``                          admin: channel     replay count or report
GET      ``/schema`` (Litestar)                                        (none)             OpenAPI documents
=======  ============================================================  =================  ==========================

Errors are problem+json documents (``.errors``): 400 malformed JSON or bad position, 401/403,
404 unknown type/channel/version, 413 body or batch too large, 415 content type, 422 invalid event or schema
violations (each with its JSON pointer), 503 (+ ``Retry-After``) over the subscriber limit or adapter down.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Annotated, Any, cast

import anyio.to_thread
import jsonschema.validators
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, HeaderParameter, QueryParameter

from ..bus import PublishResult
from ..deadletters import (
    DEFAULT_LIMIT,
    DEFAULT_MAX_REDRIVES,
    DeadLetterFilter,
    Range,
    State,
    list_dead_letters,
    parse_bound,
    parse_time,
    purge,
    redrive,
    replay,
    select_range,
    show_dead_letter,
)
from ..envelope import BATCH_CONTENT_TYPE, CONTENT_TYPE
from ..errors import UnknownEventType
from ..jsonparse import dump_json, parse_json
from ..validation import instance_pointer
from .asyncapi import asyncapi_document
from .auth import (
    admin_guard,
    ensure_publisher,
    principal_of,
    registry_read_guard,
    registry_write_guard,
    require_publish,
    subscriber_guard,
)
from .errors import PROBLEM_JSON, Problem
from .ingest import (
    JSON,
    EncodedBatch,
    RequestContext,
    collector_paused,
    encode_batch,
    is_json_media,
    media_type,
    read_batch,
    read_batch_items,
    read_event,
)
from .metrics import EXPOSITION_CONTENT_TYPE
from .plugin import PubSubService
from .registry import (
    CompatInputError,
    CompatUnavailable,
    channel_summary,
    compound_schema,
    type_summary,
    version_summary,
)
from .sse import EventStream

SCHEMA_JSON = "application/schema+json"

#: The service, injected by name (the plugin provides ``pubsub``).
Service = NamedDependency[PubSubService]

# -- documentation types (OpenAPI) -----------------------------------------------------------------------------


@dataclass
class Accepted:
    """An event stored by the adapter."""

    id: str
    position: str
    channel: str
    type: str
    version: int
    duplicate: bool = False


@dataclass
class BatchAccepted:
    results: list[Accepted]


@dataclass
class ProblemDetail:
    """RFC 9457 problem details; ``errors`` lists each problem with its JSON pointer (and batch index)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)


def _problems(*statuses: int) -> dict[int, ResponseSpec]:
    texts = {400: "Malformed JSON or bad parameter", 401: "No valid bearer token", 403: "Outside the token's scopes",
             404: "Unknown event type, version or channel", 413: "Body or batch too large",
             415: "Unsupported content type", 422: "Invalid event: each error has a JSON pointer",
             501: "Not available in this deployment", 503: "Over a limit or adapter unavailable (Retry-After)"}
    return {s: ResponseSpec(ProblemDetail, description=texts[s], media_type=PROBLEM_JSON, generate_examples=False)
            for s in statuses}


_STRING = Schema(type=OpenAPIType.STRING)
_EVENT_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["type", "data"],
    description="A CloudEvent (structured mode), or plain JSON with just type and data; the server fills id, "
                "source, time (and specversion for plain JSON).",
    properties={
        "specversion": Schema(type=OpenAPIType.STRING, enum=["1.0"]),
        "type": Schema(type=OpenAPIType.STRING, examples=["order.placed"]),
        "dataversion": Schema(type=OpenAPIType.INTEGER, minimum=1),
        "id": _STRING, "source": _STRING, "time": Schema(type=OpenAPIType.STRING, format=None),
        "subject": _STRING, "correlationid": _STRING, "causationid": _STRING, "partitionkey": _STRING,
        "idempotencykey": _STRING, "traceparent": _STRING,
        "data": Schema(type=OpenAPIType.OBJECT, description="the event's payload, valid against its schema"),
    },
)


def _operation_with_body(content: dict[str, Schema], description: str) -> type[Operation]:
    """An ``Operation`` class documenting a request body Litestar cannot infer (the handlers read raw bytes)."""

    @dataclass
    class WithBody(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(
                content={media: OpenAPIMediaType(schema=schema) for media, schema in content.items()},
                description=description, required=True,
            )

    return WithBody


_PUBLISH_OPERATION = _operation_with_body(
    {CONTENT_TYPE: _EVENT_SCHEMA, JSON: _EVENT_SCHEMA},
    "One event: structured (application/cloudevents+json), plain JSON, or binary mode (ce-* headers, data as body)",
)
_BATCH_OPERATION = _operation_with_body(
    {BATCH_CONTENT_TYPE: Schema(type=OpenAPIType.ARRAY, items=_EVENT_SCHEMA),
     JSON: Schema(type=OpenAPIType.ARRAY, items=_EVENT_SCHEMA)},
    "A JSON array of events: all valid and published, or none",
)
_COMPAT_OPERATION = _operation_with_body(
    {JSON: Schema(type=OpenAPIType.OBJECT, description="the candidate JSON Schema"),
     SCHEMA_JSON: Schema(type=OpenAPIType.OBJECT)},
    "A candidate JSON Schema for the next version of the event type",
)


def _json(value: Any, status: int = 200, media: str = JSON, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(dump_json(value), status_code=status, media_type=media, headers=headers)


def _accepted(result: PublishResult) -> dict[str, Any]:
    return {"id": result.id, "position": result.position, "channel": result.channel, "type": result.type,
            "version": result.version, "duplicate": result.duplicate}


def _context(request: Request[Any, Any, Any], pubsub: PubSubService) -> RequestContext:
    return RequestContext.from_headers(request.headers, pubsub.settings.source, principal_of(request).name)


# -- publishing ------------------------------------------------------------------------------------------------


@post("/events", status_code=202, operation_class=_PUBLISH_OPERATION,
      summary="Publish one event", tags=["events"],
      responses={202: ResponseSpec(Accepted, description="Stored by the adapter", generate_examples=False),
                 **_problems(400, 401, 403, 404, 413, 415, 422, 503)})
async def publish_event(request: Request[Any, Any, Any], pubsub: Service) -> Response[bytes]:
    """Validate one event at the boundary and publish it; answers once the adapter has stored it."""
    ensure_publisher(request)  # before the body is read (see its docstring for why it is not a guard)
    body = await request.body()
    envelope = read_event(request.headers, body, _context(request, pubsub), pubsub.latest_version)
    spec = pubsub.catalog.spec(envelope.type, envelope.data_version or None)
    require_publish(principal_of(request), [spec.channel])
    result = await pubsub.bus.publish_envelope(envelope)
    return _json(_accepted(result), 202)


@post("/events/batch", status_code=202, operation_class=_BATCH_OPERATION,
      summary="Publish a batch of events, all or none", tags=["events"],
      responses={202: ResponseSpec(BatchAccepted, description="All stored", generate_examples=False),
                 **_problems(400, 401, 403, 413, 415, 422, 503)})
async def publish_batch(request: Request[Any, Any, Any], pubsub: Service) -> Response[bytes]:
    """Every event valid and published, or none: errors are indexed per event (``errors[].index``)."""
    ensure_publisher(request)  # before the body is read
    body = await request.body()
    with collector_paused():  # synchronous: no await inside
        batch = _checked_batch(request, pubsub, body)
    specs, ids = batch.specs, batch.ids
    positions = await pubsub.bus.publish_checked_many(specs, ids, batch.keys, batch.payloads)
    return _json({"results": [
        {"id": id_, "position": position, "channel": spec.channel, "type": spec.type, "version": spec.version,
         "duplicate": False} for id_, position, spec in zip(ids, positions, specs, strict=True)]}, 202)


def _checked_batch(request: Request[Any, Any, Any], pubsub: PubSubService, body: bytes) -> EncodedBatch:
    """A batch request's events validated and encoded, or the ``Problem`` refusing it (415, 413, 400, 422,
    403). What it parsed is freed on return: only the encoded events outlive it."""
    items = read_batch_items(request.headers, body, pubsub.settings.max_batch)
    context = dataclasses.replace(_context(request, pubsub), idempotency_key=None)
    batch = read_batch(items, context, pubsub.catalog, pubsub.latest_version)
    if batch.errors:  # envelope problems and unknown types are reported before any data is validated
        raise _batch_refused(batch.errors, len(items))
    require_publish(principal_of(request), batch.channels)
    encoded, errors = encode_batch(batch)
    if errors:
        raise _batch_refused(errors, len(items))
    return encoded


def _batch_refused(errors: list[dict[str, Any]], count: int) -> Problem:
    failing = len({e["index"] for e in errors})
    return Problem(422, "invalid-batch", "The batch was refused: nothing was published",
                   f"{failing} of {count} event(s) are invalid", errors=errors)


# -- subscribing -----------------------------------------------------------------------------------------------


@get("/channels/{channel:str}/events", guards=[subscriber_guard], summary="Stream a channel's events (SSE)",
     tags=["events"], media_type="text/event-stream",
     responses={200: ResponseSpec(None, description="text/event-stream: id = position, event = type, data = the "
                                  "CloudEvent; ': keep-alive' comments", media_type="text/event-stream"),
                **_problems(400, 401, 403, 404, 503)})
async def stream_events(
    pubsub: Service,
    channel: FromPath[str],
    types: Annotated[list[str] | None, QueryParameter(name="type", description="only these event types")] = None,
    after: Annotated[str | None, QueryParameter(name="after", description="resume after this position")] = None,
    last_event_id: Annotated[str | None, HeaderParameter(
        name="Last-Event-ID", description="resume after this position (wins over ?after)")] = None,
) -> EventStream:
    """Server-Sent Events: every event of the channel after the given position (or from now on)."""
    catalog = pubsub.catalog
    catalog.channel(channel)
    for name in types or ():
        catalog.check_channel(name, channel)
    hub = pubsub.streams
    retry_after = {"Retry-After": str(pubsub.settings.retry_after)}
    if hub.closing:
        raise Problem(503, "shutting-down", "The service is shutting down", "reconnect to another instance",
                      headers=retry_after)
    if hub.full():
        raise Problem(503, "too-many-subscribers", "Too many open streams",
                      f"this process serves at most {pubsub.settings.max_subscribers} streams", headers=retry_after)
    resume = (last_event_id or "").strip() or (after or "").strip() or None
    adapter = pubsub.bus.adapter_for(channel)
    can_resume = adapter.capabilities_for(channel).history
    if resume is not None:
        if not can_resume:
            raise Problem(400, "cannot-resume", "This channel cannot be resumed",
                          f"channel {channel!r} keeps no history; connect without a position")
        await adapter.history(channel, after=resume, limit=1)  # an unknown position: InvalidPosition, 400
    client = hub.open(types)
    return EventStream(hub.events(adapter, channel, client, resume, can_resume), client,
                       on_close=lambda: hub.clients.discard(client))


# -- registry --------------------------------------------------------------------------------------------------


@get("/registry/types", guards=[registry_read_guard], summary="Event types", tags=["registry"],
     responses=_problems(401, 403))
async def list_types(pubsub: Service) -> Response[bytes]:
    catalog = pubsub.catalog
    return _json({"registry": catalog.name, "types": [type_summary(catalog, t) for t in catalog.types]})


@get("/registry/types/{event_type:str}", guards=[registry_read_guard], summary="One event type",
     tags=["registry"], responses=_problems(401, 403, 404))
async def get_type(pubsub: Service, event_type: FromPath[str]) -> Response[bytes]:
    pubsub.catalog.spec(event_type)
    return _json(type_summary(pubsub.catalog, event_type))


@get("/registry/types/{event_type:str}/versions/{version:int}", guards=[registry_read_guard],
     summary="One version of an event type", tags=["registry"], responses=_problems(401, 403, 404))
async def get_version(pubsub: Service, event_type: FromPath[str], version: FromPath[int]) -> Response[bytes]:
    spec = _version(pubsub, event_type, version)
    return _json({"type": spec.type, "channel": spec.channel, **version_summary(spec)})


@get("/registry/types/{event_type:str}/versions/{version:int}/schema", guards=[registry_read_guard],
     summary="A version's JSON Schema", tags=["registry"], responses=_problems(401, 403, 404))
async def get_schema(
    pubsub: Service,
    event_type: FromPath[str],
    version: FromPath[int],
    form: Annotated[str, QueryParameter(
        name="format", pattern="^(document|bundle)$",
        description="document: one self-contained JSON Schema; bundle: the runtime's bundle")] = "document",
) -> Response[bytes]:
    spec = _version(pubsub, event_type, version)
    if form == "bundle":
        return _json(spec.bundle)
    return _json(compound_schema(spec.bundle), media=SCHEMA_JSON)


def _version(pubsub: PubSubService, event_type: str, version: int) -> Any:
    if version < 1:
        raise UnknownEventType(f"event type {event_type!r} has no version {version}")
    return pubsub.catalog.spec(event_type, version)


@post("/registry/types/{event_type:str}/compatibility", guards=[registry_write_guard], status_code=200,
      operation_class=_COMPAT_OPERATION, summary="Check a candidate schema's compatibility", tags=["registry"],
      responses=_problems(400, 401, 403, 404, 413, 415, 422, 501))
async def check_compatibility(
    request: Request[Any, Any, Any],
    pubsub: Service,
    event_type: FromPath[str],
    level: Annotated[str, QueryParameter(
        name="level", description="NONE, BACKWARD, FORWARD, FULL, or one of those _TRANSITIVE")] = "BACKWARD",
    rules: Annotated[str, QueryParameter(name="rules", pattern="^(lenient|strict)$")] = "lenient",
) -> Response[bytes]:
    """Judge a candidate as the next version of ``event_type`` against the registered versions."""
    catalog = pubsub.catalog
    catalog.spec(event_type)
    media = media_type(request.headers.get("content-type"))
    if not is_json_media(media):
        raise Problem(415, "unsupported-media-type", "Unsupported content type",
                      f"send the candidate schema as {JSON} or {SCHEMA_JSON}")
    candidate = parse_json(await request.body())
    if not isinstance(candidate, dict | bool):
        raise Problem(422, "invalid-schema", "Not a JSON Schema", "a JSON Schema is an object or a boolean",
                      errors=[{"pointer": "", "message": "must be an object or a boolean"}])
    _check_metaschema(candidate)
    versions = [catalog.spec(event_type, v) for v in catalog.versions(event_type)]
    try:
        report = await anyio.to_thread.run_sync(
            lambda: pubsub.compat(versions, candidate, level=level, rules=rules))
    except CompatUnavailable as error:
        raise Problem(501, "compat-unavailable", "No compatibility checker here", str(error)) from None
    except CompatInputError as error:
        raise Problem(422, "compat-input", "The candidate cannot be checked", str(error)) from None
    except Exception as error:  # the checker choked on an unusual schema: the request's fault, not a crash
        raise Problem(422, "compat-input", "The candidate cannot be checked",
                      f"{type(error).__name__}: {error}") from None
    return _json(dataclasses.asdict(report))


def _check_metaschema(candidate: Any) -> None:
    if isinstance(candidate, bool):
        return
    try:
        cls = jsonschema.validators.validator_for(candidate, default=jsonschema.Draft202012Validator)
        errors = sorted(cls(cls.META_SCHEMA).iter_errors(candidate), key=lambda e: list(map(str, e.absolute_path)))
    except Exception as error:
        raise Problem(422, "invalid-schema", "Not a valid JSON Schema", str(error)) from None
    if errors:
        raise Problem(422, "invalid-schema", "Not a valid JSON Schema", f"{len(errors)} problem(s)",
                      errors=[{"pointer": instance_pointer(e.absolute_path), "message": e.message} for e in errors])


@get("/registry/channels", guards=[registry_read_guard], summary="Channels", tags=["registry"],
     responses=_problems(401, 403))
async def list_channels(pubsub: Service) -> Response[bytes]:
    catalog = pubsub.catalog
    return _json({"channels": [channel_summary(catalog, name) for name in sorted(catalog.channels)]})


@get("/registry/channels/{channel:str}", guards=[registry_read_guard], summary="One channel", tags=["registry"],
     responses=_problems(401, 403, 404))
async def get_channel(pubsub: Service, channel: FromPath[str]) -> Response[bytes]:
    return _json(channel_summary(pubsub.catalog, channel))


@get("/asyncapi.json", guards=[registry_read_guard], summary="AsyncAPI 3.0 document", tags=["registry"],
     responses=_problems(401, 403))
async def asyncapi(request: Request[Any, Any, Any], pubsub: Service) -> Response[bytes]:
    # base_url carries the server's root path (behind a proxy); the service may be mounted below it.
    return _json(asyncapi_document(pubsub.catalog, base_url=str(request.base_url).rstrip("/") + pubsub.mount_path))


# -- operations ------------------------------------------------------------------------------------------------


@get("/health", summary="Liveness", tags=["operations"])
async def health() -> Response[bytes]:
    return _json({"status": "ok"})


@get("/ready", summary="Readiness: every adapter healthy", tags=["operations"], responses=_problems(503))
async def ready(pubsub: Service) -> Response[bytes]:
    running = pubsub.bus.running and not pubsub.streams.closing
    checks = await pubsub.bus.health() if pubsub.bus.running else {}
    adapters = {kind: {"ok": h.ok, "detail": h.detail} for kind, h in checks.items()}
    ok = running and all(h.ok for h in checks.values())
    body = {"ready": ok, "running": running, "adapters": adapters}
    if ok:
        return _json(body)
    return _json({"type": "urn:hipponot-pubsub:problem:not-ready", "title": "Not ready", "status": 503, **body},
                 503, PROBLEM_JSON, {"Retry-After": str(pubsub.settings.retry_after)})


@get("/metrics", summary="Prometheus metrics", tags=["operations"], media_type=EXPOSITION_CONTENT_TYPE)
async def metrics(pubsub: Service) -> Response[bytes]:
    return Response(pubsub.metrics.exposition(), media_type=EXPOSITION_CONTENT_TYPE)


# -- admin: dead letters and replay ----------------------------------------------------------------------------


def _admin_body(raw: bytes, allowed: set[str]) -> dict[str, Any]:
    """A JSON object body of the admin routes, holding only ``allowed`` keys."""
    body = parse_json(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise Problem(400, "bad-request", "Bad request", "the body must be a JSON object", errors=[
            {"pointer": "", "message": "not an object"}])
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise Problem(400, "bad-request", "Bad request", f"unknown member(s): {', '.join(unknown)}",
                      errors=[{"pointer": f"/{name}", "message": "not allowed here"} for name in unknown])
    return body


def _member(body: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    value = body.get(name, default)
    if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        raise Problem(400, "bad-request", "Bad request", f"{name} has the wrong type",
                      errors=[{"pointer": f"/{name}", "message": "wrong type"}])
    return value


def _selection(body: dict[str, Any]) -> list[str] | None:
    """``positions`` or ``all: true`` (exactly one)."""
    positions = _member(body, "positions", list)
    every = _member(body, "all", bool, False)
    if (positions is None) == (not every):
        raise Problem(400, "bad-request", "Bad request", "give either positions or all: true",
                      errors=[{"pointer": "/positions", "message": "positions or all"}])
    if positions is not None and not all(isinstance(p, str) and p for p in positions):
        raise Problem(400, "bad-request", "Bad request", "positions must be non-empty strings",
                      errors=[{"pointer": "/positions", "message": "not a list of strings"}])
    return None if positions is None else [str(p) for p in positions]


def _query_time(value: str | None, name: str) -> Any:
    if value is None:
        return None
    parsed = parse_time(value)
    if parsed is None:
        raise Problem(400, "bad-parameter", "Bad query parameter", f"{name} {value!r} is not an RFC 3339 time",
                      errors=[{"pointer": "", "parameter": name, "message": "not an RFC 3339 time"}])
    return parsed


@get("/admin/channels/{channel:str}/dead-letters", guards=[admin_guard], summary="A channel's dead letters",
     tags=["admin"], responses=_problems(400, 401, 403, 404))
async def list_channel_dead_letters(
    pubsub: Service, channel: FromPath[str],
    type_: Annotated[str | None, QueryParameter(name="type")] = None,
    error: Annotated[str | None, QueryParameter()] = None, since: Annotated[str | None, QueryParameter()] = None,
    until: Annotated[str | None, QueryParameter()] = None,
    count: Annotated[int | None, QueryParameter(ge=0)] = None,
    state_: Annotated[str | None, QueryParameter(name="state", pattern="^(dead|redriven|purged|all)$")] = None,
) -> Response[bytes]:
    states: frozenset[State] = frozenset({"dead", "redriven", "purged"}) if state_ == "all" else \
        frozenset({cast(State, state_ or "dead")})
    selection = DeadLetterFilter(type=type_, error=error, since=_query_time(since, "since"),
                                 until=_query_time(until, "until"), states=states)
    letters = await list_dead_letters(pubsub.bus, channel, selection, limit=count)
    return _json({"channel": channel, "dead_letters": [letter.to_json() for letter in letters]})


@get("/admin/channels/{channel:str}/dead-letters/{position:str}", guards=[admin_guard], summary="One dead letter",
     tags=["admin"], responses=_problems(401, 403, 404))
async def get_channel_dead_letter(pubsub: Service, channel: FromPath[str], position: FromPath[str]) -> Response[bytes]:
    letter = await show_dead_letter(pubsub.bus, channel, position)
    return _json(letter.to_json(with_payload=True))


_REDRIVE_OPERATION = _operation_with_body(
    {JSON: Schema(type=OpenAPIType.OBJECT, properties={
        "positions": Schema(type=OpenAPIType.ARRAY, items=_STRING), "all": Schema(type=OpenAPIType.BOOLEAN),
        "group": _STRING, "limit": Schema(type=OpenAPIType.INTEGER, minimum=0),
        "max_redrives": Schema(type=OpenAPIType.INTEGER, minimum=0)})},
    "The dead letters to redrive (positions, or all: true), optionally to another group",
)
_PURGE_OPERATION = _operation_with_body(
    {JSON: Schema(type=OpenAPIType.OBJECT, required=["confirm"], properties={
        "positions": Schema(type=OpenAPIType.ARRAY, items=_STRING), "all": Schema(type=OpenAPIType.BOOLEAN),
        "confirm": Schema(type=OpenAPIType.BOOLEAN, const=True)})},
    "The dead letters to purge (positions, or all: true) and confirm: true",
)
_REPLAY_OPERATION = _operation_with_body(
    {JSON: Schema(type=OpenAPIType.OBJECT, required=["from"], properties={
        "from": _STRING, "to": _STRING, "group": _STRING, "into": _STRING, "type": _STRING,
        "dry_run": Schema(type=OpenAPIType.BOOLEAN)})},
    "A range (from: after a position or from an RFC 3339 time; to: up to one) and a group or a channel",
)


@post("/admin/channels/{channel:str}/dead-letters/redrive", guards=[admin_guard], status_code=200,
      operation_class=_REDRIVE_OPERATION, summary="Redrive dead letters to their group", tags=["admin"],
      responses=_problems(400, 401, 403, 404))
async def redrive_dead_letters(request: Request[Any, Any, Any], pubsub: Service,
                               channel: FromPath[str]) -> Response[bytes]:
    body = _admin_body(await request.body(), {"positions", "all", "group", "limit", "max_redrives"})
    positions = _selection(body)
    report = await redrive(pubsub.bus, channel, positions, by=principal_of(request).name,
                           group=_member(body, "group", str), limit=_member(body, "limit", int, DEFAULT_LIMIT),
                           max_redrives=_member(body, "max_redrives", int, DEFAULT_MAX_REDRIVES))
    return _json(report.to_json())


@post("/admin/channels/{channel:str}/dead-letters/purge", guards=[admin_guard], status_code=200,
      operation_class=_PURGE_OPERATION, summary="Purge dead letters", tags=["admin"],
      responses=_problems(400, 401, 403, 404))
async def purge_dead_letters(request: Request[Any, Any, Any], pubsub: Service,
                             channel: FromPath[str]) -> Response[bytes]:
    body = _admin_body(await request.body(), {"positions", "all", "confirm"})
    positions = _selection(body)
    if body.get("confirm") is not True:
        raise Problem(400, "confirmation-required", "Confirmation required", "purging needs confirm: true",
                      errors=[{"pointer": "/confirm", "message": "must be true"}])
    report = await purge(pubsub.bus, channel, positions, by=principal_of(request).name)
    return _json(report.to_json())


@post("/admin/channels/{channel:str}/replay", guards=[admin_guard], status_code=200,
      operation_class=_REPLAY_OPERATION, summary="Replay a range to one group or into a channel", tags=["admin"],
      responses=_problems(400, 401, 403, 404))
async def replay_range(request: Request[Any, Any, Any], pubsub: Service, channel: FromPath[str]) -> Response[bytes]:
    body = _admin_body(await request.body(), {"from", "to", "group", "into", "type", "dry_run"})
    start, end = _member(body, "from", str), _member(body, "to", str)
    group, into = _member(body, "group", str), _member(body, "into", str)
    if start is None or (group is None) == (into is None):
        raise Problem(400, "bad-request", "Bad request", "give from, and exactly one of group or into",
                      errors=[{"pointer": "/from" if start is None else "/group", "message": "missing"}])
    principal = principal_of(request)
    if into is not None and not principal.can_publish(into):
        raise Problem(403, "forbidden", "Outside the token's scopes",
                      f"token {principal.name!r} may not publish to {into!r}")
    (after, since), (to, until) = parse_bound(start), parse_bound(end)
    records = await select_range(pubsub.bus, channel, Range(after=after, since=since, to=to, until=until,
                                                            type=_member(body, "type", str)))
    if _member(body, "dry_run", bool, False):
        return _json({"channel": channel, "selected": len(records), "dry_run": True})
    report = await replay(pubsub.bus, channel, records, by=principal.name, group=group, into=into)
    return _json({"selected": len(records), **report.to_json()})


ROUTES = (
    publish_event,
    publish_batch,
    stream_events,
    list_types,
    get_type,
    get_version,
    get_schema,
    check_compatibility,
    list_channels,
    get_channel,
    asyncapi,
    health,
    ready,
    metrics,
    list_channel_dead_letters,
    get_channel_dead_letter,
    redrive_dead_letters,
    purge_dead_letters,
    replay_range,
)
