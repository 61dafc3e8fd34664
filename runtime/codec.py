"""Bytes ⇄ envelopes, with boundary validation: the single place where an event crosses the boundary.

``decode`` is what every consumer (bus subscriptions, the HTTP service) calls on bytes from outside:
parse → read the envelope → look up the version it declares → validate ``data`` against that version's
schema. The result carries the validated JSON as ``data``; a typed subscriber then reads it into its model.
"""

from __future__ import annotations

from typing import Any

from .catalog import Catalog, EventSpec
from .envelope import Envelope, envelope_from_wire
from .jsonparse import dump_json, parse_json


def encode(envelope: Envelope[Any]) -> bytes:
    """CloudEvents structured-mode JSON bytes; ``envelope.data`` must already be JSON-ready."""
    return dump_json(envelope.to_wire())


def decode(raw: bytes | bytearray | memoryview | str, catalog: Catalog, *, channel: str | None = None) -> Envelope[Any]:
    """A validated envelope from bytes, or ``MalformedEvent`` / ``UnknownEventType`` / ``WrongChannel`` /
    ``ValidationFailed``. An envelope without ``dataversion`` (written by another tool) is read as the
    type's latest version."""
    envelope = envelope_from_wire(parse_json(raw))
    return check(envelope, catalog, channel=channel)[0]


def check(envelope: Envelope[Any], catalog: Catalog, *, channel: str | None = None) -> tuple[Envelope[Any], EventSpec]:
    """Validate an envelope whose ``data`` is JSON-ready; returns it (version filled in) and its spec."""
    spec = catalog.spec(envelope.type, envelope.data_version or None)
    if channel is not None and spec.channel != channel:
        catalog.check_channel(envelope.type, channel)
    spec.validator.check(envelope.data)
    if envelope.data_version != spec.version:
        envelope = envelope.with_version(spec.version)
    return envelope, spec
