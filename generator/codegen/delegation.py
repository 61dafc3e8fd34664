"""Which JSON Schema keywords a generated pydantic model cannot express.

The model's JSON Schema check (``hipponot_pubsub.runtime.model.EventPayload``) and the runtime's boundary
validation enforce these; the manifest lists them per event version so a reader knows the model's type hints are not the
whole contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..registry.problems import pointer
from ..registry.walk import iter_subschemas
from .patterns import rust_pattern

#: Keywords with no pydantic counterpart in datamodel-code-generator's output.
DELEGATED = (
    "uniqueItems",
    "contains",
    "minContains",
    "maxContains",
    "not",
    "if",
    "then",
    "else",
    "dependentRequired",
    "dependentSchemas",
    "dependencies",
    "unevaluatedProperties",
    "unevaluatedItems",
    "prefixItems",
    "propertyNames",
    "minProperties",
    "maxProperties",
    "multipleOf",
    "format",
    "const",
    "oneOf",
)
_DELEGATED = frozenset(DELEGATED)


def _python_only_patterns(schema: Mapping[str, Any]) -> list[str]:
    """``pattern``/``patternProperties`` the models leave out: no Rust regex is sure to mean the same
    (``hipponot_pubsub.generator.codegen.patterns``)."""
    found = []
    if isinstance(pattern := schema.get("pattern"), str) and rust_pattern(pattern) is None:
        found.append("pattern")
    properties = schema.get("patternProperties")
    if isinstance(properties, Mapping) and any(rust_pattern(key) is None for key in properties):
        found.append("patternProperties")
    return found


def delegated_keywords(bundle: Mapping[str, Any], memo: dict[str, list[str]] | None = None) -> list[str]:
    """``["<resource uri>#/properties/tags: uniqueItems", ...]`` for every delegated keyword in the bundle.

    ``memo`` (per resource URI and dialect) saves walking a document again for each bundle that reaches it:
    pass one dict for the bundles of one registry."""
    found: list[str] = []
    for resource in bundle["resources"]:
        uri = resource["uris"][-1]
        key = f"{resource['dialect']} {uri}"
        if memo is None or key not in memo:
            keywords = _resource_keywords(resource["schema"], uri, resource["dialect"])
            if memo is None:
                found.extend(keywords)
                continue
            memo[key] = keywords
        found.extend(memo[key])
    return sorted(found)


def _resource_keywords(schema: Any, uri: str, dialect: str) -> list[str]:
    found: list[str] = []
    for sub in iter_subschemas(schema, uri, dialect):
        keywords = [keyword for keyword in DELEGATED if keyword in sub.schema] if _DELEGATED & sub.schema.keys() else []
        if "pattern" in sub.schema or "patternProperties" in sub.schema:
            keywords += _python_only_patterns(sub.schema)
        if keywords:
            where = pointer(sub.parts)
            found.extend(f"{uri}#{where}: {keyword}" for keyword in keywords)
    return found
