"""What the runtime knows about events: read from ``generated/manifest.json`` and its schema bundles.

The manifest names each model class relative to the generated package (``.models.orders.x_v1:XV1``), so a
package generated as ``generated`` imports as ``myapp.events`` too: the catalog resolves the name against the
package it was loaded from. Absolute names (manifests written before 0.2) are imported as they are.

The catalog never parses ``schemas/`` and never imports the generator: the import graph is one-way
(generated → runtime). Tests and tools that hold bundles in memory use ``Catalog.from_bundles``.
Validators are compiled on first use and then kept (``Catalog.compile_all`` does it up front, as the bus
does at start, so the first event pays nothing); model classes are imported on first use, because importing
hundreds of generated modules at start-up costs seconds.
"""

from __future__ import annotations

import importlib
import importlib.resources
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UnknownChannel, UnknownEventType, WrongChannel
from .validation import SchemaValidator

MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class ChannelSpec:
    """A named stream of events, the adapter kind that carries it and that adapter's options."""

    name: str
    adapter: str = "memory"
    options: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


class EventSpec:
    """One (type, version): where it travels, its compiled validator and its model class."""

    def __init__(
        self,
        *,
        event_type: str,
        version: int,
        channel: str,
        adapter: str,
        bundle: Mapping[str, Any],
        model: str | type[Any] | None = None,
        latest: bool = False,
        schema_id: str | None = None,
        digest: str | None = None,
        delegated: Iterable[str] = (),
        package: str | None = None,
    ) -> None:
        self.type = event_type
        self.version = version
        self.channel = channel
        self.adapter = adapter
        self.bundle = bundle
        self.latest = latest
        self.schema_id = schema_id or bundle.get("root")
        self.digest = digest
        self.delegated = tuple(delegated)
        self._model_ref = model
        self._package = package  # what a relative model name (".models.x:X") is relative to
        self._model: type[Any] | None = None if isinstance(model, str) or model is None else model
        self._validator: SchemaValidator | None = None

    def __repr__(self) -> str:
        return f"EventSpec({self.type!r}, v{self.version}, channel={self.channel!r})"

    @property
    def validator(self) -> SchemaValidator:
        """The compiled validator (compiled on first use, then kept)."""
        if self._validator is None:
            self._validator = SchemaValidator(self.bundle)
        return self._validator

    @property
    def model(self) -> type[Any]:
        """The pydantic model class, imported from ``"module:Class"`` (``".module:Class"`` relative to the
        catalog's package) on first use."""
        if self._model is None:
            if not isinstance(self._model_ref, str) or ":" not in self._model_ref:
                raise LookupError(f"{self.type} v{self.version} has no model class in the catalog")
            module_name, _, qualname = self._model_ref.partition(":")
            if module_name.startswith(".") and self._package is None:
                raise LookupError(
                    f"{self.type} v{self.version}: the model {self._model_ref!r} is relative to the generated "
                    "package; load the catalog with Catalog.from_package(name) or from_folder(folder, package=name)"
                )
            # generated code only: the manifest names it
            target: Any = importlib.import_module(module_name, self._package)
            for part in qualname.split("."):
                target = getattr(target, part)
            self._model = target
        return self._model


