"""Limits (413 body and batch, 503 + Retry-After over the subscriber limit, slow clients cut off) and shutdown
with open streams (the server does not wait for its SSE clients)."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.http.plugin import service_of
from hipponot_pubsub.runtime.testing import wait_until
from httpx_sse import EventSource

from .conftest import ServerFactory, example, sse, take
from .server import ServerProcess, ServerThread


async def test_body_too_large(start_server: ServerFactory, catalog: Catalog) -> None:
    server = start_server(max_body_bytes=2000)
    data = example(catalog, "user.registered")
    big = json.dumps({"type": "user.registered", "data": data, "subject": "x" * 3000}).encode()

    async def chunked() -> object:
        yield big

    async with httpx.AsyncClient(base_url=server.url) as http:
        for body in (big, chunked()):  # with and without Content-Length
            response = await http.post("/events", content=body, headers={"content-type": "application/json"})
            assert response.status_code == 413, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
        ok = await http.post("/events", json={"type": "user.registered", "data": data})
        assert ok.status_code == 202
        assert (await http.get("/registry/types")).status_code == 200


async def test_batch_too_large(start_server: ServerFactory, catalog: Catalog) -> None:
    server = start_server(max_batch=3)
    event = {"type": "user.registered", "data": example(catalog, "user.registered")}
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post("/events/batch", json=[event] * 4)
        assert response.status_code == 413 and response.json()["max_batch"] == 3
        assert (await http.post("/events/batch", json=[event] * 3)).status_code == 202


async def test_subscriber_limit_answers_503_with_retry_after(start_server: ServerFactory) -> None:
    server = start_server(max_subscribers=2, retry_after=7)
    hub = service_of(server.app).streams
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        async with sse(http, "/channels/users/events"), sse(http, "/channels/orders/events"):
            response = await http.get("/channels/users/events")
            assert response.status_code == 503
            assert response.headers["retry-after"] == "7"
            assert response.json()["type"].endswith("too-many-subscribers")
        server.call(wait_until(lambda: hub.active == 0))
        async with sse(http, "/channels/users/events"):
            pass


async def test_slow_client_is_cut_off_and_resumes_without_gap(start_server: ServerFactory, catalog: Catalog) -> None:
    server = start_server(sse_queue=5, slow_client_grace=0.2)
    service = service_of(server.app)
    data = example(catalog, "order.placed")
    transport = httpx.AsyncHTTPTransport(socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)])
    received: list[str] = []
    async with httpx.AsyncClient(base_url=server.url, transport=transport, timeout=10) as http:
        async with http.stream("GET", "/channels/orders/events") as response:
            events = EventSource(response).aiter_sse()
            await anext(events)  # attached; now stop reading while much is published
            envelopes = [service.bus.envelope("order.placed", data) for _ in range(8000)]
            positions = [r.position for r in server.call(service.bus.publish_many(envelopes))]
            server.call(wait_until(lambda: service.streams.disconnects["slow"] >= 1, timeout=20))
            try:  # the closing comment, or (if it could not be written in time) an abruptly ended body
                async for event in events:
                    if event.data:
                        received.append(event.id)
            except httpx.HTTPError:
                pass
        assert len(received) < len(positions)
        async with sse(http, "/channels/orders/events", headers={"Last-Event-ID": received[-1]}) as rest:
            resumed = await asyncio.wait_for(take(rest, len(positions) - len(received)), 20)
    assert received + [e.id for e in resumed] == positions


async def test_a_full_socket_holds_up_a_write_without_loss_or_cut_off(start_server: ServerFactory,
                                                                       catalog: Catalog) -> None:
    """The tail writes to idle streams itself; a write a full socket cannot take is finished by the stream's own
    task once the client reads again: nothing lost, nothing reordered, and the stream goes on."""
    server = start_server(sse_queue=100_000, sse_buffer_bytes=1 << 30)
    service = service_of(server.app)
    hub = service.streams
    data = example(catalog, "order.placed")
    # A small receive buffer, not tiny: with a few KB, window updates wait on delayed ACKs and reading crawls.
    transport = httpx.AsyncHTTPTransport(socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)])
    received: list[str] = []
    async with (httpx.AsyncClient(base_url=server.url, transport=transport, timeout=10) as http,
                http.stream("GET", "/channels/orders/events") as response):
        events = EventSource(response).aiter_sse()
        await anext(events)  # attached and idle: from now on the tail writes to it
        # More than the kernel's socket buffers (up to 4 MB on loopback) and the transport's take: ~7 MB.
        envelopes = [service.bus.envelope("order.placed", data) for _ in range(8000)]
        positions = [r.position for r in server.call(service.bus.publish_many(envelopes))]
        server.call(wait_until(lambda: hub.stalled_writes >= 1, timeout=20))  # not reading meanwhile
        async with asyncio.timeout(20):
            async for event in events:
                if event.data:
                    received.append(event.id)
                    if len(received) == len(positions):
                        break
        [live] = server.call(service.bus.publish_many([service.bus.envelope("order.placed", data)]))
        async with asyncio.timeout(10):
            async for event in events:
                if event.data:
                    assert event.id == live.position
                    break
    assert received == positions
    assert hub.disconnects["slow"] == 0 and hub.disconnects["error"] == 0


async def test_streams_ended_on_a_quiet_channel_are_not_kept(start_server: ServerFactory) -> None:
    """Idle streams are registered with their channel's tail until its next flush; on a channel without events
    that may never come, so the ended ones must not pile up there."""
    server = start_server()
    hub = service_of(server.app).streams
    async with (httpx.AsyncClient(base_url=server.url, timeout=10) as http,
                sse(http, "/channels/users/events")):  # one stream stays open throughout
        for _ in range(300):
            async with sse(http, "/channels/users/events"):
                pass
        server.call(wait_until(lambda: hub.active == 1, timeout=10))
        tail = hub.tails["users"]
        assert len(tail._waiting) <= 2 * len(tail.clients) + 65


async def test_shutdown_ends_open_streams_promptly(start_server: ServerFactory) -> None:
    server: ServerThread = start_server()
    server.server.config.timeout_graceful_shutdown = 60  # were the server to wait for the streams, it would show
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        streams = [http.stream("GET", f"/channels/{c}/events") for c in ("orders", "users", "users")]
        responses = [await s.__aenter__() for s in streams]
        stopping = asyncio.create_task(asyncio.to_thread(server.stop))
        for response in responses:
            lines = [line async for line in response.aiter_lines()]
            assert ": stream closed: shutdown" in lines
        took = await stopping
        for s in streams:
            await s.__aexit__(None, None, None)
    assert took < 10


def test_ctrl_c_with_open_streams_exits_promptly() -> None:
    server = ServerProcess("--memory", "--anonymous", "--graceful-timeout", "60", env={"PUBSUB_SSE_HEARTBEAT": "60"})
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            contexts = [http.stream("GET", "/channels/users/events") for _ in range(3)]
            responses = [c.__enter__() for c in contexts]
            assert all(r.status_code == 200 for r in responses)
            took = server.interrupt()
            for response in responses:
                assert ": stream closed: shutdown" in list(response.iter_lines())
            for c in contexts:
                c.__exit__(None, None, None)
        assert took < 10 and server.process.returncode in (0, -2)  # uvicorn re-raises SIGINT after shutdown
    finally:
        server.stop()
