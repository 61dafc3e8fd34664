"""HTTP service benchmark, in one run (numbers are printed, never asserted):

1. single-event ``POST /events`` vs a bare Litestar endpoint taking the same typed body (``OrderPlacedV2``)
   on the same server (goal: publish ≥ 0.8 × bare);
2. batch publish (``POST /events/batch``, 1,000 events per request), events/s (goal ≥ 50,000/s per worker,
   in-memory adapter);
3. SSE fan-out: N subscribers (default 1,000) while publishing R events/s (default 1,000, every 10 ms the
   events due, so a slow server gets bigger batches, not less load): publish→receive latency p50/p99 on a
   sample of subscribers spread over the connections (the others discard their bytes in the kernel), the POST's
   own share of it, the server's RSS, and CPU per process, so that the readers are seen not to be the
   bottleneck (goals: p99 < 100 ms, < 300 MB). It runs on a fresh server.

The server runs in its own process (one uvicorn worker, memory adapters, default settings: ``PUBSUB_*``
variables apply); load comes from this process and, for the SSE readers, one more process (a bare epoll
loop). Usage: ``python -m bench.http [--only 3] [--subscribers 1000] [--rate 1000]``; ``BENCH_PROFILE=FILE``
runs the server under cProfile and writes its stats to FILE.
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
import statistics
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
    from hipponot_pubsub.runtime.catalog import Catalog
    from hipponot_pubsub.runtime.http import GracefulServer, ServiceSettings, create_app
    from hipponot_pubsub.runtime.http.plugin import service_of
    from litestar import get, post

    from generated import OrderPlacedV2

    globals()["OrderPlacedV2"] = OrderPlacedV2  # annotations are strings here: Litestar resolves them in globals

    @post("/bare", status_code=202)
    async def bare(data: OrderPlacedV2) -> dict[str, str]:
        return {"id": "x", "position": "1"}

    @get("/bench/sse")
    async def sse_stats() -> dict[str, Any]:
        hub = service_of(app).streams
        return {"events": hub.sent_events, "writes": hub.writes, "stalled_writes": hub.stalled_writes,
                "streams": hub.active, "disconnects": hub.disconnects}

    # The default settings (PUBSUB_* variables apply, e.g. PUBSUB_SSE_LINGER_MS), but any number of streams.
    settings = ServiceSettings.from_env(allow_anonymous=True, max_subscribers=100_000)
    app = create_app(Catalog.from_package("generated"), settings=settings, all_channels_on="memory")
    app.register(bare)
    app.register(sse_stats)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as runtime/http/cli.py does
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)  # "ready" is printed at lifespan start-up, before uvicorn serves: connections wait, not fail
    port = sock.getsockname()[1]

    async def ready() -> None:
        loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
        protocol = config.http_protocol_class.__module__.rsplit(".", 1)[-1].removesuffix("_impl")
        print(f"ready http://127.0.0.1:{port} uvicorn {protocol} on {loop}", flush=True)

    app.on_startup.append(ready)
    config = uvicorn.Config(app, log_level="error", lifespan="on", backlog=4096, timeout_graceful_shutdown=2)
    profile = os.environ.get("BENCH_PROFILE")  # a file name: the server runs under cProfile and writes it there
    if profile:
        import cProfile
        import signal

        # uvicorn re-raises SIGTERM once it has shut down: make that an exception, so the profile gets written.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        profiler = cProfile.Profile()
        try:
            profiler.runcall(GracefulServer(config).run, sockets=[sock])
        finally:
            profiler.dump_stats(profile)
        return
    GracefulServer(config).run(sockets=[sock])


def cpu_seconds(pid: int, part: str = "both") -> float:
    """CPU time used so far by ``pid`` (``user``, ``system`` or ``both``), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    user, system = int(fields[11]), int(fields[12])
    ticks = {"user": user, "system": system}.get(part, user + system)
    return ticks / os.sysconf("SC_CLK_TCK")


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


