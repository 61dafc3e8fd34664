"""``envelope_from_json`` (the fast reader every consumer uses) against the exact path it stands in for,
``envelope_from_wire(parse_json(raw))``: the same verdict, the same message, the same values, type for type."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hipponot_pubsub.runtime.envelope import Envelope, envelope_from_json, envelope_from_wire
from hipponot_pubsub.runtime.errors import MalformedEvent
from hipponot_pubsub.runtime.jsonparse import parse_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BASE = {"specversion": "1.0", "id": "e-1", "source": "urn:s", "type": "t", "time": "2026-01-01T00:00:00.000Z",
        "dataversion": 1, "data": {"a": 1}}


def exactly(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (``1 == 1.0 == True`` is not good enough here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(exactly(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(exactly(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return bool(a == b)


def outcome(read: Any, raw: bytes | str) -> tuple[str, Any]:
    try:
        return "ok", read(raw)
    except MalformedEvent as error:
        return "refused", (str(error), [(p.pointer, p.message) for p in error.problems])


def assert_same(raw: bytes | str) -> None:
    fast, exact = outcome(envelope_from_json, raw), outcome(lambda r: envelope_from_wire(parse_json(r)), raw)
    assert fast[0] == exact[0], (raw, fast, exact)
    if fast[0] == "refused":
        assert fast[1] == exact[1]
        return
    ours: Envelope[Any] = fast[1]
    reference: Envelope[Any] = exact[1]
    assert exactly(ours.data, reference.data), (raw, ours.data, reference.data)
    for name in ("type", "data_version", "id", "source", "datacontenttype", "dataschema", "subject", "correlation_id",
                 "causation_id", "traceparent", "partition_key", "principal", "idempotency_key", "extensions"):
        assert exactly(getattr(ours, name), getattr(reference, name)), (raw, name)
    if parse_json(raw).get("time"):  # absent or empty: both stamp the current time
        assert ours.time == reference.time


def document(**changes: Any) -> str:
    wire = dict(BASE)
    for name, value in changes.items():
        if value is ...:
            wire.pop(name, None)
        else:
            wire[name] = value
    return json.dumps(wire, ensure_ascii=False)


@pytest.mark.parametrize("raw", [
    document(),
    document(data={"big": 2**64, "bigger": 10**30, "negative": -(2**70), "edge": 2**64 - 1}),
    document(data=[0.1, -0.0, 1e308, 5e-324, 1.0, 0, -0]),
    document(time=...), document(time=""), document(time=None), document(time=5),
    document(dataversion=...), document(dataversion="2"), document(dataversion="x"), document(dataversion=-1),
    document(dataversion=1.0), document(dataversion=True), document(dataversion=2**70),
    document(id=""), document(id=...), document(id=7), document(source=""), document(type=None),
    document(specversion="0.3"), document(specversion=1.0), document(data=...), document(data=None),
    document(data_base64="AA=="), document(tenant="acme"), document(tenant={"nested": [1]}),
    document(subject=None, principal="user:7", partitionkey="k", idempotencykey="i", correlationid="c",
             causationid="d", traceparent="tp", dataschema="urn:x", datacontenttype="application/json"),
    document(subject=5), document(principal=[]),
    '{"specversion":"1.0","id":"a","source":"s","type":"t","type":"u","data":{"k":1,"k":2}}',
    '{"specversion":"1.0","id":"a","source":"s","type":"t","data":{},"data":[1]}',
    ' \n' + document() + '\n ', document() + "x", "\ufeff" + document(), "[]", "null", "", "{",
    '{"specversion":"1.0","id":"a","source":"s","type":"t","data":NaN}',
    '{"specversion":"1.0","id":"a","source":"s","type":"t","data":Infinity}',
    '{"specversion":"1.0","id":"a","source":"s","type":"t","data":1e400}',
    '{"specversion":"1.0","id":"a","source":"s","type":"t","data":"\\ud800"}',
    '{"specversion":"1.0","id":"a","source":"s","type":"t","data":"tab\there"}',
    '{"specversion":"1.0","id":"\\u00e9","source":"s","type":"t","data":"\\u0000\\ud83d\\ude00"}',
    '{"specversion":"1.0","id":"a","source":"s","type":"t","data":' + "[" * 200 + "]" * 200 + "}",
    '{"specversion":"1.0","id":"a","source":"s","type":"t","data":' + "[" * 5000 + "]" * 5000 + "}",
])
def test_the_fast_reader_gives_the_exact_verdict(raw: str) -> None:
    assert_same(raw)
    assert_same(raw.encode("utf-8", "surrogatepass"))


def test_integers_beyond_64_bits_are_read_exactly() -> None:
    """Not as floats (orjson and msgspec's default drop digits there): forwarding must not change an event."""
    envelope = envelope_from_json(document(data={"n": 2**64 + 1, "m": -(10**40) - 1}))
    assert envelope.data == {"n": 2**64 + 1, "m": -(10**40) - 1}
    assert type(envelope.data["n"]) is int
    assert parse_json(b"[18446744073709551617]") == [18446744073709551617]


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(min_value=-(2**80), max_value=2**80) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)
attribute_values = st.none() | st.text(max_size=6) | st.integers(-3, 3) | st.booleans() | st.just(...)
attribute_names = st.sampled_from(["specversion", "id", "source", "type", "time", "dataversion", "data",
                                   "datacontenttype", "subject", "principal", "partitionkey", "tenant",
                                   "data_base64"])


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(data=json_values, changes=st.dictionaries(attribute_names, attribute_values, max_size=3),
       spaced=st.booleans())
def test_generated_events_read_the_same_both_ways(data: Any, changes: dict[str, Any], spaced: bool) -> None:
    wire = {**BASE, "data": data}
    for name, value in changes.items():
        if value is ...:
            wire.pop(name, None)
        else:
            wire[name] = value
    raw = json.dumps(wire, ensure_ascii=spaced, separators=(", ", ": ") if spaced else (",", ":"))
    assert_same(raw)
    assert_same(raw.encode("utf-8", "surrogatepass"))
