"""Server-Sent Event streams of a channel: resume without gap or duplicate, heartbeats, slow clients cut off.

Shape: one **tail** per channel and process (one adapter subscription, started the first time someone streams
the channel) formats each event once (``id:`` position, ``event:`` type, ``data:`` the envelope bytes as
stored) and hands the bytes to every attached **client**: the work per event is a loop over the clients, not
a broker subscription per client. Each client has a bounded buffer (``sse_queue`` events); a client whose
buffer is full is too slow: it is sent a closing comment and disconnected, and it resumes with its last id.

Resuming after a position ``P`` (``Last-Event-ID`` or ``?after=``) pages through ``history(after=P)`` and
joins the tail where the two meet: the tail keeps the positions of its most recent events (``window``), so
the first history record the tail also holds is where the client switches over. Positions are compared for
equality only (they are opaque). A client joining at the live end (no position) is first sent an id-only
block with the newest position, so that a client which drops before any event arrives still resumes from
there, without gap.

Heartbeats: a ``: keep-alive`` comment after ``heartbeat`` seconds without a write (one timer for all
clients). Shutdown: ``StreamHub.begin_shutdown`` ends every stream with a comment at once; a client that does
not take it within ``slow_client_grace`` is cut off, so a server never waits on its SSE clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from litestar.response import Stream
from litestar.response.streaming import ASGIStreamingResponse
from litestar.types import HTTPResponseBodyEvent, Receive, Scope, Send

from ..adapters.base import Adapter, Record, StartAt, Subscription
from ..jsonparse import dump_json, parse_json
from .settings import ServiceSettings

logger = logging.getLogger("runtime.http.sse")

EVENT_STREAM = "text/event-stream"
HISTORY_PAGE = 500
TAIL_WINDOW = 10_000
WRITE_EVENTS = 64  # events joined into one write at most

#: Why a stream ended (also the label of the disconnect metric).
REASONS = ("client", "slow", "shutdown", "error", "closed")


def event_type_of(record: Record) -> str:
    """The CloudEvents type of a stored record: from its ``ce-type`` header, else from the payload."""
    found = record.headers.get("ce-type")
    if found:
        return found
    try:
        wire = parse_json(record.payload)
    except Exception:
        return "unknown"
    value = wire.get("type") if isinstance(wire, dict) else None
    return value if isinstance(value, str) else "unknown"


def _one_line(value: str) -> bytes:
    return value.replace("\r", "").replace("\n", "").encode("utf-8")


def format_event(position: str, event_type: str, payload: bytes) -> bytes:
    """One SSE event. The envelope bytes are compact JSON (one line); anything else is re-encoded first."""
    if b"\n" in payload or b"\r" in payload:
        payload = dump_json(parse_json(payload))
    return b"id: " + _one_line(position) + b"\nevent: " + _one_line(event_type) + b"\ndata: " + payload + b"\n\n"


def comment(text: str) -> bytes:
    return b": " + _one_line(text) + b"\n\n"


class SSEClient:
    """One open stream: what it wants (types), its bounded buffer and why it ends."""

    __slots__ = ("buffer", "ending", "grace", "heartbeat_due", "last_write", "limit", "notify", "on_abort",
                 "ready", "skip_until", "types")

    def __init__(self, types: frozenset[str] | None, limit: int, grace: float = 1.0,
                 notify: Callable[[SSEClient], None] | None = None) -> None:
        self.types = types
        self.limit = limit
        self.grace = grace
        self.buffer: list[bytes] = []
        self.ready = asyncio.Event()
        #: How the tail wakes the stream when its buffer stops being empty (the hub's coalescing flush).
        self.notify = notify
        #: Set by the response: cuts the connection (a client told to go that does not take the closing comment).
        self.on_abort: Callable[[], None] | None = None
        self.ending: str | None = None
        self.heartbeat_due = False
        self.last_write = time.monotonic()
        self.skip_until: str | None = None

    def wants(self, event_type: str) -> bool:
        return self.types is None or event_type in self.types

    def offer(self, position: str, event_type: str, chunk: bytes) -> bool:
        """Called by the tail for each event, in order; True when the buffer is more than half full."""
        if self.ending is not None:
            return False
        if self.skip_until is not None:
            if position == self.skip_until:
                self.skip_until = None
            return False
        if self.types is not None and event_type not in self.types:
            return False
        buffered = len(self.buffer)
        if buffered >= self.limit:
            self.end("slow")
            return False
        self.buffer.append(chunk)
        if buffered * 2 >= self.limit or self.notify is None:
            self.ready.set()  # filling up: write now
            return buffered * 2 >= self.limit
        if not buffered:
            self.notify(self)
        return False

    def end(self, reason: str) -> None:
        """Stop: the stream sends a closing comment; a client that does not take it in ``grace`` s is cut off."""
        if self.ending is None:
            self.ending = reason
            self.buffer.clear()
            self.ready.set()
            asyncio.get_running_loop().call_later(self.grace, self.abort)

    def abort(self) -> None:
        if self.on_abort is not None:
            self.on_abort()


class ChannelTail:
    """The one adapter subscription of a channel in this process, fanning each event out to the clients."""

    def __init__(self, adapter: Adapter, channel: str, window: int = TAIL_WINDOW) -> None:
        self.adapter = adapter
        self.channel = channel
        self.window = window
        self.clients: set[SSEClient] = set()
        self.head: str | None = None  # position of the newest event the tail has seen
        self.seq = 0  # events seen
        self._recent: deque[tuple[str, str, bytes]] = deque()
        self._index: dict[str, int] = {}  # position -> seq
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None
        self.failed = False

    async def start(self) -> None:
        self.head = await self.adapter.last_position(self.channel)
        start = StartAt.EARLIEST if self.head is None else StartAt.after(self.head)
        self._subscription = await self.adapter.subscribe(self.channel, start=start, max_in_flight=64)
        self._task = asyncio.create_task(self._run(), name=f"pubsub-sse-tail:{self.channel}")

    async def _run(self) -> None:
        assert self._subscription is not None
        reason = "closed"
        try:
            async for delivery in self._subscription:
                record = delivery.record
                await delivery.ack()
                if self._append(record):
                    # A client's buffer is filling up: let the streams write before reading on, so a burst
                    # (a big batch on the memory adapter arrives all at once) does not cut off fast clients.
                    await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("SSE tail of channel %r failed", self.channel)
            reason = "error"
        self.failed = True
        for client in list(self.clients):
            client.end(reason)

    def _append(self, record: Record) -> bool:
        event_type = event_type_of(record)
        chunk = format_event(record.position, event_type, record.payload)
        self.seq += 1
        self.head = record.position
        self._recent.append((record.position, event_type, chunk))
        self._index[record.position] = self.seq
        if len(self._recent) > self.window:
            old, _, _ = self._recent.popleft()
            self._index.pop(old, None)
        pressed = False
        for client in self.clients:
            pressed = client.offer(record.position, event_type, chunk) or pressed
        return pressed

    def holds(self, position: str) -> bool:
        return position in self._index

    def seq_of(self, position: str) -> int:
        return self._index[position]

    @property
    def first_seq(self) -> int:
        return self.seq - len(self._recent) + 1

    def page(self, next_seq: int, limit: int, client: SSEClient) -> tuple[list[bytes], str, int]:
        """Up to ``limit`` held entries from ``next_seq`` that ``client`` wants; the last position looked at
        and the next seq."""
        start = next_seq - self.first_seq
        stop = min(start + limit, len(self._recent))
        out: list[bytes] = []
        position = ""
        for index in range(start, stop):
            position, event_type, chunk = self._recent[index]
            if client.wants(event_type):
                out.append(chunk)
        return out, position, next_seq + (stop - start)

    def attach(self, client: SSEClient) -> None:
        """Attach ``client`` at the live end: it is offered every event the tail sees from now on."""
        self.clients.add(client)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self._subscription is not None:
            with contextlib.suppress(Exception):
                await self._subscription.close()
        for client in list(self.clients):
            client.end("closed")


class StreamHub:
    """Every SSE stream of a service: tails per channel, the subscriber limit, heartbeats and shutdown."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.clients: set[SSEClient] = set()
        self.tails: dict[str, ChannelTail] = {}
        self.closing = False
        self.sent_events = 0
        self.disconnects: dict[str, int] = dict.fromkeys(REASONS, 0)
        self._tail_locks: dict[str, asyncio.Lock] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._dirty: list[SSEClient] = []
        self._flush_at: asyncio.TimerHandle | None = None

    def _notify(self, client: SSEClient) -> None:
        """A client's buffer stopped being empty: wake it with the others at the next flush (``sse_linger``
        seconds at most), so that a burst of events becomes one write per client rather than one per event."""
        self._dirty.append(client)
        if self._flush_at is None:
            self._flush_at = asyncio.get_running_loop().call_later(self.settings.sse_linger, self._flush)

    def _flush(self) -> None:
        self._flush_at = None
        dirty, self._dirty = self._dirty, []
        for client in dirty:
            client.ready.set()

    @property
    def active(self) -> int:
        return len(self.clients)

    def full(self) -> bool:
        return len(self.clients) >= self.settings.max_subscribers

    async def start(self) -> None:
        self.closing = False
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._heartbeats(), name="pubsub-sse-heartbeats")

    async def _heartbeats(self) -> None:
        interval = min(max(self.settings.heartbeat / 4, 0.05), 1.0)
        while True:
            await asyncio.sleep(interval)
            due = time.monotonic() - self.settings.heartbeat
            for client in self.clients:
                if client.last_write <= due and not client.heartbeat_due:
                    client.heartbeat_due = True
                    client.ready.set()

    def begin_shutdown(self) -> None:
        """End every stream now (each gets a closing comment); refuse new ones. Safe to call more than once."""
        self.closing = True
        for client in list(self.clients):
            client.end("shutdown")

    async def stop(self) -> None:
        self.begin_shutdown()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(BaseException):
                await self._ticker
            self._ticker = None
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush()
        tails, self.tails = self.tails, {}
        for tail in tails.values():
            await tail.close()

    async def tail(self, adapter: Adapter, channel: str) -> ChannelTail:
        found = self.tails.get(channel)
        if found is not None and not found.failed:
            return found
        lock = self._tail_locks.setdefault(channel, asyncio.Lock())
        async with lock:
            found = self.tails.get(channel)
            if found is None or found.failed:
                found = ChannelTail(adapter, channel)
                await found.start()
                self.tails[channel] = found
            return found

    def open(self, types: Iterable[str] | None) -> SSEClient:
        client = SSEClient(frozenset(types) if types is not None else None, self.settings.sse_queue,
                           self.settings.slow_client_grace, self._notify if self.settings.sse_linger > 0 else None)
        self.clients.add(client)
        return client

    async def events(self, adapter: Adapter, channel: str, client: SSEClient, after: str | None,
                     can_resume: bool) -> AsyncIterator[bytes]:
        """The bytes of one stream (see the module docstring). Ends when the client is ended."""
        tail: ChannelTail | None = None
        reason = "client"
        try:
            tail = await self.tail(adapter, channel)
            prelude = b"retry: " + str(self.settings.retry_ms).encode() + b"\n"
            if after is None or not can_resume:
                if tail.head is not None:
                    prelude += b"id: " + _one_line(tail.head) + b"\n"
                tail.attach(client)
                yield prelude + b"\n"
            else:
                yield prelude + b"\n"
                async for chunk in self._catch_up(adapter, channel, tail, client, after):
                    yield chunk
            client.last_write = time.monotonic()
            while True:
                if client.ending is not None:
                    reason = client.ending
                    yield comment(f"stream closed: {reason}")
                    return
                if client.buffer:
                    # At most WRITE_EVENTS per write: the events are shared bytes until joined, and a joined
                    # write is this client's own copy (held by the transport until the socket takes it).
                    if len(client.buffer) <= WRITE_EVENTS:
                        chunks, client.buffer = client.buffer, []
                    else:
                        chunks = client.buffer[:WRITE_EVENTS]
                        del client.buffer[:WRITE_EVENTS]
                    self.sent_events += len(chunks)
                    yield b"".join(chunks)
                    client.last_write = time.monotonic()
                    continue
                if client.heartbeat_due:
                    client.heartbeat_due = False
                    yield b": keep-alive\n\n"
                    client.last_write = time.monotonic()
                    continue
                client.ready.clear()
                await client.ready.wait()
        finally:
            if tail is not None:
                tail.clients.discard(client)
            self.clients.discard(client)
            if client.ending is not None:
                reason = client.ending
            self.disconnects[reason] = self.disconnects.get(reason, 0) + 1

    async def _catch_up(self, adapter: Adapter, channel: str, tail: ChannelTail, client: SSEClient,
                        after: str) -> AsyncIterator[bytes]:
        """History after ``after`` until it meets the tail, then the tail's window page by page, then attach at
        the live end. Nothing is sent twice, nothing skipped; the client's buffer only ever holds live events."""
        position = after
        next_seq: int | None = None  # in the tail's window: the next entry to send
        while client.ending is None:
            if next_seq is None and tail.holds(position):
                next_seq = tail.seq_of(position) + 1
            if next_seq is not None:
                if next_seq < tail.first_seq:  # the window moved past us while we were writing: back to history
                    next_seq = None
                    continue
                if next_seq > tail.seq:
                    tail.attach(client)
                    return
                out, position, next_seq = tail.page(next_seq, HISTORY_PAGE, client)
                if out:
                    self.sent_events += len(out)
                    yield b"".join(out)
                    client.last_write = time.monotonic()
                continue
            if position == tail.head:
                tail.attach(client)
                return
            seen = tail.seq
            records = await adapter.history(channel, after=position, limit=HISTORY_PAGE)
            out = []
            for record in records:
                if tail.holds(record.position):
                    next_seq = tail.seq_of(record.position)
                    break
                event_type = event_type_of(record)
                if client.wants(event_type):
                    out.append(format_event(record.position, event_type, record.payload))
                position = record.position
            if out:
                self.sent_events += len(out)
                yield b"".join(out)
                client.last_write = time.monotonic()
            if not records and tail.seq == seen:
                # The log has nothing after ``position`` and the tail saw nothing new meanwhile: what the tail
                # delivers from now on comes after it — except ``position`` itself, should the tail lag behind.
                client.skip_until = position
                tail.attach(client)
                return


