"""HTTP service benchmark, in one run (numbers are printed, never asserted):

1. single-event ``POST /events`` vs a bare Litestar endpoint taking the same typed body (``OrderPlacedV2``)
   on the same server (goal: publish ≥ 0.8 × bare);
2. batch publish (``POST /events/batch``, 1,000 events per request), events/s (goal ≥ 50,000/s per worker,
   in-memory adapter);
3. SSE fan-out: N subscribers (default 1,000) while publishing R events/s (default 1,000, in batches every
   10 ms): publish→receive latency p50/p99 measured on a sample of subscribers (the others drain their
   sockets without parsing) and the server's peak RSS (goals: p99 < 100 ms, < 300 MB).

The server runs in its own process (one uvicorn worker, memory adapters); load comes from this process and,
for the SSE readers, one more process. Usage: ``python bench/http.py [--subscribers 1000] [--rate 1000]``.
"""

from __future__ import annotations

import sys

# Run as a script, this file's folder comes first on sys.path, and this file would shadow the standard ``http``.
if sys.path and sys.path[0] == __import__("os").path.dirname(__import__("os").path.abspath(__file__)):
    del sys.path[0]

import argparse
import asyncio
import json
import os
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]  # else Nagle + delayed ACK cap each connection ~25 req/s
sys.path.insert(0, str(ROOT))


# -- server process ---------------------------------------------------------------------------------------------


def serve() -> None:
    import uvicorn
    from litestar import post
    from runtime.catalog import Catalog
    from runtime.http import GracefulServer, ServiceSettings, create_app

    from generated import OrderPlacedV2

    globals()["OrderPlacedV2"] = OrderPlacedV2  # annotations are strings here: Litestar resolves them in globals

    @post("/bare", status_code=202)
    async def bare(data: OrderPlacedV2) -> dict[str, str]:
        return {"id": "x", "position": "1"}

    settings = ServiceSettings(allow_anonymous=True, max_subscribers=100_000, sse_queue=100_000, heartbeat=15)
    app = create_app(Catalog.from_package("generated"), settings=settings, all_channels_on="memory")
    app.register(bare)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as runtime/http/cli.py does
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]

    async def ready() -> None:
        print(f"ready http://127.0.0.1:{port}", flush=True)

    app.on_startup.append(ready)
    config = uvicorn.Config(app, log_level="error", lifespan="on", backlog=4096, timeout_graceful_shutdown=2)
    GracefulServer(config).run(sockets=[sock])


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size of ``pid`` in MB, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


# -- 1. single publish vs bare ----------------------------------------------------------------------------------


async def _rate(url: str, path: str, body: bytes, headers: dict[str, str], seconds: float, concurrency: int) -> float:
    """Requests/s with ``concurrency`` keep-alive connections. The load generator is a minimal HTTP/1.1 client on
    asyncio streams: httpx tops out near 450 requests/s here, far below the server, and would measure itself."""
    host, port = url.removeprefix("http://").split(":")
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{head}Content-Length: {len(body)}\r\n\r\n").encode() + body
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while time.perf_counter() < deadline:
                writer.write(request)
                status_and_headers = await reader.readuntil(b"\r\n\r\n")
                status = int(status_and_headers[9:12])
                length = 0
                for line in status_and_headers.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                response = await reader.readexactly(length)
                if status != 202:
                    raise RuntimeError(f"{path}: {status} {response[:300]!r}")
                done += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def single_vs_bare(url: str, payload: dict[str, Any], seconds: float) -> dict[str, float]:
    json_headers = {"content-type": "application/json"}
    bare_body = json.dumps(payload).encode()
    event_body = json.dumps({"type": "order.placed", "data": payload}).encode()
    await _rate(url, "/bare", bare_body, json_headers, 1.0, 16)  # warm-up
    await _rate(url, "/events", event_body, json_headers, 1.0, 16)
    results: dict[str, list[float]] = {"bare": [], "publish": []}
    for _ in range(2):  # interleaved, so drift affects both
        results["bare"].append(await _rate(url, "/bare", bare_body, json_headers, seconds, 16))
        results["publish"].append(await _rate(url, "/events", event_body, json_headers, seconds, 16))
    bare, publish = max(results["bare"]), max(results["publish"])
    return {"bare_rps": bare, "publish_rps": publish, "ratio": publish / bare}


# -- 2. batch publish -------------------------------------------------------------------------------------------


async def batch_rate(url: str, payload: dict[str, Any], seconds: float, size: int = 1000) -> float:
    body = json.dumps([{"type": "order.placed", "data": payload}] * size).encode()
    requests_per_s = await _rate(url, "/events/batch", body, {"content-type": "application/cloudevents-batch+json"},
                                 seconds, 2)
    return requests_per_s * size


# -- 3. SSE fan-out ---------------------------------------------------------------------------------------------


def _now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


