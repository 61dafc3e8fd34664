"""One timeout bounding many awaits, each from its own start, on a single event-loop timer.

``asyncio.timeout`` schedules and cancels a timer per use; on an awaited publish of a ~100 µs ``XADD`` that is a
noticeable share (a ``TimerHandle``, heap pushes and pops compared in Python, next to the client library's own
timers). With one fixed duration, deadlines expire in the order the awaits started, so a dict in insertion order
is already sorted by deadline: starting and finishing are a dict insert and pop, and one timer, armed for the
oldest deadline still running, cancels whatever has overrun. Expiry is exact (the timer fires at the oldest
running deadline, never later), and cancellation follows ``asyncio.timeout``: the overrunning task is
cancelled, and ``expired`` tells its ``except CancelledError`` to raise its timeout error instead, unless
someone else cancelled it too.
"""

from __future__ import annotations

import asyncio


class Deadlines:
    __slots__ = ("_expired", "_loop", "_running", "_timer", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._running: dict[asyncio.Task[object], tuple[float, int]] = {}  # task -> (deadline, cancelling)
        self._expired: dict[asyncio.Task[object], int] = {}  # cancelled by us -> its cancelling() at start
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> asyncio.Task[object]:
        """Start the clock for the current task (which must call ``finish`` in a ``finally``)."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("Deadlines.start must be called from a task")
        if loop is not self._loop:  # first use, or a new event loop: nothing of the old one can still run
            self._loop, self._running, self._expired, self._timer = loop, {}, {}, None
        deadline = loop.time() + self.seconds
        self._running[task] = (deadline, task.cancelling())
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._expire)
        return task

    def finish(self, task: asyncio.Task[object]) -> None:
        self._running.pop(task, None)
        self._expired.pop(task, None)

    def expired(self, task: asyncio.Task[object]) -> bool:
        """After ``CancelledError``: True when the cancellation was this deadline's alone (raise a timeout);
        False when it came from elsewhere (let it propagate)."""
        cancelling = self._expired.pop(task, None)
        if cancelling is None:
            return False
        return task.uncancel() <= cancelling

    def _expire(self) -> None:
        self._timer = None
        loop = self._loop
        assert loop is not None
        now = loop.time()
        running = self._running
        while running:
            task, (deadline, cancelling) = next(iter(running.items()))
            if deadline > now:
                self._timer = loop.call_at(deadline, self._expire)
                return
            del running[task]
            if not task.done():
                self._expired[task] = cancelling
                task.cancel()