class _SSEASGIResponse(ASGIStreamingResponse):
    """Litestar's streaming response, written by ONE task per stream (the request's own).

    The stream's bytes are sent straight from the iterator; no task group, no extra tasks to watch for the
    client's disconnect or for the cut-off of a client told to go. Both cancel the writing task instead: a
    ``receive`` callback (``http.disconnect``) and ``SSEClient.on_abort``. The only extra per stream is the
    pending ``receive()`` future, watched with a done-callback rather than a task of its own."""

    __slots__ = ("client", "on_close")

    def __init__(self, *, client: SSEClient, on_close: Callable[[], None] | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if self.on_close is not None:  # also when the body never started (client gone before the headers)
                self.on_close()

    async def send_body(self, send: Send, receive: Receive) -> None:
        writer = asyncio.current_task()
        assert writer is not None
        cut = False

        def stop() -> None:
            nonlocal cut
            if not cut:
                cut = True
                writer.cancel()

        listener: asyncio.Future[Any]

        def received(future: asyncio.Future[Any]) -> None:
            nonlocal listener
            if future.cancelled():
                return
            if future.exception() is not None or future.result().get("type") == "http.disconnect":
                stop()
            elif not cut:  # the (empty) request body: wait for the disconnect
                listener = asyncio.ensure_future(receive())
                listener.add_done_callback(received)

        listener = asyncio.ensure_future(receive())
        listener.add_done_callback(received)
        self.client.on_abort = stop
        iterator = self.iterator
        try:
            async for chunk in iterator:
                body: HTTPResponseBodyEvent = {"type": "http.response.body", "more_body": True,
                                               "body": chunk if isinstance(chunk, bytes) else chunk.encode()}
                await send(body)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not cut or writer.uncancel() > 0:  # someone else cancelled us too (server shutdown): propagate
                raise
        finally:
            self.client.on_abort = None
            listener.remove_done_callback(received)
            listener.cancel()
            close = getattr(iterator, "aclose", None)
            if close is not None:  # run the generator's clean-up now, not whenever it is garbage-collected
                with contextlib.suppress(Exception):
                    await close()


class EventStream(Stream):
    """The response of an SSE endpoint (``text/event-stream``, not cached, not buffered by proxies)."""

    def __init__(self, iterator: AsyncIterator[bytes], client: SSEClient,
                 on_close: Callable[[], None] | None = None) -> None:
        super().__init__(iterator, media_type=EVENT_STREAM,
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self.client = client
        self.on_close = on_close

    def to_asgi_response(self, app: Any, request: Any, **kwargs: Any) -> _SSEASGIResponse:
        headers = {**(kwargs.get("headers") or {}), **self.headers}
        return _SSEASGIResponse(
            client=self.client,
            on_close=self.on_close,
            background=self.background or kwargs.get("background"),
            content_length=0,
            cookies=self.cookies,
            encoded_headers=kwargs.get("encoded_headers"),
            encoding=self.encoding,
            headers=headers,
            is_head_response=bool(kwargs.get("is_head_response")),
            iterator=self.iterator,
            media_type=EVENT_STREAM,
            status_code=self.status_code or kwargs.get("status_code"),
        )

