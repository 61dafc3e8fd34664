"""Boundary validation: the verdict on an event equals ``jsonschema``'s, at a fraction of its cost.

How: every schema bundle is compiled twice, once with ``jsonschema-rs`` (the *fast path*) and once with
``jsonschema`` and its dialect's ``FORMAT_CHECKER`` (the *reference*, formats asserted). An instance the fast
path accepts is accepted; an instance it refuses is handed to the reference, whose verdict and error list
are final. So the two only need to agree in one direction — *whatever jsonschema-rs accepts, jsonschema
accepts* — and where jsonschema-rs is stricter (its ``email`` format, ``$`` not matching before a trailing
newline as Python's ``re`` does, ...) the reference has the last word and we only pay its price on that event.

Where jsonschema-rs is *looser* than the reference, we either tighten the fast path's copy of the schema or
switch the fast path off for that schema:

* ``format: date-time`` / ``time`` with a leap second (``23:59:60Z``): jsonschema (``rfc3339-validator``)
  refuses every second ``60``, jsonschema-rs accepts them. The fast copy gets a sibling
  ``not: {type: string, pattern: "…:60"}`` so such strings fall through to the reference, which refuses them. We follow
  jsonschema here even though RFC 3339 allows leap seconds: the verdict must be the registry's.
* a non-integer ``multipleOf`` (jsonschema divides floats and so refuses 19.99 for ``multipleOf: 0.01``;
  jsonschema-rs accepts it) and schemas jsonschema-rs cannot compile: fast path off for the whole schema
  (``fast_path_blockers``).

The differential test in ``tests/runtime/test_validation_differential.py`` checks the one-way rule and the
verdicts on every example schema, with generated and hand-written instances.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema
import jsonschema.validators
import jsonschema_rs
import referencing
import referencing.jsonschema
from jsonpointer import JsonPointer

from .errors import ValidationFailed, Violation

#: Keywords whose value is a schema, a list of schemas, or a map of schemas (walked to find blockers).
_SCHEMA_KEYWORDS = {"items", "additionalItems", "contains", "not", "if", "then", "else", "additionalProperties",
                    "propertyNames", "unevaluatedItems", "unevaluatedProperties"}
_SCHEMA_LIST_KEYWORDS = {"allOf", "anyOf", "oneOf", "prefixItems", "items"}
_SCHEMA_MAP_KEYWORDS = {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas",
                        "dependencies"}


def _subschemas(schema: Any) -> Iterator[Mapping[str, Any]]:
    """Every schema object inside ``schema`` (itself included)."""
    if not isinstance(schema, Mapping):
        return
    yield schema
    for keyword, value in schema.items():
        if keyword in _SCHEMA_KEYWORDS and isinstance(value, Mapping):
            yield from _subschemas(value)
        if keyword in _SCHEMA_LIST_KEYWORDS and isinstance(value, list):
            for item in value:
                yield from _subschemas(item)
        if keyword in _SCHEMA_MAP_KEYWORDS and isinstance(value, Mapping):
            for item in value.values():
                yield from _subschemas(item)


def fast_path_blockers(bundle: Mapping[str, Any]) -> list[str]:
    """Why jsonschema-rs may not be trusted to accept on this bundle's behalf (empty: it may)."""
    reasons = []
    for resource in bundle["resources"]:
        for sub in _subschemas(resource["schema"]):
            multiple_of = sub.get("multipleOf")
            if isinstance(multiple_of, float) and not multiple_of.is_integer():
                reasons.append(f"multipleOf {multiple_of} (jsonschema uses float division, jsonschema-rs does not)")
    return reasons


#: Leap-second strings per format, refused by jsonschema's format checker and accepted by jsonschema-rs.
_LEAP_SECOND_PATTERNS = {
    "date-time": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:60",
    "time": r"^[0-9]{2}:[0-9]{2}:60",
}


