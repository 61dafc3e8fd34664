"""Acknowledgements coalesced into one ``XACK`` per round trip.

A consumer running many handlers at once settles them at nearly the same time; sending one ``XACK`` each would
take one pooled connection and one round trip per event, which is what makes naive Redis consumers slow. Here
every ``ack`` still waits until Redis confirms *its* id (so the committed position has moved when it returns),
but the acks that arrive while one ``XACK`` is in flight travel together in the next one.
"""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis


class AckBatcher:
    def __init__(self, client: Redis, stream: str, group: str) -> None:
        self._client = client
        self._stream = stream
        self._group = group
        self._ids: list[str] = []
        self._done: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    async def ack(self, entry_id: str) -> None:
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
            self._done.add_done_callback(_retrieve)
        self._ids.append(entry_id)
        done = self._done
        if self._task is None:
            self._task = asyncio.create_task(self._flush())
        await asyncio.shield(done)

    async def _flush(self) -> None:
        try:
            while self._ids:
                ids, done = self._ids, self._done
                self._ids, self._done = [], None
                assert done is not None
                try:
                    await self._client.xack(self._stream, self._group, *ids)
                except BaseException as error:  # waiters must never hang, whatever happened
                    done.set_exception(error if isinstance(error, Exception) else asyncio.CancelledError())
                    if not isinstance(error, Exception):
                        raise
                else:
                    done.set_result(None)
        finally:
            self._task = None


def _retrieve(future: asyncio.Future[None]) -> None:
    """Mark the exception retrieved: an ack whose caller was cancelled must not log 'never retrieved'."""
    if not future.cancelled():
        future.exception()
