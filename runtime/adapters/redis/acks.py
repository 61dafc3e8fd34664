"""Acknowledgements coalesced into one ``XACK`` per round trip, sent behind the handler's back.

A consumer running many handlers at once settles them at nearly the same time; sending one ``XACK`` each would
take one pooled connection and one round trip per event, which is what makes naive Redis consumers slow. So
``add`` only queues the id and returns: one flush task sends everything queued while the previous ``XACK`` was
in flight. The handler's worker goes on to its next event at once instead of waiting a round trip per event.

Nothing is lost by not waiting: an id whose ``XACK`` failed stays in the group's pending list under this member,
so it is delivered again (``on_error`` tells the subscription to re-read its own pending entries) — at least
once, as the contract says. Whoever needs the acks to have landed awaits ``flush``: the adapter does before it
answers ``committed_position``, and the subscription does when it closes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from redis.asyncio import Redis

logger = logging.getLogger("hipponot_pubsub.runtime.adapters.redis")


class AckBatcher:
    def __init__(self, client: Redis, stream: str, group: str, on_error: Callable[[Exception], None]) -> None:
        self._client = client
        self._stream = stream
        self._group = group
        self._on_error = on_error
        self._ids: list[str] = []
        self._task: asyncio.Task[None] | None = None

    def add(self, entry_id: str) -> None:
        """Queue ``entry_id`` for the next ``XACK``; never waits."""
        self._ids.append(entry_id)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._flush())

    async def flush(self) -> None:
        """Wait until every id queued so far was sent (and confirmed, or reported to ``on_error``)."""
        task = self._task
        if task is not None:
            await asyncio.shield(task)

    async def _flush(self) -> None:
        try:
            while self._ids:
                ids, self._ids = self._ids, []
                try:
                    await self._client.xack(self._stream, self._group, *ids)
                except Exception as error:  # the ids stay pending: redelivered, never lost
                    logger.warning("acknowledging %d entries of %s failed (they will be delivered again): %s",
                                   len(ids), self._stream, error)
                    self._on_error(error)
        finally:
            self._task = None
