"""Typed publishers: the generator emits one subclass per event type, e.g.

.. code-block:: python

    class OrderPlacedPublisher(Publisher[OrderPlacedV2]):
        event_type = "order.placed"
        version = 2
        model = OrderPlacedV2

A model is serialised with ``model_dump(mode="json", by_alias=True, exclude_unset=True)``: only the fields the
caller set are written, so no undeclared field and no invented default reaches the wire, and the bus then
validates the JSON against the schema before any adapter sees it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from .bus import Bus, PublishResult

T = TypeVar("T", bound=BaseModel)


def to_json_data(model: BaseModel) -> Any:
    """The JSON value a model stands for, as the schema sees it."""
    return model.model_dump(mode="json", by_alias=True, exclude_unset=True)


class Publisher(Generic[T]):
    """Publishes one event type at one version; subclasses set ``event_type``, ``version`` and ``model``."""

    event_type: ClassVar[str]
    version: ClassVar[int]
    #: The pydantic model class (``ClassVar[type[T]]`` in spirit; Python typing forbids type variables there).
    model: ClassVar[type[Any]]

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def publish(
        self,
        data: T,
        *,
        key: str | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        subject: str | None = None,
        idempotency_key: str | None = None,
        principal: str | None = None,
        traceparent: str | None = None,
    ) -> PublishResult:
        """Publish one event; returns its id and position once the adapter stored it."""
        return await self.bus.publish(
            self.event_type, to_json_data(data), version=self.version, key=key, correlation_id=correlation_id,
            causation_id=causation_id, subject=subject, idempotency_key=idempotency_key, principal=principal,
            traceparent=traceparent,
        )

    async def publish_many(
        self,
        items: Iterable[T],
        *,
        key: str | None = None,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        principal: str | None = None,
        traceparent: str | None = None,
    ) -> list[PublishResult]:
        """Publish several events as one batch: all valid and stored, or none (same context for all)."""
        envelopes = [
            self.bus.envelope(
                self.event_type, to_json_data(item), version=self.version, partition_key=key,
                correlation_id=correlation_id, causation_id=causation_id, principal=principal, traceparent=traceparent,
            )
            for item in items
        ]
        return await self.bus.publish_many(envelopes)
