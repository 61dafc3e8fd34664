"""Read ``pubsub.toml``: settings, channels and events, checking every key.

Unknown keys are errors, not silently ignored: a misspelt ``chanel`` would otherwise route an event nowhere.
The ``[generate]`` table (where the generated package goes) is checked by its owner,
:mod:`hipponot_pubsub.runtime.project`, and its problems reported here like the others.
Pointers in problems point into the TOML data as if it were JSON (``/channels/orders/adapter``).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hipponot_pubsub.runtime.project import ProjectError, check_generate_table

from .model import ADAPTER_KINDS, COMPATIBILITY_LEVELS, DRAFT_07, DRAFT_2020_12, RULE_SETS, Channel, Settings
from .problems import Problem, pointer

REGISTRY_FILE = "pubsub.toml"
SUPPORTED_DIALECTS = (
    DRAFT_2020_12,
    DRAFT_07,
    "http://json-schema.org/draft-07/schema",
    "https://json-schema.org/draft/2019-09/schema",
)
_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


@dataclass(frozen=True)
class VersionEntry:
    """A ``type`` + ``version`` → file mapping, from an ``[events]`` table or an ``[[imports]]`` glob."""

    type: str
    version: int
    path: str
    where: tuple[str | int, ...]  # pointer parts in pubsub.toml


@dataclass(frozen=True)
class EventEntry:
    type: str
    channel: str
    description: str
    compatibility: str | None
    where: tuple[str | int, ...]


@dataclass(frozen=True)
class ImportEntry:
    glob: str
    channel: str
    type_template: str
    version: int
    description: str
    where: tuple[str | int, ...]


@dataclass
class Config:
    settings: Settings = field(default_factory=Settings)
    channels: dict[str, Channel] = field(default_factory=dict)
    events: dict[str, EventEntry] = field(default_factory=dict)
    versions: list[VersionEntry] = field(default_factory=list)
    imports: list[ImportEntry] = field(default_factory=list)


class _Reader:
    """Collects problems while reading tables, so one run reports them all."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, where: tuple[str | int, ...], code: str, message: str) -> None:
        self.problems.append(Problem(self.file, pointer(where), code, message))

    def table(self, data: Mapping[str, Any], key: str, where: tuple[str | int, ...]) -> Mapping[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, Mapping):
            self.problem((*where, key), "invalid-config", f"{key!r} must be a table")
            return {}
        return value

    def keys(self, data: Mapping[str, Any], allowed: set[str], where: tuple[str | int, ...]) -> None:
        for key in data:
            if key not in allowed:
                expected = ", ".join(sorted(allowed))
                self.problem((*where, key), "unknown-key", f"unknown key {key!r} (expected one of: {expected})")

    def string(
        self, data: Mapping[str, Any], key: str, where: tuple[str | int, ...], default: str | None = None
    ) -> str | None:
        value = data.get(key, default)
        if value is not None and not isinstance(value, str):
            self.problem((*where, key), "invalid-config", f"{key!r} must be a string, not {type(value).__name__}")
            return default
        return value

    def choice(
        self, data: Mapping[str, Any], key: str, where: tuple[str | int, ...], choices: tuple[str, ...], default: str
    ) -> str:
        value = self.string(data, key, where, default) or default
        if value not in choices:
            self.problem((*where, key), "invalid-config", f"{key!r} must be one of {', '.join(choices)}; got {value!r}")
            return default
        return value


def parse_version_key(key: str) -> int | None:
    """``"2"`` → 2; anything that is not a positive integer → ``None``."""
    return int(key) if key.isascii() and key.isdigit() and int(key) > 0 else None


def read_config(text: str, file: str) -> tuple[Config, list[Problem]]:
    """Parse and check ``pubsub.toml``; returns what could be read and every problem found."""
    reader = _Reader(file)
    config = Config()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.search(str(exc))
        line, column = (int(match.group(1)), int(match.group(2))) if match else (None, None)
        message = _TOML_POSITION.sub("", str(exc)).strip()
        return config, [Problem(file, "", "invalid-toml", f"invalid TOML: {message}", line, column)]

    reader.keys(data, {"registry", "channels", "events", "imports", "compat", "generate"}, ())
    try:  # one reader of [generate] for every command: the runtime's (pubsub serve and the pytest plugin use it)
        check_generate_table(data, Path(file))
    except ProjectError as error:
        reader.problems.append(Problem(file, error.pointer, "invalid-config", error.reason))
    config.settings = _read_settings(reader, data)
    for name, raw in reader.table(data, "channels", ()).items():
        channel = _read_channel(reader, name, raw)
        if channel is not None:
            config.channels[name] = channel
    for type_, raw in reader.table(data, "events", ()).items():
        _read_event(reader, config, type_, raw)
    imports = data.get("imports", [])
    if not isinstance(imports, list):
        reader.problem(("imports",), "invalid-config", "'imports' must be an array of tables ([[imports]])")
        imports = []
    for index, raw in enumerate(imports):
        entry = _read_import(reader, index, raw)
        if entry is not None:
            config.imports.append(entry)
    return config, reader.problems


