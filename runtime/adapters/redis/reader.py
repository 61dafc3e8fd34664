"""One subscription's blocking-read connection, and a way to cut a blocking read short.

A read blocks on the server for up to ``block`` seconds. When local state changes so that the reader should
look elsewhere sooner (a nack due in 10 ms, a group member in this process leaving its deliveries behind),
waiting out the block would add its full length to that redelivery. ``CLIENT UNBLOCK`` ends the block at once
from another connection: it needs the reader connection's ``CLIENT ID``, learnt after each (re)connect.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from redis.asyncio import Redis

from .connection import reader_client
from .settings import RedisSettings


class BlockingReader:
    def __init__(self, settings: RedisSettings, shared: Redis) -> None:
        self.settings = settings
        self.client = reader_client(settings)
        self._shared = shared
        self._client_id: int | None = None
        self._blocked_until = 0.0  # monotonic time the current read's block ends; 0 when not blocked

    def block_ms(self, wake_at: float | None) -> int | None:
        """Milliseconds to block for: up to ``block``, less if something is due at ``wake_at`` (monotonic);
        ``None`` means do not block at all (something is due now)."""
        seconds = self.settings.block
        if wake_at is not None:
            seconds = min(seconds, wake_at - time.monotonic())
        if seconds < 0.001:
            return None
        return int(seconds * 1000)

    async def read(self, command: str, *args: Any, block_ms: int | None) -> Any:
        """Run a blocking read command (``XREAD``/``XREADGROUP``); ``block_ms`` None reads without blocking."""
        if block_ms is None:
            return await self.client.execute_command(command, *args)  # type: ignore[no-untyped-call]
        if self._client_id is None:
            self._client_id = int(await self.client.client_id())
        self._blocked_until = time.monotonic() + block_ms / 1000
        try:
            return await self.client.execute_command(command, "BLOCK", block_ms, *args)  # type: ignore[no-untyped-call]
        except BaseException:
            self._client_id = None  # the connection may have been replaced: learn the id again
            raise
        finally:
            self._blocked_until = 0.0

    async def wake_before(self, when: float) -> None:
        """End the current block if it would outlast ``when`` (monotonic). Best effort: a stale client id after
        a reconnect only means the read ends at its own time."""
        if self._client_id is not None and self._blocked_until > when:
            with contextlib.suppress(Exception):  # an unreachable server ends the block by itself
                await self._shared.client_unblock(self._client_id)

    async def close(self) -> None:
        await self.client.aclose()
