"""The shop example (examples/shop) driven end to end: its own processes, real Redis, the Kafka-compatible broker,
and a real browser. Waiting is always on a condition (a line printed, an event seen) under a deadline."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "examples" / "shop" / "run.py"


class ShopProcess:
    """``examples/shop/run.py MODE --port 0`` in a child process; its output lines are queued for ``wait_for``."""

    def __init__(self, mode: str, env: dict[str, str] | None = None) -> None:
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.process = subprocess.Popen(
            [sys.executable, "-u", str(RUN), mode, "--port", "0"], cwd=ROOT, env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        threading.Thread(target=self._read, daemon=True, name=f"shop-{mode}").start()
        line = self.wait_for("shop ready at ", timeout=90)
        self.url = line.split()[3]

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def wait_for(self, prefix: str, timeout: float = 60.0, contains: str = "") -> str:
        """An output line (already printed or to come) starting with ``prefix`` and containing ``contains``;
        fails after ``timeout``."""
        for line in self.output:
            if line.startswith(prefix) and contains in line:
                return line
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no line {prefix!r}…{contains!r} within {timeout}s; output:\n"
                                     + "\n".join(self.output[-60:]))
            try:
                got = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if got is None:
                raise AssertionError(f"the shop exited ({self.process.wait()}); output:\n" + "\n".join(self.output))
            self.output.append(got)
            if got.startswith(prefix) and contains in got:
                return got

    def interrupt(self, timeout: float = 30.0) -> int:
        """Ctrl+C; returns the exit code (the shop must stop everything it started within ``timeout``)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(10)
            if self.process.stdout is not None:
                self.process.stdout.close()
