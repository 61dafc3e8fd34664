"""The registry as the HTTP service shows it: listings, one-document schemas, and the compatibility seam.

Schemas are served from the generated bundles (never from ``schemas/``): a bundle holds the root schema and
every resource it references, each under its URIs. ``compound_schema`` turns that into ONE JSON Schema
document a client can use as it is — the standard bundling form of JSON Schema 2020-12 (§9.3): the root
schema with every other resource embedded under ``$defs`` (``definitions`` for draft-07), each keeping its
``$id`` so the root's ``$ref``s resolve inside the document.

The compatibility check calls the generator's checker through ``CompatChecker``, a one-method seam: the
runtime does not import the generator at import time (the import graph is generated → runtime), and a
deployment without the generator installed answers ``501`` for that one endpoint.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urljoin

from ..catalog import Catalog, EventSpec

DRAFT_07 = "http://json-schema.org/draft-07/schema"


def _preferred_uri(uris: Sequence[str]) -> str:
    """The URI to name a resource by: a non-``file:`` one if there is one (that is the published ``$id``)."""
    for uri in uris:
        if not uri.startswith("file:"):
            return uri
    return uris[0]


def compound_schema(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """One self-contained JSON Schema document for an event version (see the module docstring)."""
    root_uri = bundle["root"]
    resources = bundle["resources"]
    root = next(r for r in resources if root_uri in r["uris"])
    schema: Any = copy.deepcopy(root["schema"])
    if not isinstance(schema, dict):  # a boolean schema has nothing to embed
        return {"$schema": root["dialect"], "$id": root_uri, "allOf": [schema]}
    schema.setdefault("$schema", root["dialect"])
    schema.setdefault("$id", root_uri)
    container = "definitions" if root["dialect"].rstrip("#").startswith(DRAFT_07) else "$defs"
    embedded = schema.setdefault(container, {})
    for resource in resources:
        if resource is root:
            continue
        uri = _preferred_uri(resource["uris"])
        body: Any = copy.deepcopy(resource["schema"])
        if isinstance(body, dict):
            body.setdefault("$id", uri)
            body.setdefault("$schema", resource["dialect"])
        embedded[f"bundled:{uri}"] = body
    return schema


def type_summary(catalog: Catalog, event_type: str) -> dict[str, Any]:
    versions = [catalog.spec(event_type, v) for v in catalog.versions(event_type)]
    latest = max(v.version for v in versions)
    channel = catalog.channel(versions[-1].channel)
    return {
        "type": event_type,
        "channel": channel.name,
        "adapter": channel.adapter,
        "latest": latest,
        "versions": [version_summary(v) for v in versions],
    }


def version_summary(spec: EventSpec) -> dict[str, Any]:
    return {
        "version": spec.version,
        "latest": spec.latest,
        "schema_id": spec.schema_id,
        "digest": spec.digest,
        "delegated": list(spec.delegated),
    }


def channel_summary(catalog: Catalog, name: str) -> dict[str, Any]:
    channel = catalog.channel(name)
    return {
        "name": channel.name,
        "adapter": channel.adapter,
        "description": channel.description,
        "types": sorted({spec.type for spec in catalog if spec.channel == name}),
    }


# -- compatibility seam ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompatReport:
    """The verdict on a candidate schema: compatible unless a finding blocks at the requested level."""

    compatible: bool
    level: str
    rules: str
    new_version: int
    against: list[int]
    findings: list[dict[str, Any]] = field(default_factory=list)


class CompatUnavailable(Exception):
    """No compatibility checker is installed in this deployment."""


class CompatInputError(Exception):
    """The request cannot be checked (unknown level or rules, a ``$ref`` that resolves nowhere, ...)."""


class CompatChecker(Protocol):
    def __call__(self, versions: Sequence[EventSpec], candidate: Any, *, level: str, rules: str) -> CompatReport:
        """Judge ``candidate`` as the next version after ``versions`` (all registered versions of one type)."""
        ...


def generator_compat_checker() -> CompatChecker:
    """The checker of ``hipponot_pubsub.generator.compat`` if importable, else one that raises ``CompatUnavailable``."""
    try:
        compat = importlib.import_module("hipponot_pubsub.generator.compat")
        referencing = importlib.import_module("referencing")
        referencing_jsonschema = importlib.import_module("referencing.jsonschema")
    except ImportError as error:
        reason = str(error)

        def unavailable(versions: Sequence[EventSpec], candidate: Any, *, level: str, rules: str) -> CompatReport:
            raise CompatUnavailable(f"the compatibility checker is not installed here ({reason})")

        return unavailable

    def side(bundle: Mapping[str, Any], schema: Any, uri: str, label: str) -> Any:
        pairs: list[tuple[str, Any]] = []
        for resource in bundle["resources"]:
            made = referencing_jsonschema.specification_with(resource["dialect"]).create_resource(resource["schema"])
            pairs.extend((u, made) for u in resource["uris"] if u != uri)
        root_dialect = next(r["dialect"] for r in bundle["resources"] if bundle["root"] in r["uris"])
        own = referencing_jsonschema.specification_with(
            schema.get("$schema", root_dialect) if isinstance(schema, dict) else root_dialect
        ).create_resource(schema)
        registry = referencing.Registry().with_resources([*pairs, (uri, own)])
        return compat.Side(schema, registry.resolver(base_uri=uri), uri=uri, label=label)

    def check(versions: Sequence[EventSpec], candidate: Any, *, level: str, rules: str) -> CompatReport:
        try:
            parsed_level = compat.Level.parse(level)
        except ValueError as error:
            raise CompatInputError(str(error)) from None
        if rules not in ("lenient", "strict"):
            raise CompatInputError(f"rules must be 'lenient' or 'strict', not {rules!r}")
        ordered = sorted(versions, key=lambda s: s.version)
        sides = {}
        for spec in ordered:
            root = next(r for r in spec.bundle["resources"] if spec.bundle["root"] in r["uris"])
            sides[spec.version] = side(spec.bundle, root["schema"], spec.bundle["root"], f"v{spec.version}")
        new_version = ordered[-1].version + 1
        candidate_uri = candidate.get("$id") if isinstance(candidate, dict) else None
        if not isinstance(candidate_uri, str) or candidate_uri in {s.bundle["root"] for s in ordered}:
            # beside the latest version, so that relative ``$ref``s ("../common/x.json") resolve as they would
            candidate_uri = urljoin(ordered[-1].bundle["root"], f"candidate.v{new_version}.json")
        sides[new_version] = side(ordered[-1].bundle, candidate, candidate_uri, "candidate")
        try:
            findings = compat.check_event(ordered[-1].type, sides, parsed_level, rules=rules,
                                          only=frozenset({new_version}))
        except compat.UnresolvableRef as error:
            raise CompatInputError(str(error)) from None
        rendered = [
            {
                "change": f.change,
                "severity": str(f.severity),
                "message": f.message,
                "detail": f.detail,
                "path": f.path,
                "breaks": [str(d) for d in f.breaks],
                "old_version": f.old_version,
            }
            for f in findings
        ]
        against = sorted({f.old_version for f in findings if f.old_version is not None}) or [
            s.version for s in (ordered if parsed_level.transitive else ordered[-1:])
        ]
        return CompatReport(not any(f.blocking for f in findings), parsed_level.name, rules, new_version, against,
                            rendered)

    return check
