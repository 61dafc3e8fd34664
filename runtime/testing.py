"""A test kit for services built on the runtime: a real in-memory bus, and ways to look at what happened.

In the spirit of FastStream's ``TestBroker``, but nothing is patched: the bus runs every channel on the real
memory adapter, validation included, so a test publishes and subscribes exactly as production code does and
then asserts on what the adapter actually stored.

.. code-block:: python

    async def test_checkout(pubsub_bus):                 # fixture from the pytest plugin
        await OrderPlacedPublisher(pubsub_bus).publish(order)
        [event] = await assert_published(pubsub_bus, "order.placed", count=1)
        assert event.data["order_number"] == "HN-00042017"
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

from .adapters.base import dead_letter_channel
from .bus import Bus
from .catalog import Catalog
from .codec import decode
from .deadletters import MARKER_HEADER
from .envelope import Envelope, envelope_from_wire
from .jsonparse import parse_json
from .retry import RetryPolicy

T = TypeVar("T")

#: Retries fast enough for tests, still exercising the schedule.
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01, jitter=0.0)


@asynccontextmanager
async def memory_bus(catalog: Catalog, **options: Any) -> AsyncIterator[Bus]:
    """A started bus with every channel on the memory adapter (options go to ``Bus``)."""
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("handler_timeout", 5.0)
    options.setdefault("drain_timeout", 5.0)
    async with Bus(catalog, all_channels_on="memory", **options) as bus:
        yield bus


async def published(bus: Bus, event_type: str | None = None, *, channel: str | None = None,
                    limit: int = 100_000) -> list[Envelope[Any]]:
    """Every retained event (oldest first), decoded and validated, optionally of one type or channel."""
    channels = [channel] if channel else list(bus.catalog.channels)
    found: list[Envelope[Any]] = []
    for name in channels:
        for record in await bus.history(name, limit=limit):
            envelope = decode(record.payload, bus.catalog)
            if event_type is None or envelope.type == event_type:
                found.append(envelope)
    return found


async def dead_letters(bus: Bus, channel: str) -> list[tuple[Envelope[Any], str]]:
    """The dead-letter channel's events (not validated: they may be invalid) with their errors; the records
    that operations appended (redrive and purge markers) are not dead letters and are left out."""
    records = await bus.adapter_for(channel).history(dead_letter_channel(channel), limit=100_000)
    return [(envelope_from_wire(parse_json(r.payload)), r.headers.get("x-error", "")) for r in records
            if MARKER_HEADER not in r.headers]


async def assert_published(
    bus: Bus,
    event_type: str,
    *,
    count: int | None = None,
    where: Callable[[Envelope[Any]], bool] | None = None,
    data: Mapping[str, Any] | None = None,
) -> list[Envelope[Any]]:
    """The published events of ``event_type`` matching ``where`` and whose data contains ``data``'s items;
    fails unless there are ``count`` of them (or at least one when ``count`` is None)."""
    matching = [
        e for e in await published(bus, event_type)
        if (where is None or where(e)) and all(e.data.get(k) == v for k, v in (data or {}).items())
    ]
    if count is None:
        assert matching, f"no {event_type!r} event was published that matches"
    else:
        assert len(matching) == count, f"expected {count} {event_type!r} event(s), found {len(matching)}"
    return matching


class Received(Generic[T]):
    """A handler that records what it receives; tests ``await received.wait_for(n)`` instead of sleeping."""

    def __init__(self) -> None:
        self.events: list[Envelope[T]] = []
        self._changed = asyncio.Condition()

    async def __call__(self, event: Envelope[T]) -> None:
        async with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Envelope[T]]:
        """Wait until at least ``count`` events arrived; ``TimeoutError`` after ``timeout`` seconds."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.events) >= count)
        return list(self.events)


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, interval: float = 0.001) -> None:
    """Wait for a condition that no event signals (e.g. a metrics counter); ``TimeoutError`` on timeout."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(interval)
