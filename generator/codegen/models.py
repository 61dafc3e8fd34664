"""pydantic v2 models from the registry, through datamodel-code-generator used as a library.

datamodel-code-generator resolves ``$ref`` by file path and does not know ``$id``s across files. So the
schemas are first laid out, as the loader resolved them, in a scratch folder whose file names are the module
names we chose, with every ``$ref`` rewritten to the relative path of its target there. One call on that
folder then yields one module per schema file, with shared definitions imported rather than copied.
"""

from __future__ import annotations

import copy
import json
import posixpath
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

from datamodel_code_generator import InputFileType, LiteralType, generate
from datamodel_code_generator.enums import DataModelType
from datamodel_code_generator.format import Formatter, PythonVersion

from ..registry import Document, EventVersion, Registry
from ..registry.walk import iter_subschemas
from .bundle import reachable_documents
from .names import class_name, module_path, unique

BASE_CLASS = "runtime.model.PayloadModel"
EVENT_BASE_CLASS = "runtime.model.EventPayload"

#: Formats whose pydantic types would change or refuse values JSON Schema accepts; kept as plain strings.
#: (``email`` needs email-validator and is stricter than JSON Schema's check; ``uri`` types normalise values.)
STRING_FORMATS = ("email", "idn-email", "uri", "uri-reference", "iri", "iri-reference", "hostname", "idn-hostname")


@dataclass(frozen=True)
class ModelPlan:
    """Where each document's module goes and what each event version's root class is called."""

    modules: Mapping[str, tuple[str, ...]]  # document path → module path parts (under models/)
    event_classes: Mapping[tuple[str, int], str]  # (type, version) → class name
    event_modules: Mapping[tuple[str, int], tuple[str, ...]]


def plan_models(registry: Registry) -> ModelPlan:
    """Choose module paths and class names; raise ``NameCollision`` on a clash."""
    documents: dict[str, Document] = {}
    for event in registry.events.values():
        for version in event.versions.values():
            for document, _ in reachable_documents(registry, version):
                documents[document.path] = document
    modules = {path: module_path(path) for path in sorted(documents)}
    unique(((path, ".".join(parts)) for path, parts in modules.items()), "schema files")
    classes: dict[tuple[str, int], str] = {}
    for event in registry.events.values():
        for number in event.versions:
            classes[(event.type, number)] = class_name(event.type, f"V{number}")
    unique(((f"{t} v{n}", name) for (t, n), name in classes.items()), "event types")
    unique(((t, class_name(t)) for t in registry.events), "event types")
    event_modules = {
        (event.type, number): modules[version.path]
        for event in registry.events.values()
        for number, version in event.versions.items()
    }
    return ModelPlan(modules, classes, event_modules)


def _rewrite_refs(registry: Registry, document: Document, plan: ModelPlan) -> Any:
    """A copy of the document whose ``$ref``s to other files point at their scratch-folder paths."""
    schema = copy.deepcopy(document.schema)
    if not isinstance(schema, dict):
        return schema
    own = "/".join(plan.modules[document.path]) + ".json"
    for sub in iter_subschemas(schema, document.retrieval_uri, document.dialect):
        ref = sub.schema.get("$ref")
        if not isinstance(ref, str) or ref.startswith("#"):
            continue
        target_uri, fragment = urldefrag(urljoin(sub.base_uri, ref))
        target = registry.document_for(target_uri)
        if target is None:  # reached through a mounted folder alias
            resolved = registry.resolver(sub.base_uri).lookup(ref)
            target = next(d for d in registry.documents.values() if d.schema is resolved.contents)
        target_file = "/".join(plan.modules[target.path]) + ".json"
        relative = posixpath.relpath(target_file, posixpath.dirname(own) or ".")
        assert isinstance(sub.schema, dict)
        sub.schema["$ref"] = relative + (f"#{fragment}" if fragment else "")
    for key in ("$id", "$schema"):
        schema.pop(key, None)
    return schema


def _mark_event(schema: dict[str, Any], name: str) -> None:
    """Name the root model after the event version; keep the schema's title in the docstring."""
    title = schema.get("title")
    if isinstance(title, str) and "description" not in schema:
        schema["description"] = title
    schema["title"] = name


def dcg_options(base_class_map: Mapping[str, str | list[str]] | None = None) -> dict[str, Any]:
    """The datamodel-code-generator options every run uses (benchmarks reuse them to compare like with like)."""
    return {
        "input_file_type": InputFileType.JsonSchema,
        "output_model_type": DataModelType.PydanticV2BaseModel,
        "target_python_version": PythonVersion.PY_311,
        "disable_timestamp": True,
        "formatters": [Formatter.BUILTIN],
        "base_class": BASE_CLASS,
        "base_class_map": dict(base_class_map or {}),
        "use_schema_description": True,
        "use_field_description": True,
        "use_annotated": True,
        "field_constraints": True,
        "use_title_as_name": True,
        "use_standard_collections": True,
        "use_union_operator": True,
        "enum_field_as_literal": LiteralType.All,
        "extra_fields": "ignore",
        "type_mappings": [f"{fmt}=string" for fmt in STRING_FORMATS],
        "capitalise_enum_members": True,
    }


def generate_models(registry: Registry, plan: ModelPlan) -> dict[tuple[str, ...], str]:
    """Run datamodel-code-generator once over the whole registry; returns module path → source."""
    events_by_path: dict[str, list[EventVersion]] = {}
    for event in registry.events.values():
        for version in event.versions.values():
            events_by_path.setdefault(version.path, []).append(version)
    with tempfile.TemporaryDirectory(prefix="pubsub-models-") as scratch:
        root = Path(scratch) / "in"
        base_class_map: dict[str, str | list[str]] = {}
        for path, parts in plan.modules.items():
            document = registry.documents[path]
            schema = _rewrite_refs(registry, document, plan)
            versions = events_by_path.get(path, [])
            if versions and isinstance(schema, dict):
                name = plan.event_classes[(versions[0].type, versions[0].version)]
                _mark_event(schema, name)
                base_class_map[name] = EVENT_BASE_CLASS
            target = root.joinpath(*parts).with_suffix(".json")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(schema, indent=2, sort_keys=True), encoding="utf-8")
        output = generate(root, **dcg_options(base_class_map))
    if isinstance(output, str):
        return {plan.modules[next(iter(plan.modules))][-1:]: output}
    if output is None:
        return {}
    return {tuple(key): str(source) for key, source in output.items()}
