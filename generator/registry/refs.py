"""Resolve ``$ref`` across the registry with ``referencing``, by ``$id`` and by file path, never over the network.

Every document is registered under its ``$id`` and under its retrieval URI (``file:///<path>``). A document
whose ``$id`` lives elsewhere (``https://schemas.example/orders/a.json`` in ``orders/a.json``) also *mounts*
its id's folder onto its file's folder, so a relative-path ``$ref`` from it to a sibling file without an
``$id`` still resolves. Anything else is refused, and an ``http(s)`` URI is reported as a remote reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import referencing
import referencing.exceptions
import referencing.jsonschema

from .model import Document
from .problems import Problem, pointer
from .walk import iter_subschemas


class RemoteReferenceRefused(Exception):
    """A ``$ref`` pointed outside the registry; the registry never fetches."""


class NotInRegistry(Exception):
    """A ``$ref`` named a local URI that no file of the registry has."""


def _resource(document: Document) -> referencing.Resource[Any]:
    specification = referencing.jsonschema.specification_with(document.dialect)
    return specification.create_resource(document.schema)


def _folder(uri: str) -> str:
    return uri.rsplit("/", 1)[0] + "/"


def build_resources(documents: Iterable[Document]) -> referencing.Registry[Any]:
    """A crawled ``referencing.Registry`` of every document, with a retrieve hook that never uses the network."""
    docs = list(documents)
    by_retrieval = {doc.retrieval_uri: doc for doc in docs}
    mounts = sorted({(_folder(doc.uri), _folder(doc.retrieval_uri)) for doc in docs if doc.uri != doc.retrieval_uri})

    def retrieve(uri: str) -> referencing.Resource[Any]:
        for id_folder, file_folder in mounts:
            if uri.startswith(id_folder):
                candidate = by_retrieval.get(file_folder + uri[len(id_folder) :])
                if candidate is not None:
                    return _resource(candidate)
        if urlsplit(uri).scheme not in ("file", "urn", ""):
            raise RemoteReferenceRefused(uri)
        raise NotInRegistry(uri)

    pairs: list[tuple[str, referencing.Resource[Any]]] = []
    for doc in docs:
        resource = _resource(doc)
        pairs.append((doc.retrieval_uri, resource))
        if doc.uri != doc.retrieval_uri:
            pairs.append((doc.uri, resource))
    registry: referencing.Registry[Any] = referencing.Registry(retrieve=retrieve)  # type: ignore[call-arg]
    return registry.with_resources(pairs).crawl()


def duplicate_ids(documents: Iterable[Document], display: str) -> list[Problem]:
    """Two files that claim the same ``$id`` make every ``$ref`` to it ambiguous."""
    seen: dict[str, str] = {}
    problems: list[Problem] = []
    for doc in documents:
        if doc.uri == doc.retrieval_uri:
            continue
        if doc.uri in seen:
            problems.append(
                Problem(
                    _shown(display, doc.path),
                    "/$id",
                    "duplicate-id",
                    f"$id {doc.uri!r} is also declared by {_shown(display, seen[doc.uri])}",
                )
            )
        else:
            seen[doc.uri] = doc.path
    return problems


def _shown(display: str, path: str) -> str:
    return f"{display}/{path}" if display else path


def check_refs(documents: Mapping[str, Document], resources: referencing.Registry[Any], display: str) -> list[Problem]:
    """Resolve every ``$ref`` of every document; one problem per reference that does not resolve."""
    problems: list[Problem] = []
    for doc in documents.values():
        for sub in iter_subschemas(doc.schema, doc.retrieval_uri, doc.dialect):
            ref = sub.schema.get("$ref")
            if not isinstance(ref, str):
                continue
            message = _unresolvable(resources, sub.base_uri, ref)
            if message is not None:
                code = "remote-ref" if message.startswith("remote") else "unresolvable-ref"
                problems.append(Problem(_shown(display, doc.path), pointer((*sub.parts, "$ref")), code, message))
    return problems


def _unresolvable(resources: referencing.Registry[Any], base_uri: str, ref: str) -> str | None:
    target = urldefrag(urljoin(base_uri, ref)).url
    try:
        resources.resolver(base_uri=base_uri).lookup(ref)
    except referencing.exceptions.PointerToNowhere as exc:
        return f"cannot resolve $ref {ref!r}: {target!r} has nothing at JSON pointer {exc.ref!r}"
    except referencing.exceptions.NoSuchAnchor as exc:
        return f"cannot resolve $ref {ref!r}: {target!r} has no anchor {exc.anchor!r}"
    except referencing.exceptions.Unresolvable as exc:
        if any(isinstance(cause, RemoteReferenceRefused) for cause in _causes(exc)):
            return (
                f"remote $ref {ref!r} is not fetched: the registry never uses the network; "
                f"add a schema with $id {target!r} to the registry"
            )
        return f"cannot resolve $ref {ref!r}: no file of the registry has the $id or path {target!r}"
    return None


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain
