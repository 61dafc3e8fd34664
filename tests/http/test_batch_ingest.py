"""The batch fast path (``read_batch`` + ``encode_batch``) against the per-event path it replaces.

The reference below is what ``POST /events/batch`` did before it had a fast path: ``envelope_of`` and
``codec.check`` per event, ``codec.encode`` for the stored bytes, ``envelope_errors`` / ``violation_errors`` for
the refusals. Every case must give the same stored bytes, or the same errors (index, pointer, message, status).
"""

from __future__ import annotations

import copy
import gc
from typing import Any

import pytest
from hipponot_pubsub.runtime import envelope as envelope_module
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.codec import check, encode
from hipponot_pubsub.runtime.errors import MalformedEvent, UnknownEventType, ValidationFailed
from hipponot_pubsub.runtime.http import ingest
from hipponot_pubsub.runtime.http.errors import envelope_errors, violation_errors
from hipponot_pubsub.runtime.http.ingest import RequestContext, collector_paused, encode_batch, envelope_of, read_batch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import example

ID = "0190b3c4-0000-7000-8000-000000000001"
TIME = "2026-11-27T10:00:00.000Z"


def _latest(catalog: Catalog) -> Any:
    return lambda name: max(catalog.versions(name)) if name in catalog.types else None


def reference(items: list[Any], context: RequestContext, catalog: Catalog) -> tuple[list[bytes], list[dict[str, Any]]]:
    """The batch route's verdict and stored bytes before the fast path."""
    envelopes, errors = [], []
    for index, item in enumerate(items):
        try:
            envelope = envelope_of(item, context, idempotency=False, latest=_latest(catalog), owned=True)
            catalog.spec(envelope.type, envelope.data_version or None)
            envelopes.append(envelope)
        except MalformedEvent as error:
            errors.extend({**e, "status": 422} for e in envelope_errors(error, index))
        except UnknownEventType as error:
            errors.append({"index": index, "pointer": "/type", "message": str(error), "status": 404})
    if errors:
        return [], errors
    payloads = []
    for index, envelope in enumerate(envelopes):
        try:
            checked, _ = check(envelope, catalog)
            payloads.append(encode(checked))
        except ValidationFailed as error:
            errors.extend({**e, "status": 422} for e in violation_errors(error.violations, index))
    return ([] if errors else payloads), errors


def fast(items: list[Any], context: RequestContext, catalog: Catalog) -> tuple[list[bytes], list[dict[str, Any]]]:
    batch = read_batch(items, context, catalog, _latest(catalog))
    if batch.errors:
        return [], batch.errors
    encoded, errors = encode_batch(batch)
    assert len(encoded.ids) == len(encoded.keys) == len(encoded.payloads) or errors
    return ([] if errors else encoded.payloads), errors


def cases(catalog: Catalog) -> dict[str, Any]:
    order = example(catalog, "order.placed")
    user = example(catalog, "user.registered")
    full = {"specversion": "1.0", "id": ID, "source": "urn:test", "type": "order.placed", "time": TIME,
            "data": order}
    return {
        "plain": {"type": "order.placed", "id": ID, "time": TIME, "data": order},
        "structured": full,
        "keys in another order": {"data": order, "time": TIME, "type": "order.placed", "id": ID,
                                  "specversion": "1.0", "source": "urn:test"},
        "version 1": {**full, "dataversion": 1, "data": example(catalog, "order.placed", 1)},
        "version 2": {**full, "dataversion": 2},
        "version 0 is the latest": {**full, "dataversion": 0},
        "version as digits": {**full, "dataversion": "2"},
        "version true": {**full, "dataversion": True},
        "version 2.0": {**full, "dataversion": 2.0},
        "version -1": {**full, "dataversion": -1},
        "version null": {**full, "dataversion": None},
        "unknown version": {**full, "dataversion": 9},
        "unknown type": {**full, "type": "no.such"},
        "unknown type, version null": {**full, "type": "no.such", "dataversion": None},
        "type not a string": {**full, "type": 5},
        "empty type": {**full, "type": ""},
        "empty id": {**full, "id": ""},
        "id not a string": {**full, "id": 7},
        "empty source": {**full, "source": ""},
        "source not a string": {**full, "source": ["x"]},
        "empty time": {**full, "time": ""},
        "time not a string": {**full, "time": 5},
        "specversion 0.3": {**full, "specversion": "0.3"},
        "specversion null": {**full, "specversion": None},
        "specversion a number": {**full, "specversion": 1.0},
        "no data": {k: v for k, v in full.items() if k != "data"},
        "data null": {**full, "data": None},
        "data_base64": {**full, "data_base64": "AA=="},
        "every optional attribute": {
            **full, "datacontenttype": "application/json", "dataschema": "urn:schema", "subject": "s",
            "correlationid": "c", "causationid": "k", "traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01",
            "partitionkey": "p", "principal": "someone", "idempotencykey": "once"},
        "optional attributes null": {**full, "subject": None, "partitionkey": None, "principal": None},
        "optional attribute not a string": {**full, "subject": 5},
        "context attribute not a string": {**full, "traceparent": 5},
        "extensions": {**full, "zeta": "z", "alpha": None, "nested": {"a": [1, 2]}},
        "extension and optional attribute": {**full, "myext": 1, "subject": "s"},
        "schema violation": {**full, "data": {**order, "order_id": 5}},
        "missing property": {**full, "data": {k: v for k, v in order.items() if k != "customer_id"}},
        "other channel": {"type": "user.registered", "id": ID, "time": TIME, "data": user},
        "not an object": [full],
        "a string": "event",
        "null": None,
    }


