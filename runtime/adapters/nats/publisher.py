"""JetStream publishes and their ``PubAck`` answers, one reply subscription for all: awaited one by one
(``publish``) or pipelined (``publish_many``: every message sent, then every answer awaited).

nats-py has ``publish_async`` for this, but in nats-py 2.16 an error answer (``maximum messages exceeded``, a
wrong expected stream, ...) raises inside its reply handler instead of failing the publish's future, so the
future never completes and a refused batch looks like a timeout. This is the same mechanism — one wildcard reply
subscription, a token per publish — with the answer parsed here: a refusal fails its own future at once. Awaited
publishes use it too: a counter token and one shared deadline timer (``..deadlines``) cost less than
``js.publish``'s request (a random token, ``asyncio.wait_for`` and a ``PubAck`` dataclass per publish).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsInbox

EXPECTED_STREAM = "Nats-Expected-Stream"


class Refused(Exception):
    """JetStream answered a publish with an error (``code``/``err_code``/``description`` from its answer)."""

    def __init__(self, description: str, code: int | None = None, err_code: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.err_code = err_code


class Pipeline:
    def __init__(self, connection: NatsClient) -> None:
        self._nc = connection
        self._inbox: NatsInbox | None = None
        self._prefix = ""
        self._tokens = itertools.count()
        self._waiting: dict[str, asyncio.Future[int]] = {}

    async def _open(self) -> None:
        self._prefix = self._nc.new_inbox()
        self._inbox = await self._nc.subscribe(self._prefix + ".*", cb=self._on_answer, pending_msgs_limit=-1,
                                               pending_bytes_limit=-1)

    async def _on_answer(self, msg: Msg) -> None:
        future = self._waiting.pop(msg.subject[len(self._prefix) + 1:], None)
        if future is None or future.done():
            return
        if not msg.data:  # a status: 503 no responders (no stream captures the subject, or JetStream is off)
            status = (msg.headers or {}).get("Status", "")
            future.set_exception(Refused(f"no JetStream stream answered (status {status or 'none'})"))
            return
        try:
            answer: dict[str, Any] = json.loads(msg.data)
        except ValueError:
            future.set_exception(Refused(f"unreadable answer {msg.data[:200]!r}"))
            return
        error = answer.get("error")
        if error:
            future.set_exception(Refused(str(error.get("description", error)), error.get("code"),
                                         error.get("err_code")))
        else:
            future.set_result(int(answer["seq"]))

    async def publish_one(self, subject: str, stream: str, payload: bytes, headers: dict[str, str]) -> int:
        """Publish and wait for the ``PubAck``: the stream sequence (``Refused`` if JetStream said no). The caller
        bounds the wait (the adapter's ``Deadlines``); a cancelled wait forgets the answer."""
        if self._inbox is None:
            await self._open()
        token = str(next(self._tokens))
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        waiting = self._waiting
        waiting[token] = future
        headers[EXPECTED_STREAM] = stream
        try:
            await self._nc.publish(subject, payload, reply=f"{self._prefix}.{token}", headers=headers)
            return await future
        finally:
            waiting.pop(token, None)

    async def publish(self, subject: str, stream: str,
                      messages: Sequence[tuple[bytes, Mapping[str, str]]]) -> list[asyncio.Future[int]]:
        """Send every message; the futures give each one's stream sequence (or its ``Refused``)."""
        if self._inbox is None:
            await self._open()
        loop = asyncio.get_running_loop()
        prefix, waiting, publish = self._prefix, self._waiting, self._nc.publish
        futures: list[asyncio.Future[int]] = []
        for payload, headers in messages:
            token = str(next(self._tokens))
            future: asyncio.Future[int] = loop.create_future()
            waiting[token] = future
            futures.append(future)
            await publish(subject, payload, reply=f"{prefix}.{token}", headers={**headers, EXPECTED_STREAM: stream})
        return futures

    def forget(self, futures: Sequence[asyncio.Future[int]]) -> None:
        """Stop waiting for these answers (the batch gave up)."""
        pending = {id(f) for f in futures if not f.done()}
        if pending:
            for token in [t for t, f in self._waiting.items() if id(f) in pending]:
                self._waiting.pop(token).cancel()
