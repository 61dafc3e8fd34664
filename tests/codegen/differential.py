"""Shared by the differential tests (generated models, and the runtime's boundary validator, against ``jsonschema``):
near-miss instances around valid ones, and schemas with every ``$ref`` inlined for hypothesis-jsonschema.

``mutations`` turns one (usually valid) instance into hundreds of neighbours, each a single edit: a field removed,
replaced by a wrong-typed or edge value, a string or number edited the ways the libraries read differently
(a final "\\n", which Python's ``$`` accepts; case; odd UUID spellings; integral floats beyond 2**63; negative
multiples of 0.01...), one level into objects and the first element of arrays.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hipponot_pubsub.generator.registry import EventVersion, Registry

UUID = "3f9c2a1e-8b7d-4c55-9a0e-2d41f6b7c813"

#: Values put in place of a field's value (the first ``NESTED`` of them also inside objects and array items).
REPLACEMENTS: list[Any] = [
    "5", 5, 5.0, 5.5, True, None, [], {}, "",
    "2024-01-01T00:00:00", "1990-12-31T23:59:60Z", UUID.upper(), "NOT-A-UUID", 19.99, "a@b", "x\n",
    "2024-01-01t00:00:00z", "2024-01-01T00:00:00Z\n", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00.123456789+23:59",
    "12:00:00Z\n", "2024-01-01\n", UUID + "}", UUID[:28] + "-" + UUID[28:], UUID.replace("-", ""), f"urn:uuid:{UUID}",
    1e20, -1e20, 2**64, -68963174495437.3, 0.1, "١٢٣",
]
NESTED = 10


def _edits(value: Any) -> Iterator[Any]:
    """Neighbours of one value that only differ in how it is spelled or how large it is."""
    if isinstance(value, str):
        yield value + "\n"
        yield value + "\n\n"
        yield value.upper()
        yield value.lower()
        if len(value) == 36 and value.count("-") == 4:  # a UUID: spellings uuid.UUID reads
            yield value + "}"
            yield value[:28] + "-" + value[28:]
            yield "{" + value[:-1]
        yield value[:-1]
    elif isinstance(value, bool):
        yield not value
    elif isinstance(value, int | float):
        yield float(value)
        yield -value - 1
        if abs(value) < 1e200:  # no infinity: not JSON (and jsonschema's float multipleOf raises on it)
            yield value * 10**20


def mutations(instance: Any) -> Iterator[Any]:
    """``instance``, then its near misses (each differs from it in one place)."""
    yield instance
    if not isinstance(instance, dict):
        return
    for key, value in instance.items():
        without = dict(instance)
        del without[key]
        yield without
        for replacement in [*REPLACEMENTS, *_edits(value)]:
            yield {**instance, key: replacement}
        if isinstance(value, dict):
            for inner in list(value)[:6]:
                for replacement in [*REPLACEMENTS[:NESTED], *_edits(value[inner])]:
                    yield {**instance, key: {**value, inner: replacement}}
            yield {**instance, key: {**value, "zz_unknown": 1}}
        if isinstance(value, list) and value:
            yield {**instance, key: [*value, value[0]]}
            yield {**instance, key: []}
            first = value[0]
            for replacement in [*REPLACEMENTS[:NESTED], *_edits(first)]:
                yield {**instance, key: [replacement, *value[1:]]}
            if isinstance(first, dict):
                for inner in list(first)[:6]:
                    for replacement in [*REPLACEMENTS[:NESTED], *_edits(first[inner])]:
                        yield {**instance, key: [{**first, inner: replacement}, *value[1:]]}
                if first:
                    yield {**instance, key: [{k: v for k, v in first.items() if k != next(iter(first))}, *value[1:]]}
    yield {**instance, "zz_unknown": "x"}


def inline_refs(registry: Registry, event: EventVersion) -> dict[str, Any]:
    """The event's schema with every ``$ref`` replaced by its target, for hypothesis-jsonschema."""

    def walk(node: Any, base: str) -> Any:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                resolved = registry.resolver(base).lookup(node["$ref"])
                return walk(resolved.contents, resolved.resolver._base_uri)  # the base URI in force there
            literal = ("enum", "const", "examples", "default")
            return {k: v if k in literal else walk(v, base) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(item, base) for item in node]
        return node

    inlined = walk(event.schema, event.uri)
    for key in ("$id", "$schema", "$defs", "definitions"):
        inlined.pop(key, None)
    return dict(inlined)
