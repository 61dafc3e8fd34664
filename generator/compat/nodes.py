"""Schemas as the engine walks them: a subschema together with the resolver and location in force there.

A ``$ref`` is only meaningful relative to the base URI where it appears, and a finding is only useful if it
can say where it is. So the engine never handles a bare dict: it handles a :class:`Node`, which knows its
document, its JSON pointer, its resolver (already moved into any ``$id`` on the way) and its dialect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

import referencing.jsonschema
from jsonpointer import JsonPointer
from referencing._core import Resolver
from referencing.exceptions import Unresolvable

from .model import Location

Spec = referencing.Specification[Any]

#: Dialects where ``$ref`` replaces its siblings instead of applying next to them.
_REF_OVERRIDES_SIBLINGS = frozenset({"draft-07", "draft-06", "draft-04", "draft-03"})


class UnresolvableRef(Exception):
    """A ``$ref`` the resolver cannot follow (the loader normally reports these first)."""

    def __init__(self, ref: str, location: Location) -> None:
        super().__init__(f"{location.display()}: cannot resolve $ref {ref!r}")
        self.ref = ref
        self.location = location


@dataclass(frozen=True)
class Side:
    """One schema to compare: the document, a resolver whose base URI is the document's, and a label.

    ``uri`` defaults to the resolver's base URI; ``path`` (the file, for CI annotations) is optional.
    """

    schema: Mapping[str, Any] | bool
    resolver: Resolver[Any]
    uri: str | None = None
    label: str = ""
    path: str | None = None

    @property
    def base_uri(self) -> str:
        if self.uri is not None:
            return self.uri
        # referencing keeps the base URI private; it is the only way to learn it from a bare resolver.
        return str(getattr(self.resolver, "_base_uri", ""))


SideLike = Side | tuple[Any, Resolver[Any]]


def as_side(value: SideLike) -> Side:
    """A :class:`Side` from itself or from a plain ``(schema, resolver)`` pair."""
    if isinstance(value, Side):
        return value
    schema, resolver = value
    return Side(schema, resolver)


def pointer(parts: tuple[str, ...] | list[str]) -> str:
    """A JSON pointer built by the ``jsonpointer`` library (never hand-escaped)."""
    return _pointer(tuple(str(p) for p in parts))


@lru_cache(maxsize=65536)
def _pointer(parts: tuple[str, ...]) -> str:
    return str(JsonPointer.from_parts(list(parts)).path)


def specification_for(schema: Any, default: Spec) -> Spec:
    if isinstance(schema, Mapping) and isinstance(schema.get("$schema"), str):
        return referencing.jsonschema.specification_with(schema["$schema"], default=default)
    return default


@dataclass(frozen=True)
class Node:
    """A subschema in context. ``schema`` is a dict or a boolean (anything else is treated as ``true``)."""

    schema: Any
    resolver: Resolver[Any]
    base: str  # base URI in force inside this subschema
    uri: str  # document (resource) the pointer is relative to
    parts: tuple[str, ...]
    spec: Spec
    side: str = ""  # "old" or "new": the same file may be on both sides with different contents

    @classmethod
    def root(cls, side: Side, tag: str) -> Node:
        spec = specification_for(side.schema, referencing.jsonschema.DRAFT202012)
        uri = side.base_uri
        return cls(side.schema, side.resolver, uri, uri, (), spec, tag)

    @property
    def key(self) -> tuple[str, str, tuple[str, ...]]:
        return (self.side, self.uri, self.parts)

    @property
    def location(self) -> Location:
        return Location(self.uri, pointer(self.parts))

    def at(self, *tokens: str | int) -> Location:
        """The location of a keyword (or deeper) of this node, whether or not it exists."""
        return Location(self.uri, pointer(self.parts + tuple(str(t) for t in tokens)))

    @property
    def mapping(self) -> Mapping[str, Any]:
        return self.schema if isinstance(self.schema, Mapping) else {}

    @property
    def ref_overrides_siblings(self) -> bool:
        return self.spec.name in _REF_OVERRIDES_SIBLINGS

    def child(self, *tokens: str | int) -> Node:
        """The subschema at ``tokens`` below this node, entering any ``$id`` it declares."""
        value: Any = self.schema
        for token in tokens:
            value = value[token]
        return self._enter(value, self.uri, self.parts + tuple(str(t) for t in tokens), self.base)

    def follow(self, keyword: str = "$ref") -> Node:
        """The node a ``$ref`` (or ``$dynamicRef``, resolved statically) of this node points at."""
        ref = self.mapping[keyword]
        try:
            resolved = self.resolver.lookup(ref)
        except Unresolvable as exc:
            raise UnresolvableRef(str(ref), self.at(keyword)) from exc
        target_uri, fragment = urldefrag(urljoin(self.base, ref))
        fragment = unquote(fragment)
        if fragment.startswith("/") or not fragment:
            doc, parts = target_uri, tuple(JsonPointer(fragment).parts) if fragment else ()
        else:  # a plain-name anchor: no pointer to give, name the anchor instead
            doc, parts = f"{target_uri}#{fragment}", ()
        node = Node(resolved.contents, resolved.resolver, target_uri, doc, parts, self.spec, self.side)
        return node._enter(resolved.contents, doc, parts, target_uri)

    def ref_target_uri(self, keyword: str = "$ref") -> str:
        """The absolute URI a ``$ref`` points at (for reporting that a reference was re-targeted)."""
        return urljoin(self.base, str(self.mapping[keyword]))

    def _enter(self, value: Any, uri: str, parts: tuple[str, ...], base: str) -> Node:
        spec = specification_for(value, self.spec)
        resolver = self.resolver
        if isinstance(value, Mapping):
            ident = spec.id_of(value)
            if ident:  # only a subschema with its own $id moves the base URI
                resolver = resolver.in_subresource(spec.create_resource(value))
                base = urljoin(base, ident)
        return Node(value, resolver, base, uri, parts, spec, self.side)

    def with_schema(self, value: Any, *tokens: str) -> Node:
        """A synthetic node (e.g. ``true`` for an absent ``items``) placed at a location below this one."""
        return Node(value, self.resolver, self.base, self.uri, self.parts + tokens, self.spec, self.side)
