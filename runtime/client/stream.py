"""The SSE consumer: a channel's events as envelopes, across reconnects, with no gap and no duplicate.

Parsing is ``httpx-sse``'s (a maintained parser of the SSE format). On top of it:

* **resume**: the id of every event (its position) is remembered and sent as ``Last-Event-ID`` on reconnect;
  the server's id-only block at connect time counts too, so even a stream that saw no event resumes exactly;
* **reconnect with backoff**: on a dropped connection, a server closing the stream (shutdown, slow consumer),
  a 5xx or a 503 (honouring ``Retry-After``), with exponential backoff and jitter, never faster than the
  server's ``retry:`` hint; a 4xx other than 408/429 is not retried (it would fail the same way);
* **dead streams**: the server writes at least a heartbeat comment every ``heartbeat`` seconds, so a read
  that waits longer than ``dead_after`` means the connection is dead: it is dropped and re-opened;
* **typed envelopes**: ``decode`` turns each envelope into what the caller wants (``typed_reader(model)``
  reads ``data`` into a pydantic model).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
from httpx_sse import EventSource, ServerSentEvent
from pydantic import BaseModel, ValidationError

from ..envelope import Envelope, envelope_from_wire
from ..errors import UnreadableEvent
from ..jsonparse import parse_json
from ..model import VALIDATED
from .transport import AsyncPubSubClient, ServiceError, raise_for_problem

logger = logging.getLogger("hipponot_pubsub.runtime.client")

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Backoff:
    """Delays between reconnects: ``initial`` doubling up to ``maximum``, with up to ``jitter`` × delay added."""

    initial: float = 0.2
    maximum: float = 30.0
    jitter: float = 0.2

    def delay(self, attempt: int, floor: float = 0.0) -> float:
        base = min(self.maximum, self.initial * 2.0 ** max(0, attempt))
        return float(max(floor, base + random.uniform(0, self.jitter * base)))


def raw_envelope(data: str) -> Envelope[Any]:
    """The envelope as sent (``data`` is the validated JSON the service stored)."""
    return envelope_from_wire(parse_json(data))


def typed_reader(model: type[M]) -> Callable[[str], Envelope[M]]:
    """A ``decode`` that reads ``data`` into ``model`` (unknown fields ignored, as typed subscribers do)."""

    def decode(data: str) -> Envelope[M]:
        envelope = raw_envelope(data)
        try:
            typed = model.model_validate(envelope.data, extra="ignore", context={VALIDATED: True})
        except ValidationError as error:
            raise UnreadableEvent(f"{model.__name__} cannot read this {envelope.type} event: {error}") from None
        return envelope.with_data(typed)

    return decode


class EventStream(Generic[T]):
    """``async for envelope in stream`` — endless until ``close()`` or a non-retryable refusal.

    ``last_event_id`` is the position to resume from (also usable across processes).
    """

    def __init__(
        self,
        client: AsyncPubSubClient,
        channel: str,
        decode: Callable[[str], T],
        *,
        types: Iterable[str] | None = None,
        after: str | None = None,
        dead_after: float = 45.0,
        backoff: Backoff | None = None,
        max_attempts: int | None = None,
    ) -> None:
        self.client = client
        self.channel = channel
        self.decode = decode
        self.types = list(types) if types is not None else None
        self.last_event_id = after
        self.dead_after = dead_after
        self.backoff = backoff or Backoff()
        self.max_attempts = max_attempts
        self.connections = 0  # successful connects, for observability and tests
        self._server_retry = 0.0
        self._closed = False
        self._response: httpx.Response | None = None

    def __aiter__(self) -> AsyncIterator[T]:
        return self._events()

    async def close(self) -> None:
        self._closed = True
        if self._response is not None:
            await self._response.aclose()

    async def _events(self) -> AsyncIterator[T]:
        failures = 0
        http = self.client.http
        timeout = httpx.Timeout(http.timeout.connect, read=self.dead_after, write=http.timeout.write,
                                pool=http.timeout.pool)
        while not self._closed:
            headers = {"accept": "text/event-stream", "cache-control": "no-store"}
            if self.last_event_id:
                headers["last-event-id"] = self.last_event_id
            params = {"type": self.types} if self.types else None
            retry_after: float | None = None
            try:
                async with http.stream("GET", f"/channels/{self.channel}/events", headers=headers, params=params,
                                       timeout=timeout) as response:
                    self._response = response
                    if response.status_code != 200:
                        await response.aread()
                        raise_for_problem(response)
                    self.connections += 1
                    failures = 0
                    async for event in EventSource(response).aiter_sse():
                        for item in self._handle(event):
                            yield item
                logger.info("stream of %s ended by the server; resuming after %s", self.channel, self.last_event_id)
            except ServiceError as error:
                if not _retryable(error.status):
                    raise
                retry_after = error.retry_after
                logger.warning("stream of %s refused (%s); retrying", self.channel, error)
            except (httpx.TransportError, httpx.StreamError) as error:
                if self._closed:
                    return
                logger.warning("stream of %s dropped (%s: %s); resuming after %s", self.channel,
                               type(error).__name__, error, self.last_event_id)
            finally:
                self._response = None
            if self._closed:
                return
            failures += 1
            if self.max_attempts is not None and failures > self.max_attempts:
                raise ConnectionError(f"stream of {self.channel}: {failures - 1} reconnects failed")
            await asyncio.sleep(self.backoff.delay(failures - 1, max(self._server_retry, retry_after or 0.0)))

    def _handle(self, event: ServerSentEvent) -> list[T]:
        if event.retry is not None:
            self._server_retry = event.retry / 1000
        if event.id:
            self.last_event_id = event.id
        if not event.data:
            return []
        return [self.decode(event.data)]


def _retryable(status: int) -> bool:
    return status >= 500 or status in (408, 429)


def subscribe(client: AsyncPubSubClient, channel: str, *, types: Iterable[str] | None = None,
              after: str | None = None, dead_after: float = 45.0, backoff: Backoff | None = None,
              max_attempts: int | None = None) -> EventStream[Envelope[Any]]:
    """The channel's events as envelopes whose ``data`` is JSON (see ``typed_reader`` for models)."""
    return EventStream(client, channel, raw_envelope, types=types, after=after, dead_after=dead_after,
                       backoff=backoff, max_attempts=max_attempts)
