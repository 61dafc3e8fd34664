"""Bytes in → validated, typed event: ours vs ``json.loads`` alone vs plain ``jsonschema`` vs pydantic.

One ``order.placed`` v2 event (15 fields, formats uuid and date-time, nested objects) in its CloudEvents
structured-mode envelope, as an adapter hands it to the bus. Every row starts from the same bytes.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import orjson
from hipponot_pubsub.runtime.codec import decode, encode
from hipponot_pubsub.runtime.envelope import Envelope
from hipponot_pubsub.runtime.model import VALIDATED, trusted_reader
from pydantic import BaseModel, ConfigDict

from tests.runtime.models import OrderPlacedV2 as PlainOrderPlacedV2

from ._setup import example_catalog, rates, sample_order


class PydanticCloudEvent(BaseModel):
    """The same envelope as a plain pydantic model (pydantic's verdict only, not JSON Schema's)."""

    model_config = ConfigDict(extra="allow")
    specversion: str
    id: str
    source: str
    type: str
    time: str
    dataversion: int
    data: PlainOrderPlacedV2


def measure(*, seconds: float = 0.25, rounds: int = 12) -> tuple[list[tuple[str, float]], str]:
    """Rows ``(name, events/s)`` (the first is the ``json.loads`` floor) and a one-line description."""
    catalog = example_catalog()
    spec = catalog.spec("order.placed", 2)
    order = sample_order(catalog)
    raw = encode(Envelope(type="order.placed", data=order, data_version=2, source="urn:bench", correlation_id="c"))
    invalid = encode(Envelope(type="order.placed", data={**order, "order_id": "nope", "loyalty_points_earned": -1},
                              data_version=2))
    reference = spec.validator.reference  # plain jsonschema, formats asserted, compiled once
    model = spec.model
    context = {VALIDATED: True}

    def plain_jsonschema() -> Any:
        wire = json.loads(raw)
        return wire if reference.is_valid(wire["data"]) else None

    read = trusted_reader(model)  # what ``Subscriber.read`` calls

    def ours_typed() -> Envelope[Any]:
        envelope = decode(raw, catalog)
        return envelope.with_data(read(envelope.data))

    def ours_invalid() -> Any:
        try:
            decode(invalid, catalog)
        except Exception as error:  # the refusal with its error list is what is measured
            return error
        raise AssertionError("invalid event accepted")

    rows = [
        ("json.loads alone (floor)", lambda: json.loads(raw)),
        ("orjson.loads alone", lambda: orjson.loads(raw)),
        ("plain jsonschema (json.loads + is_valid)", plain_jsonschema),
        ("pydantic model_validate_json (envelope)", lambda: PydanticCloudEvent.model_validate_json(raw)),
        ("ours: validated envelope, data as JSON", lambda: decode(raw, catalog)),
        ("ours: validated + typed Envelope[Model] (eager)", ours_typed),
        ("  of which: model build (subscriber's reader)", lambda: read(order)),
        ("  model_validate(…, context=validated) instead", lambda: model.model_validate(order, extra="ignore",
                                                                                  context=context)),
        ("ours: invalid event, every violation", ours_invalid),
    ]
    about = (f"event: {len(raw)} bytes; fast path: {'jsonschema-rs' if spec.validator.fast else 'off'}; "
             f"python {sys.version.split()[0]}")
    measured = rates(dict(rows), seconds=seconds, rounds=rounds)
    return [(name, measured[name]) for name, _ in rows], about


def main() -> None:
    measured, about = measure()
    print(about)
    floor = measured[0][1]
    print(f"{'':45s} {'events/s':>12s} {'× json.loads':>13s}")
    for name, rate in measured:
        print(f"{name:45s} {rate:12,.0f} {rate / floor:13.2f}")


if __name__ == "__main__":
    main()