async def _reader(host: str, port: int, path: str, measure: bool, latencies: list[float], connected: list[int],
                  stop: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 22)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")  # response headers
    connected[0] += 1
    buffer = b""
    try:
        while not stop.is_set():
            chunk = await reader.read(1 << 20)
            if not chunk:
                break
            if not measure:
                continue
            received = time.time()
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if line.startswith(b"data: "):
                    sent = json.loads(line[6:])["time"]
                    latencies.append(received - datetime.fromisoformat(sent.replace("Z", "+00:00")).timestamp())
    finally:
        writer.close()


async def readers_main(url: str, count: int, sampled: int, seconds: float) -> None:
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    connected = [0]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_reader(host, int(port), "/channels/orders/events", i < sampled, latencies,
                                         connected, stop)) for i in range(count)]
    while connected[0] < count:
        await asyncio.sleep(0.05)
    print("connected", flush=True)
    line = await asyncio.to_thread(sys.stdin.readline)  # "measure" once the publisher starts
    latencies.clear()
    assert line.strip() == "measure"
    await asyncio.sleep(seconds)
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(latencies), flush=True)


async def fan_out(url: str, server_pid: int, payload: dict[str, Any], subscribers: int, rate: int,
                  seconds: float, sampled: int) -> dict[str, Any]:
    import httpx

    readers = subprocess.Popen([sys.executable, __file__, "--readers", url, str(subscribers), str(sampled),
                                str(seconds)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert readers.stdin is not None and readers.stdout is not None
    if readers.stdout.readline().strip() != "connected":
        raise RuntimeError("SSE readers did not connect")
    per_tick = max(1, rate // 100)
    peak = 0.0
    published = 0
    async with httpx.AsyncClient(base_url=url, timeout=30,
                                 transport=httpx.AsyncHTTPTransport(socket_options=NODELAY)) as http:
        readers.stdin.write("measure\n")
        readers.stdin.flush()
        started = time.perf_counter()
        tick = 0
        while time.perf_counter() - started < seconds:
            events = [{"type": "order.placed", "data": payload, "time": _now_rfc3339()} for _ in range(per_tick)]
            response = await http.post("/events/batch", json=events)
            response.raise_for_status()
            published += per_tick
            tick += 1
            if tick % 50 == 0:
                peak = max(peak, rss_mb(server_pid)[0])
            delay = started + tick * 0.01 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        elapsed = time.perf_counter() - started
    out, _ = readers.communicate(timeout=120)
    latencies = sorted(json.loads(out.strip().splitlines()[-1]))
    _, hwm = rss_mb(server_pid)

    def q(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")

    return {"subscribers": subscribers, "publish_rate": published / elapsed, "sampled_subscribers": sampled,
            "samples": len(latencies), "p50_ms": q(0.50), "p99_ms": q(0.99), "max_ms": q(1.0),
            "server_rss_mb": peak, "server_peak_rss_mb": hwm,
            "expected_samples": int(published * sampled)}


# -- main -------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--readers", nargs=4, metavar=("URL", "N", "SAMPLED", "SECONDS"), help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each measurement")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=1000, help="events/s during the fan-out")
    parser.add_argument("--sampled", type=int, default=20, help="subscribers whose latency is measured")
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if args.readers:
        url, count, sampled, seconds = args.readers
        asyncio.run(readers_main(url, int(count), int(sampled), float(seconds)))
        return

    from runtime.catalog import Catalog

    catalog = Catalog.from_package("generated")
    spec = catalog.spec("order.placed", 2)
    root = next(r for r in spec.bundle["resources"] if spec.bundle["root"] in r["uris"])
    payload = root["schema"]["examples"][0]
    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.startswith("ready "):
        raise SystemExit(f"server did not start: {line!r}")
    url = line.split()[1]
    print(f"server pid {server.pid} at {url}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")
    try:
        single = asyncio.run(single_vs_bare(url, payload, args.seconds))
        print(f"1. single event: publish {single['publish_rps']:.0f} req/s vs bare typed endpoint "
              f"{single['bare_rps']:.0f} req/s = {single['ratio']:.2f}x (goal >= 0.8x)")
        batch = asyncio.run(batch_rate(url, payload, args.seconds))
        print(f"2. batch publish: {batch:.0f} events/s with 1,000-event batches (goal >= 50,000/s)")
        fan = asyncio.run(fan_out(url, server.pid, payload, args.subscribers, args.rate, args.seconds * 2,
                                  args.sampled))
        print(f"3. SSE fan-out to {fan['subscribers']} subscribers at {fan['publish_rate']:.0f} events/s: "
              f"latency p50 {fan['p50_ms']:.1f} ms, p99 {fan['p99_ms']:.1f} ms, max {fan['max_ms']:.1f} ms "
              f"({fan['samples']} of {fan['expected_samples']} samples from {fan['sampled_subscribers']} "
              f"subscribers); server RSS {fan['server_rss_mb']:.0f} MB, peak {fan['server_peak_rss_mb']:.0f} MB "
              f"(goals p99 < 100 ms, < 300 MB)")
        print(json.dumps({"single": single, "batch_events_per_s": batch, "fan_out": fan}))
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
