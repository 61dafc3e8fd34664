"""A wake-everyone signal for adapters whose waiters re-check state themselves.

Cheaper than ``asyncio.Condition``: asyncio code checks its state synchronously, so a waiter needs no lock, only
to be woken; ``notify_all`` with nobody waiting costs one truth test.
"""

from __future__ import annotations

import asyncio
import contextlib


class Signal:
    __slots__ = ("waiters",)

    def __init__(self) -> None:
        #: futures of the tasks waiting now (read it to skip a ``notify_all`` nobody would hear)
        self.waiters: list[asyncio.Future[None]] = []

    async def wait(self, timeout: float | None) -> None:
        """Until ``notify_all`` (or ``timeout`` seconds, if given); never raises ``TimeoutError``."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters.append(future)
        try:
            if timeout is None:
                await future
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(timeout, 0.0)):
                        await future
        finally:
            if not future.done():
                future.cancel()
            with contextlib.suppress(ValueError):
                self.waiters.remove(future)

    def notify_all(self) -> None:
        if not self.waiters:
            return
        waiters, self.waiters = self.waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)
