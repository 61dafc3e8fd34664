"""Server-Sent Event streams of a channel: resume without gap or duplicate, heartbeats, slow clients cut off.

Shape: one **tail** per channel and process (one adapter subscription, started the first time someone streams
the channel) formats each event's SSE frame once (``id:`` position, ``event:`` type, ``data:`` the envelope
bytes as stored) into a shared, bounded **log** of recent frames. Each attached **client** is only a cursor
into that log: the tail does O(1) work per event whatever the number of clients, and a client's backlog is
the frames between its cursor and the head — the same bytes objects for every client, so memory is each frame
once, not once per client. A client that falls further behind than ``sse_queue`` events or
``sse_buffer_bytes`` bytes is too slow: it is sent a closing comment and disconnected, and it resumes with its
last id.

Writing: a stream with nothing to write parks its task and registers with its tail. The tail **flushes** at
most once per ``sse_linger`` seconds (the first events after a quiet spell at once), so a burst of events
becomes one write per client: it calls each registered stream's ASGI ``send`` itself, ``SLICE`` streams per
loop callback (requests and new events get in between), with everything pending as one body chunk (up to
``WRITE_BYTES``; the clients at the same place share one joined chunk, a single frame is sent as is). No task
switch per client and write: when the socket takes the bytes, ``send`` completes without suspending and the
stream stays parked. Only when it cannot (a full socket) is the started ``send`` handed to the stream's own
task to finish (``_finish``); that task also does the rest (resuming, heartbeats, closing comments, errors).

Resuming after a position ``P`` (``Last-Event-ID`` or ``?after=``) pages through ``history(after=P)`` until
a record the tail's log holds, then reads on from the log (not yet subject to the slow-client limits until it
has caught up; if the log moves past it meanwhile it goes back to history): no gap, no duplicate. Positions
are compared for equality only (they are opaque). A client joining at the live end (no position) is first
sent an id-only block with the newest position, so that a client which drops before any event arrives still
resumes from there, without gap.

Heartbeats: a ``: keep-alive`` comment after ``heartbeat`` seconds without a write (one timer for all
clients, which also cuts off clients stuck behind a full socket). Shutdown: ``StreamHub.begin_shutdown`` ends
every stream with a comment at once; a client that does not take it within ``slow_client_grace`` is cut off,
so a server never waits on its SSE clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from bisect import bisect_right
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from types import CoroutineType
from typing import Any, cast

from litestar.response import Stream
from litestar.response.streaming import ASGIStreamingResponse
from litestar.types import HTTPResponseBodyEvent, Receive, Scope, Send

from ..adapters.base import Adapter, Record, StartAt, Subscription
from ..jsonparse import dump_json, parse_json
from .settings import ServiceSettings

logger = logging.getLogger("hipponot_pubsub.runtime.http.sse")

EVENT_STREAM = "text/event-stream"
HISTORY_PAGE = 500
TAIL_WINDOW = 10_000  # frames a tail's log keeps at least (if they fit in TAIL_WINDOW_BYTES), for resuming
TAIL_WINDOW_BYTES = 32 * 1024 * 1024
WRITE_BYTES = 64 * 1024  # frames joined into one write at most (a larger single frame is sent alone)
SLICE = 64  # clients a flush writes to per loop callback (a flush to many lets requests in between)
PRESS = 256  # a tail that appended this many frames without a pause wakes its clients and lets them write

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
    """One open stream: what it wants (types), where it is in its tail's log, and why it ends."""

    __slots__ = ("_waiter", "catching_up", "context", "ending", "error", "grace", "heartbeat_due", "last_write",
                 "limit", "limit_bytes", "next_seq", "on_abort", "pending", "position", "send", "skip_until", "types",
                 "waiting")

    def __init__(self, types: frozenset[str] | None, limit: int, grace: float = 1.0,
                 limit_bytes: int = 8 * 1024 * 1024) -> None:
        self.types = types
        self.limit = limit
        self.limit_bytes = limit_bytes
        self.grace = grace
        #: The seq (in the tail's log) of the next frame to consider; ``position`` is the last one sent/skipped.
        self.next_seq = 0
        self.position: str | None = None
        #: Resuming: reading the log from behind, not yet held to the slow-client limits.
        self.catching_up = False
        #: Registered with the tail to be woken at its next flush.
        self.waiting = False
        self._waiter: asyncio.Future[None] | None = None
        #: Set by the response: the ASGI ``send`` (and the context to run it in) the tail may write with directly.
        self.send: Send | None = None
        self.context: contextvars.Context | None = None
        #: A write the tail started that could not finish at once (the socket is full), for the stream to finish.
        self.pending: tuple[Coroutine[Any, Any, None], Any] | None = None
        self.error: BaseException | None = None
        #: Set by the response: cuts the connection (a client told to go that does not take the closing comment).
        self.on_abort: Callable[[], None] | None = None
        self.ending: str | None = None
        self.heartbeat_due = False
        self.last_write = time.monotonic()
        self.skip_until: str | None = None

    def wants(self, event_type: str) -> bool:
        return self.types is None or event_type in self.types

    @property
    def parked(self) -> bool:
        """Its stream's task waits in ``wait()`` and has not been woken: nothing else writes to it meanwhile."""
        return self._waiter is not None and not self._waiter.done()

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        """Until ``wake()``. The caller checks its conditions right before: nothing can slip in between."""
        self._waiter = waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def end(self, reason: str) -> None:
        """Stop: the stream sends a closing comment; a client that does not take it in ``grace`` s is cut off."""
        if self.ending is None:
            self.ending = reason
            self.wake()
            asyncio.get_running_loop().call_later(self.grace, self.abort)

    def abort(self) -> None:
        if self.on_abort is not None:
            self.on_abort()


