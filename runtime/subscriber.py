"""Typed subscribers: the generator emits one subclass per event type; users override ``handle`` or use
the decorator form.

.. code-block:: python

    class Billing(OrderPlacedSubscriber):           # subclass form
        async def handle(self, event: Envelope[OrderPlacedV2]) -> None: ...

    @OrderPlacedSubscriber.handler(bus, group="billing", concurrency=4)   # decorator form
    async def bill(event: Envelope[OrderPlacedV2]) -> None: ...

A subscriber receives every version of its type. Each event is first validated against the JSON Schema of the
version it *declares* (by the bus), then read into the subscriber's model with unknown fields ignored, so a
producer adding an optional field never breaks an older consumer. An event the model cannot read (e.g. a new
enum value) raises ``UnreadableEvent`` and is dead-lettered without retries, since retrying cannot help.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from .adapters.base import StartAt
from .bus import Bus, Consumer, ConsumerSpec
from .envelope import Envelope
from .errors import UnreadableEvent
from .model import VALIDATED, trusted_reader
from .retry import RetryPolicy

T = TypeVar("T", bound=BaseModel)

#: Tells generated models (``hipponot_pubsub.runtime.model.EventPayload``) the bus already gave the JSON Schema verdict.
_ALREADY_VALIDATED = {VALIDATED: True}
TypedHandler = Callable[[Envelope[T]], Awaitable[None]]


class Subscriber(Generic[T]):
    """Handles one event type (every version of it). Subclasses set ``event_type``, ``version``, ``model``.

    ``group``: consumers sharing a group compete (each event to one of them); ``None`` means fan-out (this
    subscriber sees every event). ``concurrency``: handlers running at once for this subscriber.
    """

    event_type: ClassVar[str]
    version: ClassVar[int]
    #: The pydantic model class (``ClassVar[type[T]]`` in spirit; Python typing forbids type variables there).
    model: ClassVar[type[Any]]

    def __init__(
        self,
        bus: Bus,
        *,
        group: str | None = None,
        concurrency: int = 1,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        start: StartAt = StartAt.LATEST,
    ) -> None:
        self.bus = bus
        self.group = group
        self.concurrency = concurrency
        self.retry = retry
        self.timeout = timeout
        self.start_at = start
        self.consumers: list[Consumer] = []

    async def handle(self, event: Envelope[T]) -> None:
        """Override: handle one event. Raise to have it retried; raise ``PoisonEvent`` to dead-letter it."""
        raise NotImplementedError(f"{type(self).__name__}.handle is not implemented")

    def read(self, data: Any) -> T:
        """Validated JSON of any version → this subscriber's model (unknown fields ignored)."""
        try:
            typed: T = trusted_reader(self.model)(data)
            return typed
        except ValidationError as error:
            raise UnreadableEvent(f"{self.model.__name__} cannot read this {self.event_type} event: {error}") from None

    async def dispatch(self, envelope: Envelope[Any]) -> None:
        """What the bus calls: read into the model, then ``handle``."""
        await self.handle(envelope.with_data(self.read(envelope.data)))

    def consumer_spec(self) -> ConsumerSpec:
        return ConsumerSpec((self.event_type,), self.dispatch, self.group, self.concurrency, self.retry, self.timeout,
                            self.start_at, type(self).__name__)

    async def start(self) -> list[Consumer]:
        """Subscribe on a running bus."""
        spec = self.consumer_spec()
        self.consumers = await self.bus.subscribe(
            spec.types, spec.handler, group=spec.group, concurrency=spec.concurrency, retry=spec.retry,
            timeout=spec.timeout, start=spec.start, name=spec.name,
        )
        return self.consumers

    def register(self) -> None:
        """Subscribe whenever the bus runs: when it starts, or at once if it is running (``Bus.register``)."""
        self.bus.register(self.consumer_spec())

    async def stop(self) -> None:
        for consumer in self.consumers:
            await self.bus.unsubscribe(consumer)
        self.consumers = []

    @classmethod
    def handler(
        cls,
        bus: Bus,
        *,
        group: str | None = None,
        concurrency: int = 1,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        start: StartAt = StartAt.LATEST,
    ) -> Callable[[TypedHandler[T]], TypedHandler[T]]:
        """Decorator: run the function for every event of this type while ``bus`` runs (from its start, or at
        once on a running bus such as the test kit's ``pubsub_bus``). Returns the function unchanged (so it stays
        callable in unit tests)."""

        def decorate(function: TypedHandler[T]) -> TypedHandler[T]:
            subscriber = cls(bus, group=group, concurrency=concurrency, retry=retry, timeout=timeout, start=start)
            subscriber.handle = function  # type: ignore[method-assign,assignment]
            subscriber.register()
            return function

        return decorate
