"""RabbitMQ restarted mid-stream (a private node): acknowledged publishes survive, a publish while it
is down fails clearly, and a new adapter carries on with the same positions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from hipponot_pubsub.runtime.adapters.base import Message, StartAt
from hipponot_pubsub.runtime.adapters.rabbitmq import RabbitMQAdapter
from hipponot_pubsub.runtime.catalog import ChannelSpec
from hipponot_pubsub.runtime.errors import AdapterError

from .private import PrivateRabbitMQ, available
from .server import settings_for

TIMEOUT = 10.0


@pytest.fixture
def private_rabbitmq() -> Iterator[PrivateRabbitMQ]:
    if not available():
        pytest.skip("rabbitmq-server (Debian package rabbitmq-server) is not installed")
    node = PrivateRabbitMQ()
    node.start()
    try:
        yield node
    finally:
        node.remove()


def msg(n: int) -> Message:
    return Message(f'{{"n":{n}}}'.encode(), None, {"ce-type": "t", "ce-id": str(n)})


@pytest.mark.slow
async def test_acknowledged_publishes_survive_a_server_restart(private_rabbitmq: PrivateRabbitMQ) -> None:
    settings = settings_for(private_rabbitmq.url, publish_timeout=2.0, connect_timeout=10.0)
    spec = ChannelSpec("orders", "rabbitmq")
    adapter = RabbitMQAdapter([spec], settings=settings)
    await adapter.start()
    reader = await adapter.subscribe("orders", start=StartAt.EARLIEST, max_in_flight=100)
    acknowledged = [await adapter.publish("orders", msg(i)) for i in range(5)]
    acknowledged += await adapter.publish_many("orders", [msg(i) for i in range(5, 10)])
    seen = [(await asyncio.wait_for(reader.next(), TIMEOUT)) for _ in range(5)]  # mid-stream: half read
    assert [d.record.position for d in seen if d is not None] == acknowledged[:5]

    private_rabbitmq.stop()  # a clean stop: see private.py for what a SIGKILL does to a stream on 3.10
    with pytest.raises(AdapterError):
        await adapter.publish("orders", msg(99))
    assert not (await adapter.health()).ok
    await adapter.close()

    private_rabbitmq.start()
    after = RabbitMQAdapter([spec], settings=settings)
    await after.start()
    try:
        assert [r.position for r in await after.history("orders")] == acknowledged
        resumed = await after.subscribe("orders", start=StartAt.after(acknowledged[4]), max_in_flight=100)
        more = await after.publish("orders", msg(10))
        got = [await asyncio.wait_for(resumed.next(), TIMEOUT) for _ in range(6)]
        assert [d and d.record.position for d in got] == [*acknowledged[5:], more], private_rabbitmq.output
    finally:
        await after.close()
