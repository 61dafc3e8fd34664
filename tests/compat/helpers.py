"""Build comparison sides from plain dicts: a referencing registry per side, no files, no network."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import referencing.jsonschema
from hipponot_pubsub.generator.compat import Side
from hipponot_pubsub.generator.compat.diff import diff_schemas
from referencing import Registry
from referencing.jsonschema import DRAFT202012

ROOT = "file:///event.json"


def side(
    schema: Mapping[str, Any] | bool,
    extra: Mapping[str, Any] | None = None,
    *,
    uri: str = ROOT,
    label: str = "",
) -> Side:
    """A side whose root document is ``schema`` at ``uri``; ``extra`` maps more URIs to documents."""
    documents = {uri: schema, **(extra or {})}
    resources = []
    for doc_uri, doc in documents.items():
        dialect = doc.get("$schema") if isinstance(doc, Mapping) else None
        spec = referencing.jsonschema.specification_with(dialect, default=DRAFT202012) if dialect else DRAFT202012
        resources.append((doc_uri, spec.create_resource(doc)))
    registry: Registry[Any] = Registry().with_resources(resources)
    return Side(schema, registry.resolver(uri), uri=uri, label=label)


def change_ids(old: Any, new: Any, old_extra: Any = None, new_extra: Any = None) -> list[str]:
    return [c.change for c in diff_schemas(side(old, old_extra), side(new, new_extra))]
