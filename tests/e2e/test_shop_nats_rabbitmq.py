"""The shop with ``orders`` on NATS JetStream and ``notifications`` on RabbitMQ (``run.py nats-rabbitmq``): the
registry still names Redis and Kafka, the service and the worker move the two channels at run time. Driven over
HTTP and watched through the worker's output and the brokers themselves; the streams and queues of the run must
be gone once it stopped. Skipped only when a broker does not answer."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import aio_pika
import httpx
import nats
import pytest
from aio_pika.exceptions import ChannelNotFoundEntity
from hipponot_pubsub.runtime.adapters.nats import NatsSettings
from hipponot_pubsub.runtime.adapters.rabbitmq import RabbitMQSettings
from nats.js.errors import NotFoundError

from tests.nats.server import SHARED_URL, NatsServer, answers
from tests.rabbitmq.server import URL as RABBITMQ_URL
from tests.rabbitmq.server import reachable

from .conftest import ShopProcess

ORDERS = 3
CHECKOUT = {"customer_id": "cus_8fK2LmQ9xTzA1b", "sales_channel": "web",
            "items": [{"sku": "MUG-HIPPO-01", "name": "Hippo mug", "quantity": 2, "unit_price": "12.50"}]}


@pytest.fixture(scope="module")
def nats_url() -> Iterator[str]:
    """The machine's NATS server when it answers, else a private ``nats-server -js`` (skips if not installed)."""
    host, _, port = SHARED_URL.split("://", 1)[-1].rpartition(":")
    if answers(host, int(port)):
        yield SHARED_URL
        return
    server = NatsServer().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="module")
def rabbitmq_url() -> str:
    problem = reachable(RABBITMQ_URL)
    if problem is not None:
        pytest.skip(problem + " (scripts/services starts it)")
    return RABBITMQ_URL


async def stored_on_brokers(nats_url: str, stream: str, rabbitmq_url: str, queue: str) -> tuple[int, bool] | None:
    """(messages in the NATS stream, whether the RabbitMQ stream queue exists), or None once the NATS stream is
    gone; a RabbitMQ queue that is gone reads as False (a passive declare fails)."""
    connection = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=0)
    try:
        info = await connection.jsm().stream_info(stream)
        messages: int | None = info.state.messages
    except NotFoundError:
        messages = None
    finally:
        await connection.close()
    amqp = await aio_pika.connect(rabbitmq_url, timeout=10)
    try:
        channel = await amqp.channel()
        try:
            await channel.declare_queue(queue, passive=True)
            exists = True
        except ChannelNotFoundEntity:
            exists = False
    finally:
        await amqp.close()
    if messages is None:
        assert not exists, f"the NATS stream {stream} is gone but not the RabbitMQ queue {queue}"
        return None
    return messages, exists


def place_orders(url: str, count: int) -> list[dict[str, Any]]:
    with httpx.Client(base_url=url, timeout=10) as client:
        placed = []
        for _ in range(count):
            response = client.post("/orders", json=CHECKOUT)
            assert response.status_code == 201, response.text
            placed.append(response.json())
        return placed


def test_shop_on_nats_and_rabbitmq(nats_url: str, rabbitmq_url: str) -> None:
    shop = ShopProcess("nats-rabbitmq", env={"PUBSUB_NATS_URL": nats_url, "PUBSUB_RABBITMQ_URL": rabbitmq_url})
    stopped = False
    try:
        assert not any(line.startswith("private ") for line in shop.output), shop.output
        names = re.search(r"NATS stream (\S+), RabbitMQ stream (\S+) \(deleted at exit\)",
                          shop.wait_for("names of this run: "))
        assert names is not None, shop.output
        stream = NatsSettings(url=nats_url, stream_template=names[1]).stream("orders")
        queue = RabbitMQSettings(url=rabbitmq_url, name_template=names[2]).name("notifications")

        health = httpx.get(f"{shop.url}/ready", timeout=10).json()
        assert health["ready"] and set(health["adapters"]) == {"nats", "rabbitmq", "memory"}, health
        # The registry is untouched: it still names the adapters of the other modes.
        orders = httpx.get(f"{shop.url}/registry/channels/orders", timeout=10).json()
        assert orders["adapter"] == "redis"

        placed = place_orders(shop.url, ORDERS)
        assert all(order["channel"] == "orders" for order in placed)
        # NATS positions: <stream tag>:<stream sequence>, one stream of this run's own.
        tags, sequences = zip(*(order["position"].split(":") for order in placed), strict=True)
        assert len(set(tags)) == 1 and [int(s) for s in sequences] == list(range(1, ORDERS + 1)), placed

        # Group "notifier" (NATS) asked for one confirmation per order; group "sender" (RabbitMQ) sent each once.
        for order in placed:
            shop.wait_for("[worker] sent email order_confirmation", contains=f"for order {order['order_number']} ")
        sent = [line for line in shop.output if line.startswith("[worker] sent ")]
        assert len(sent) == ORDERS, sent
        assert asyncio.run(stored_on_brokers(nats_url, stream, rabbitmq_url, queue)) == (ORDERS, True)

        code = shop.interrupt()
        stopped = True
        assert code == 0, "\n".join(shop.output[-40:])
        shop.wait_for("deleted this run's streams and queues", timeout=5)  # what it printed while stopping
        assert not any("Traceback" in line for line in shop.output), "\n".join(shop.output[-60:])
        assert asyncio.run(stored_on_brokers(nats_url, stream, rabbitmq_url, queue)) is None
    finally:
        if not stopped:
            shop.interrupt()
