"""The orders service: a Litestar app of its own that mounts the pubsub HTTP API through ``PubSubPlugin``.

Its own routes:

* ``POST /orders`` — takes a small checkout document, builds an ``OrderPlaced`` (the generated model of
  ``order.placed`` v2) and publishes it with the generated ``OrderPlacedPublisher``; answers 201 with the order
  id, number, event id and the event's position on channel ``orders``.
* ``GET /`` — redirects to the live page, ``/static/live.html?channel=orders``: a channel's events in the
  browser through ``EventSource``, resuming after a reload without a gap.

The pubsub routes (``POST /events``, ``GET /channels/{channel}/events`` (SSE), ``/registry/...``, ``/health``,
``/ready``, ``/metrics``) are mounted at the root by the plugin; see docs/http.md.

Run it alone (channels on the registry's adapters; Redis and Kafka settings from ``PUBSUB_REDIS_URL`` /
``PUBSUB_KAFKA_BOOTSTRAP_SERVERS``)::

    python examples/shop/orders_service.py --port 8000            # the worker runs elsewhere
    python examples/shop/orders_service.py --memory --with-worker  # everything in one process, no service
    python examples/shop/orders_service.py --channel orders=nats --channel notifications=rabbitmq

``--channel CHANNEL=KIND`` runs one channel on another adapter kind than the registry's (the worker takes the
same option; give both the same).

The demo allows anonymous requests (browsers' ``EventSource`` cannot send an ``Authorization`` header); set
``PUBSUB_TOKENS`` and pass ``--no-anonymous`` to require tokens.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import logging
import socket
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``examples.shop`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import uvicorn
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.errors import ValidationFailed
from hipponot_pubsub.runtime.http import PubSubPlugin, PubSubService, ServiceSettings
from hipponot_pubsub.runtime.http.app import GracefulServer
from litestar import Litestar, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import JSONBody
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from pydantic import ValidationError

from examples.shop.worker import channel_kind
from generated import OrderPlaced, OrderPlacedPublisher

STATIC = Path(__file__).resolve().parent / "static"

DEMO_ADDRESS = {"line1": "Kastanienallee 12", "line2": None, "city": "Berlin", "postal_code": "10435",
                "country": "DE"}


def order_from_checkout(body: dict[str, Any]) -> OrderPlaced:
    """An ``OrderPlaced`` (v2) from a checkout document; raises ``ValidationException`` (400) when unusable.

    ``{"customer_id": "cus_...", "items": [{"sku": "MUG-HIPPO-01", "quantity": 1, "unit_price": "12.50"}],
    "currency": "EUR", "sales_channel": "web", "shipping_address": {...}, "gift_message": "..."}``
    """
    if not isinstance(body, dict):
        raise ValidationException("the body must be a JSON object")
    currency = body.get("currency", "EUR")
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise ValidationException("items: at least one line item is required")
    try:
        total = sum((Decimal(str(item["unit_price"])) * int(item["quantity"]) for item in items), Decimal(0))
        line_items = [{"sku": item["sku"], "name": item.get("name"), "quantity": int(item["quantity"]),
                       "unit_price": {"amount": str(item["unit_price"]), "currency": currency}} for item in items]
    except (KeyError, TypeError, ValueError, ArithmeticError) as error:
        raise ValidationException(f"items: each needs sku, quantity and unit_price ({error!r})") from None
    order_id = uuid.uuid4()
    payload: dict[str, Any] = {
        "order_id": str(order_id),
        "order_number": f"HN-{order_id.int % 100_000_000:08d}",
        "customer_id": body.get("customer_id"),
        "placed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "sales_channel": body.get("sales_channel", "web"),
        "line_items": [{k: v for k, v in li.items() if v is not None} for li in line_items],
        "total": {"amount": f"{total:.2f}", "currency": currency},
        "shipping_address": body.get("shipping_address", DEMO_ADDRESS),
        "coupon_code": body.get("coupon_code"),
        "loyalty_points_earned": int(total),
    }
    if body.get("gift_message") is not None:
        payload["gift_message"] = body["gift_message"]
    try:
        return OrderPlaced.model_validate(payload)
    except ValidationError as error:
        raise ValidationException("the order is invalid", extra=error.errors(include_url=False,
                                                                            include_context=False)) from None


@post("/orders", status_code=201, tags=["shop"], summary="Place an order (publishes order.placed)")
async def place_order(data: JSONBody[dict[str, Any]], pubsub: NamedDependency[PubSubService]) -> dict[str, Any]:
    order = order_from_checkout(data)
    try:
        result = await OrderPlacedPublisher(pubsub.bus).publish(
            order, key=str(order.order_id), subject=order.order_number, idempotency_key=str(order.order_id))
    except ValidationFailed as error:  # the schema refused what the model accepted (e.g. a JSON-Schema-only rule)
        raise ValidationException("order.placed refused by its schema",
                                  extra=[{"pointer": v.pointer, "message": v.message} for v in error.violations]
                                  ) from None
    return {"order_id": str(order.order_id), "order_number": order.order_number, "event_id": result.id,
            "position": result.position, "channel": result.channel}


@get("/", include_in_schema=False)
async def index() -> Redirect:
    return Redirect("/static/live.html?channel=orders")


def build_service(*, all_channels_on: str | None = None, channel_adapters: dict[str, str] | None = None,
                  settings: ServiceSettings | None = None, anonymous: bool = True) -> PubSubService:
    """The pubsub service over the generated registry; its bus is started and stopped with the app."""
    settings = settings or ServiceSettings.from_env()
    if anonymous and not settings.allow_anonymous:
        settings = dataclasses.replace(settings, allow_anonymous=True)
    return PubSubService(Catalog.from_package("generated"), settings=settings, all_channels_on=all_channels_on,
                         channel_adapters=channel_adapters)


def create_shop_app(service: PubSubService, *, with_worker: bool = False) -> Litestar:
    """The orders service app. ``with_worker`` runs the worker's subscribers on the service's own bus."""
    if with_worker:
        from examples.shop.worker import register_worker

        register_worker(service.bus)
    return Litestar(
        route_handlers=[place_order, index, create_static_files_router(path="/static", directories=[STATIC])],
        plugins=[PubSubPlugin(service)],
    )


def listening_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # else ~40 ms per response (Nagle + delayed ACK)
    sock.bind((host, port))
    return sock


def serve(app: Litestar, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "warning",
          ready_line: str = "shop serving on {url}") -> None:
    """Serve until Ctrl+C/SIGTERM; prints ``ready_line`` on stdout once the app has started (bus included)."""
    sock = listening_socket(host, port)
    url = f"http://{host}:{sock.getsockname()[1]}"

    async def announce() -> None:
        print(ready_line.format(url=url) + f"  (live page: {url}/, API docs: {url}/schema/swagger)", flush=True)

    app.on_startup.append(announce)
    config = uvicorn.Config(app, log_level=log_level, lifespan="on", timeout_graceful_shutdown=5)
    GracefulServer(config).run(sockets=[sock])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the shop's orders service")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    parser.add_argument("--memory", action="store_true", help="every channel on the in-memory adapter")
    parser.add_argument("--with-worker", action="store_true", help="run the worker in this process too")
    parser.add_argument("--channel", type=channel_kind, action="append", default=[], metavar="CHANNEL=KIND",
                        help="run CHANNEL on adapter KIND instead of the registry's (repeatable)")
    parser.add_argument("--no-anonymous", action="store_true", help="require bearer tokens (PUBSUB_TOKENS)")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLogger().level))
    service = build_service(all_channels_on="memory" if args.memory else None, channel_adapters=dict(args.channel),
                            anonymous=not args.no_anonymous)
    # uvicorn re-raises the SIGINT it handled once the app has shut down (bus included): that is the way out
    # asked for, not an error worth a traceback.
    with contextlib.suppress(KeyboardInterrupt):
        serve(create_shop_app(service, with_worker=args.with_worker), host=args.host, port=args.port,
              log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())
