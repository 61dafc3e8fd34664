"""Which JSON Schema keywords a generated pydantic model cannot express.

The model's JSON Schema check (``runtime.model.EventPayload``) and the runtime's boundary validation enforce
these; the manifest lists them per event version so a reader knows the model's type hints are not the
whole contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..registry.problems import pointer
from ..registry.walk import iter_subschemas

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


def delegated_keywords(bundle: Mapping[str, Any]) -> list[str]:
    """``["<resource uri>#/properties/tags: uniqueItems", ...]`` for every delegated keyword in the bundle."""
    found: list[str] = []
    for resource in bundle["resources"]:
        uri = resource["uris"][-1]
        for sub in iter_subschemas(resource["schema"], uri, resource["dialect"]):
            for keyword in DELEGATED:
                if keyword in sub.schema:
                    found.append(f"{uri}#{pointer(sub.parts)}: {keyword}")
    return sorted(found)
