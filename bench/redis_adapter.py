"""How much does the Redis adapter cost on top of raw redis-py, against the same Redis in one run?

Run ``.venv/bin/python -m bench.redis_adapter [--quick] [--rounds N] [--profile]``.

A private ``redis-server`` is started on a free port (no persistence: this measures the client side). Both
sides use the same connection settings (the adapter's pool, RESP2) and the same payload: one ``order.placed``
v2 event encoded as the bus encodes it (~1 KB of CloudEvents JSON).

* **awaited publish**: one event at a time, each awaited. Raw: ``XADD key * d <payload>``. Ours:
  ``RedisAdapter.publish`` (XADD of one frame, headers and payload, with ``MAXLEN ~`` retention), and for reference
  ``Bus.publish`` (schema validation and encoding included).
* **batched publish**, 100 per batch. Raw: a non-transactional pipeline of 100 ``XADD``. Ours: the adapter's
  ``publish_many`` (one Lua script: all or nothing), and ``Bus.publish_many`` (each envelope built, validated
  and encoded first — the row the goal applies to, "validation included").
* **delivery** of a prefilled stream through a consumer group, 100 in flight. Raw: ``XREADGROUP COUNT 100``,
  ``json.loads`` of each payload, one ``XACK`` per batch. Ours: the bus with a plain handler (envelope parsed,
  validated against the JSON Schema, handler, acked; ``concurrency=100``) — the row the goal applies to — and,
  for reference, the generated ``OrderPlacedSubscriber`` (the same, plus reading the data into the pydantic
  model).

Publishing alternates raw and ours in short chunks (100 awaited events, 10 batches) and divides total events by
total time, so both sides meet the same disturbances on a shared machine; delivery runs alternate and keep each
side's best. Delivery is also measured at the adapter alone (consumed
like the raw loop), which separates the adapter's cost from the bus's validation and model reading. Nothing here
asserts on timings; the goals (≥ 0.9× raw awaited, ≥ 0.8× batched and delivery) are printed next to the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import cProfile
import json
import pstats
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from hipponot_pubsub.runtime.adapters.base import Adapter, StartAt
from hipponot_pubsub.runtime.adapters.redis import RedisAdapter, RedisSettings
from hipponot_pubsub.runtime.adapters.redis.connection import shared_client
from hipponot_pubsub.runtime.adapters.redis.keys import ChannelKeys
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.catalog import Catalog, ChannelSpec
from hipponot_pubsub.runtime.envelope import Envelope

from generated.subscribers import OrderPlacedSubscriber

ROOT = Path(__file__).resolve().parents[1]
BATCH = 100
IN_FLIGHT = 100


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            sys.exit("redis-server is not installed")
        self.port = _free_port()
        self.dir = tempfile.mkdtemp(prefix="bench-redis-")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        client.close()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def example_order() -> dict[str, Any]:
    from hipponot_pubsub.generator.registry import load_registry

    example = load_registry(ROOT / "schemas").event_version("order.placed", 2).schema["examples"][0]
    return copy.deepcopy(example)  # type: ignore[no-any-return]


async def interleaved(chunks: int, runs: Sequence[tuple[str, Callable[[], Awaitable[float]]]]) -> dict[str, float]:
    """Events/s of each run over ``chunks`` short chunks taken in turn: both sides see the same disturbances
    from other processes, so the ratio holds even when the absolute numbers wander. Each run returns events/s
    of its chunk; the result is the harmonic mean (total events over total time)."""
    seconds: dict[str, float] = {}
    for _ in range(chunks):
        for name, run in runs:
            seconds[name] = seconds.get(name, 0.0) + 1.0 / await run()
    return {name: chunks / total for name, total in seconds.items()}


async def best_of(rounds: int, runs: Sequence[tuple[str, Callable[[], Awaitable[float]]]]) -> dict[str, float]:
    """Events/s of each run, alternating them ``rounds`` times and keeping each one's best."""
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name, run in runs:
            best[name] = max(best.get(name, 0.0), await run())
    return best


