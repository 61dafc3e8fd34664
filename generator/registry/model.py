"""What a loaded registry is made of: settings, channels, events and their versions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import referencing
import referencing.jsonschema
from referencing._core import Resolver

ADAPTER_KINDS = ("memory", "redis", "kafka", "nats", "rabbitmq")
COMPATIBILITY_LEVELS = (
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
)
RULE_SETS = ("lenient", "strict")
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
DRAFT_07 = "http://json-schema.org/draft-07/schema#"


@dataclass(frozen=True)
class Settings:
    """The ``[registry]`` table: registry-wide defaults."""

    name: str = "registry"
    default_dialect: str = DRAFT_2020_12
    compatibility: str = "BACKWARD"
    rules: str = "lenient"
    exclude: tuple[str, ...] = ()
    #: ``[[compat.accept]]`` entries: deliberate breaking changes, each with a reason.
    accept: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Channel:
    """A named stream of events and the adapter kind that carries it."""

    name: str
    adapter: str
    options: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True)
class Document:
    """One JSON Schema file of the registry."""

    path: str  # posix, relative to the registry root
    uri: str  # base URI: its "$id" resolved against the retrieval URI, else the retrieval URI
    retrieval_uri: str  # file:///<path>
    dialect: str
    schema: Any


@dataclass(frozen=True)
class EventVersion:
    """One version of an event type and the schema file that defines it."""

    type: str
    version: int
    path: str
    uri: str
    schema: Mapping[str, Any]
    dialect: str


@dataclass(frozen=True)
class Event:
    """An event type: where it travels and every version of its schema (ascending)."""

    type: str
    channel: str
    versions: Mapping[int, EventVersion]
    description: str = ""
    compatibility: str | None = None

    @property
    def latest(self) -> EventVersion:
        return self.versions[max(self.versions)]


@dataclass(frozen=True)
class Registry:
    """A loaded, fully checked registry."""

    root: Path
    settings: Settings
    channels: Mapping[str, Channel]
    events: Mapping[str, Event]
    documents: Mapping[str, Document]  # by path
    resources: referencing.Registry[Any]
    _by_uri: dict[str, Document] = field(init=False, repr=False, compare=False)
    #: Results derived from this (immutable) registry, computed once per load (e.g. reachable documents).
    memo: dict[str, Any] = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        index = {uri: d for d in self.documents.values() for uri in (d.retrieval_uri, d.uri)}
        object.__setattr__(self, "_by_uri", index)  # frozen: set once, here

    def document_for(self, uri: str) -> Document | None:
        """The file known by ``uri`` (its ``$id`` or its retrieval URI), fragment ignored."""
        return self._by_uri.get(uri.split("#", 1)[0])

    def resolver(self, uri: str) -> Resolver[Any]:
        """A resolver over every schema of the registry whose base URI is ``uri``. Never uses the network."""
        return self.resources.resolver(base_uri=uri)

    def event_version(self, type_: str, version: int | None = None) -> EventVersion:
        """The given version of an event type, or its latest. Raises ``KeyError`` with a readable message."""
        event = self.events.get(type_)
        if event is None:
            raise KeyError(f"unknown event type {type_!r}")
        if version is None:
            return event.latest
        if version not in event.versions:
            known = ", ".join(str(v) for v in sorted(event.versions))
            raise KeyError(f"event type {type_!r} has no version {version} (versions: {known})")
        return event.versions[version]
