"""A throw-away ``redis-server`` per test (or per session) on a free port, never the machine's shared Redis.

Tests stop and restart it to inject faults, so it is a plain subprocess the test owns. Waiting for it to come
up is a condition (a successful ``PING``) polled under a deadline, not a sleep.
"""

from __future__ import annotations

import atexit
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

REDIS_SERVER = shutil.which("redis-server")
START_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_redis_server() -> str:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server); .ci/run installs it")
    return REDIS_SERVER


class RedisServer:
    """``durable=True`` runs with ``appendonly yes`` and ``appendfsync always`` in a temp dir, so every write
    Redis acknowledged survives a kill and restart (without it a restarted server starts empty)."""

    def __init__(self, *, durable: bool = False, port: int | None = None) -> None:
        self.binary = require_redis_server()
        self.port = port or free_port()
        self.durable = durable
        self.dir = Path(tempfile.mkdtemp(prefix="pubsub-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir", str(self.dir),
                "--daemonize", "no", "--loglevel", "warning"]
        if self.durable:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.5)
        try:
            while True:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"redis-server on port {self.port} exited with {self.process.returncode}")
                try:
                    if client.ping():
                        return
                except redis.RedisError:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.01)  # polling a condition under a deadline
        finally:
            client.close()

    def kill(self) -> None:
        """Stop abruptly (SIGKILL): nothing is flushed beyond what ``appendfsync always`` already wrote."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)


_shared: RedisServer | None = None


def shared_server() -> RedisServer:
    """One server for the tests that only need *a* Redis (each uses its own channel names); stopped at exit."""
    global _shared
    if _shared is None:
        _shared = RedisServer().start()
        atexit.register(_shared.stop)
    return _shared
