"""Record headers decoded on first use.

Consumers rarely read a record's headers (the bus reads the envelope in the payload), yet decoding them for
every delivery — a JSON line on Redis, a list of byte pairs on Kafka — was a measurable share of a delivery's
cost. Adapters hand out a ``LazyHeaders`` instead of a dict: it behaves as a read-only mapping and decodes
once, when first looked at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

S = TypeVar("S")


class LazyHeaders(Mapping[str, str], Generic[S]):
    __slots__ = ("_decode", "_decoded", "_source")

    def __init__(self, decode: Callable[[S], dict[str, str]], source: S) -> None:
        self._decode = decode
        self._source = source
        self._decoded: dict[str, str] | None = None

    def _headers(self) -> dict[str, str]:
        decoded = self._decoded
        if decoded is None:
            decoded = self._decoded = self._decode(self._source)
        return decoded

    def __getitem__(self, name: str) -> str:
        return self._headers()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers())

    def __len__(self) -> int:
        return len(self._headers())

    def __repr__(self) -> str:
        return repr(self._headers())