async def batch_rate(url: str, payload: dict[str, Any], seconds: float, size: int = 1000,
                     server_pid: int | None = None) -> dict[str, float]:
    """Events/s over two keep-alive connections sending one pre-encoded body (the server always has the next
    request waiting), best of three runs after a warm-up, with the CPU (in cores) the server and this client
    used meanwhile: on a shared machine, ``events_per_s / server_cpu`` is what one free core would do."""
    body = json.dumps([{"type": "order.placed", "data": payload}] * size).encode()
    headers = {"content-type": "application/cloudevents-batch+json"}
    await _rate(url, "/events/batch", body, headers, 1.0, 2)  # warm-up
    best: dict[str, float] = {}
    for _ in range(3):
        server_before = cpu_seconds(server_pid) if server_pid else 0.0
        client_before, started = time.process_time(), time.perf_counter()
        events_per_s = await _rate(url, "/events/batch", body, headers, seconds / 3, 2) * size
        elapsed = time.perf_counter() - started
        if events_per_s > best.get("events_per_s", 0.0):
            best = {"events_per_s": events_per_s, "client_cpu": (time.process_time() - client_before) / elapsed,
                    "server_cpu": (cpu_seconds(server_pid) - server_before) / elapsed if server_pid else float("nan")}
    return best


# -- 3. SSE fan-out ---------------------------------------------------------------------------------------------


