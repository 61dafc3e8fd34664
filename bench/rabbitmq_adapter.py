"""How fast is the RabbitMQ adapter compared with raw aio-pika, against the same RabbitMQ in one run?

Run ``.venv/bin/python -m bench.rabbitmq_adapter [--quick] [--url amqp://...]`` (default: the machine's RabbitMQ,
``amqp://guest:guest@127.0.0.1:5672/``). Every pair uses the same payload: a valid ``notification.requested`` v1
envelope (CloudEvents structured JSON, ~0.8 KB) with a partition key, on the same topology (the adapter's: a
fanout exchange bound to a stream queue, plus a quorum queue per group), fresh names per measurement:

* **awaited publish**: ``await adapter.publish`` one at a time (and ``bus.publish``, which validates first) vs
  raw ``await exchange.publish`` on a publisher-confirm channel (persistent messages). The adapter also waits
  for its tail reader to read the message back, which is how it learns the position (see ``tail.py``), so it is
  also compared with raw aio-pika doing that same work (confirmed publish, then read back by a stream consumer);
* **batched publish**: ``adapter.publish_many`` in batches of 100 (and ``bus.publish_many``) vs raw pipelined
  confirms (100 ``exchange.publish`` gathered). Ours is an AMQP transaction (all or none), the raw one is not;
* **delivery**: a bus subscription (fan-out on the stream and group on the quorum queue; decode + JSON Schema
  validation + handler + ack, concurrency 100) reading N pre-published events vs a raw aio-pika consumer
  (prefetch 100) doing ``json.loads`` + ``ack`` per message, on the stream and on a quorum queue. Timed from
  the first event handled to the last.

Throughput is events per second of wall-clock time; each figure is the best of ``--runs`` rounds (5; ``--quick``:
1) after a warm-up round, every round running our side and the raw side in turn (interleaved, so drifts in
machine speed hit both alike). Goals (issue 18): ≥ 0.9× raw for awaited publish, ≥ 0.8× for batched publish and
delivery with validation included (the bus rows). Nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from hipponot_pubsub.generator.codegen.bundle import bundle
from hipponot_pubsub.generator.registry import load_registry
from hipponot_pubsub.runtime.adapters.base import Message, StartAt
from hipponot_pubsub.runtime.adapters.rabbitmq import RabbitMQAdapter, RabbitMQSettings, adapter_factory
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.envelope import Envelope

from .rounds import Rounds

ROOT = Path(__file__).resolve().parents[1]
CHANNEL = "notifications"
TYPE = "notification.requested"
BATCH = 100
ROUNDS = 5
URL = "amqp://guest:guest@127.0.0.1:5672/"


def _catalog() -> tuple[Catalog, dict[str, Any]]:
    registry = load_registry(ROOT / "schemas")
    bundles = [bundle(registry, v) for event in registry.events.values() for v in event.versions.values()]
    channels = {name: {"adapter": "rabbitmq" if name == CHANNEL else "memory", "options": {}}
                for name in registry.channels}
    event_channels = {name: event.channel for name, event in registry.events.items()}
    example = copy.deepcopy(registry.event_version(TYPE, 1).schema["examples"][0])
    return Catalog.from_bundles(bundles, channels, event_channels, name=registry.settings.name), example


class Bench(Rounds):
    raw_client = "raw aio-pika"

    def __init__(self, url: str, runs: int, n_awaited: int, n_batched: int, n_delivery: int) -> None:
        self.catalog, example = _catalog()
        super().__init__(runs, n_awaited, n_batched, n_delivery, example)
        self.url = url
        self.made: list[RabbitMQSettings] = []

    def settings(self) -> RabbitMQSettings:
        settings = RabbitMQSettings(url=self.url, name_template=f"bench-{uuid.uuid4().hex[:8]}.{{channel}}")
        self.made.append(settings)
        return settings

    def bus(self, settings: RabbitMQSettings) -> Bus:
        factory: Any = lambda channels: adapter_factory(channels, settings=settings)  # noqa: E731
        return Bus(self.catalog, adapters={"rabbitmq": factory})

    @staticmethod
    def raw_message(message: Message) -> aio_pika.Message:
        headers: dict[str, Any] = dict(message.headers)
        return aio_pika.Message(message.payload, headers=headers, content_type="application/cloudevents+json",
                                delivery_mode=aio_pika.DeliveryMode.PERSISTENT)

    async def awaited(self) -> None:
        settings = self.settings()
        async with self.bus(settings) as bus, await aio_pika.connect(self.url) as connection:
            adapter = bus.adapter_for(CHANNEL)
            messages = self.messages(bus, self.n_awaited)
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(settings.name(CHANNEL))

            async def raw() -> float:
                started = time.perf_counter()
                for m in messages:
                    await exchange.publish(self.raw_message(m), routing_key=m.key or "")
                return len(messages) / (time.perf_counter() - started)

            async def ours() -> float:
                started = time.perf_counter()
                for m in messages:
                    await adapter.publish(CHANNEL, m)
                return len(messages) / (time.perf_counter() - started)

            async def through_bus() -> float:
                started = time.perf_counter()
                for i in range(len(messages)):
                    await bus.publish(TYPE, self.example, key=f"recipient-{i % 50}")
                return len(messages) / (time.perf_counter() - started)

            # The least any AMQP 0-9-1 client pays to learn the offset it was given (see tail.py): the same
            # confirmed publish, then waiting for a stream consumer from ``next`` to read it back.
            reader = await connection.channel()
            await reader.set_qos(prefetch_count=200)
            waiting: dict[str, asyncio.Future[None]] = {}
            read = 0

            async def on_message(message: AbstractIncomingMessage) -> None:
                nonlocal read
                future = waiting.pop(message.message_id or "", None)
                if future is not None and not future.done():
                    future.set_result(None)
                read += 1
                if read % 100 == 0:
                    await message.ack(multiple=True)

            stream = await reader.get_queue(settings.name(CHANNEL), ensure=False)
            await stream.consume(on_message, arguments={"x-stream-offset": "next"})

            async def raw_read_back() -> float:
                loop = asyncio.get_running_loop()
                started = time.perf_counter()
                for m in messages:
                    mid = uuid.uuid4().hex
                    future: asyncio.Future[None] = loop.create_future()
                    waiting[mid] = future
                    message = self.raw_message(m)
                    message.message_id = mid
                    await exchange.publish(message, routing_key=m.key or "")
                    await future
                return len(messages) / (time.perf_counter() - started)

            best = await self.best(raw=raw, ours=ours, bus=through_bus, raw_read_back=raw_read_back)
            self.add("awaited publish: adapter.publish", best["ours"], best["raw"], 0.9)
            self.add("awaited publish: bus.publish (validates)", best["bus"], best["raw"], 0.0)
            self.add("awaited publish: adapter.publish vs raw publish + read-back of its offset", best["ours"],
                     best["raw_read_back"], 0.0, baseline="raw aio-pika + read-back")

    async def batched(self) -> None:
        settings = self.settings()
        async with self.bus(settings) as bus, await aio_pika.connect(self.url) as connection:
            adapter = bus.adapter_for(CHANNEL)
            messages = self.messages(bus, self.n_batched)
            batches = [messages[i:i + BATCH] for i in range(0, len(messages), BATCH)]
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(settings.name(CHANNEL))

            async def raw() -> float:
                started = time.perf_counter()
                for batch in batches:
                    await asyncio.gather(*(exchange.publish(self.raw_message(m), routing_key=m.key or "")
                                           for m in batch))
                return len(messages) / (time.perf_counter() - started)

            async def ours() -> float:
                started = time.perf_counter()
                for batch in batches:
                    await adapter.publish_many(CHANNEL, batch)
                return len(messages) / (time.perf_counter() - started)

            async def through_bus() -> float:
                envelopes = [[bus.envelope(TYPE, self.example, partition_key=f"recipient-{i % 50}")
                              for i in range(BATCH)] for _ in batches]
                started = time.perf_counter()
                for batch in envelopes:
                    await bus.publish_many(batch)
                return len(messages) / (time.perf_counter() - started)

            best = await self.best(raw=raw, ours=ours, bus=through_bus)
            self.add(f"batched publish ×{BATCH}: adapter.publish_many", best["ours"], best["raw"], 0.0)
            self.add(f"batched publish ×{BATCH}: bus.publish_many (validates)", best["bus"], best["raw"], 0.8)

    # -- delivery ------------------------------------------------------------------------------------------

    async def delivery(self) -> None:
        def raw(group: bool) -> Callable[[], Awaitable[float]]:
            async def measure() -> float:
                settings = self.settings()
                async with self.bus(settings) as bus, await aio_pika.connect(self.url) as connection:
                    channel = await connection.channel()
                    await channel.set_qos(prefetch_count=100)
                    if group:
                        queue = await channel.declare_queue(settings.name(CHANNEL) + ".raw-group", durable=True,
                                                            arguments={"x-queue-type": "quorum"})
                        await queue.bind(settings.name(CHANNEL))
                        arguments = None
                    else:
                        queue = await channel.get_queue(settings.name(CHANNEL))
                        arguments = {"x-stream-offset": "first"}
                    await self.fill(bus)
                    seen, started = 0, 0.0
                    done = asyncio.Event()

                    async def on_message(message: AbstractIncomingMessage) -> None:
                        nonlocal seen, started
                        if not seen:
                            started = time.perf_counter()
                        json.loads(message.body)
                        await message.ack()
                        seen += 1
                        if seen == self.n_delivery:
                            done.set()

                    await queue.consume(on_message, arguments=arguments)
                    await asyncio.wait_for(done.wait(), 300)
                    rate = seen / (time.perf_counter() - started)
                    if group:
                        await channel.queue_delete(queue.name)
                    return rate
            return measure

        def ours(group: str | None) -> Callable[[], Awaitable[float]]:
            async def measure() -> float:
                settings = self.settings()
                async with self.bus(settings) as bus:
                    if group is not None:  # the group exists before the events, as the raw queue does
                        await (await bus.adapter_for(CHANNEL).subscribe(CHANNEL, group=group)).close()
                    await self.fill(bus)
                    count, started = 0, 0.0
                    done = asyncio.Event()

                    async def handler(envelope: Envelope[Any]) -> None:
                        nonlocal count, started
                        if not count:
                            started = time.perf_counter()
                        count += 1
                        if count == self.n_delivery:
                            done.set()

                    await bus.subscribe(TYPE, handler, group=group, start=StartAt.EARLIEST, concurrency=100)
                    await asyncio.wait_for(done.wait(), 300)
                    return self.n_delivery / (time.perf_counter() - started)
            return measure

        best = await self.best(raw_stream=raw(False), fan_out=ours(None), raw_group=raw(True), group=ours("bench"))
        self.add("delivery: bus fan-out on the stream (decode+validate+ack)", best["fan_out"], best["raw_stream"],
                 0.8)
        self.add("delivery: bus group on a quorum queue (…+ack)", best["group"], best["raw_group"], 0.8)

    async def clean(self) -> None:
        """Delete every stream, exchange and queue the run declared (the machine's broker keeps nothing)."""
        for settings in self.made:
            adapter = RabbitMQAdapter([], settings=settings)
            with contextlib.suppress(Exception):
                await adapter.start()
                async with await aio_pika.connect(self.url) as connection:
                    channel = await connection.channel()
                    for name in (CHANNEL, CHANNEL + ".dead-letter"):
                        await channel.queue_delete(settings.name(name) + ".group.bench")
                        await channel.queue_delete(settings.name(name))
                        await channel.exchange_delete(settings.name(name))
            await adapter.close()



async def run(args: argparse.Namespace) -> Bench:
    quick = args.quick
    bench = Bench(args.url, args.runs or (1 if quick else ROUNDS), n_awaited=300 if quick else 2000,
                  n_batched=3_000 if quick else 20_000, n_delivery=3_000 if quick else 20_000)
    print(f"RabbitMQ at {args.url.split('@')[-1]}; runs={bench.runs} awaited={bench.n_awaited} "
          f"batched={bench.n_batched} delivery={bench.n_delivery}", flush=True)
    await bench.measure_all()
    print()
    print(bench.table())
    return bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts, one run")
    parser.add_argument("--runs", type=int, default=0)
    parser.add_argument("--url", default=URL, help="the RabbitMQ to measure against")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
