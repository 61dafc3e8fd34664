"""The machine's RabbitMQ (``PUBSUB_TEST_RABBITMQ_URL``, default ``amqp://guest:guest@127.0.0.1:5672/``), probed
once per session, and unique names so test runs never collide on it."""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from typing import Any

from hipponot_pubsub.runtime.adapters.rabbitmq import RabbitMQSettings

URL = os.environ.get("PUBSUB_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
RUN = uuid.uuid4().hex[:6]
_names = itertools.count()


def reachable(url: str = URL, timeout: float = 5.0) -> str | None:
    """None when RabbitMQ answers at ``url``, else why not."""
    import aio_pika

    async def probe() -> None:
        connection = await aio_pika.connect(url, timeout=timeout)
        await connection.close()

    try:
        asyncio.run(asyncio.wait_for(probe(), timeout))
    except Exception as error:
        return f"RabbitMQ does not answer at {url}: {type(error).__name__} {error}"
    return None


def settings_for(url: str = URL, **overrides: Any) -> RabbitMQSettings:
    """Settings with names no other test (or run) uses."""
    values: dict[str, Any] = {"url": url, "name_template": f"t{RUN}-{next(_names)}.{{channel}}",
                              "publish_timeout": 10.0, "connect_timeout": 10.0}
    values.update(overrides)
    return RabbitMQSettings(**values)
