"""NATS servers for the tests: the machine's shared one (``scripts/services`` starts it), and private
``nats-server -js`` instances on free ports that fault tests stop and restart.

Waiting for a server is a condition (a TCP connect and the server's ``INFO`` line) polled under a deadline,
not a sleep.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

NATS_SERVER = shutil.which("nats-server") or ("/usr/sbin/nats-server" if Path("/usr/sbin/nats-server").exists()
                                                else None)
SHARED_URL = os.environ.get("PUBSUB_NATS_TEST_URL", "nats://127.0.0.1:4222")
START_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def answers(host: str, port: int) -> bool:
    """Whether a NATS server answers on ``host:port`` (it greets every connection with ``INFO {...}``)."""
    try:
        with socket.create_connection((host, port), timeout=0.5) as s:
            s.settimeout(0.5)
            return s.recv(5) == b"INFO "
    except OSError:
        return False


def require_shared_server() -> str:
    host_port = SHARED_URL.split("://", 1)[-1]
    host, _, port = host_port.rpartition(":")
    if not answers(host, int(port)):
        pytest.skip(f"no NATS server answers at {SHARED_URL} (scripts/services starts one)")
    return SHARED_URL


class NatsServer:
    """A private ``nats-server -js`` with its own store directory on a free port; ``restart`` keeps the port and
    the store, as a crashed and restarted production server would."""

    def __init__(self) -> None:
        if NATS_SERVER is None:
            pytest.skip("nats-server is not installed (apt-get install nats-server); scripts/services installs it")
        self.binary = NATS_SERVER
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.store = tempfile.mkdtemp(prefix="pubsub-nats-")
        self.process: subprocess.Popen[bytes] | None = None
        #: what follows the address and port on the command line (JetStream, with its store)
        self.arguments = ["-js", "-sd", self.store]

    def start(self) -> NatsServer:
        self.process = subprocess.Popen(
            [self.binary, "-a", "127.0.0.1", "-p", str(self.port), *self.arguments],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not answers("127.0.0.1", self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"nats-server did not answer on port {self.port} within {START_TIMEOUT}s")
            time.sleep(0.02)  # poll interval of the readiness condition
        return self

    def kill(self) -> None:
        """SIGKILL: no clean shutdown (what JetStream stored and acknowledged must still be there after)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.store, ignore_errors=True)
