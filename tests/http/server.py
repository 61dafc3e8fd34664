"""A real uvicorn server for tests: in a background thread (``ServerThread``) or a child process (``ServerProcess``).

Readiness without sleeping: the thread server signals from the app's startup hook on a pre-bound, listening
socket (connections made before uvicorn accepts wait in the backlog); the child process prints one line with
its URL once its startup is complete, and the parent blocks reading that line.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import uvicorn
from hipponot_pubsub.runtime.http.app import GracefulServer
from litestar import Litestar

ROOT = Path(__file__).resolve().parents[2]


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # else ~40 ms per response (Nagle + delayed ACK)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class ServerThread:
    """``with ServerThread(app) as server: server.url``; leaving stops it (SSE streams ended first)."""

    def __init__(self, app: Litestar, *, graceful_timeout: float = 5.0) -> None:
        self.app = app
        self.sock = listening_socket()
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=graceful_timeout,
                                backlog=2048)
        self.server = GracefulServer(config)
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"uvicorn:{self.port}", daemon=True)
        self.error: BaseException | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def _run(self) -> None:
        async def started() -> None:
            self.loop = asyncio.get_running_loop()
            self._ready.set()

        self.app.on_startup.append(started)
        try:
            self.server.run(sockets=[self.sock])
        except BaseException as error:  # surfaced by start()/stop()
            self.error = error
        finally:
            self._ready.set()

    def start(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(30) or self.error is not None:
            raise RuntimeError(f"server did not start: {self.error!r}")
        return self

    def stop(self, timeout: float = 30.0) -> float:
        """Ask the server to exit; returns how long it took (seconds)."""
        import time

        started = time.perf_counter()
        self.server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError("server did not stop")
        return time.perf_counter() - started

    def call(self, coroutine: Any) -> Any:
        """Run a coroutine on the server's loop (e.g. to publish directly through its bus)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        if self._thread.is_alive():
            self.stop()


class ServerProcess:
    """``python -m hipponot_pubsub.runtime.http.cli serve`` in a child process; ``url`` once it is ready."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        command = [sys.executable, "-m", "hipponot_pubsub.runtime.http.cli", "serve", "--port", "0", "--announce",
                   *args]
        self.process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("pubsub serving on "):
            self.process.kill()
            _, err = self.process.communicate(timeout=10)
            raise RuntimeError(f"server did not start: {line!r}\n{err}")
        self.url = line.removeprefix("pubsub serving on ").strip()

    def interrupt(self, timeout: float = 30.0) -> float:
        """SIGINT, as Ctrl+C; returns the seconds until the process exited."""
        import signal
        import time

        started = time.perf_counter()
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout)
        return time.perf_counter() - started

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