def _read_settings(reader: _Reader, data: Mapping[str, Any]) -> Settings:
    where: tuple[str | int, ...] = ("registry",)
    table = reader.table(data, "registry", ())
    reader.keys(table, {"name", "default_dialect", "compatibility", "rules", "exclude"}, where)
    exclude = table.get("exclude", [])
    if not (isinstance(exclude, list) and all(isinstance(item, str) for item in exclude)):
        reader.problem((*where, "exclude"), "invalid-config", "'exclude' must be an array of glob strings")
        exclude = []
    compat = reader.table(data, "compat", ())
    reader.keys(compat, {"accept"}, ("compat",))
    accept = compat.get("accept", [])
    if not (isinstance(accept, list) and all(isinstance(item, Mapping) for item in accept)):
        reader.problem(("compat", "accept"), "invalid-config", "'accept' must be an array of tables")
        accept = []
    return Settings(
        name=reader.string(table, "name", where, "registry") or "registry",
        default_dialect=reader.choice(table, "default_dialect", where, SUPPORTED_DIALECTS, DRAFT_2020_12),
        compatibility=reader.choice(table, "compatibility", where, COMPATIBILITY_LEVELS, "BACKWARD"),
        rules=reader.choice(table, "rules", where, RULE_SETS, "lenient"),
        exclude=tuple(exclude),
        accept=tuple(accept),
    )


def _read_channel(reader: _Reader, name: str, raw: Any) -> Channel | None:
    where: tuple[str | int, ...] = ("channels", name)
    if not isinstance(raw, Mapping):
        reader.problem(where, "invalid-config", f"channel {name!r} must be a table")
        return None
    reader.keys(raw, {"adapter", "options", "description"}, where)
    adapter = reader.string(raw, "adapter", where)
    if adapter is None:
        reader.problem(
            where,
            "channel-without-adapter",
            f"channel {name!r} names no adapter (add adapter = one of {', '.join(ADAPTER_KINDS)})",
        )
        return None
    if adapter not in ADAPTER_KINDS:
        reader.problem(
            (*where, "adapter"),
            "unknown-adapter",
            f"channel {name!r} uses unknown adapter kind {adapter!r} (known: {', '.join(ADAPTER_KINDS)})",
        )
        return None
    options = reader.table(raw, "options", where)
    description = reader.string(raw, "description", where, "") or ""
    return Channel(name=name, adapter=adapter, options=dict(options), description=description)


def _read_event(reader: _Reader, config: Config, type_: str, raw: Any) -> None:
    where: tuple[str | int, ...] = ("events", type_)
    if not isinstance(raw, Mapping):
        reader.problem(where, "invalid-config", f"event {type_!r} must be a table")
        return
    if not type_ or any(ch.isspace() or not ch.isprintable() for ch in type_):
        reader.problem(where, "invalid-config", f"event type {type_!r} must be non-empty without whitespace")
        return
    reader.keys(raw, {"channel", "versions", "description", "compatibility"}, where)
    channel = reader.string(raw, "channel", where)
    if channel is None:
        reader.problem(where, "invalid-config", f"event {type_!r} names no channel")
        channel = ""
    compatibility = raw.get("compatibility")
    if compatibility is not None and compatibility not in COMPATIBILITY_LEVELS:
        reader.problem(
            (*where, "compatibility"),
            "invalid-config",
            f"'compatibility' must be one of {', '.join(COMPATIBILITY_LEVELS)}; got {compatibility!r}",
        )
        compatibility = None
    versions = reader.table(raw, "versions", where)
    if not versions:
        reader.problem((*where, "versions"), "invalid-config", f"event {type_!r} declares no versions")
    for key, path in versions.items():
        number = parse_version_key(key)
        if number is None:
            reader.problem((*where, "versions", key), "invalid-config", f"version {key!r} is not a positive integer")
            continue
        if not isinstance(path, str):
            reader.problem((*where, "versions", key), "invalid-config", "a version must map to a schema file path")
            continue
        config.versions.append(VersionEntry(type_, number, path, (*where, "versions", key)))
    config.events[type_] = EventEntry(
        type=type_,
        channel=channel,
        description=reader.string(raw, "description", where, "") or "",
        compatibility=compatibility,
        where=where,
    )


def _read_import(reader: _Reader, index: int, raw: Any) -> ImportEntry | None:
    where: tuple[str | int, ...] = ("imports", index)
    if not isinstance(raw, Mapping):
        reader.problem(where, "invalid-config", "an [[imports]] entry must be a table")
        return None
    reader.keys(raw, {"glob", "channel", "type", "version", "description"}, where)
    glob = reader.string(raw, "glob", where)
    channel = reader.string(raw, "channel", where)
    template = reader.string(raw, "type", where, "{name}") or "{name}"
    version = raw.get("version", 1)
    ok = True
    if glob is None:
        reader.problem(where, "invalid-config", "an [[imports]] entry needs a 'glob'")
        ok = False
    if channel is None:
        reader.problem(where, "invalid-config", "an [[imports]] entry needs a 'channel'")
        ok = False
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        reader.problem((*where, "version"), "invalid-config", "'version' must be a positive integer")
        ok = False
    if "{name}" not in template and "{stem}" not in template:
        reader.problem((*where, "type"), "invalid-config", "'type' must contain {name} or {stem}")
        ok = False
    if not ok or glob is None or channel is None:
        return None
    description = reader.string(raw, "description", where, "") or ""
    return ImportEntry(glob, channel, template, version, description, where)
