"""The envelope every event travels in: CloudEvents 1.0 attributes plus the context of the action behind it.

There is ONE wire encoding, CloudEvents *structured mode* JSON (``application/cloudevents+json``): every
adapter stores these bytes and the HTTP service sends them as they are, so an event read from Redis, Kafka,
memory or an SSE stream decodes the same way. Python attributes are snake_case; the wire names are the
CloudEvents ones (extension names must be lower-case alphanumerics, hence ``correlationid``).

Context attributes (CloudEvents extensions):

==================  ================  =====================================================================
Python              wire              meaning
==================  ================  =====================================================================
``data_version``    ``dataversion``   the schema version the data was written with (an integer)
``correlation_id``  ``correlationid`` the conversation/business transaction this event belongs to
``causation_id``    ``causationid``   the id of the event or command that caused this one
``traceparent``     ``traceparent``   W3C trace context of the action that published it
``partition_key``   ``partitionkey``  ordering key: events with one key keep their order (Kafka record key)
``principal``       ``principal``     who acted (user or service id), as the publisher states it
``idempotency_key`` ``idempotencykey`` publishers set it so a retried publish is not published twice
==================  ================  =====================================================================
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

import msgspec

from .errors import MalformedEvent, Violation
from .ids import new_event_id
from .jsonparse import parse_json

T = TypeVar("T")
U = TypeVar("U")

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
DATA_CONTENT_TYPE = "application/json"

#: Python attribute -> CloudEvents attribute, for every optional string attribute.
_OPTIONAL_STRINGS: tuple[tuple[str, str], ...] = (
    ("datacontenttype", "datacontenttype"),
    ("dataschema", "dataschema"),
    ("subject", "subject"),
    ("correlation_id", "correlationid"),
    ("causation_id", "causationid"),
    ("traceparent", "traceparent"),
    ("partition_key", "partitionkey"),
    ("principal", "principal"),
    ("idempotency_key", "idempotencykey"),
)
_REQUIRED_STRINGS = ("id", "source", "type", "time")
KNOWN_ATTRIBUTES = frozenset(
    {"specversion", "data", "dataversion", *_REQUIRED_STRINGS, *(wire for _, wire in _OPTIONAL_STRINGS)}
)


_second_formatted: tuple[int, str] = (-1, "")


def utc_now_rfc3339() -> str:
    """The current time as RFC 3339 with millisecond precision and ``Z``, the form every event carries.

    The date and time up to the second are formatted once per second (``datetime.isoformat`` is a
    noticeable share of publishing cost)."""
    global _second_formatted
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    cached_second, prefix = _second_formatted
    if seconds != cached_second:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _second_formatted = (seconds, prefix)
    return f"{prefix}.{nanos // 1_000_000:03d}Z"


@dataclass(slots=True)
class Envelope(Generic[T]):
    """One event: CloudEvents attributes, context, and ``data`` (a model instance, or the validated JSON).

    Treat it as immutable (derive changed copies with ``with_data`` or ``dataclasses.replace``). It is not a
    frozen dataclass only because freezing makes construction 3-5× slower, and every delivery constructs one.
    """

    type: str
    data: T
    data_version: int
    id: str = field(default_factory=new_event_id)
    source: str = "urn:hipponot-pubsub"
    time: str = field(default_factory=utc_now_rfc3339)
    datacontenttype: str | None = DATA_CONTENT_TYPE
    dataschema: str | None = None
    subject: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None
    partition_key: str | None = None
    principal: str | None = None
    idempotency_key: str | None = None
    #: CloudEvents extension attributes this runtime does not know, kept so that forwarding preserves them.
    extensions: Mapping[str, Any] = field(default_factory=dict)
    specversion: str = SPEC_VERSION

    @property
    def occurred_at(self) -> datetime:
        """``time`` parsed (RFC 3339)."""
        return datetime.fromisoformat(self.time.replace("Z", "+00:00").replace("z", "+00:00"))

    def with_version(self, data_version: int) -> Envelope[T]:
        """The same event declaring another ``data_version`` (spelled out: ``dataclasses.replace`` is slower)."""
        return Envelope(
            self.type, self.data, data_version, self.id, self.source, self.time, self.datacontenttype,
            self.dataschema, self.subject, self.correlation_id, self.causation_id, self.traceparent,
            self.partition_key, self.principal, self.idempotency_key, self.extensions, self.specversion,
        )

    def with_data(self, data: U) -> Envelope[U]:
        """The same event carrying other ``data`` (used to swap validated JSON for a typed model).

        Spelled out rather than ``dataclasses.replace``, which costs several times more on every delivery."""
        return Envelope(
            self.type, data, self.data_version, self.id, self.source, self.time, self.datacontenttype,
            self.dataschema, self.subject, self.correlation_id, self.causation_id, self.traceparent,
            self.partition_key, self.principal, self.idempotency_key, self.extensions, self.specversion,
        )

    def caused(self, type_: str, data: U, data_version: int, **attributes: Any) -> Envelope[U]:
        """A new event caused by this one: same correlation id, causation id = this id, same trace."""
        attributes.setdefault("correlation_id", self.correlation_id or self.id)
        attributes.setdefault("causation_id", self.id)
        attributes.setdefault("traceparent", self.traceparent)
        return Envelope(type=type_, data=data, data_version=data_version, **attributes)

    def to_wire(self, data: Any | None = None) -> dict[str, Any]:
        """The CloudEvents structured-mode object (``data`` overrides the JSON of ``self.data``).

        Attribute by attribute rather than a loop over a table: it runs for every published event."""
        wire: dict[str, Any] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": self.time,
            "dataversion": self.data_version,
        }
        if self.datacontenttype is not None:
            wire["datacontenttype"] = self.datacontenttype
        if self.dataschema is not None:
            wire["dataschema"] = self.dataschema
        if self.subject is not None:
            wire["subject"] = self.subject
        if self.correlation_id is not None:
            wire["correlationid"] = self.correlation_id
        if self.causation_id is not None:
            wire["causationid"] = self.causation_id
        if self.traceparent is not None:
            wire["traceparent"] = self.traceparent
        if self.partition_key is not None:
            wire["partitionkey"] = self.partition_key
        if self.principal is not None:
            wire["principal"] = self.principal
        if self.idempotency_key is not None:
            wire["idempotencykey"] = self.idempotency_key
        if self.extensions:
            for name, value in self.extensions.items():
                wire.setdefault(name, value)
        wire["data"] = self.data if data is None else data
        return wire


def _problems(wire: dict[str, Any]) -> list[Violation]:
    """Why ``wire`` is not a structured-mode event we can read (slow path, only on bad input)."""
    problems: list[Violation] = []
    if wire.get("specversion") != SPEC_VERSION:
        problems.append(Violation("/specversion", f"must be {SPEC_VERSION!r}, got {wire.get('specversion')!r}"))
    for name in ("id", "source", "type"):
        value = wire.get(name)
        if not isinstance(value, str) or not value:
            problems.append(Violation(f"/{name}", "required non-empty string"))
    for name in ("time", *(wire_name for _, wire_name in _OPTIONAL_STRINGS)):
        value = wire.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(Violation(f"/{name}", "must be a string"))
    version = wire.get("dataversion", 0)
    if not (isinstance(version, int) and not isinstance(version, bool) and version >= 0):
        problems.append(Violation("/dataversion", "must be a positive integer"))
    if "data_base64" in wire:
        problems.append(Violation("/data_base64", "binary data is not supported; events carry JSON data"))
    if "data" not in wire:
        problems.append(Violation("/data", "required"))
    return problems


def _malformed(wire: dict[str, Any]) -> MalformedEvent:
    problems = _problems(wire) or [Violation("", "unreadable attributes")]
    text = "; ".join(f"{p.pointer}: {p.message}" if p.pointer else p.message for p in problems)
    return MalformedEvent("not a valid CloudEvent: " + text, problems)


_OPTIONAL_WIRE = tuple(wire_name for _, wire_name in _OPTIONAL_STRINGS)


def envelope_from_wire(wire: Any) -> Envelope[Any]:
    """Read a structured-mode object; checks the attributes' shapes, not ``data`` (that is the catalog's job).

    ``dataversion`` may be absent in events written by other tools (or a digit string, as in binary-mode
    headers); absent, it is 0 and the decoder picks the version (see ``..codec``). Hot path: one pass
    of cheap checks, details only when something is wrong.
    """
    if type(wire) is not dict:
        raise MalformedEvent(f"a CloudEvent is a JSON object, got {type(wire).__name__}",
                             [Violation("", f"must be a JSON object, got {type(wire).__name__}")])
    get = wire.get
    id_, source, type_, time_ = get("id"), get("source"), get("type"), get("time")
    version = get("dataversion", 0)
    if type(version) is str and version.isdigit():
        version = wire["dataversion"] = int(version)
    content_type, schema, subject, correlation, causation, trace, partition, principal, idempotency = (
        get("datacontenttype"), get("dataschema"), get("subject"), get("correlationid"), get("causationid"),
        get("traceparent"), get("partitionkey"), get("principal"), get("idempotencykey"),
    )
    str_ = str
    if (
        get("specversion") != SPEC_VERSION
        or type(id_) is not str_ or not id_
        or type(source) is not str_ or not source
        or type(type_) is not str_ or not type_
        or (time_ is not None and type(time_) is not str_)
        or type(version) is not int or version < 0
        or "data" not in wire or "data_base64" in wire
        or (content_type is not None and type(content_type) is not str_)
        or (schema is not None and type(schema) is not str_)
        or (subject is not None and type(subject) is not str_)
        or (correlation is not None and type(correlation) is not str_)
        or (causation is not None and type(causation) is not str_)
        or (trace is not None and type(trace) is not str_)
        or (partition is not None and type(partition) is not str_)
        or (principal is not None and type(principal) is not str_)
        or (idempotency is not None and type(idempotency) is not str_)
    ):
        raise _malformed(wire)
    # Extensions are rare: a set comparison of the keys is cheaper than a comprehension that finds none.
    extensions = {} if wire.keys() <= KNOWN_ATTRIBUTES else {
        k: v for k, v in wire.items() if k not in KNOWN_ATTRIBUTES}
    return Envelope(
        type_, wire["data"], version, id_, source, time_ or utc_now_rfc3339(), content_type, schema, subject,
        correlation, causation, trace, partition, principal, idempotency, extensions,
    )


_NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class _Attributes(msgspec.Struct, forbid_unknown_fields=True, gc=False, rename={
        "data_version": "dataversion", "correlation_id": "correlationid", "causation_id": "causationid",
        "partition_key": "partitionkey", "idempotency_key": "idempotencykey"}):
    """A structured-mode event exactly as ``envelope_from_wire`` accepts it, minus what the fast path leaves to
    it: extension attributes (any unknown name), a ``dataversion`` written as a digit string. Not tracked by the
    garbage collector (``gc=False``): one is made per event and it cannot be part of a cycle."""

    specversion: Literal["1.0"]
    id: _NonEmpty
    source: _NonEmpty
    type: _NonEmpty
    data: Any
    time: str | None = None
    data_version: Annotated[int, msgspec.Meta(ge=0)] = 0
    datacontenttype: str | None = None
    dataschema: str | None = None
    subject: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None
    partition_key: str | None = None
    principal: str | None = None
    idempotency_key: str | None = None


#: ``float_hook`` as in ``jsonparse``: integers of any size exactly, so both paths read the same values.
_read_attributes = msgspec.json.Decoder(_Attributes, float_hook=float).decode


def envelope_from_json(raw: bytes | bytearray | memoryview | str) -> Envelope[Any]:
    """``envelope_from_wire(parse_json(raw))``, and the same verdict and values, in about half the time.

    Every consumer reads every event through here. The common event — our attributes, nothing else — is parsed
    and its attributes type-checked in one pass by msgspec, straight into a struct (no dict of attributes, no
    Python-level checks). Anything that pass refuses (bad JSON, a wrong attribute, an extension attribute, a
    digit-string ``dataversion``) is read again by the exact path, which accepts it or says what is wrong."""
    try:
        w = _read_attributes(raw)
    except (msgspec.DecodeError, RecursionError):
        return envelope_from_wire(parse_json(raw))
    return Envelope(
        w.type, w.data, w.data_version, w.id, w.source, w.time or utc_now_rfc3339(), w.datacontenttype,
        w.dataschema, w.subject, w.correlation_id, w.causation_id, w.traceparent, w.partition_key, w.principal,
        w.idempotency_key, {},
    )
