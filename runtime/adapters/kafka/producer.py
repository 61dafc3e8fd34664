"""The producer side: one ``acks=all`` aiokafka producer per adapter, single sends and atomic per-partition batches.

``publish_many`` guarantee (no transactions: tansu 0.6 has no ``InitProducerId``, so neither idempotence nor
transactions): every message is checked first (encodable, and each partition's share fits in one record
batch) so a bad batch is refused before anything is sent; then each partition's share is sent as **one record
batch**, which Kafka appends atomically (all its records or none). Keyless messages of one call all go to the
same partition, so a batch of keyless messages, or of keys that hash to one partition, is all-or-nothing.
A batch spanning partitions is all-or-nothing per partition only: if one partition's append fails after
another's succeeded, ``PartialPublish`` is raised naming what was stored (it cannot be taken back).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2

from ...errors import AdapterError
from ..base import Message
from ..deadlines import Deadlines
from .headers import encode_headers
from .settings import KafkaSettings


class PartialPublish(AdapterError):
    """Some partitions of a ``publish_many`` batch were stored, others failed (see the module docstring)."""

    def __init__(self, message: str, stored: dict[int, tuple[int, int]]) -> None:
        super().__init__(message)
        #: message index -> (partition, offset) of what was stored
        self.stored = stored


def _key_partition(key: bytes, partitions: int) -> int:
    return int(murmur2(key) & 0x7FFFFFFF) % partitions


class KafkaPublisher:
    """Wraps ``AIOKafkaProducer``; returns (partition, offset) per message; raises ``AdapterError``."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self._deadlines = Deadlines(settings.publish_timeout)  # one timer for every awaited publish in flight
        options: dict[str, Any] = {
            "acks": "all",
            "enable_idempotence": settings.idempotence,
            "linger_ms": 0,
            "max_batch_size": settings.max_batch_bytes,
            "max_request_size": max(settings.max_batch_bytes, 1_048_576),
        }
        self.producer = AIOKafkaProducer(**settings.client_kwargs(), **options)
        self._key_cache: dict[tuple[bytes, int], int] = {}

    def _where(self) -> str:
        return f"Kafka at {self.settings.bootstrap_servers}"

    async def start(self) -> None:
        await self.producer.start()

    async def stop(self) -> None:
        await self.producer.stop()

    def partition_for(self, key: bytes, partitions: int) -> int:
        cached = self._key_cache.get((key, partitions))
        if cached is None:
            if len(self._key_cache) > 100_000:
                self._key_cache.clear()
            cached = self._key_cache[(key, partitions)] = _key_partition(key, partitions)
        return cached

    async def send_one(self, topic: str, message: Message) -> tuple[int, int]:
        key = None if message.key is None else message.key.encode()
        headers = encode_headers(message.headers)
        deadlines = self._deadlines
        task = deadlines.start()
        try:
            future = await self.producer.send(topic, message.payload, key=key, headers=headers)
            metadata = await future
        except asyncio.CancelledError:
            if deadlines.expired(task):
                raise AdapterError(
                    f"publishing to topic {topic!r} did not complete within {deadlines.seconds:g}s: is "
                    f"{self._where()} reachable? (the event may or may not have been stored)"
                ) from None
            raise
        except KafkaError as error:
            raise AdapterError(f"publishing to topic {topic!r} on {self._where()} failed: {error}") from error
        finally:
            deadlines.finish(task)
        return metadata.partition, metadata.offset

    def plan(self, messages: Sequence[Message], partitions: int) -> dict[int, list[int]]:
        """Message indexes per partition: keyed by the default (murmur2) partitioner, keyless all on one."""
        keyless = random.randrange(partitions)
        plan: dict[int, list[int]] = {}
        for index, message in enumerate(messages):
            partition = keyless if message.key is None else self.partition_for(message.key.encode(), partitions)
            plan.setdefault(partition, []).append(index)
        return plan

    async def send_many(self, topic: str, messages: Sequence[Message], partitions: int) -> list[tuple[int, int]]:
        plan = self.plan(messages, partitions)
        batches = []
        for partition, indexes in plan.items():  # build (and so check) every batch before sending any
            batch = self.producer.create_batch()
            for index in indexes:
                message = messages[index]
                try:
                    key = None if message.key is None else message.key.encode()
                    headers = encode_headers(message.headers)
                except UnicodeEncodeError as error:
                    raise AdapterError(f"message {index} has a key or header that is not UTF-8: {error}") from None
                if batch.append(key=key, value=message.payload, timestamp=None, headers=headers) is None:
                    raise AdapterError(
                        f"publish_many: the {len(indexes)} messages for partition {partition} of {topic!r} exceed one "
                        f"record batch ({self.settings.max_batch_bytes} bytes), so they could not be appended "
                        "atomically; nothing was sent — publish smaller batches"
                    )
            batches.append((partition, indexes, batch))
        timeout = self.settings.publish_timeout
        results: list[tuple[int, int] | None] = [None] * len(messages)
        failures: list[str] = []
        try:
            async with asyncio.timeout(timeout):
                futures = [await self.producer.send_batch(batch, topic, partition=p) for p, _, batch in batches]
                outcomes = await asyncio.gather(*futures, return_exceptions=True)
        except TimeoutError:
            raise AdapterError(
                f"publishing {len(messages)} events to topic {topic!r} did not complete within {timeout:g}s: is "
                f"{self._where()} reachable? (each partition's share may or may not have been stored)"
            ) from None
        except KafkaError as error:
            raise AdapterError(f"publishing to topic {topic!r} on {self._where()} failed: {error}") from error
        for (partition, indexes, _), outcome in zip(batches, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                failures.append(f"partition {partition}: {outcome}")
                continue
            for i, index in enumerate(indexes):
                results[index] = (partition, outcome.offset + i)
        if failures:
            stored = {i: r for i, r in enumerate(results) if r is not None}
            detail = "; ".join(failures)
            if stored:
                raise PartialPublish(f"publish_many to {topic!r}: {len(stored)} events stored, failed on {detail}",
                                     stored)
            raise AdapterError(f"publish_many to {topic!r} failed, nothing stored: {detail}")
        return [r for r in results if r is not None]