def _now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def readers_main(url: str, count: int, sampled: int) -> None:
    """The SSE clients, in a process of their own, on one bare ``epoll`` loop: a received chunk costs one
    ``recv`` and no more, so that 1,000 readers stay cheap next to the server they measure (asyncio's per-read
    machinery cost as much CPU as the server itself). ``sampled`` readers, spread evenly over the connections,
    find each event's ``time`` and record its latency; the others only count bytes.

    Protocol on stdin/stdout: prints ``connected`` once every stream has its response headers; ``measure``
    starts recording; ``stop N`` (N = events published) waits until each sampled reader has N events (at most
    10 s more) and prints ``{"latencies": [...], "missing": M, "dropped": D, "received_bytes": B}``."""
    import select

    host, port = url.removeprefix("http://").split(":")
    request = f"GET /channels/orders/events HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode()
    poll = select.epoll()
    socks: dict[int, socket.socket] = {}
    measured: set[int] = set()
    buffers: dict[int, bytes] = {}  # per socket: before the headers, the headers so far; after, a partial line
    waiting_headers: set[int] = set()
    for index in range(count):
        sock = socket.create_connection((host, int(port)))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(request)
        sock.setblocking(False)
        fd = sock.fileno()
        socks[fd] = sock
        buffers[fd] = b""
        waiting_headers.add(fd)
        if sampled and index % max(1, count // sampled) == 0 and len(measured) < sampled:
            measured.add(fd)  # spread over the connections: the server serves them in turn
        poll.register(fd, select.EPOLLIN)
    stdin = sys.stdin.fileno()
    poll.register(stdin, select.EPOLLIN)
    commands = b""
    latencies: list[float] = []
    recording = False
    expected: int | None = None
    deadline = float("inf")
    received = dropped = 0
    announced = False
    parse_time = datetime.fromisoformat
    sink = bytearray(1 << 20)
    while expected is None or (len(latencies) < expected and time.monotonic() < deadline):
        ready = poll.poll(0.5)
        now = time.time()
        for fd, _ in ready:
            if fd == stdin:
                commands += os.read(stdin, 1024)
                *lines, commands = commands.split(b"\n")
                for line in lines:
                    if line == b"measure":
                        recording = True
                        latencies.clear()
                        received = 0
                    elif line.startswith(b"stop "):
                        expected = int(line.split()[1]) * sampled
                        deadline = time.monotonic() + 10
                continue
            try:
                if not (fd in waiting_headers or (recording and fd in measured)):
                    # Not parsed: discarded in the kernel (tcp(7) MSG_TRUNC), not copied out, so that the readers'
                    # share of the machine's memory bandwidth (~0.9 GB/s at 1,000 x 1,000 events/s) stays small.
                    size = socks[fd].recv_into(sink, len(sink), socket.MSG_TRUNC)
                    if size:
                        received += size
                        continue
                    data = b""
                else:
                    data = socks[fd].recv(1 << 20)
            except BlockingIOError:
                continue
            if not data:
                poll.unregister(fd)
                dropped += 1
                continue
            received += len(data)
            if fd in waiting_headers:
                head, found, data = (buffers[fd] + data).partition(b"\r\n\r\n")
                if not found:
                    buffers[fd] = head
                    continue
                if not head.startswith(b"HTTP/1.1 200"):
                    raise SystemExit(f"SSE request refused: {head[:200]!r}")
                buffers[fd] = b""
                waiting_headers.discard(fd)
            if recording and fd in measured:
                # Each SSE event is written whole within one body chunk: no line is split by a chunk-size line.
                *lines, buffers[fd] = (buffers[fd] + data).split(b"\n")
                for line in lines:
                    if line.startswith(b"data: "):
                        start = line.find(b'"time":"') + 8
                        sent = parse_time(line[start:line.index(b'"', start)].decode()).timestamp()
                        latencies.append(now - sent)
        if not waiting_headers and not announced:
            announced = True
            print("connected", flush=True)
    for sock in socks.values():
        sock.close()
    print(json.dumps({"latencies": latencies, "missing": max(0, (expected or 0) - len(latencies)),
                      "dropped": dropped, "received_bytes": received}), flush=True)


async def fan_out(url: str, server_pid: int, payload: dict[str, Any], subscribers: int, rate: int,
                  seconds: float, sampled: int) -> dict[str, Any]:
    """Publish ``rate`` events/s for ``seconds`` while ``subscribers`` streams read them (in another process).

    The publisher keeps to its schedule whatever the server's answer time: every 10 ms it posts the events due
    by then, so a slow server gets bigger batches rather than less load. Each event's ``time`` is stamped when
    it is made; latency = its arrival at a sampled reader − that time (publish and fan-out together)."""
    import httpx

    rss_before, _ = rss_mb(server_pid)
    readers = subprocess.Popen([sys.executable, __file__, "--readers", url, str(subscribers), str(sampled)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert readers.stdin is not None and readers.stdout is not None
    if readers.stdout.readline().strip() != "connected":
        raise RuntimeError("SSE readers did not connect")
    peak = 0.0
    published = 0
    post_times: list[float] = []
    async with httpx.AsyncClient(base_url=url, timeout=30,
                                 transport=httpx.AsyncHTTPTransport(socket_options=NODELAY)) as http:
        readers.stdin.write("measure\n")
        readers.stdin.flush()
        before = (await http.get("/bench/sse")).json()
        pids = {"server": server_pid, "readers": readers.pid, "publisher": os.getpid()}
        cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        server_system = cpu_seconds(server_pid, "system")
        started = time.perf_counter()
        tick = 0
        while (now := time.perf_counter()) - started < seconds:
            due = min(int((now - started) * rate) + 1 - published, 1000)
            if due > 0:
                stamp = _now_rfc3339()
                events = [{"type": "order.placed", "data": payload, "time": stamp} for _ in range(due)]
                posted = time.perf_counter()
                response = await http.post("/events/batch", json=events)
                post_times.append(time.perf_counter() - posted)
                response.raise_for_status()
                published += due
            tick += 1
            if tick % 20 == 0:
                peak = max(peak, rss_mb(server_pid)[0])
            delay = started + tick * 0.01 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
        elapsed = time.perf_counter() - started
        cpu = {name: (cpu_seconds(pid) - cpu_before[name]) / elapsed for name, pid in pids.items()}
        cpu["server_system"] = (cpu_seconds(server_pid, "system") - server_system) / elapsed  # mostly send()
        after = (await http.get("/bench/sse")).json()
    readers.stdin.write(f"stop {published}\n")
    readers.stdin.flush()
    out, _ = readers.communicate(timeout=120)
    report = json.loads(out.strip().splitlines()[-1])
    latencies = sorted(report["latencies"])
    _, hwm = rss_mb(server_pid)

    def q(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")

    return {"subscribers": subscribers, "publish_rate": published / elapsed, "sampled_subscribers": sampled,
            "samples": len(latencies), "missing": report["missing"], "dropped": report["dropped"],
            "p50_ms": q(0.50), "p99_ms": q(0.99),
            "publish_p50_ms": statistics.median(post_times) * 1000,
            "publish_p99_ms": sorted(post_times)[int(0.99 * len(post_times))] * 1000,
            "max_ms": q(1.0), "server_rss_mb": peak, "server_peak_rss_mb": hwm, "server_rss_before_mb": rss_before,
            "expected_samples": int(published * sampled),
            "received_mb_per_s": report["received_bytes"] / elapsed / 1e6,
            "cpu": {name: round(share, 2) for name, share in cpu.items()},
            # Server side, during the measurement: writes (one send each) per stream and second, the server's CPU
            # time per write, writes a full socket held up, streams the server ended.
            "writes_per_stream_s": (after["writes"] - before["writes"]) / subscribers / elapsed,
            "server_us_per_write": cpu["server"] * elapsed / max(1, after["writes"] - before["writes"]) * 1e6,
            "stalled_writes": after["stalled_writes"] - before["stalled_writes"],
            "server_disconnects": {k: v - before["disconnects"].get(k, 0) for k, v in after["disconnects"].items()
                                   if v - before["disconnects"].get(k, 0)}}


# -- main -------------------------------------------------------------------------------------------------------


def start_server() -> tuple[subprocess.Popen[str], str]:
    """The server process (``--serve``) and its URL, once it is ready."""
    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(
                                  filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))})
    assert server.stdout is not None
    line = server.stdout.readline()
    if not line.startswith("ready "):
        raise SystemExit(f"server did not start: {line!r}")
    url = line.split()[1]
    print(f"server pid {server.pid} at {url} ({' '.join(line.split()[2:])}); {os.cpu_count()} CPUs; "
          f"Python {sys.version.split()[0]}")
    return server, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--readers", nargs=3, metavar=("URL", "N", "SAMPLED"), help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each measurement")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=1000, help="events/s during the fan-out")
    parser.add_argument("--sampled", type=int, default=20, help="subscribers whose latency is measured")
    parser.add_argument("--only", type=int, choices=(1, 2, 3), action="append", metavar="N",
                        help="run only section N (repeatable; default: all)")
    args = parser.parse_args()
    if args.serve:
        serve()
        return
    if args.readers:
        url, count, sampled = args.readers
        readers_main(url, int(count), int(sampled))
        return

    from hipponot_pubsub.runtime.catalog import Catalog

    catalog = Catalog.from_package("generated")
    spec = catalog.spec("order.placed", 2)
    root = next(r for r in spec.bundle["resources"] if spec.bundle["root"] in r["uris"])
    payload = root["schema"]["examples"][0]
    sections = set(args.only or (1, 2, 3))
    server, url = start_server()
    results: dict[str, Any] = {}
    try:
        if 1 in sections:
            single = results["single"] = asyncio.run(single_vs_bare(url, payload, args.seconds))
            print(f"1. single event: publish {single['publish_rps']:.0f} req/s vs bare typed endpoint "
                  f"{single['bare_rps']:.0f} req/s = {single['ratio']:.2f}x (goal >= 0.8x)")
        if 2 in sections:
            batch = asyncio.run(batch_rate(url, payload, args.seconds, server_pid=server.pid))
            results["batch_events_per_s"], results["batch_cpu"] = batch["events_per_s"], batch
            print(f"2. batch publish: {batch['events_per_s']:.0f} events/s with 1,000-event batches (goal >= "
                  f"50,000/s); CPU in cores: server {batch['server_cpu']:.2f}, client {batch['client_cpu']:.2f}")
        if 3 in sections:
            if sections & {1, 2}:
                # A fresh server: 1 and 2 fill the orders channel's in-memory history (maxlen 100,000 in the
                # registry: ~450 MB, and full garbage collections of ~70 ms), which is not the fan-out's doing.
                server.terminate()
                server.wait(30)
                server, url = start_server()
            fan = results["fan_out"] = asyncio.run(fan_out(url, server.pid, payload, args.subscribers, args.rate,
                                                           args.seconds * 2, args.sampled))
            print(f"3. SSE fan-out to {fan['subscribers']} subscribers at {fan['publish_rate']:.0f} events/s: "
                  f"latency p50 {fan['p50_ms']:.1f} ms, p99 {fan['p99_ms']:.1f} ms, max {fan['max_ms']:.1f} ms "
                  f"(of which the POST itself p50 {fan['publish_p50_ms']:.1f} ms, p99 {fan['publish_p99_ms']:.1f} ms) "
                  f"({fan['samples']} of {fan['expected_samples']} samples from {fan['sampled_subscribers']} "
                  f"subscribers, {fan['dropped']} streams dropped); server RSS {fan['server_rss_mb']:.0f} MB "
                  f"({fan['server_rss_before_mb']:.0f} MB before the streams opened), "
                  f"peak {fan['server_peak_rss_mb']:.0f} MB (goals p99 < 100 ms, < 300 MB); "
                  f"CPU in cores {fan['cpu']}; {fan['writes_per_stream_s']:.1f} writes per stream and s, "
                  f"{fan['server_us_per_write']:.0f} us of server CPU per write")
        print(json.dumps(results))
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
