"""Typed HTTP publishers: what the generated ``client.py`` subclasses, with the in-process publishers' calls.

.. code-block:: python

    async with AsyncPubSubClient("https://events.internal", token=...) as client:
        await OrderPlacedHttpPublisher(client).publish(OrderPlaced(...), key=..., correlation_id=...)
        async for event in OrderPlacedHttpPublisher(client).subscribe():   # Envelope[OrderPlaced]
            ...

    with PubSubClient("https://events.internal", token=...) as client:      # no event loop
        SyncOrderPlacedHttpPublisher(client).publish(OrderPlaced(...))
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from ..bus import PublishResult
from ..envelope import Envelope
from ..publisher import to_json_data
from .stream import Backoff, EventStream, typed_reader
from .transport import AsyncPubSubClient, PubSubClient, event_body

T = TypeVar("T", bound=BaseModel)


class _Typed(Generic[T]):
    event_type: ClassVar[str]
    version: ClassVar[int]
    channel: ClassVar[str]
    #: The pydantic model class (``ClassVar[type[T]]`` in spirit; Python typing forbids type variables there).
    model: ClassVar[type[Any]]

    def _body(self, data: T, **attributes: Any) -> dict[str, Any]:
        return event_body(self.event_type, to_json_data(data), version=self.version, **attributes)


class HttpPublisher(_Typed[T]):
    """Publishes one event type at one version through the HTTP service, and streams that type back."""

    def __init__(self, client: AsyncPubSubClient) -> None:
        self.client = client

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
        """Publish one event; returns its id and position once the service's adapter stored it."""
        return await self.client.publish_wire(self._body(
            data, key=key, correlation_id=correlation_id, causation_id=causation_id, subject=subject,
            idempotency_key=idempotency_key, principal=principal, traceparent=traceparent))

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
        """Publish several events as one batch: all valid and stored, or none."""
        return await self.client.publish_many([
            self._body(item, key=key, correlation_id=correlation_id, causation_id=causation_id, principal=principal,
                       traceparent=traceparent)
            for item in items
        ])

    def subscribe(self, *, after: str | None = None, dead_after: float = 45.0,
                  backoff: Backoff | None = None) -> EventStream[Envelope[T]]:
        """This type's events (every version, read into this version's model) from the channel's SSE stream."""
        return EventStream(self.client, self.channel, typed_reader(self.model), types=[self.event_type],
                           after=after, dead_after=dead_after, backoff=backoff)


class SyncHttpPublisher(_Typed[T]):
    """``HttpPublisher`` for code without an event loop (publishing only)."""

    def __init__(self, client: PubSubClient) -> None:
        self.client = client

    def publish(
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
        return self.client.publish_wire(self._body(
            data, key=key, correlation_id=correlation_id, causation_id=causation_id, subject=subject,
            idempotency_key=idempotency_key, principal=principal, traceparent=traceparent))

    def publish_many(self, items: Iterable[T], *, key: str | None = None, correlation_id: str | None = None,
                     causation_id: str | None = None, principal: str | None = None,
                     traceparent: str | None = None) -> list[PublishResult]:
        return self.client.publish_many([
            self._body(item, key=key, correlation_id=correlation_id, causation_id=causation_id, principal=principal,
                       traceparent=traceparent)
            for item in items
        ])
