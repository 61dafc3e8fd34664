"""Local redelivery for subscriptions whose state lives only in this process (fan-out readers, pub/sub): a
nacked record is put back in the subscription's buffer after its delay, with ``attempt`` + 1."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ..base import Record


class LocalRetries:
    def __init__(self, push: Callable[[list[tuple[Record, int]]], None]) -> None:
        self._push = push
        self._timers: set[asyncio.TimerHandle] = set()

    def schedule(self, record: Record, attempt: int, delay: float) -> None:
        if delay <= 0:
            self._push([(record, attempt)])
            return
        loop = asyncio.get_running_loop()
        timer: asyncio.TimerHandle | None = None

        def due() -> None:
            if timer is not None:
                self._timers.discard(timer)
            self._push([(record, attempt)])

        timer = loop.call_later(delay, due)
        self._timers.add(timer)

    def cancel(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
