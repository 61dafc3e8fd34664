"""In-memory publish → deliver throughput through the whole bus (validation on both sides, acks).

Rows: awaited single publishes with no subscriber; batched publishes (``publish_many`` of 100); and
publish → handler delivery with a fan-out subscriber and with a group of two members (concurrency 16 each),
timed from the first publish until the last handler returned.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.envelope import Envelope
from hipponot_pubsub.runtime.testing import memory_bus

from ._setup import example_catalog, sample_order

EVENTS = 20_000


async def awaited_publish(bus: Bus, order: dict[str, Any]) -> float:
    started = time.perf_counter()
    for _ in range(EVENTS):
        await bus.publish("order.placed", order)
    return EVENTS / (time.perf_counter() - started)


async def batched_publish(bus: Bus, order: dict[str, Any]) -> float:
    started = time.perf_counter()
    for _ in range(EVENTS // 100):
        await bus.publish_many([bus.envelope("order.placed", order) for _ in range(100)])
    return EVENTS / (time.perf_counter() - started)


async def publish_to_handler(bus: Bus, order: dict[str, Any], *, group: str | None, members: int) -> float:
    done = asyncio.Event()
    handled = 0

    async def handler(event: Envelope[Any]) -> None:
        nonlocal handled
        handled += 1
        if handled == EVENTS:
            done.set()

    for _ in range(members):
        await bus.subscribe("order.placed", handler, group=group, concurrency=16)
    started = time.perf_counter()
    for _ in range(EVENTS // 100):
        await bus.publish_many([bus.envelope("order.placed", order) for _ in range(100)])
    await asyncio.wait_for(done.wait(), 120)
    return EVENTS / (time.perf_counter() - started)


async def raw_queue(order: dict[str, Any]) -> float:
    """Baseline: the same event through a bare ``asyncio.Queue`` (``json.dumps`` in, ``json.loads`` out)."""
    import json

    queue: asyncio.Queue[bytes] = asyncio.Queue(1000)

    async def consume() -> None:
        for _ in range(EVENTS):
            json.loads(await queue.get())

    started = time.perf_counter()
    consumer = asyncio.create_task(consume())
    for _ in range(EVENTS):
        await queue.put(json.dumps(order).encode())
    await consumer
    return EVENTS / (time.perf_counter() - started)


async def measure() -> list[tuple[str, float]]:
    """Rows ``(name, events/s)``; the first is the bare-queue baseline."""
    catalog = example_catalog()
    order = sample_order(catalog)
    rows = [("baseline: asyncio.Queue + json dumps/loads, no validation", await raw_queue(order))]
    async with memory_bus(catalog, idempotency_window=0) as bus:
        rows.append(("awaited publish (validated)", await awaited_publish(bus, order)))
        rows.append(("batched publish ×100 (validated)", await batched_publish(bus, order)))
    async with memory_bus(catalog) as bus:
        rows.append(("publish → fan-out handler (decode+validate+ack)",
                     await publish_to_handler(bus, order, group=None, members=1)))
    async with memory_bus(catalog) as bus:
        rows.append(("publish → group of 2 handlers", await publish_to_handler(bus, order, group="g", members=2)))
    return rows


async def main() -> None:
    print(f"{EVENTS:,} order.placed v2 events per row, memory adapter, history 100,000")
    for name, per_second in await measure():
        print(f"{name:50s} {per_second:12,.0f} events/s")


if __name__ == "__main__":
    asyncio.run(main())