CONTEXTS = {
    "anonymous": RequestContext("urn:server"),
    "principal and trace": RequestContext("urn:server", "caller", "00-" + "a" * 32 + "-" + "b" * 16 + "-01"),
}


@pytest.mark.parametrize("context_name", list(CONTEXTS))
@pytest.mark.parametrize("case", list(cases(Catalog.from_package("generated"))))
def test_one_event_as_the_per_event_path(case: str, context_name: str, catalog: Catalog,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (ingest, envelope_module):  # an empty time is filled in too: the same clock for both paths
        monkeypatch.setattr(module, "utc_now_rfc3339", lambda: "2026-11-27T11:00:00.000Z")
    item = cases(catalog)[case]
    context = CONTEXTS[context_name]
    assert fast([copy.deepcopy(item)], context, catalog) == reference([copy.deepcopy(item)], context, catalog)


_VALUES = st.sampled_from([None, "", "x", "1.0", "2", 0, 1, 2, -1, True, 2.0, [], {}, {"a": None}])
_NAMES = st.sampled_from(["specversion", "id", "source", "type", "time", "dataversion", "data", "data_base64",
                          "datacontenttype", "dataschema", "subject", "correlationid", "causationid",
                          "traceparent", "partitionkey", "principal", "idempotencykey", "ext", "other"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(_NAMES, _VALUES, max_size=5), removed=st.sets(_NAMES, max_size=3),
       context_name=st.sampled_from(list(CONTEXTS)))
def test_generated_events_as_the_per_event_path(changes: dict[str, Any], removed: set[str], context_name: str,
                                                catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (ingest, envelope_module):
        monkeypatch.setattr(module, "utc_now_rfc3339", lambda: "2026-11-27T11:00:00.000Z")
    base = {"specversion": "1.0", "id": ID, "source": "urn:test", "type": "order.placed", "time": TIME,
            "data": example(catalog, "order.placed")}
    item = {k: v for k, v in {**base, **changes}.items() if k not in removed}
    if "id" not in item or item["id"] is None:
        item["id"] = ID  # a filled-in id is random: give one so that the bytes compare
    context = CONTEXTS[context_name]
    assert fast([copy.deepcopy(item)], context, catalog) == reference([copy.deepcopy(item)], context, catalog)


def test_filled_attributes(catalog: Catalog) -> None:
    """Absent id, source and time are filled: ids in batch order (UUIDv7), one time for the batch."""
    order = example(catalog, "order.placed")
    items = [{"type": "order.placed", "data": order} for _ in range(3)] + [
        {"type": "order.placed", "data": order, "id": "mine", "time": TIME, "source": "urn:me"}]
    batch = read_batch(copy.deepcopy(items), RequestContext("urn:server", "caller"), catalog, _latest(catalog))
    assert not batch.errors
    made = [wire["id"] for wire in batch.wires[:3]]
    assert made == sorted(made) and len(set(made)) == 3 and all(i[14] == "7" for i in made)
    assert {wire["time"] for wire in batch.wires[:3]} != {TIME} and len({w["time"] for w in batch.wires[:3]}) == 1
    assert [wire["source"] for wire in batch.wires] == ["urn:server"] * 3 + ["urn:me"]
    assert batch.wires[3]["id"] == "mine" and batch.wires[3]["time"] == TIME
    assert all(wire["principal"] == "caller" and wire["dataversion"] == 2 for wire in batch.wires)


def test_a_whole_batch_as_the_per_event_path(catalog: Catalog) -> None:
    """Mixed batches: the same stored bytes, or the same errors with their indexes, as per-event reading."""
    every = cases(catalog)
    for names in (
        ["plain", "structured", "other channel", "version 1", "extensions", "version as digits"],
        ["plain", "schema violation", "plain", "missing property"],
        ["plain", "unknown type", "schema violation", "empty id", "not an object"],
    ):
        items = [every[name] for name in names]
        context = CONTEXTS["principal and trace"]
        assert fast(copy.deepcopy(items), context, catalog) == reference(copy.deepcopy(items), context, catalog)


def test_channels_of_a_batch(catalog: Catalog) -> None:
    every = cases(catalog)
    batch = read_batch(copy.deepcopy([every["plain"], every["other channel"], every["version 1"]]),
                       RequestContext("urn:server"), catalog, _latest(catalog))
    assert batch.channels == {"orders", "users"}


def test_collector_paused_restores_the_collector() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        raise ValueError
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # someone else paused it: they resume it
    finally:
        gc.enable()
