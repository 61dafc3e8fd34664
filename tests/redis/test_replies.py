"""The reader connections' RESP2 parser gives exactly what redis-py's parser gives, however the bytes arrive.

It keeps its place when a reply spans several socket reads; a bug there would lose or duplicate entries, so
replies are cut at random places (seeded) and fed piece by piece.
"""

from __future__ import annotations

import random
from typing import Any

from hipponot_pubsub.runtime.adapters.redis.replies import Resp2Reply, _Incomplete
from redis._parsers import _AsyncRESP2Parser
from redis.exceptions import ResponseError

PARSE_ERROR = _AsyncRESP2Parser(65536).parse_error


def encode(value: Any) -> bytes:
    if value is None:
        return b"$-1\r\n"
    if isinstance(value, bytes):
        return b"$%d\r\n%s\r\n" % (len(value), value)
    if isinstance(value, int):
        return b":%d\r\n" % value
    return b"*%d\r\n" % len(value) + b"".join(encode(item) for item in value)


def random_reply(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.4:  # bulk strings, including ones that contain CRLF
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40))) + b"\r\n" * rng.randrange(2)
    if roll < 0.5:
        return None
    if roll < 0.6:
        return rng.randrange(-(10**12), 10**12)
    return [random_reply(rng, depth + 1) for _ in range(rng.randrange(0, 6))]


def test_fragmented_replies_parse_like_redis_py() -> None:
    rng = random.Random(20261127)
    for _ in range(3000):
        value = random_reply(rng)
        data = encode(value)
        cuts = sorted(rng.sample(range(1, len(data)), min(len(data) - 1, rng.randrange(0, 6)))) if len(data) > 1 else []
        pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        reply = Resp2Reply(b"", PARSE_ERROR)
        parsed: Any = object()
        for index, piece in enumerate(pieces):
            reply.feed(piece)
            try:
                parsed = reply.parse()
            except _Incomplete:
                assert index < len(pieces) - 1, "the whole reply was fed but the parser wants more"
                continue
            assert index == len(pieces) - 1, "parsed before the reply was complete"
        assert parsed == value
        assert reply.buffer[reply.position :] == b""


def test_simple_error_and_empty_replies() -> None:
    error = Resp2Reply(b"-NOGROUP No such key\r\n", PARSE_ERROR).parse()
    assert isinstance(error, ResponseError) and "NOGROUP" in str(error)
    assert Resp2Reply(b"+OK\r\n", PARSE_ERROR).parse() == b"OK"
    assert Resp2Reply(b"*-1\r\n", PARSE_ERROR).parse() is None
    assert Resp2Reply(b"*0\r\n", PARSE_ERROR).parse() == []
