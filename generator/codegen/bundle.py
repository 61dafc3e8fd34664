"""Self-contained schema bundles: an event version's schema plus every resource it reaches by ``$ref``.

The runtime validates events against these bundles, so it never re-reads ``schemas/`` or re-resolves files at
start-up. A bundle keeps each resource under its own URI, with its own dialect, exactly as the loader resolved
it, so the verdict is the same one ``jsonschema`` gives on the registry itself.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urldefrag, urljoin

from ..registry import Document, EventVersion, Registry
from ..registry.walk import iter_subschemas

BUNDLE_FORMAT = 1


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 kept. Used for digests and bundle files."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def _document_for(registry: Registry, uri: str) -> Document | None:
    return registry.document_for(urldefrag(uri).url)


def reachable_documents(registry: Registry, version: EventVersion) -> list[tuple[Document, list[str]]]:
    """The event's document first, then every document it reaches by ``$ref`` (sorted by URI), each with
    every URI it is known by (its ``$id``, its retrieval URI, and any mounted alias a ``$ref`` used)."""
    memo: dict[str, list[tuple[Document, list[str]]]] = registry.memo.setdefault("reachable_documents", {})
    if version.path not in memo:
        memo[version.path] = _reachable_documents(registry, version)
    return memo[version.path]


def _reachable_documents(registry: Registry, version: EventVersion) -> list[tuple[Document, list[str]]]:
    root = registry.documents[version.path]
    aliases: dict[str, set[str]] = {root.path: {root.uri, root.retrieval_uri}}
    queue = [root]
    while queue:
        document = queue.pop()
        for target, target_uri in _references(registry, document):
            if target.path not in aliases:
                aliases[target.path] = {target.uri, target.retrieval_uri}
                queue.append(target)
            aliases[target.path].add(target_uri)
    ordered = [root, *sorted((registry.documents[p] for p in aliases if p != root.path), key=lambda d: d.uri)]
    return [(d, sorted(aliases[d.path])) for d in ordered]


def _references(registry: Registry, document: Document) -> list[tuple[Document, str]]:
    """The documents ``document`` refers to by ``$ref``, each with the URI the reference used (once per load:
    a shared document is reached from many events)."""
    memo: dict[str, list[tuple[Document, str]]] = registry.memo.setdefault("references", {})
    if document.path in memo:
        return memo[document.path]
    found: list[tuple[Document, str]] = []
    for sub in iter_subschemas(document.schema, document.retrieval_uri, document.dialect):
        ref = sub.schema.get("$ref")
        if not isinstance(ref, str) or ref.startswith("#"):
            continue
        target_uri = urldefrag(urljoin(sub.base_uri, ref)).url
        target = _document_for(registry, target_uri)
        if target is None:  # reached through a mounted folder: match by identity of the contents
            resolved = registry.resolver(sub.base_uri).lookup(ref)
            target = next((d for d in registry.documents.values() if d.schema is resolved.contents), None)
        if target is not None:  # else an embedded resource ($id inside a document): travels with its document
            found.append((target, target_uri))
    memo[document.path] = found
    return found


def bundle(registry: Registry, version: EventVersion) -> dict[str, Any]:
    """``{"format", "type", "version", "root", "resources": [{"uris", "dialect", "schema"}]}``."""
    documents = reachable_documents(registry, version)
    return {
        "format": BUNDLE_FORMAT,
        "type": version.type,
        "version": version.version,
        "root": documents[0][0].uri,
        "resources": [{"uris": uris, "dialect": d.dialect, "schema": d.schema} for d, uris in documents],
    }


def bundle_digest(bundle_: Mapping[str, Any]) -> str:
    return digest(bundle_)
