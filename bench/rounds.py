"""The interleaved-rounds harness the broker adapter benchmarks share (``kafka_adapter``, ``nats_adapter``,
``rabbitmq_adapter``): every figure is the best of ``runs`` rounds after a warm-up round, each round running
every measurement once in turn, and each row compares our side with the raw client's on the same broker.

One copy of the method, so the three benchmarks measure, and print, alike; each module keeps its broker, its raw
client's baselines and its counts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from hipponot_pubsub.runtime.adapters.base import Message
from hipponot_pubsub.runtime.bus import Bus

CHANNEL = "notifications"
TYPE = "notification.requested"


class Rounds:
    """A benchmark's measurements and rows. Subclasses define ``awaited``, ``batched`` and ``delivery``
    (and ``clean`` when the broker keeps what a run declared) and name their raw client in ``raw_client``."""

    raw_client = "raw client"

    def __init__(self, runs: int, n_awaited: int, n_batched: int, n_delivery: int, example: dict[str, Any]) -> None:
        self.runs = runs
        self.n_awaited, self.n_batched, self.n_delivery = n_awaited, n_batched, n_delivery
        self.example = example
        self.rows: list[tuple[str, float, float, float]] = []
        #: rows measured against something other than ``raw_client``: row name -> that baseline's name
        self.baselines: dict[str, str] = {}

    def messages(self, bus: Bus, count: int) -> list[Message]:
        out = []
        for i in range(count):
            envelope = bus.envelope(TYPE, self.example, partition_key=f"recipient-{i % 50}")
            out.append(bus._message(envelope))  # exactly what bus.publish hands the adapter
        return out

    async def fill(self, bus: Bus) -> None:
        adapter = bus.adapter_for(CHANNEL)
        messages = self.messages(bus, self.n_delivery)
        for i in range(0, len(messages), 500):
            await adapter.publish_many(CHANNEL, messages[i:i + 500])

    async def best(self, **measures: Callable[[], Awaitable[float]]) -> dict[str, float]:
        """The best rate of each measurement over ``runs`` rounds, after a warm-up round. A round runs every
        measurement once, in turn: on a shared machine whose speed drifts over seconds, interleaving gives each
        side the same conditions (consecutive blocks per side made the ratio swing by ±30 %)."""
        rates: dict[str, list[float]] = {name: [] for name in measures}
        for round_ in range(self.runs + 1):
            for name, measure in measures.items():
                rate = await measure()
                if round_:
                    rates[name].append(rate)
        return {name: max(found) for name, found in rates.items()}

    def add(self, name: str, ours: float, raw: float, goal: float, baseline: str | None = None) -> None:
        self.rows.append((name, ours, raw, goal))
        if baseline is not None:
            self.baselines[name] = baseline
        print(f"  {name}: {ours:,.0f}/s vs {baseline or 'raw'} {raw:,.0f}/s = {ours / raw:.2f}×", flush=True)

    def baseline(self, name: str) -> str:
        """The baseline a row was measured against."""
        return self.baselines.get(name, self.raw_client)

    def table(self) -> str:
        lines = [f"| measurement | ours (ev/s) | {self.raw_client} (ev/s) | ratio | goal |",
                 "|---|---:|---:|---:|---:|"]
        for name, ours, raw, goal in self.rows:
            ok = "met" if ours / raw >= goal else "missed"
            goal_text = f"≥ {goal}× ({ok})" if goal else "reference"
            lines.append(f"| {name} | {ours:,.0f} | {raw:,.0f} | {ours / raw:.2f}× | {goal_text} |")
        return "\n".join(lines)

    async def awaited(self) -> None:
        raise NotImplementedError

    async def batched(self) -> None:
        raise NotImplementedError

    async def delivery(self) -> None:
        raise NotImplementedError

    async def clean(self) -> None:
        """Delete what the run declared on the broker; nothing by default."""

    async def measure_all(self) -> None:
        """Awaited publish, batched publish, then delivery (the rows' order), cleaning up after all."""
        try:
            await self.awaited()
            await self.batched()
            await self.delivery()
        finally:
            await self.clean()
