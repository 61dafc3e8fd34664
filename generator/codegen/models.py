"""pydantic v2 models from the registry, through datamodel-code-generator used as a library.

datamodel-code-generator resolves ``$ref`` by file path and does not know ``$id``s across files. So the
schemas are first laid out, as the loader resolved them, in a scratch folder whose file names are the module
names we chose, with every ``$ref`` rewritten to the relative path of its target there. One call on that
folder then yields one module per schema file, with shared definitions imported rather than copied.
"""

from __future__ import annotations

import json
import posixpath
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import jsonschema
import jsonschema.validators
from datamodel_code_generator import InputFileType, LiteralType, generate
from datamodel_code_generator.enums import DataModelType
from datamodel_code_generator.format import Formatter, PythonVersion

from ..registry import Document, EventVersion, Registry
from ..registry.model import DRAFT_07
from ..registry.walk import iter_subschemas
from .bundle import reachable_documents
from .names import class_name, module_path, unique
from .patterns import rust_pattern

BASE_CLASS = "hipponot_pubsub.runtime.model.PayloadModel"
EVENT_BASE_CLASS = "hipponot_pubsub.runtime.model.EventPayload"

#: The models must accept every instance ``jsonschema`` accepts (an event's root model then refuses what the
#: schema refuses: ``hipponot_pubsub.runtime.model.EventPayload``). ``_rewrite_refs`` adapts each schema for that before
#: datamodel-code-generator reads it:
#:
#: * a ``format`` keeps a typed field only where the type reads every string the reference's format checker
#:   accepts, and only where that checker asserts the format at all (the checker of the event's root dialect:
#:   ``uuid`` is not checked under draft-07, ``duration`` not without ``isoduration``...); elsewhere the field
#:   is the plain JSON type. Formats typed with ``hipponot_pubsub.runtime.model.JsonFormat`` (pydantic's own types
#:   refuse a final "\n" or odd UUID spellings):
TYPED_FORMATS = {
    "date-time": "hipponot_pubsub.runtime.model.DateTime",
    "time": "hipponot_pubsub.runtime.model.Time",
    "uuid": "hipponot_pubsub.runtime.model.Uuid",
}
#:   Formats whose datamodel-code-generator type accepts all the checker accepts: pydantic reads every date
#:   ``date.fromisoformat`` reads from YYYY-MM-DD; ``IPv4Address``/``IPv6Address`` are the checker's own calls.
KEPT_FORMATS = frozenset({"date", "ipv4", "ipv6"})
#: * an ``integer``/``number`` whose bounds admit what pydantic's ``int`` (floats from 2**63: ``1e20``) or
#:   ``float`` (integers beyond 1.8e308) refuse is typed with ``hipponot_pubsub.runtime.model.JsonNumber`` (limit:
#:   bounds that keep every value clear of it):
NUMBER_TYPES = {
    "integer": ("hipponot_pubsub.runtime.model.Integer", 2**63),
    "number": ("hipponot_pubsub.runtime.model.Number", 1e308),
}
#: * a ``multipleOf`` stays only as an integer on an ``integer``: pydantic's float check refuses values
#:   jsonschema's float division accepts (-68963174495437.3 for 0.01);
#: * patterns are rewritten for pydantic's Rust engine to give ``re.search``'s verdict (``patterns.rust_pattern``:
#:   Python's ``$`` also matches before a final "\n"), or left out where no rewrite is sure to;
#: * ``type: [a, b]`` becomes an ``anyOf`` of one branch per type, so each is typed as above;
#: * beside a draft-07 ``$ref``, which makes jsonschema ignore its siblings, only these stay:
DRAFT7_REF_SIBLINGS = frozenset({"$ref", "$id", "$schema", "$comment", "title", "description", "default", "examples",
                                 "definitions", "$defs", "readOnly", "writeOnly"})
#: Formats datamodel-code-generator's option set (``dcg_options``) reads as plain strings.
#: Line length of the generated models (the output must not depend on the user's formatter settings).
LINE_LENGTH = 120
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


@cache
def checked_formats(dialect: str) -> frozenset[str]:
    """The formats ``jsonschema``'s ``FORMAT_CHECKER`` for ``dialect`` asserts (in this environment)."""
    cls = jsonschema.validators.validator_for({"$schema": dialect}, default=jsonschema.Draft202012Validator)
    return frozenset(cls.FORMAT_CHECKER.checkers)


