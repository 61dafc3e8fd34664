"""Load a registry folder: read ``pubsub.toml``, every schema file, resolve every ``$ref``, report everything."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from .config import REGISTRY_FILE, Config, EventEntry, VersionEntry, read_config
from .documents import discover, load_documents
from .model import Document, Event, EventVersion, Registry
from .problems import Problem, RegistryError, pointer
from .refs import build_resources, check_refs, duplicate_ids


def load_registry(root: Path | str) -> Registry:
    """Load and check the registry at ``root``; raise :class:`RegistryError` listing every problem."""
    registry, problems = lint_registry(root)
    if problems or registry is None:
        raise RegistryError(problems)
    return registry


def lint_registry(root: Path | str) -> tuple[Registry | None, list[Problem]]:
    """Load what can be loaded and return it with every problem (the registry is ``None`` if any)."""
    root = Path(root)
    display = root.as_posix().rstrip("/") if str(root) not in ("", ".") else ""
    config_file = f"{display}/{REGISTRY_FILE}" if display else REGISTRY_FILE
    config_path = root / REGISTRY_FILE
    if not root.is_dir():
        return None, [Problem(display or ".", "", "missing-file", "registry folder does not exist")]
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(config_file, "", "missing-file", f"no {REGISTRY_FILE} in the registry folder")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(config_file, "", "invalid-toml", f"cannot read: {exc}")]

    config, problems = read_config(text, config_file)
    paths = discover(root, config.settings.exclude)
    docs = load_documents(root, display, paths, config.settings.default_dialect)
    problems += docs.problems
    problems += duplicate_ids(docs.documents.values(), display)
    resources = build_resources(docs.documents.values())
    problems += check_refs(docs.documents, resources, display)

    entries = _expand_imports(config, paths, config_file, problems)
    events = _assemble_events(root, config, entries, docs.documents, config_file, display, problems)
    if problems:
        return None, sorted(set(problems))
    registry = Registry(
        root=root,
        settings=config.settings,
        channels=dict(sorted(config.channels.items())),
        events=events,
        documents=docs.documents,
        resources=resources,
    )
    return registry, []


def _import_name(path: str) -> tuple[str, str]:
    """``vendor/Shipment-Created.schema.json`` → (``shipment_created``, ``Shipment-Created``)."""
    stem = path.rsplit("/", 1)[-1].split(".", 1)[0]
    return re.sub(r"[^a-z0-9]+", "_", stem.lower()).strip("_"), stem


def _expand_imports(config: Config, paths: list[str], file: str, problems: list[Problem]) -> list[VersionEntry]:
    """Explicit version entries plus one per file matched by each ``[[imports]]`` glob."""
    entries = list(config.versions)
    for entry in config.imports:
        matched = [path for path in paths if fnmatch.fnmatchcase(path, entry.glob)]
        if not matched:
            problems.append(
                Problem(file, pointer((*entry.where, "glob")), "missing-file", f"glob {entry.glob!r} matches no file")
            )
        for path in matched:
            name, stem = _import_name(path)
            type_ = entry.type_template.replace("{name}", name).replace("{stem}", stem)
            entries.append(VersionEntry(type_, entry.version, path, entry.where))
            event = config.events.get(type_)
            if event is None:
                config.events[type_] = EventEntry(type_, entry.channel, entry.description, None, entry.where)
    return entries


def _assemble_events(
    root: Path,
    config: Config,
    entries: list[VersionEntry],
    documents: dict[str, Document],
    file: str,
    display: str,
    problems: list[Problem],
) -> dict[str, Event]:
    resolved_root = root.resolve()
    versions: dict[str, dict[int, EventVersion]] = {}
    claimed: dict[tuple[str, int], VersionEntry] = {}
    for entry in entries:
        where = pointer(entry.where)
        key = (entry.type, entry.version)
        if key in claimed:
            other = pointer(claimed[key].where)
            problems.append(
                Problem(
                    file,
                    where,
                    "duplicate-version",
                    f"{entry.type} version {entry.version} is defined twice (also at {other})",
                )
            )
            continue
        claimed[key] = entry
        target = (root / entry.path).resolve()
        if not target.is_relative_to(resolved_root):
            problems.append(Problem(file, where, "invalid-config", f"{entry.path!r} is outside the registry folder"))
            continue
        rel = target.relative_to(resolved_root).as_posix()
        if not target.is_file():
            problems.append(Problem(file, where, "missing-file", f"schema file {entry.path!r} does not exist"))
            continue
        document = documents.get(rel)
        if document is None:
            continue  # unreadable or excluded: already reported, or reported below
        if not isinstance(document.schema, dict):
            problems.append(
                Problem(
                    f"{display}/{rel}" if display else rel, "", "invalid-schema", "an event schema must be an object"
                )
            )
            continue
        versions.setdefault(entry.type, {})[entry.version] = EventVersion(
            type=entry.type,
            version=entry.version,
            path=rel,
            uri=document.uri,
            schema=document.schema,
            dialect=document.dialect,
        )

    events: dict[str, Event] = {}
    for type_, event in sorted(config.events.items()):
        if event.channel and event.channel not in config.channels:
            declared = ", ".join(sorted(config.channels)) or "none"
            problems.append(
                Problem(
                    file,
                    pointer((*event.where, "channel")),
                    "undeclared-channel",
                    f"event {type_!r} travels on undeclared channel {event.channel!r} (declared: {declared})",
                )
            )
            continue
        found = versions.get(type_, {})
        if found:
            events[type_] = Event(
                type=type_,
                channel=event.channel,
                versions=dict(sorted(found.items())),
                description=event.description,
                compatibility=event.compatibility,
            )
    return events