class Bench:
    def __init__(self, server: Server, quick: bool, profile: bool) -> None:
        self.settings = RedisSettings(url=server.url, prefix="bench")
        self.raw = shared_client(self.settings)
        self.quick = quick
        self.profile = profile
        self.catalog = Catalog.from_package("generated")
        self.order = example_order()
        self.bus = Bus(self.catalog, adapters={"redis": self._redis, "kafka": "hipponot_pubsub.runtime.adapters.memory:"
                                               "memory_adapter_factory"})
        self._streams = 0

    def _redis(self, channels: Sequence[ChannelSpec]) -> Adapter:
        return RedisAdapter(channels, settings=self.settings)

    def fresh_key(self) -> str:
        self._streams += 1
        return f"bench:raw-{self._streams}"

    async def start(self) -> None:
        await self.bus.start()
        envelope = self.bus.envelope("order.placed", self.order)
        self.message = self.bus._message(envelope)  # the exact bytes and headers the bus hands the adapter
        self.payload = self.message.payload
        self.adapter = self.bus.adapter_for("orders")

    async def stop(self) -> None:
        await self.bus.stop()
        await self.raw.aclose()

    # -- publishing ----------------------------------------------------------------------------------------

    async def raw_awaited(self, n: int) -> float:
        key, fields = self.fresh_key(), {"d": self.payload}
        started = time.perf_counter()
        for _ in range(n):
            await self.raw.xadd(key, fields)  # type: ignore[arg-type]
        return n / (time.perf_counter() - started)

    async def ours_awaited(self, n: int) -> float:
        publish, message = self.adapter.publish, self.message
        started = time.perf_counter()
        for _ in range(n):
            await publish("orders", message)
        return n / (time.perf_counter() - started)

    async def bus_awaited(self, n: int) -> float:
        started = time.perf_counter()
        for _ in range(n):
            await self.bus.publish("order.placed", self.order)
        return n / (time.perf_counter() - started)

    async def raw_batched(self, n: int) -> float:
        key, fields = self.fresh_key(), {"d": self.payload}
        started = time.perf_counter()
        for _ in range(n // BATCH):
            async with self.raw.pipeline(transaction=False) as pipe:
                for _ in range(BATCH):
                    pipe.xadd(key, fields)  # type: ignore[arg-type]
                await pipe.execute()
        return n / (time.perf_counter() - started)

    async def ours_batched(self, n: int) -> float:
        batch = [self.message] * BATCH
        started = time.perf_counter()
        for _ in range(n // BATCH):
            await self.adapter.publish_many("orders", batch)
        return n / (time.perf_counter() - started)

    async def bus_batched(self, n: int) -> float:
        """``bus.publish_many``: each event's envelope built, validated and encoded, then one adapter batch."""
        bus, order = self.bus, self.order
        started = time.perf_counter()
        for _ in range(n // BATCH):
            await bus.publish_many([bus.envelope("order.placed", order) for _ in range(BATCH)])
        return n / (time.perf_counter() - started)

    # -- delivery ------------------------------------------------------------------------------------------

    async def raw_delivery(self, n: int) -> float:
        key = self.fresh_key()
        await self._prefill_raw(key, n)
        await self.raw.xgroup_create(key, "g", id="0")
        received = 0
        started = time.perf_counter()
        while received < n:
            reply: Any = await self.raw.xreadgroup("g", "c", {key: ">"}, count=IN_FLIGHT)
            entries = reply[0][1]
            for _, fields in entries:
                json.loads(fields[b"d"])
            await self.raw.xack(key, "g", *(entry_id for entry_id, _ in entries))
            received += len(entries)
        return n / (time.perf_counter() - started)

    async def _prefill_raw(self, key: str, n: int) -> None:
        fields = {"d": self.payload}
        for _ in range(n // BATCH):
            async with self.raw.pipeline(transaction=False) as pipe:
                for _ in range(BATCH):
                    pipe.xadd(key, fields)  # type: ignore[arg-type]
                await pipe.execute()

    async def _prefill_ours(self, n: int) -> None:
        await self.raw.delete(ChannelKeys.of(self.settings.prefix, "orders").stream)
        for _ in range(n // BATCH):
            await self.adapter.publish_many("orders", [self.message] * BATCH)

    async def adapter_delivery(self, n: int) -> float:
        """The adapter alone, consumed like the raw loop: ``json.loads`` each payload, ack each batch at once."""
        await self._prefill_ours(n)
        self._streams += 1
        subscription = await self.adapter.subscribe("orders", group=f"bench-{self._streams}", start=StartAt.EARLIEST,
                                                    max_in_flight=IN_FLIGHT)
        received = 0
        started = time.perf_counter()
        while received < n:
            batch = []
            while len(batch) < IN_FLIGHT and received < n:
                delivery = await subscription.next()
                assert delivery is not None
                json.loads(delivery.record.payload)
                batch.append(delivery.ack())
                received += 1
            await asyncio.gather(*batch)
        elapsed = time.perf_counter() - started
        await subscription.close()
        return n / elapsed

    async def bus_delivery(self, n: int, *, typed: bool) -> float:
        """The bus delivering a backlog that sits before the group's start: to a plain handler (decode, JSON
        Schema verdict, handler, ack), or ``typed`` to the generated subscriber (the same, plus the model)."""
        await self._prefill_ours(n)
        done = asyncio.Event()
        count = 0

        async def handle(event: Envelope[Any]) -> None:
            nonlocal count
            count += 1
            if count == n:
                done.set()

        self._streams += 1
        group = f"bench-{self._streams}"
        subscriber = OrderPlacedSubscriber(self.bus, group=group, concurrency=IN_FLIGHT, start=StartAt.EARLIEST)
        subscriber.handle = handle  # type: ignore[method-assign]
        profiler = cProfile.Profile() if self.profile and typed else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        if typed:
            await subscriber.start()
        else:
            subscriber.consumers = await self.bus.subscribe("order.placed", handle, group=group,
                                                            concurrency=IN_FLIGHT, start=StartAt.EARLIEST)
        await done.wait()
        elapsed = time.perf_counter() - started
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        await subscriber.stop()
        return n / elapsed

    async def run(self, rounds: int) -> list[tuple[str, float, float, float]]:
        """Short runs, many alternating rounds: the best of each side is its speed when the machine let it run."""
        awaited_n = 100
        batched_n = 1000
        delivery_n = 3000 if self.quick else 5000
        rows = []
        awaited = await interleaved(rounds * 20, [("raw", lambda: self.raw_awaited(awaited_n)),
                                         ("ours", lambda: self.ours_awaited(awaited_n)),
                                         ("bus", lambda: self.bus_awaited(awaited_n))])
        rows.append(("awaited publish (adapter)", awaited["raw"], awaited["ours"], 0.9))
        rows.append(("awaited publish (bus: validate+encode)", awaited["raw"], awaited["bus"], 0.0))
        batched = await interleaved(rounds * 10, [("raw", lambda: self.raw_batched(batched_n)),
                                         ("ours", lambda: self.ours_batched(batched_n)),
                                         ("bus", lambda: self.bus_batched(batched_n))])
        rows.append((f"batched publish ×{BATCH} (adapter)", batched["raw"], batched["ours"], 0.0))
        rows.append((f"batched publish ×{BATCH} (bus: validation included)", batched["raw"], batched["bus"], 0.8))
        delivery = await best_of(rounds * 2, [("raw", lambda: self.raw_delivery(delivery_n)),
                                              ("adapter", lambda: self.adapter_delivery(delivery_n)),
                                              ("validated", lambda: self.bus_delivery(delivery_n, typed=False)),
                                              ("bus", lambda: self.bus_delivery(delivery_n, typed=True))])
        rows.append((f"delivery, {IN_FLIGHT} in flight (adapter + json.loads)", delivery["raw"], delivery["adapter"],
                     0.8))
        rows.append(("delivery via bus, validated (JSON Schema verdict)", delivery["raw"], delivery["validated"], 0.8))
        rows.append(("delivery via bus, validated + typed model", delivery["raw"], delivery["bus"], 0.0))
        return rows


def print_table(rows: list[tuple[str, float, float, float]]) -> None:
    print(f"{'measurement':<48} {'raw ev/s':>10} {'ours ev/s':>10} {'ratio':>6}  goal")
    for name, raw, ours, goal in rows:
        mark = "" if not goal else ("ok" if ours / raw >= goal else "BELOW")
        goal_text = f"≥{goal:.1f}× {mark}" if goal else "(reference)"
        print(f"{name:<48} {raw:>10,.0f} {ours:>10,.0f} {ours / raw:>5.2f}×  {goal_text}")


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer events (a smoke run)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="scales the alternating rounds per measurement (3; quick 1)")
    parser.add_argument("--profile", action="store_true", help="cProfile our delivery run")
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 3)
    server = Server()
    bench = Bench(server, args.quick, args.profile)
    try:
        await bench.start()
        import redis
        from redis.utils import HIREDIS_AVAILABLE

        parser = "hiredis (both sides)" if HIREDIS_AVAILABLE else "pure-Python parsers (no hiredis)"
        print(f"redis-server on port {server.port}; redis-py {redis.__version__}; {parser}; "
              f"python {sys.version.split()[0]}; best of {rounds} round(s)")
        print_table(await bench.run(rounds))
    finally:
        await bench.stop()
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
