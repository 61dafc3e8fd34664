"""A faster RESP2 reply parser for the blocking-read connections (``XREADGROUP``/``XREAD`` replies).

redis-py's pure-Python parser reads every element of a reply with its own ``await`` on the socket stream (a
``readline`` per element, a ``readexactly`` per bulk string): a 100-entry read is ~700 awaits, which is most of
what a consumer costs. This parser takes whatever the socket has (``StreamReader.read``) and parses the bytes in
one loop, keeping its place (a stack of unfinished arrays) when a reply spans several reads, so nothing is ever
parsed twice.

It replaces redis-py's parser only on the subscriptions' own reader connections, which run one command at a time
(RESP2, no pipelining, no pub/sub), and only when ``hiredis`` (a C parser, faster still) is not installed.
Replies come out exactly as redis-py's parser gives them without ``decode_responses``: bytes, ints, ``None``,
lists, and error replies as the exception instances redis-py makes of them (connection errors raised at once).
When a client does ask for decoded replies, redis-py's own parser does the work.
"""

from __future__ import annotations

from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse

try:  # redis-py's private parser classes (stable across redis-py 5 to 8)
    from redis._parsers import _AsyncRESP2Parser
    from redis.utils import HIREDIS_AVAILABLE
except ImportError:  # pragma: no cover - a redis-py that moved them: keep its own parser
    _AsyncRESP2Parser = None  # type: ignore[assignment,misc]
    HIREDIS_AVAILABLE = True

SERVER_CLOSED_CONNECTION_ERROR = "Connection closed by server."  # redis-py's wording

_CRLF = b"\r\n"
_BULK, _ARRAY, _INT, _SIMPLE, _ERROR = b"$"[0], b"*"[0], b":"[0], b"+"[0], b"-"[0]
_READ_SIZE = 1 << 16


class _Incomplete(Exception):
    """The buffer ends inside the reply: read more and go on from the same place."""


class Resp2Reply:
    """One reply being parsed: the bytes read so far, where parsing stands, and the arrays not yet complete."""

    __slots__ = ("buffer", "parse_error", "position", "stack")

    def __init__(self, buffer: bytes, parse_error: Any) -> None:
        self.buffer = buffer
        self.position = 0
        self.stack: list[list[Any]] = []  # [items, still to come] per open array
        self.parse_error = parse_error

    def feed(self, data: bytes) -> None:
        """More bytes of the reply (the part already parsed is dropped)."""
        self.buffer = self.buffer[self.position:] + data
        self.position = 0

    def parse(self) -> Any:
        """The complete reply, or ``_Incomplete`` (state kept: call again after ``feed``)."""
        buffer, position, stack = self.buffer, self.position, self.stack
        size = len(buffer)
        find = buffer.find
        while True:
            end = find(_CRLF, position)
            if end < 0:
                self.position = position
                raise _Incomplete
            kind = buffer[position]
            value: Any
            if kind == _BULK:
                length = int(buffer[position + 1:end])
                if length < 0:
                    value, after = None, end + 2
                else:
                    start = end + 2
                    after = start + length + 2
                    if after > size:
                        self.position = position
                        raise _Incomplete
                    value = buffer[start:after - 2]
            elif kind == _ARRAY:
                count = int(buffer[position + 1:end])
                if count > 0:
                    stack.append([[], count])
                    position = end + 2
                    continue
                value, after = (None if count < 0 else []), end + 2
            elif kind == _INT:
                value, after = int(buffer[position + 1:end]), end + 2
            elif kind == _SIMPLE:
                value, after = buffer[position + 1:end], end + 2
            elif kind == _ERROR:
                value = self.parse_error(buffer[position + 1:end].decode("utf-8", errors="replace"))
                if isinstance(value, RedisConnectionError):
                    raise value
                after = end + 2
            else:
                raise InvalidResponse(f"Protocol Error: {buffer[position:end]!r}")
            position = after
            while stack:
                top = stack[-1]
                top[0].append(value)
                top[1] -= 1
                if top[1]:
                    break
                stack.pop()
                value = top[0]
            else:
                self.position = position
                return value


if _AsyncRESP2Parser is not None:

    class FastResp2Parser(_AsyncRESP2Parser):
        """redis-py's async RESP2 parser with ``read_response`` done by ``Resp2Reply``."""

        async def read_response(self, disable_decoding: bool = False) -> Any:
            if not self._connected:
                raise RedisConnectionError(SERVER_CLOSED_CONNECTION_ERROR)
            if self.encoder is not None and self.encoder.decode_responses and not disable_decoding:
                return await super().read_response(disable_decoding=disable_decoding)
            leftover = self._buffer[self._pos:] if self._buffer else b""
            self._clear()  # type: ignore[no-untyped-call]
            reply = Resp2Reply(leftover, self.parse_error)
            stream = self._stream
            if stream is None:
                raise RedisConnectionError(SERVER_CLOSED_CONNECTION_ERROR)
            while True:
                try:
                    value = reply.parse()
                except _Incomplete:
                    data = await stream.read(_READ_SIZE)
                    if not data:
                        raise RedisConnectionError(SERVER_CLOSED_CONNECTION_ERROR) from None
                    reply.feed(data)
                    continue
                rest = reply.buffer[reply.position:]
                if rest:  # never on a one-command-at-a-time connection; kept for the next reply regardless
                    self._buffer, self._pos = rest, 0
                return value


def reader_parser() -> Any:
    """The parser class for blocking-read connections, or ``None`` to keep redis-py's default (hiredis)."""
    if HIREDIS_AVAILABLE or _AsyncRESP2Parser is None:
        return None
    return FastResp2Parser
