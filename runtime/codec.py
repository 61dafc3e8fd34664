"""Bytes ⇄ envelopes, with boundary validation: the single place where an event crosses the boundary.

``decode`` is what every consumer (bus subscriptions, the HTTP service) calls on bytes from outside:
parse → read the envelope → look up the version it declares → validate ``data`` against that version's
schema. The result carries the validated JSON as ``data``; a typed subscriber then reads it into its model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .catalog import Catalog, EventSpec
from .envelope import Envelope, envelope_from_json
from .jsonparse import dump_json


def encode(envelope: Envelope[Any]) -> bytes:
    """CloudEvents structured-mode JSON bytes; ``envelope.data`` must already be JSON-ready."""
    return dump_json(envelope.to_wire())


def decode(raw: bytes | bytearray | memoryview | str, catalog: Catalog, *, channel: str | None = None) -> Envelope[Any]:
    """A validated envelope from bytes, or ``MalformedEvent`` / ``UnknownEventType`` / ``WrongChannel`` /
    ``ValidationFailed``. An envelope without ``dataversion`` (written by another tool) is read as the
    type's latest version."""
    envelope = envelope_from_json(raw)
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


class Decoder:
    """``decode`` for one channel, as a consumer calls it for every delivery: the catalog lookups, the channel
    check and the validator of each (type, declared version) are done on its first event and then reused."""

    __slots__ = ("_catalog", "_channel", "_known")

    def __init__(self, catalog: Catalog, channel: str | None = None) -> None:
        self._catalog = catalog
        self._channel = channel
        #: (type, declared version) -> (version to set or 0, jsonschema-rs ``is_valid`` or None, full check)
        self._known: dict[tuple[str, int], tuple[int, Callable[[Any], bool] | None, Callable[[Any], None]]] = {}

    def __call__(self, raw: bytes | bytearray | memoryview | str) -> Envelope[Any]:
        envelope = envelope_from_json(raw)
        known = self._known.get((envelope.type, envelope.data_version))
        if known is None:
            return self._first(envelope)
        version, is_valid, check_data = known
        data = envelope.data
        try:
            valid = is_valid is not None and is_valid(data)
        except Exception:  # a value jsonschema-rs cannot convert: the reference decides
            valid = False
        if not valid:
            check_data(data)
        return envelope.with_version(version) if version else envelope

    def _first(self, envelope: Envelope[Any]) -> Envelope[Any]:
        checked, spec = check(envelope, self._catalog, channel=self._channel)  # raises what decode raises
        validator = spec.validator
        fast = validator.fast
        self._known[(envelope.type, envelope.data_version)] = (
            spec.version if spec.version != envelope.data_version else 0,
            None if fast is None else fast.is_valid,
            validator.check,
        )
        return checked