class Catalog:
    """Every channel and event version of one registry."""

    def __init__(self, name: str, channels: Iterable[ChannelSpec], events: Iterable[EventSpec]) -> None:
        self.name = name
        self.channels: dict[str, ChannelSpec] = {c.name: c for c in channels}
        self._events: dict[tuple[str, int], EventSpec] = {}
        self._latest: dict[str, int] = {}
        for spec in events:
            if spec.channel not in self.channels:
                raise UnknownChannel(f"{spec.type} v{spec.version} names unknown channel {spec.channel!r}")
            self._events[(spec.type, spec.version)] = spec
            self._latest[spec.type] = max(spec.version, self._latest.get(spec.type, 0))

    # -- construction -------------------------------------------------------------------------------------

    @classmethod
    def from_manifest(
        cls,
        manifest: Mapping[str, Any],
        read_bundle: Callable[[str], Mapping[str, Any]],
        package: str | None = None,
    ) -> Catalog:
        """From a parsed ``manifest.json``; ``read_bundle(relative_path)`` returns a parsed bundle; ``package``
        is the generated package's import name, which relative model names are resolved against."""
        if manifest.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"manifest format {manifest.get('format')!r} is not {MANIFEST_FORMAT}")
        channels = [
            ChannelSpec(name, c.get("adapter", "memory"), c.get("options", {}), c.get("description", ""))
            for name, c in manifest["channels"].items()
        ]
        events = [
            EventSpec(
                event_type=e["type"],
                version=e["version"],
                channel=e["channel"],
                adapter=e.get("adapter") or manifest["channels"].get(e["channel"], {}).get("adapter", "memory"),
                bundle=read_bundle(e["bundle"]),
                model=e.get("model"),
                latest=bool(e.get("latest")),
                schema_id=e.get("schema_id"),
                digest=e.get("digest"),
                delegated=e.get("delegated", ()),
                package=package,
            )
            for e in manifest["events"]
        ]
        return cls(manifest.get("registry", "registry"), channels, events)

    @classmethod
    def from_folder(cls, folder: str | Path, package: str | None = None) -> Catalog:
        """From a generated package's folder (``manifest.json`` and ``schemas/`` inside it); ``package`` is its
        import name, needed only for the model classes (validation and routing work without it)."""
        root = Path(folder)
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        return cls.from_manifest(
            manifest, lambda rel: json.loads((root / rel).read_text(encoding="utf-8")), package=package
        )

    @classmethod
    def from_package(cls, package: str = "generated") -> Catalog:
        """From an importable generated package (works from wheels and zips, via ``importlib.resources``)."""
        root = importlib.resources.files(package)
        manifest = json.loads(root.joinpath("manifest.json").read_text(encoding="utf-8"))

        def read(rel: str) -> Mapping[str, Any]:
            target = root
            for part in rel.split("/"):
                target = target.joinpath(part)
            parsed: Mapping[str, Any] = json.loads(target.read_text(encoding="utf-8"))
            return parsed

        return cls.from_manifest(manifest, read, package=package)

    @classmethod
    def from_bundles(
        cls,
        bundles: Iterable[Mapping[str, Any]],
        channels: Mapping[str, ChannelSpec | Mapping[str, Any]],
        event_channels: Mapping[str, str],
        models: Mapping[tuple[str, int], str | type[Any]] | None = None,
        name: str = "registry",
    ) -> Catalog:
        """From bundles held in memory: ``event_channels`` maps each type to its channel; ``channels`` maps
        each channel name to a ``ChannelSpec`` or ``{"adapter": ..., "options": ...}``."""
        channel_specs = [
            c if isinstance(c, ChannelSpec) else ChannelSpec(n, c.get("adapter", "memory"), c.get("options", {}))
            for n, c in channels.items()
        ]
        by_name = {c.name: c for c in channel_specs}
        listed = list(bundles)
        latest: dict[str, int] = {}
        for b in listed:
            latest[b["type"]] = max(b["version"], latest.get(b["type"], 0))
        events = []
        for b in listed:
            channel = event_channels[b["type"]]
            events.append(EventSpec(
                event_type=b["type"], version=b["version"], channel=channel,
                adapter=by_name[channel].adapter if channel in by_name else "memory",
                bundle=b, model=(models or {}).get((b["type"], b["version"])),
                latest=latest[b["type"]] == b["version"],
            ))
        return cls(name, channel_specs, events)

    # -- lookup -------------------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[EventSpec]:
        return iter(self._events.values())

    def __len__(self) -> int:
        return len(self._events)

    @property
    def types(self) -> list[str]:
        return sorted(self._latest)

    def spec(self, event_type: str, version: int | None = None) -> EventSpec:
        """The spec of a type's version (its latest when ``version`` is None or 0)."""
        if event_type not in self._latest:
            raise UnknownEventType(f"unknown event type {event_type!r}")
        wanted = version or self._latest[event_type]
        found = self._events.get((event_type, wanted))
        if found is None:
            known = ", ".join(str(v) for v in self.versions(event_type))
            raise UnknownEventType(f"event type {event_type!r} has no version {wanted} (versions: {known})")
        return found

    def versions(self, event_type: str) -> list[int]:
        return sorted(v for t, v in self._events if t == event_type)

    def channel(self, name: str) -> ChannelSpec:
        try:
            return self.channels[name]
        except KeyError:
            raise UnknownChannel(f"unknown channel {name!r}") from None

    def channel_of(self, event_type: str) -> str:
        return self.spec(event_type).channel

    def check_channel(self, event_type: str, channel: str) -> None:
        """Raise ``WrongChannel`` unless ``event_type`` travels on ``channel``."""
        expected = self.channel_of(event_type)
        if expected != channel:
            raise WrongChannel(f"{event_type!r} travels on channel {expected!r}, not {channel!r}")

    def compile_all(self) -> None:
        """Compile every validator now rather than on the first event."""
        for spec in self:
            _ = spec.validator