def asserted_formats(registry: Registry) -> dict[str, frozenset[str]]:
    """Per document path: the formats asserted wherever it is validated (by the checker of each event's root
    dialect, which ``jsonschema`` keeps across ``$ref``s into documents of another dialect)."""
    asserted: dict[str, frozenset[str]] = {}
    for event in registry.events.values():
        for version in event.versions.values():
            formats = checked_formats(registry.documents[version.path].dialect)
            for document, _ in reachable_documents(registry, version):
                asserted[document.path] = asserted.get(document.path, formats) & formats
    return asserted


#: Keywords that keep a field a constrained ``str`` (pydantic cannot apply them to a parsed datetime or UUID).
STRING_KEYWORDS = ("enum", "const", "pattern", "minLength", "maxLength")


def _single_type(schema: Mapping[str, Any]) -> str | None:
    """The one JSON type of a schema's instances (besides null), if it has one and no ``enum``/``const``."""
    kind = schema.get("type")
    kinds = set(kind) - {"null"} if isinstance(kind, list) else {kind}
    if len(kinds) != 1 or "enum" in schema or "const" in schema:
        return None
    single = kinds.pop()
    return single if isinstance(single, str) else None


def _is_plain_string(schema: Mapping[str, Any]) -> bool:
    """A schema whose instances are strings (or strings and null) with no constraint but its format."""
    return _single_type(schema) == "string" and not any(key in schema for key in STRING_KEYWORDS)


def _within(schema: Mapping[str, Any], limit: float) -> bool:
    """Whether the schema's bounds keep its numbers strictly between -limit and limit."""

    def bounds(*keys: str) -> list[float]:
        return [v for k in keys if isinstance(v := schema.get(k), int | float) and not isinstance(v, bool)]

    return any(v < limit for v in bounds("maximum", "exclusiveMaximum")) and any(
        v > -limit for v in bounds("minimum", "exclusiveMinimum"))


#: Keywords that describe a schema rather than constrain its instances (kept out of ``_split_types``' branches).
ANNOTATIONS = frozenset({"title", "description", "$comment", "default", "examples", "readOnly", "writeOnly",
                         "deprecated", "$id", "$schema", "$anchor", "$defs", "definitions"})


#: Keywords that only constrain instances of one JSON type.
TYPE_KEYWORDS = {
    "string": frozenset({"minLength", "maxLength", "pattern", "format", "contentEncoding", "contentMediaType"}),
    "number": frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}),
    "object": frozenset({"properties", "patternProperties", "additionalProperties", "required", "minProperties",
                         "maxProperties", "propertyNames", "dependentRequired", "dependentSchemas", "dependencies",
                         "unevaluatedProperties"}),
    "array": frozenset({"items", "prefixItems", "additionalItems", "contains", "minContains", "maxContains",
                        "minItems", "maxItems", "uniqueItems", "unevaluatedItems"}),
}


def _split_types(schema: dict[str, Any]) -> None:
    """``type: [string, integer, ...]`` → ``anyOf`` with one branch per type, each with the constraints that apply
    to that type (the others do not constrain its instances, so the schema is the same), each typed on its own."""
    kinds = schema.get("type")
    if not isinstance(kinds, list) or len(set(kinds) - {"null"}) < 2:
        return
    rest = {key: schema.pop(key) for key in list(schema) if key not in ANNOTATIONS and key != "type"}
    del schema["type"]
    branches = []
    for kind in kinds:
        own = TYPE_KEYWORDS.get("number" if kind == "integer" else kind, frozenset())
        others = frozenset().union(*TYPE_KEYWORDS.values()) - own
        branches.append({"type": kind, **{key: _copy(value) for key, value in rest.items() if key not in others}})
    schema["anyOf"] = branches


