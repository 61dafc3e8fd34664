"""Two server processes against one Redis: a subscriber on each receives every event published to either, and a
client resumes on the other process with the id it got from the first (positions are Redis stream ids)."""

from __future__ import annotations

import asyncio
import importlib.util
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator

import httpx
import pytest
from hipponot_pubsub.runtime.catalog import Catalog

from .conftest import example, sse, take
from .server import ServerProcess

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("hipponot_pubsub.runtime.adapters.redis") is None,
                       reason="the Redis adapter (hipponot_pubsub.runtime.adapters.redis) does not exist yet"),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed"),
]


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:  # blocks until redis says it is ready
        if "Ready to accept connections" in line:
            break
    else:
        raise RuntimeError("redis-server did not start")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()


@pytest.fixture
def two_servers(redis_url: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    env = {"PUBSUB_REDIS_URL": redis_url, "PUBSUB_REDIS_PREFIX": f"t{uuid.uuid4().hex[:8]}"}
    first = ServerProcess("--all-channels-on", "redis", "--anonymous", "--log-level", "warning", env=env)
    try:
        second = ServerProcess("--all-channels-on", "redis", "--anonymous", "--log-level", "warning", env=env)
    except BaseException:
        first.stop()
        raise
    try:
        yield first, second
    finally:
        first.stop()
        second.stop()


async def test_fan_out_across_processes_and_resume_on_the_other(two_servers: tuple[ServerProcess, ServerProcess],
                                                                 catalog: Catalog) -> None:
    one, two = two_servers
    data = example(catalog, "order.placed")
    async with httpx.AsyncClient(base_url=one.url, timeout=10) as a, httpx.AsyncClient(base_url=two.url,
                                                                                     timeout=10) as b:
        async with sse(a, "/channels/orders/events") as on_one, sse(b, "/channels/orders/events") as on_two:
            published = []
            for http in (a, b, a, b, a, b):
                response = await http.post("/events", json={"type": "order.placed", "data": data})
                assert response.status_code == 202, response.text
                published.append(response.json())
            got_one = await asyncio.wait_for(take(on_one, 6), 15)
            got_two = await asyncio.wait_for(take(on_two, 6), 15)
        positions = [p["position"] for p in published]
        assert sorted(e.id for e in got_one) == sorted(positions)
        assert [e.id for e in got_one] == [e.id for e in got_two]  # one log, one order, seen from both processes
        resume_from = got_one[2].id
        async with sse(b, "/channels/orders/events", headers={"Last-Event-ID": resume_from}) as resumed:
            rest = await asyncio.wait_for(take(resumed, 3), 15)
        assert [e.id for e in rest] == [e.id for e in got_one[3:]]
