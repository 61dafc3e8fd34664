"""How fast is the NATS JetStream adapter compared with raw nats-py, against the same server in one run?

Run ``.venv/bin/python -m bench.nats_adapter [--quick] [--url nats://HOST:PORT]``.

A private ``nats-server -js`` (file storage in a temporary directory, as production runs it) is started on a
free port unless ``--url`` names one. Every pair uses the same payload: a valid ``notification.requested`` v1
envelope (CloudEvents structured JSON, ~0.8 KB) with a partition key, fresh streams per measurement:

* **awaited publish**: ``await adapter.publish`` one at a time (and ``bus.publish``, which validates first) vs
  ``await js.publish`` (the same message headers);
* **batched publish**: ``adapter.publish_many`` in batches of 100 (and ``bus.publish_many``) vs raw pipelined
  ``js.publish_async`` ×100, then ``gather`` the acks;
* **delivery**: a bus subscription (fan-out and group; decode + JSON Schema validation + handler + ack,
  concurrency 100) reading N pre-published events vs a raw pull consumer (explicit acks, as any at-least-once
  consumer) doing ``fetch(100)`` + ``json.loads`` + ``ack`` per message. Both are timed from the first event
  handled to the last.

Throughput is events per second of wall-clock time; each figure is the best of ``--runs`` rounds (5;
``--quick``: 1) after a warm-up round, every round running our side and the raw side in turn (interleaved, so
drifts in machine speed hit both alike), as ``bench/kafka_adapter.py`` does. Goals (issue 18): ≥ 0.9× raw for
awaited publish (the adapter's; the bus's is shown for reference), ≥ 0.8× for batched publish and delivery with
validation included (the bus rows; the adapter's batched row is for reference). Nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nats
from hipponot_pubsub.generator.codegen.bundle import bundle
from hipponot_pubsub.generator.registry import load_registry
from hipponot_pubsub.runtime.adapters.base import Message, StartAt
from hipponot_pubsub.runtime.adapters.nats import NatsSettings, adapter_factory
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.codec import encode
from hipponot_pubsub.runtime.envelope import Envelope
from nats.js import api

from .rounds import Rounds

ROOT = Path(__file__).resolve().parents[1]
CHANNEL = "notifications"
TYPE = "notification.requested"
BATCH = 100
ROUNDS = 5  # see the module docstring


def _catalog() -> tuple[Catalog, dict[str, Any]]:
    registry = load_registry(ROOT / "schemas")
    bundles = [bundle(registry, v) for event in registry.events.values() for v in event.versions.values()]
    channels = {name: {"adapter": "nats" if name == CHANNEL else "memory", "options": dict(c.options)}
                for name, c in registry.channels.items()}
    event_channels = {name: event.channel for name, event in registry.events.items()}
    example = copy.deepcopy(registry.event_version(TYPE, 1).schema["examples"][0])
    return Catalog.from_bundles(bundles, channels, event_channels, name=registry.settings.name), example


class Bench(Rounds):
    raw_client = "raw nats-py"

    def __init__(self, url: str, runs: int, n_awaited: int, n_batched: int, n_delivery: int) -> None:
        self.catalog, example = _catalog()
        super().__init__(runs, n_awaited, n_batched, n_delivery, example)
        self.url = url
        self._streams: list[str] = []

    def settings(self) -> NatsSettings:
        tag = uuid.uuid4().hex[:8]
        settings = NatsSettings(url=self.url, stream_template=f"bench{tag}_{{channel}}",
                                subject_template=f"bench{tag}.{{channel}}", group_template=f"bench{tag}_{{group}}")
        self._streams += [settings.stream(CHANNEL), settings.stream(CHANNEL + ".dead-letter")]
        return settings

    def bus(self, settings: NatsSettings) -> Bus:
        factory: Any = lambda channels: adapter_factory(channels, settings=settings)  # noqa: E731
        return Bus(self.catalog, adapters={"nats": factory})

    def messages(self, bus: Bus, count: int) -> list[Message]:
        """What ``bus.publish`` hands the adapter: the envelope's JSON, its partition key, its ce- headers."""
        out = []
        for i in range(count):
            envelope = bus.envelope(TYPE, self.example, partition_key=f"recipient-{i % 50}")
            out.append(Message(encode(envelope), envelope.partition_key,
                               {"ce-id": envelope.id, "ce-type": envelope.type,
                                "ce-dataversion": str(envelope.data_version)}))
        return out

    async def cleanup(self) -> None:
        """Delete the streams this run made (a long run would otherwise fill the server's store)."""
        nc = await nats.connect(self.url)
        try:
            for name in self._streams:
                try:
                    await nc.jsm().delete_stream(name)
                except Exception:  # already gone
                    continue
        finally:
            self._streams.clear()
            await nc.close()

    # -- publishing ----------------------------------------------------------------------------------------

    async def awaited(self) -> None:
        settings = self.settings()
        async with self.bus(settings) as bus:
            adapter = bus.adapter_for(CHANNEL)
            subject = settings.subject(CHANNEL)
            messages = self.messages(bus, self.n_awaited)
            nc = await nats.connect(self.url)
            js = nc.jetstream()
            try:
                async def raw() -> float:
                    started = time.perf_counter()
                    for m in messages:
                        await js.publish(subject, m.payload, headers=dict(m.headers))
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

                best = await self.best(raw=raw, ours=ours, bus=through_bus)
                self.add("awaited publish: adapter.publish", best["ours"], best["raw"], 0.9)
                self.add("awaited publish: bus.publish (validates)", best["bus"], best["raw"], 0.0)
            finally:
                await nc.close()
        await self.cleanup()

    async def batched(self) -> None:
        settings = self.settings()
        async with self.bus(settings) as bus:
            adapter = bus.adapter_for(CHANNEL)
            subject = settings.subject(CHANNEL)
            messages = self.messages(bus, self.n_batched)
            batches = [messages[i:i + BATCH] for i in range(0, len(messages), BATCH)]
            nc = await nats.connect(self.url)
            js = nc.jetstream()
            try:
                async def raw() -> float:
                    started = time.perf_counter()
                    for batch in batches:
                        futures = [await js.publish_async(subject, m.payload, headers=dict(m.headers))
                                   for m in batch]
                        await asyncio.gather(*futures)
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
            finally:
                await nc.close()
        await self.cleanup()

    # -- delivery ------------------------------------------------------------------------------------------

    async def delivery(self) -> None:
        async def raw() -> float:
            settings = self.settings()
            async with self.bus(settings) as bus:
                await self.fill(bus)
            nc = await nats.connect(self.url)
            try:
                js = nc.jetstream()
                pull = await js.pull_subscribe(settings.subject(CHANNEL), stream=settings.stream(CHANNEL),
                                               config=api.ConsumerConfig(ack_policy=api.AckPolicy.EXPLICIT,
                                                                         deliver_policy=api.DeliverPolicy.ALL))
                seen, started = 0, 0.0
                while seen < self.n_delivery:
                    fetched = await pull.fetch(100, timeout=5)
                    if not seen:
                        started = time.perf_counter()  # from the first event on, as on our side
                    for msg in fetched:
                        json.loads(msg.data)
                        await msg.ack()
                        seen += 1
                return seen / (time.perf_counter() - started)
            finally:
                await nc.close()
                await self.cleanup()

        def ours(group: str | None) -> Callable[[], Awaitable[float]]:
            async def measure() -> float:
                settings = self.settings()
                async with self.bus(settings) as bus:
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
                    rate = self.n_delivery / (time.perf_counter() - started)
                await self.cleanup()
                return rate
            return measure

        best = await self.best(raw=raw, fan_out=ours(None), group=ours("bench"))
        self.add("delivery: bus fan-out (decode+validate+ack)", best["fan_out"], best["raw"], 0.8)
        self.add("delivery: bus group (…+ack floor)", best["group"], best["raw"], 0.8)



async def run(args: argparse.Namespace, url: str) -> None:
    quick = args.quick
    bench = Bench(url, args.runs or (1 if quick else ROUNDS), n_awaited=300 if quick else 2000,
                  n_batched=5_000 if quick else 30_000, n_delivery=5_000 if quick else 30_000)
    print(f"nats-server at {url}; runs={bench.runs} awaited={bench.n_awaited} batched={bench.n_batched} "
          f"delivery={bench.n_delivery}", flush=True)
    if not args.only or "awaited" in args.only:
        await bench.awaited()
    if not args.only or "batched" in args.only:
        await bench.batched()
    if not args.only or "delivery" in args.only:
        await bench.delivery()
    print()
    print(bench.table())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts, one run")
    parser.add_argument("--runs", type=int, default=0)
    parser.add_argument("--only", nargs="+", choices=("awaited", "batched", "delivery"))
    parser.add_argument("--url", help="use this server instead of starting a private one")
    args = parser.parse_args()
    if args.url:
        asyncio.run(run(args, args.url))
        return
    from tests.nats.server import NatsServer

    server = NatsServer().start()
    try:
        asyncio.run(run(args, server.url))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