class ChannelTail:
    """The one adapter subscription of a channel in this process, and the log of its recent SSE frames.

    The log holds frames with consecutive seqs ``first_seq..seq`` (1 for the first the tail saw), at most
    ``window`` of them and ``window_bytes`` bytes (at least one); clients read it through their ``next_seq``."""

    def __init__(self, adapter: Adapter, channel: str, window: int = TAIL_WINDOW,
                 window_bytes: int = TAIL_WINDOW_BYTES, linger: float = 0.0, press: int = PRESS,
                 count_sent: Callable[[int, int, int], None] | None = None) -> None:
        self.adapter = adapter
        #: Called after each flush with (events, writes, writes left for their streams to finish).
        self.count_sent = count_sent
        self.channel = channel
        self.window = max(1, window)
        self.window_bytes = window_bytes
        self.linger = linger
        self.press = max(1, press)
        self.clients: set[SSEClient] = set()
        self.head: str | None = None  # position of the newest event the tail has seen
        self.seq = 0  # seq of the newest frame (= events seen)
        self.first_seq = 1  # seq of the oldest frame held (first_seq > seq: none)
        self.total_bytes = 0  # bytes of every frame seen
        # The log: parallel lists from index ``_start`` (= first_seq); ``_ends`` = total_bytes after each frame.
        self._positions: list[str] = []
        self._types: list[str] = []
        self._frames: list[bytes] = []
        self._ends: list[int] = []
        self._start = 0
        self._dropped_bytes = 0  # total_bytes before first_seq
        self._index: dict[str, int] = {}  # position -> seq, for the frames held
        self._joined = b""  # the last joined run of frames, and its (first seq, count)
        self._joined_key = (0, 0)
        self._waiting: list[SSEClient] = []  # idle clients, to be written to at the next flush
        self._queue: deque[SSEClient] = deque()  # the clients of the flush in progress not written to yet
        self._serving: asyncio.Handle | None = None
        self._flush_at: asyncio.Handle | None = None
        self._last_flush = 0.0
        self._unflushed = 0  # frames appended since the tail last let its clients run
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
                await delivery.ack()
                self._append(delivery.record)
                self._unflushed += 1
                if self._unflushed >= self.press:
                    # A burst (a big batch on the memory adapter arrives all at once): let the streams write
                    # before reading on, so that fast clients do not fall behind the tail itself.
                    self._flush(whole=True)
                    await asyncio.sleep(0)
                elif self._waiting and self._flush_at is None:
                    self._schedule_flush()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("SSE tail of channel %r failed", self.channel)
            reason = "error"
        self.failed = True
        for client in list(self.clients):
            client.end(reason)

    def _append(self, record: Record) -> None:
        position = record.position
        event_type = event_type_of(record)
        frame = format_event(position, event_type, record.payload)
        self.seq += 1
        self.head = position
        self.total_bytes += len(frame)
        self._positions.append(position)
        self._types.append(event_type)
        self._frames.append(frame)
        self._ends.append(self.total_bytes)
        self._index[position] = self.seq
        while self.seq >= self.first_seq + 1 and (
                self.seq - self.first_seq >= self.window or self.total_bytes - self._dropped_bytes > self.window_bytes):
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        start = self._start
        self._index.pop(self._positions[start], None)
        self._dropped_bytes = self._ends[start]
        self._frames[start] = b""  # released now, not at the next compaction
        self._start = start = start + 1
        self.first_seq += 1
        if start >= 1024 and start * 2 >= len(self._frames):
            for log in (self._positions, self._types, self._frames, self._ends):
                del log[:start]
            self._start = 0

    # -- waking ---------------------------------------------------------------------------------------------

    def wait_for_more(self, client: SSEClient) -> None:
        """``client`` has written everything up to ``seq``: from the next flush on, the tail writes its frames
        itself (or wakes it, when it has something else to do)."""
        if not client.waiting:
            client.waiting = True
            self._waiting.append(client)

    def _schedule_flush(self) -> None:
        loop = asyncio.get_running_loop()
        due = self._last_flush + self.linger
        if due <= loop.time():  # quiet until now: at once (after this loop iteration's other events)
            self._flush_at = loop.call_soon(self._flush)
        else:
            self._flush_at = loop.call_at(due, self._flush)

    def _flush(self, whole: bool = False) -> None:
        """Write the new frames to every waiting client, ``SLICE`` clients per loop callback (so that a flush to
        thousands of clients lets requests and new events in between; a client served later in the flush gets
        the events that came meanwhile too), or all at once (``whole``)."""
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        self._unflushed = 0
        self._last_flush = asyncio.get_running_loop().time()
        self._queue.extend(self._waiting)
        self._waiting = []
        self._serve(whole)

    def _serve(self, whole: bool = False) -> None:
        """Write to the next clients of the flush in progress, right here: a client's ``send`` is called and, when
        it completes without suspending (the usual case: the socket takes the bytes), the client stays waiting.
        No task switch per client; the stream's own task only runs when there is something else to do (a write
        to finish on a full socket, a client to end, an error)."""
        self._serving = None
        queue = self._queue
        now = time.monotonic()
        sent = writes = stalled = 0
        for _ in range(len(queue) if whole else min(SLICE, len(queue))):
            client = queue.popleft()
            client.waiting = False
            send, context = client.send, client.context
            if send is None or context is None or client.ending is not None or not client.parked:
                client.wake()  # its task runs anyway (and registers again when it is done)
                continue
            while client.next_seq <= self.seq:
                if self.behind(client):
                    client.end("slow")
                    break
                chunk, count = self.take(client)
                if not count:
                    continue
                coro = _coroutine(send({"type": "http.response.body", "body": chunk, "more_body": True}))
                try:
                    yielded = context.run(coro.send, None)
                except StopIteration:
                    sent += count
                    writes += 1
                    client.last_write = now
                    continue
                except (KeyboardInterrupt, SystemExit):
                    raise
                except BaseException as error:  # the stream's task raises it
                    client.error = error
                    break
                sent += count  # (counted once started; the stream finishes it)
                writes += 1
                stalled += 1
                client.pending = (coro, yielded)
                break
            else:
                client.waiting = True
                self._waiting.append(client)
                continue
            client.wake()
        if queue and self._serving is None:
            self._serving = asyncio.get_running_loop().call_soon(self._serve)
        if writes and self.count_sent is not None:
            self.count_sent(sent, writes, stalled)

    # -- reading --------------------------------------------------------------------------------------------

    def holds(self, position: str) -> bool:
        return position in self._index

    def seq_of(self, position: str) -> int:
        return self._index[position]

    def behind(self, client: SSEClient) -> bool:
        """Too slow: further behind than its limits, or than the log."""
        next_seq = client.next_seq
        if next_seq > self.seq:
            return False
        if next_seq < self.first_seq or self.seq - next_seq >= client.limit:
            return True
        index = self._start + next_seq - self.first_seq
        return self.total_bytes - (self._ends[index] - len(self._frames[index])) > client.limit_bytes

    def take(self, client: SSEClient, max_bytes: int = WRITE_BYTES) -> tuple[bytes, int]:
        """The frames ``client`` wants from its ``next_seq`` on (``first_seq <= next_seq <= seq``), up to about
        ``max_bytes``, as one bytes object, and how many; advances the client past them."""
        index = self._start + client.next_seq - self.first_seq
        end = len(self._frames)
        frames = self._frames
        if client.types is None and client.skip_until is None:
            before = self._ends[index] - len(frames[index])
            stop = max(index + 1, bisect_right(self._ends, before + max_bytes, index, end))
            count = stop - index
            if count == 1:
                chunk = frames[index]
            else:
                # The clients woken by one flush are mostly at the same place: join their frames once for all.
                key = (client.next_seq, count)
                if self._joined_key == key:
                    chunk = self._joined
                else:
                    chunk = self._joined = b"".join(frames[index:stop])
                    self._joined_key = key
        else:
            out: list[bytes] = []
            size = 0
            stop = index
            while stop < end and size < max_bytes:
                if client.skip_until is not None:
                    if self._positions[stop] == client.skip_until:
                        client.skip_until = None
                elif client.types is None or self._types[stop] in client.types:
                    out.append(frames[stop])
                    size += len(frames[stop])
                stop += 1
            count = len(out)
            chunk = b"".join(out)
        client.next_seq += stop - index
        client.position = self._positions[stop - 1]
        return chunk, count

    def attach(self, client: SSEClient, next_seq: int, catching_up: bool = False) -> None:
        """Attach ``client`` reading on from ``next_seq`` (``seq + 1``: the live end)."""
        client.next_seq = next_seq
        client.catching_up = catching_up
        self.clients.add(client)

    def detach(self, client: SSEClient) -> None:
        self.clients.discard(client)
        # A stream that ends while registered stays in ``_waiting`` until the next flush, which may be long in
        # coming on a quiet channel: drop the ended ones once they outnumber the live ones.
        if client.waiting and len(self._waiting) > 2 * len(self.clients) + 64:
            self._waiting = [c for c in self._waiting if c in self.clients]

    async def close(self) -> None:
        for handle in (self._flush_at, self._serving):
            if handle is not None:
                handle.cancel()
        self._flush_at = self._serving = None
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
        self.writes = 0  # body writes of events (each one ``send``, the frames pending for a client joined)
        #: Writes the tails started that a full socket could not take at once (their streams finished them).
        self.stalled_writes = 0
        self.disconnects: dict[str, int] = dict.fromkeys(REASONS, 0)
        self._tail_locks: dict[str, asyncio.Lock] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._attached: dict[SSEClient, ChannelTail] = {}

    @property
    def active(self) -> int:
        return len(self.clients)

    def _count_sent(self, count: int, writes: int, stalled: int) -> None:
        self.sent_events += count
        self.writes += writes
        self.stalled_writes += stalled

    def full(self) -> bool:
        return len(self.clients) >= self.settings.max_subscribers

    async def start(self) -> None:
        self.closing = False
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._heartbeats(), name="pubsub-sse-heartbeats")

    async def _heartbeats(self) -> None:
        """Heartbeats, and the cut-off of clients that stopped reading (stuck behind a full socket, they never
        get to check their own backlog)."""
        interval = min(max(self.settings.heartbeat / 4, 0.05), 1.0)
        while True:
            await asyncio.sleep(interval)
            due = time.monotonic() - self.settings.heartbeat
            for client, tail in list(self._attached.items()):
                if client.ending is None and not client.catching_up and tail.behind(client):
                    client.end("slow")
                elif client.last_write <= due and not client.heartbeat_due:
                    client.heartbeat_due = True
                    client.wake()

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
                settings = self.settings
                found = ChannelTail(adapter, channel, window=max(TAIL_WINDOW, settings.sse_queue + 1),
                                    window_bytes=max(TAIL_WINDOW_BYTES, settings.sse_buffer_bytes + 1),
                                    linger=settings.sse_linger, press=min(PRESS, max(1, settings.sse_queue // 2)),
                                    count_sent=self._count_sent)
                await found.start()
                self.tails[channel] = found
            return found

    def open(self, types: Iterable[str] | None) -> SSEClient:
        settings = self.settings
        client = SSEClient(frozenset(types) if types is not None else None, settings.sse_queue,
                           settings.slow_client_grace, settings.sse_buffer_bytes)
        self.clients.add(client)
        return client

    def _attach(self, tail: ChannelTail, client: SSEClient, next_seq: int, catching_up: bool = False) -> None:
        tail.attach(client, next_seq, catching_up)
        self._attached[client] = tail

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
                self._attach(tail, client, tail.seq + 1)
                yield prelude + b"\n"
            else:
                yield prelude + b"\n"
                async for chunk in self._catch_up(adapter, channel, tail, client, after):
                    yield chunk
            client.last_write = time.monotonic()
            while True:
                if client.pending is not None:
                    coro, yielded = client.pending
                    client.pending = None
                    await _finish(coro, yielded)
                    continue
                if client.error is not None:  # raised by a write the tail made
                    reason = "error"
                    raise client.error
                if client.ending is not None:
                    reason = client.ending
                    yield comment(f"stream closed: {reason}")
                    return
                if client.next_seq <= tail.seq:
                    if client.catching_up:
                        if client.next_seq < tail.first_seq:  # the log moved on while we wrote: back to history
                            assert client.position is not None
                            async for chunk in self._catch_up(adapter, channel, tail, client, client.position):
                                yield chunk
                            continue
                    elif tail.behind(client):
                        client.end("slow")
                        continue
                    chunk, count = tail.take(client)
                    if client.catching_up and tail.seq - client.next_seq < client.limit:
                        client.catching_up = False  # caught up: from now on held to the limits
                    if count:
                        self.sent_events += count
                        self.writes += 1
                        yield chunk
                        client.last_write = time.monotonic()
                    continue
                client.catching_up = False
                if client.heartbeat_due:
                    client.heartbeat_due = False
                    yield b": keep-alive\n\n"
                    client.last_write = time.monotonic()
                    continue
                tail.wait_for_more(client)
                await client.wait()
        finally:
            client.send = None  # the tail must not write to it any more
            if client.pending is not None:
                client.pending[0].close()
                client.pending = None
            if tail is not None:
                tail.detach(client)
            self._attached.pop(client, None)
            self.clients.discard(client)
            if client.ending is not None:
                reason = client.ending
            self.disconnects[reason] = self.disconnects.get(reason, 0) + 1

    async def _catch_up(self, adapter: Adapter, channel: str, tail: ChannelTail, client: SSEClient,
                        after: str) -> AsyncIterator[bytes]:
        """History after ``after`` until it meets the tail's log, then attach there (still catching up): the
        stream reads on from the log. Nothing is sent twice, nothing skipped."""
        position = after
        while client.ending is None:
            if tail.holds(position):
                self._attach(tail, client, tail.seq_of(position) + 1, catching_up=True)
                return
            if position == tail.head:
                self._attach(tail, client, tail.seq + 1)
                return
            seen = tail.seq
            records = await adapter.history(channel, after=position, limit=HISTORY_PAGE)
            out = []
            meets: int | None = None
            for record in records:
                if tail.holds(record.position):
                    meets = tail.seq_of(record.position)
                    break
                event_type = event_type_of(record)
                if client.wants(event_type):
                    out.append(format_event(record.position, event_type, record.payload))
                position = record.position
            client.position = position
            if out:
                self.sent_events += len(out)
                self.writes += 1
                yield b"".join(out)
                client.last_write = time.monotonic()
            if meets is not None:
                if meets >= tail.first_seq:  # (still) held: read on from the log
                    self._attach(tail, client, meets, catching_up=True)
                    return
                continue
            if not records and tail.seq == seen:
                # The log has nothing after ``position`` and the tail saw nothing new meanwhile: what the tail
                # delivers from now on comes after it — except ``position`` itself, should the tail lag behind.
                client.skip_until = position
                self._attach(tail, client, tail.seq + 1)
                return


def _coroutine(awaitable: Awaitable[None]) -> Coroutine[Any, Any, None]:
    """What an ASGI ``send`` returned, as a coroutine (it is one, unless ``send`` is not an ``async def``)."""
    if type(awaitable) is CoroutineType or isinstance(awaitable, Coroutine):
        return cast(Coroutine[Any, Any, None], awaitable)

    async def wrapped() -> None:
        await awaitable

    return wrapped()


async def _finish(coro: Coroutine[Any, Any, None], yielded: Any) -> None:
    """Drive to its end a coroutine that was started outside any task (``coro.send(None)`` returned
    ``yielded``, what it waits for: an asyncio future, or None for a bare yield), as if this task had run it
    from the start: it is resumed when what it waits for is done, and this task's cancellation reaches it."""
    while True:
        try:
            if yielded is None:
                await asyncio.sleep(0)
            else:
                # As a task does with what its coroutine yields: clear the flag that ``await future`` set before
                # yielding it (else awaiting it again raises "await wasn't used with future").
                yielded._asyncio_future_blocking = False
                await yielded
        except asyncio.CancelledError:
            if not (isinstance(yielded, asyncio.Future) and yielded.cancelled()):  # this task was cancelled
                try:
                    yielded = coro.throw(asyncio.CancelledError())
                except StopIteration:
                    return
                continue
        except BaseException:  # the future's own error: the coroutine gets it when resumed
            pass
        try:
            yielded = coro.send(None)
        except StopIteration:
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
        self.client.send = send
        self.client.context = contextvars.copy_context()
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
            self.client.send = None
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

