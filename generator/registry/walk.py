"""Walk the subschemas of a JSON Schema document, knowing which keywords hold schemas.

A plain recursive walk over the JSON tree would treat a property *named* ``$ref`` or the contents of
``enum``/``const``/``default``/``examples`` as schema keywords. This walker follows only the keywords that
hold subschemas in draft 2020-12 and draft-07, yielding each subschema with its JSON pointer parts and the
base URI in force there (``$id`` changes it), which is what resolving ``$ref`` needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urldefrag, urljoin

#: Keywords whose value is a single subschema.
SINGLE = frozenset(
    {
        "additionalProperties",
        "additionalItems",
        "contains",
        "propertyNames",
        "not",
        "if",
        "then",
        "else",
        "unevaluatedItems",
        "unevaluatedProperties",
        "contentSchema",
        "items",  # a list in draft-07 tuple form, handled below
    }
)
#: Keywords whose value is a list of subschemas.
ARRAY = frozenset({"allOf", "anyOf", "oneOf", "prefixItems", "items"})
#: Keywords whose value is an object of subschemas.
MAPPING = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"})

DRAFT7 = "http://json-schema.org/draft-07/schema"


@dataclass(frozen=True)
class Subschema:
    """A subschema, where it sits (pointer parts from the document root) and its base URI."""

    schema: Mapping[str, Any]
    parts: tuple[str | int, ...]
    base_uri: str


def _is_draft7(dialect: str) -> bool:
    return dialect.rstrip("#") == DRAFT7


def iter_subschemas(
    document: Any, base_uri: str, dialect: str = "https://json-schema.org/draft/2020-12/schema"
) -> Iterator[Subschema]:
    """Yield every (sub)schema object in ``document``, the root first, in document order."""
    stack: list[tuple[Any, tuple[str | int, ...], str]] = [(document, (), base_uri)]
    draft7 = _is_draft7(dialect)
    while stack:
        node, parts, base = stack.pop()
        if not isinstance(node, Mapping):
            continue
        node_id = node.get("$id")
        # In draft-07 an "$id" beside "$ref" is ignored, and "#name" ids are anchors, not bases.
        if isinstance(node_id, str) and not (draft7 and ("$ref" in node or node_id.startswith("#"))):
            base = urldefrag(urljoin(base, node_id)).url
        yield Subschema(node, parts, base)
        if draft7 and "$ref" in node:
            continue  # draft-07: every sibling of "$ref" is ignored
        children: list[tuple[Any, tuple[str | int, ...], str]] = []
        for key, value in node.items():
            if key in MAPPING and isinstance(value, Mapping):
                children.extend((sub, (*parts, key, name), base) for name, sub in value.items())
            elif key in ARRAY and isinstance(value, list):
                children.extend((sub, (*parts, key, index), base) for index, sub in enumerate(value))
            elif key in SINGLE and isinstance(value, Mapping):
                children.append((value, (*parts, key), base))
        stack.extend(reversed(children))
