"""A private RabbitMQ node (its own node name, ports and data directory) in a subprocess, for the restart test.

Heavy but feasible: an Erlang node boots in about 5-10 s here and takes ~100 MB. Readiness is event-driven:
wait for the boot line ``completed with N plugins`` on its output, then for an AMQP connection to succeed
(each bounded by a timeout); no sleeps. ``stop`` is ``SIGTERM`` (RabbitMQ shuts down cleanly), ``kill`` is
``SIGKILL`` (a crash); ``start`` again reuses the data directory, so what the node had stored survives. (After a
``SIGKILL``, RabbitMQ 3.10.8 here recovered classic and quorum queues at once but left a stream "down or
inaccessible" for over 40 s, so the restart test stops the node cleanly.)
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import uuid
from collections import deque
from pathlib import Path

SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
BOOT_TIMEOUT = 60.0


def available() -> bool:
    return SERVER.exists() and shutil.which("erl") is not None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PrivateRabbitMQ:
    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="pubsub-rabbitmq-"))
        self.port = free_port()
        self.dist_port = free_port()
        self.node = f"pubsub-{uuid.uuid4().hex[:8]}@localhost"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        (self.directory / "enabled_plugins").write_text("[].\n")
        # guest may log in from loopback only (the default); one listener, on our port.
        (self.directory / "rabbitmq.conf").write_text(f"listeners.tcp.default = 127.0.0.1:{self.port}\n")
        self.output: deque[str] = deque(maxlen=200)
        self.process: subprocess.Popen[str] | None = None
        self._booted = threading.Event()

    def start(self) -> None:
        directory = self.directory
        env = {**os.environ, "RABBITMQ_NODENAME": self.node, "RABBITMQ_NODE_PORT": str(self.port),
               "RABBITMQ_DIST_PORT": str(self.dist_port), "RABBITMQ_MNESIA_BASE": str(directory / "mnesia"),
               "RABBITMQ_LOG_BASE": str(directory / "log"), "RABBITMQ_CONFIG_FILE": str(directory / "rabbitmq.conf"),
               "RABBITMQ_ENABLED_PLUGINS_FILE": str(directory / "enabled_plugins"),
               "RABBITMQ_PID_FILE": str(directory / "pid"), "HOME": str(directory)}
        booted = self._booted = threading.Event()  # a new one: the killed node's reader sets its own at EOF
        self.process = subprocess.Popen([str(SERVER)], env=env, cwd=directory, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, errors="replace",
                                        start_new_session=True)
        threading.Thread(target=self._drain, args=(self.process, booted), daemon=True,
                         name=f"rabbitmq-{self.port}").start()
        if not booted.wait(BOOT_TIMEOUT) or self.process.poll() is not None:
            self.kill()
            raise RuntimeError("the private RabbitMQ did not start:\n" + "\n".join(self.output))

    def _drain(self, process: subprocess.Popen[str], booted: threading.Event) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.output.append(line.rstrip())
            if "completed with" in line and "plugins" in line:
                booted.set()
        booted.set()  # exited: stop waiting

    def stop(self) -> None:
        """SIGTERM the node: RabbitMQ's own clean shutdown."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL the node's whole process group (the Erlang VM and its helpers): a crash, not a shutdown."""
        self._signal(signal.SIGKILL)

    def _signal(self, which: signal.Signals) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            os.killpg(process.pid, which)
        process.wait(timeout=60)

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)
