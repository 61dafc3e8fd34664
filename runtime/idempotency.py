"""Publisher-side deduplication by idempotency key: a retried publish returns the first result.

The window is per bus (per process) and bounded (least recently used keys are forgotten first). A key that is
being published right now makes a concurrent publish with the same key wait for that result instead of
publishing twice. Cross-process deduplication needs the broker's help and is the adapters' to add.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

R = TypeVar("R")


class IdempotencyWindow(Generic[R]):
    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._done: OrderedDict[str, R] = OrderedDict()
        self._running: dict[str, asyncio.Future[R]] = {}

    def seen(self, key: str) -> R | None:
        result = self._done.get(key)
        if result is not None:
            self._done.move_to_end(key)
        return result

    async def once(self, key: str, publish: Callable[[], Awaitable[R]]) -> tuple[R, bool]:
        """``(result, duplicate)``: runs ``publish`` unless ``key`` was (or is being) published."""
        done = self.seen(key)
        if done is not None:
            return done, True
        running = self._running.get(key)
        if running is not None:
            return await asyncio.shield(running), True
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            result = await publish()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        finally:
            del self._running[key]
        future.set_result(result)
        self._done[key] = result
        while len(self._done) > self.size:
            self._done.popitem(last=False)
        return result, False