def _rust_patterns(schema: dict[str, Any]) -> None:
    """Rewrite the subschema's patterns for pydantic's Rust engine (``rust_pattern``), or drop them."""
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        rust = rust_pattern(pattern)
        if rust is None:
            del schema["pattern"]
        else:
            schema["pattern"] = rust
    properties = schema.get("patternProperties")
    if isinstance(properties, dict):
        rust_keys = {key: rust_pattern(key) for key in properties}
        if None in rust_keys.values():  # the map's key and value types would be wrong: leave it all to the check
            del schema["patternProperties"]
            schema.pop("additionalProperties", None)
        else:
            schema["patternProperties"] = {rust_keys[key]: value for key, value in properties.items()}


def _type_for_models(schema: dict[str, Any], asserted: frozenset[str]) -> None:
    """Type the subschema as the models need it (``TYPED_FORMATS``, ``NUMBER_TYPES``), dropping other formats."""
    kind = _single_type(schema)
    multiple_of = schema.get("multipleOf")
    if not (kind == "integer" and isinstance(multiple_of, int)):  # pydantic's float check is not jsonschema's
        schema.pop("multipleOf", None)
    fmt = schema.pop("format", None)
    if isinstance(fmt, str) and fmt in asserted and _is_plain_string(schema):
        if fmt in TYPED_FORMATS:
            schema["customTypePath"] = TYPED_FORMATS[fmt]
        elif fmt in KEPT_FORMATS:
            schema["format"] = fmt
    elif kind in NUMBER_TYPES and "customTypePath" not in schema:
        path, limit = NUMBER_TYPES[kind]
        if not _within(schema, limit):
            schema["customTypePath"] = path


def _copy(node: Any) -> Any:
    """A copy of a JSON value (several times faster than ``copy.deepcopy``, which memoises every object)."""
    if isinstance(node, dict):
        return {key: _copy(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_copy(item) for item in node]
    return node


def _rewrite_refs(registry: Registry, document: Document, plan: ModelPlan,
                  asserted: frozenset[str] = frozenset()) -> Any:
    """A copy of the document whose ``$ref``s to other files point at their scratch-folder paths, whose formats
    and numbers are typed for the models (``_type_for_models``), and whose draft-07 ``$ref``s lost the siblings
    jsonschema ignores (datamodel-code-generator would apply them)."""
    schema = _copy(document.schema)
    if not isinstance(schema, dict):
        return schema
    own = "/".join(plan.modules[document.path]) + ".json"
    draft7 = document.dialect.rstrip("#") == DRAFT_07.rstrip("#")
    for sub in iter_subschemas(schema, document.retrieval_uri, document.dialect):
        assert isinstance(sub.schema, dict)
        if draft7 and "$ref" in sub.schema:
            for key in set(sub.schema) - DRAFT7_REF_SIBLINGS:
                del sub.schema[key]
        _split_types(sub.schema)
        _type_for_models(sub.schema, asserted)
        _rust_patterns(sub.schema)
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
        # Fixed, not read from the pyproject.toml of the current directory: the same schemas must give the same
        # bytes in every repository (the formatter otherwise takes the user's ruff/black line length).
        "builtin_format_line_length": LINE_LENGTH,
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
        # No effect on our runs (``_type_for_models`` already removed these formats); keeps "DCG alone" in
        # bench/codegen.py reading plain strings for them, as it always has.
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
        asserted = asserted_formats(registry)
        for path, parts in plan.modules.items():
            document = registry.documents[path]
            schema = _rewrite_refs(registry, document, plan, asserted.get(path, frozenset()))
            versions = events_by_path.get(path, [])
            if versions and isinstance(schema, dict):
                name = plan.event_classes[(versions[0].type, versions[0].version)]
                _mark_event(schema, name)
                base_class_map[name] = EVENT_BASE_CLASS
            target = root.joinpath(*parts).with_suffix(".json")
            target.parent.mkdir(parents=True, exist_ok=True)
            # Sorted keys: datamodel-code-generator orders fields as it reads them. Compact: the C encoder.
            target.write_text(json.dumps(schema, sort_keys=True, separators=(",", ":")), encoding="utf-8")
        # settings_path: the scratch folder, so no pyproject.toml of the user's is read (line length, isort).
        output = generate(root, settings_path=root, **dcg_options(base_class_map))
    if isinstance(output, str):
        return {plan.modules[next(iter(plan.modules))][-1:]: output}
    if output is None:
        return {}
    return {tuple(key): str(source) for key, source in output.items()}
