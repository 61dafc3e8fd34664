"""Ours vs FastStream vs raw redis-py on Redis streams, against one private ``redis-server`` in one run.

Run ``.venv/bin/python -m bench.faststream_peer [--quick] [--rounds N]``.

FastStream (``faststream[redis]``) is what a team would otherwise pick to publish to and consume from a Redis
stream with typed handlers. Every side sends the same ~1 KB ``order.placed`` v2 CloudEvent:

* **awaited publish**: one event at a time, each awaited. Raw: ``XADD key * d <payload>``. FastStream:
  ``broker.publish(payload, stream=key)`` (it wraps the body in its own message format with headers). Ours:
  ``bus.publish`` (JSON Schema validation + encoding + ``XADD``).
* **delivery through a consumer group** of a prefilled stream (each side's own format), until every event was
  handled and acked. Raw: ``XREADGROUP COUNT 100`` + ``json.loads`` + one ``XACK`` per batch. FastStream: a
  ``StreamSub(group=..., max_records=100)`` subscriber whose handler takes ``body: dict`` (FastStream parses
  the JSON and acks after the handler). Ours: the generated ``OrderPlacedSubscriber`` on the bus
  (validation against the JSON Schema, pydantic model, ack), ``concurrency=100``.

Publishing alternates the three sides in short chunks (harmonic mean = total events / total time); delivery
alternates runs and keeps each side's best. Nothing is asserted on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import sys
import time
import uuid
from typing import Any

import redis.asyncio as aioredis
from hipponot_pubsub.runtime.adapters.base import StartAt
from hipponot_pubsub.runtime.adapters.redis.keys import ChannelKeys
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.codec import encode
from hipponot_pubsub.runtime.envelope import Envelope
from hipponot_pubsub.runtime.testing import FAST_RETRY

from generated.subscribers import OrderPlacedSubscriber

from ._setup import example_catalog, sample_order
from .redis_adapter import Server, best_of, interleaved

IN_FLIGHT = 100


def faststream_version() -> str | None:
    try:
        return importlib.metadata.version("faststream")
    except importlib.metadata.PackageNotFoundError:
        return None


class Peer:
    def __init__(self, url: str, quick: bool) -> None:
        self.url = url
        self.awaited_n = 100
        self.delivery_n = 2_000 if quick else 20_000
        self.catalog = example_catalog()
        self.order = sample_order(self.catalog)
        self.payload = encode(Envelope(type="order.placed", data=self.order, data_version=2, source="urn:bench"))
        self.run = uuid.uuid4().hex[:6]
        self.counter = 0

    def key(self, side: str) -> str:
        self.counter += 1
        return f"peer{self.run}:{side}:{self.counter}"

    async def start(self) -> None:
        from faststream.redis import RedisBroker

        self.redis = aioredis.Redis.from_url(self.url)
        self.broker = RedisBroker(self.url, logger=None)
        await self.broker.start()
        os.environ["PUBSUB_REDIS_URL"] = self.url  # the adapter reads its settings from the environment
        os.environ["PUBSUB_REDIS_PREFIX"] = f"peer{self.run}"
        self.bus = Bus(self.catalog, adapters={
            "kafka": "hipponot_pubsub.runtime.adapters.memory:memory_adapter_factory"},
                       retry=FAST_RETRY, idempotency_window=0)
        await self.bus.start()

    async def stop(self) -> None:
        await self.bus.stop()
        await self.broker.stop()
        await self.redis.aclose()

    # -- awaited publish ---------------------------------------------------------------------------------------

    async def raw_awaited(self) -> float:
        key = self.key("raw")
        started = time.perf_counter()
        for _ in range(self.awaited_n):
            await self.redis.xadd(key, {"d": self.payload})
        return self.awaited_n / (time.perf_counter() - started)

    async def faststream_awaited(self) -> float:
        key = self.key("fs")
        started = time.perf_counter()
        for _ in range(self.awaited_n):
            await self.broker.publish(self.payload, stream=key)
        return self.awaited_n / (time.perf_counter() - started)

    async def ours_awaited(self) -> float:
        started = time.perf_counter()
        for _ in range(self.awaited_n):
            await self.bus.publish("order.placed", self.order)
        return self.awaited_n / (time.perf_counter() - started)

    # -- delivery ----------------------------------------------------------------------------------------------

    async def raw_delivery(self) -> float:
        key = self.key("rawd")
        pipe = self.redis.pipeline(transaction=False)
        for _ in range(self.delivery_n):
            pipe.xadd(key, {"d": self.payload})
        await pipe.execute()
        await self.redis.xgroup_create(key, "g", id="0")
        done = 0
        started = time.perf_counter()
        while done < self.delivery_n:
            reply = await self.redis.xreadgroup("g", "c", {key: ">"}, count=IN_FLIGHT, block=1000)
            for _, entries in reply:
                ids = []
                for entry_id, fields in entries:
                    json.loads(fields[b"d"])
                    ids.append(entry_id)
                await self.redis.xack(key, "g", *ids)
                done += len(ids)
        return self.delivery_n / (time.perf_counter() - started)

    async def faststream_delivery(self) -> float:
        from faststream.redis import RedisBroker, StreamSub

        key = self.key("fsd")
        for start in range(0, self.delivery_n, 500):
            async with self.broker._connection.pipeline(transaction=False) as pipe:  # FastStream's own format
                for _ in range(min(500, self.delivery_n - start)):
                    await self.broker.publish(self.payload, stream=key, pipeline=pipe)
                await pipe.execute()
        consumer = RedisBroker(self.url, logger=None)
        done = asyncio.Event()
        handled = 0

        @consumer.subscriber(stream=StreamSub(key, group="g", consumer="c", last_id="0", max_records=IN_FLIGHT))
        async def handle(body: dict[str, Any]) -> None:
            nonlocal handled
            handled += 1
            if handled == self.delivery_n:
                done.set()

        started = time.perf_counter()
        await consumer.start()
        try:
            await asyncio.wait_for(done.wait(), 300)
            return self.delivery_n / (time.perf_counter() - started)
        finally:
            await consumer.stop()

    async def ours_delivery(self) -> float:
        """The bus delivering to the generated subscriber; a fresh group starts at the prefilled backlog."""
        adapter = self.bus.adapter_for("orders")
        await self.redis.delete(ChannelKeys.of(f"peer{self.run}", "orders").stream)
        message = Bus._message(self.bus.envelope("order.placed", self.order))
        for start in range(0, self.delivery_n, 500):
            await adapter.publish_many("orders", [message] * min(500, self.delivery_n - start))
        done = asyncio.Event()
        handled = 0

        async def handle(event: Envelope[Any]) -> None:
            nonlocal handled
            handled += 1
            if handled == self.delivery_n:
                done.set()

        subscriber = OrderPlacedSubscriber(self.bus, group=f"g{self.counter}", concurrency=IN_FLIGHT,
                                           start=StartAt.EARLIEST)
        self.counter += 1
        subscriber.handle = handle  # type: ignore[method-assign]
        started = time.perf_counter()
        await subscriber.start()
        try:
            await asyncio.wait_for(done.wait(), 300)
            return self.delivery_n / (time.perf_counter() - started)
        finally:
            await subscriber.stop()


async def measure(*, quick: bool = False, rounds: int | None = None, url: str | None = None) -> list[dict[str, Any]]:
    """Rows: ``{"measurement", "ours", "faststream", "raw"}`` in events/s."""
    if faststream_version() is None:
        raise RuntimeError("faststream is not installed (pip install 'faststream[redis]')")
    rounds = rounds or (1 if quick else 3)
    server = None if url else Server()
    peer = Peer(url or server.url, quick)  # type: ignore[union-attr]
    await peer.start()
    try:
        awaited = await interleaved(rounds * (5 if quick else 20), [
            ("raw", peer.raw_awaited), ("faststream", peer.faststream_awaited), ("ours", peer.ours_awaited)])
        delivery = await best_of(rounds, [
            ("raw", peer.raw_delivery), ("faststream", peer.faststream_delivery), ("ours", peer.ours_delivery)])
    finally:
        await peer.stop()
        if server is not None:
            server.stop()
    return [
        {"measurement": "awaited publish (ours validates first)", **awaited},
        {"measurement": f"group delivery, {IN_FLIGHT} per read (ours validates + builds the model)", **delivery},
    ]


def print_rows(rows: list[dict[str, Any]]) -> None:
    print(f"{'measurement':<70} {'raw':>9} {'FastStream':>10} {'ours':>9} {'ours/FS':>8} {'ours/raw':>8}")
    for row in rows:
        print(f"{row['measurement']:<70} {row['raw']:>9,.0f} {row['faststream']:>10,.0f} {row['ours']:>9,.0f} "
              f"{row['ours'] / row['faststream']:>7.2f}× {row['ours'] / row['raw']:>7.2f}×")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args(argv)
    print(f"faststream {faststream_version()}; python {sys.version.split()[0]}")
    print_rows(asyncio.run(measure(quick=args.quick, rounds=args.rounds)))


if __name__ == "__main__":
    main()
