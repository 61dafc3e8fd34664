"""The envelope: CloudEvents attributes, context, one JSON encoding, time-ordered ids."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.codec import decode, encode
from hipponot_pubsub.runtime.envelope import Envelope, envelope_from_wire
from hipponot_pubsub.runtime.errors import MalformedEvent, UnknownEventType, ValidationFailed, WrongChannel
from hipponot_pubsub.runtime.ids import new_event_id, new_event_ids
from hipponot_pubsub.runtime.jsonparse import parse_json


def test_ids_are_uuid7_unique_and_time_ordered() -> None:
    ids = [new_event_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(uuid.UUID(i).version == 7 for i in ids[:10])


@pytest.mark.parametrize("count", [0, 1, 1000, 9000])
def test_ids_made_in_bulk_are_ordered_with_the_others(count: int) -> None:
    """``new_event_ids``: the same layout and order as one by one, across millisecond counter roll-overs."""
    ids = [new_event_id(), *new_event_ids(count), new_event_id(), *new_event_ids(3)]
    assert len(ids) == count + 5 and len(set(ids)) == len(ids) and ids == sorted(ids)
    for made in ids:
        parsed = uuid.UUID(made)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122 and str(parsed) == made


def test_structured_mode_round_trip(catalog: Catalog, order_v2: dict[str, Any]) -> None:
    envelope = Envelope(
        type="order.placed", data=order_v2, data_version=2, subject="order/42", correlation_id="c",
        causation_id="cause", traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        partition_key="cus_1", principal="user:7", idempotency_key="idem", extensions={"tenant": "acme"},
    )
    wire = json.loads(encode(envelope))
    assert wire["specversion"] == "1.0" and wire["dataversion"] == 2 and wire["correlationid"] == "c"
    assert wire["partitionkey"] == "cus_1" and wire["tenant"] == "acme" and wire["data"] == order_v2
    assert decode(encode(envelope), catalog) == envelope


def test_caused_events_carry_the_conversation(order_v2: dict[str, Any]) -> None:
    cause = Envelope(type="order.placed", data=order_v2, data_version=2, traceparent="tp")
    effect: Envelope[dict[str, Any]] = cause.caused("order.shipped", {}, 1)
    assert (effect.correlation_id, effect.causation_id, effect.traceparent) == (cause.id, cause.id, "tp")


@pytest.mark.parametrize(
    "wire",
    [
        [],
        {"specversion": "0.3", "id": "1", "source": "s", "type": "t", "data": {}},
        {"specversion": "1.0", "source": "s", "type": "t", "data": {}},
        {"specversion": "1.0", "id": "1", "source": "s", "type": "t"},
        {"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data": {}, "subject": 5},
        {"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data": {}, "dataversion": "x"},
        {"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data_base64": "AA=="},
    ],
)
def test_malformed_envelopes_are_refused(wire: Any) -> None:
    with pytest.raises(MalformedEvent):
        envelope_from_wire(wire)


def test_decode_refuses_bad_input(catalog: Catalog, order_v2: dict[str, Any]) -> None:
    good = Envelope(type="order.placed", data=order_v2, data_version=2)
    with pytest.raises(MalformedEvent):
        decode(b"{", catalog)
    with pytest.raises(MalformedEvent):
        decode(b'{"specversion":"1.0","id":"1","source":"s","type":"order.placed","data":NaN}', catalog)
    with pytest.raises(UnknownEventType):
        decode(encode(Envelope(type="nope", data={}, data_version=1)), catalog)
    with pytest.raises(WrongChannel):
        decode(encode(good), catalog, channel="users")
    with pytest.raises(ValidationFailed):
        decode(encode(good.with_data({})), catalog)


def test_missing_dataversion_means_latest(catalog: Catalog, order_v2: dict[str, Any]) -> None:
    wire = {"specversion": "1.0", "id": "1", "source": "other-tool", "type": "order.placed", "data": order_v2}
    assert decode(json.dumps(wire), catalog).data_version == 2


def test_big_integers_are_json_too(catalog: Catalog, order_v2: dict[str, Any]) -> None:
    raw = encode(Envelope(type="order.placed", data={**order_v2, "loyalty_points_earned": 10**30}, data_version=2))
    with pytest.raises(ValidationFailed) as refused:
        decode(raw, catalog)
    assert [v.pointer for v in refused.value.violations] == ["/loyalty_points_earned"]


def test_malformed_event_lists_its_problems_with_pointers() -> None:
    wire = {"specversion": "1.0", "id": "", "source": "s", "type": "t", "subject": 5, "dataversion": -1}
    with pytest.raises(MalformedEvent) as refused:
        envelope_from_wire(wire)
    pointers = [p.pointer for p in refused.value.problems]
    assert pointers == ["/id", "/subject", "/dataversion", "/data"]
    assert str(refused.value).startswith("not a valid CloudEvent: /id: required non-empty string; /subject: ")
    with pytest.raises(MalformedEvent) as not_json:
        parse_json(b"{")
    assert [p.pointer for p in not_json.value.problems] == [""]


def test_extension_attributes_are_kept(order_v2: dict[str, Any]) -> None:
    wire = Envelope(type="order.placed", data=order_v2, data_version=2).to_wire()
    assert envelope_from_wire(dict(wire)).extensions == {}
    assert envelope_from_wire({**wire, "tenant": "t-1"}).extensions == {"tenant": "t-1"}