def tighten_for_fast_path(schema: Any) -> Any:
    """A copy of ``schema`` on which jsonschema-rs accepts nothing that jsonschema refuses (see module doc)."""
    if isinstance(schema, list):
        return [tighten_for_fast_path(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    copied: dict[str, Any] = {}
    for keyword, value in schema.items():
        if keyword in _SCHEMA_MAP_KEYWORDS and isinstance(value, Mapping):
            copied[keyword] = {name: tighten_for_fast_path(sub) for name, sub in value.items()}
        elif keyword in _SCHEMA_KEYWORDS or keyword in _SCHEMA_LIST_KEYWORDS:
            copied[keyword] = tighten_for_fast_path(value)
        else:
            copied[keyword] = value
    leap = _LEAP_SECOND_PATTERNS.get(copied.get("format", "")) if isinstance(copied.get("format"), str) else None
    if leap is not None:
        refuse_leap = {"not": {"type": "string", "pattern": leap}}
        if "not" in copied:
            copied = {**copied, "allOf": [*copied.get("allOf", []), refuse_leap]}
        else:
            copied.update(refuse_leap)
    return copied


def instance_pointer(path: Any) -> str:
    """A JSON pointer from a sequence of keys and indexes (``jsonschema``'s ``absolute_path``)."""
    return JsonPointer.from_parts([str(part) for part in path]).path


class SchemaValidator:
    """The compiled validators of one event version's bundle; build once, share freely (stateless)."""

    def __init__(self, bundle: Mapping[str, Any]) -> None:
        self.event_type: str = bundle["type"]
        self.version: int = bundle["version"]
        self.root: str = bundle["root"]
        root_dialect = next(r["dialect"] for r in bundle["resources"] if self.root in r["uris"])
        self.reference = self._compile_reference(bundle, root_dialect)
        self.blockers = fast_path_blockers(bundle)
        self.fast: Any = None
        if not self.blockers:
            try:
                self.fast = self._compile_fast(bundle, root_dialect)
            except Exception as error:  # any compile failure means: use the reference only
                self.blockers.append(f"jsonschema-rs cannot compile it: {error}")

    def _compile_reference(self, bundle: Mapping[str, Any], root_dialect: str) -> jsonschema.protocols.Validator:
        pairs: list[tuple[str, referencing.Resource[Any]]] = []
        for resource in bundle["resources"]:
            specification = referencing.jsonschema.specification_with(resource["dialect"])
            made = specification.create_resource(resource["schema"])
            pairs.extend((uri, made) for uri in resource["uris"])
        registry: referencing.Registry[Any] = referencing.Registry().with_resources(pairs).crawl()
        cls = jsonschema.validators.validator_for({"$schema": root_dialect})
        return cls({"$schema": root_dialect, "$ref": self.root}, registry=registry,
                   format_checker=cls.FORMAT_CHECKER)

    def _compile_fast(self, bundle: Mapping[str, Any], root_dialect: str) -> Any:
        pairs: list[tuple[str, Any]] = []
        for resource in bundle["resources"]:
            schema = tighten_for_fast_path(resource["schema"])
            if isinstance(schema, Mapping) and "$schema" not in schema:  # so each resource keeps its own draft
                schema = {"$schema": resource["dialect"], **schema}
            pairs.extend((uri, schema) for uri in resource["uris"])
        registry = jsonschema_rs.Registry(pairs)
        return jsonschema_rs.validator_for({"$schema": root_dialect, "$ref": self.root}, registry=registry,
                                           validate_formats=True)

    def is_valid(self, instance: Any) -> bool:
        """``jsonschema``'s verdict on ``instance``."""
        fast = self.fast
        if fast is not None:
            try:
                if fast.is_valid(instance):
                    return True
            except Exception:  # a value jsonschema-rs cannot convert: ask the reference
                pass
        return bool(self.reference.is_valid(instance))

    def violations(self, instance: Any) -> list[Violation]:
        """Every violation ``jsonschema`` reports, each with its instance JSON pointer, ordered by pointer."""
        found = [
            Violation(instance_pointer(error.absolute_path), error.message, str(error.validator))
            for error in self.reference.iter_errors(instance)
        ]
        return sorted(found, key=lambda v: (v.pointer, v.keyword, v.message))

    def check(self, instance: Any) -> None:
        """Return if valid, else raise ``ValidationFailed`` listing every violation."""
        fast = self.fast
        if fast is not None:
            try:
                if fast.is_valid(instance):
                    return
            except Exception:  # a value jsonschema-rs cannot convert: ask the reference
                pass
        violations = self.violations(instance)  # one reference pass gives both the verdict and the errors
        if violations:
            raise ValidationFailed(self.event_type, self.version, violations)
