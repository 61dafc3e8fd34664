"""The shop's worker: two consumer groups built on the generated subscribers.

* ``Notifier`` (group ``notifier``, channel ``orders`` — Redis streams in the registry): for every
  ``order.placed`` it publishes a ``notification.requested`` (an order confirmation e-mail) with the generated
  ``NotificationRequestedPublisher``; the notification id is derived from the order id, so a redelivered order
  asks for the *same* notification.
* ``Sender`` (group ``sender``, channel ``notifications`` — Kafka in the registry): "sends" each requested
  notification — here it prints one line, ``sent <channel> <template> to <recipient> for order <number>
  (notification <id>)`` — and skips a notification id it already sent (delivery is at least once; the schema
  names ``notification_id`` as the idempotency key).

Both groups start at the beginning of their channel when they are first created, so orders placed before the
worker's first start are not lost; later the group's committed position is where a restarted worker resumes.

Run it alone (adapters from the registry, connection settings from the environment)::

    python examples/shop/worker.py          # prints "worker ready" once both groups are subscribed
    python examples/shop/worker.py --channel orders=nats --channel notifications=rabbitmq

``--channel CHANNEL=KIND`` runs one channel on another adapter kind (``Bus(channel_adapters=...)``), leaving the
registry as it is; the orders service takes the same option, and both must be given the same.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import signal
import sys
import uuid
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``examples.shop`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from hipponot_pubsub.runtime.adapters.base import StartAt
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.envelope import Envelope

from generated import (
    NotificationRequested,
    NotificationRequestedPublisher,
    NotificationRequestedSubscriber,
    OrderPlaced,
    OrderPlacedSubscriber,
)

logger = logging.getLogger("shop.worker")

#: The demo's customer directory (a real worker would ask the customer service).
CUSTOMERS = {"cus_8fK2LmQ9xTzA1b": ("lena.schulz@example.de", "Lena", "de-DE")}
NOTIFICATION_NAMESPACE = uuid.UUID("6f1c3a52-8d0e-4e43-9a57-0c1b7f5e2d10")


def recipient_of(customer_id: str) -> tuple[str, str, str]:
    return CUSTOMERS.get(customer_id, (f"{customer_id.lower()}@customers.example", "customer", "en-GB"))


class Notifier(OrderPlacedSubscriber):
    """order.placed (Redis, group ``notifier``) → notification.requested (Kafka)."""

    async def handle(self, event: Envelope[OrderPlaced]) -> None:
        order = event.data
        customer_id = order.customer_id.root
        email, name, locale = recipient_of(customer_id)
        notification = NotificationRequested.model_validate({
            "notification_id": str(uuid.uuid5(NOTIFICATION_NAMESPACE, f"order-confirmation:{order.order_id}")),
            "channel": "email",
            "recipient": email,
            "customer_id": customer_id,
            "template_id": "order_confirmation",
            "locale": locale,
            "params": {"display_name": name, "order_number": order.order_number,
                       "total": f"{order.total.amount} {order.total.currency}"},
            "priority": "normal",
            "requested_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        })
        await NotificationRequestedPublisher(self.bus).publish(
            notification, key=str(notification.notification_id), subject=order.order_number,
            correlation_id=event.correlation_id or event.id, causation_id=event.id,
            idempotency_key=str(notification.notification_id))


class Sender(NotificationRequestedSubscriber):
    """notification.requested (Kafka, group ``sender``): send each notification once."""

    def __init__(self, bus: Bus, *, outbox: Callable[[str], None], **options: object) -> None:
        super().__init__(bus, **options)  # type: ignore[arg-type]
        self.outbox = outbox
        self.sent: OrderedDict[str, None] = OrderedDict()

    async def handle(self, event: Envelope[NotificationRequested]) -> None:
        note = event.data
        key = str(note.notification_id)
        if key in self.sent:
            return  # a redelivery of something already sent
        self.outbox(f"sent {note.channel} {note.template_id} to {note.recipient} for order "
                    f"{note.params.get('order_number', '?')} (notification {key})")
        self.sent[key] = None
        if len(self.sent) > 100_000:
            self.sent.popitem(last=False)


def _print(line: str) -> None:
    print(line, flush=True)


def register_worker(bus: Bus, *, outbox: Callable[[str], None] = _print) -> tuple[Notifier, Sender]:
    """Declare the worker's two groups on a bus that has not started yet (they start with it)."""
    notifier = Notifier(bus, group="notifier", concurrency=8, start=StartAt.EARLIEST)
    sender = Sender(bus, outbox=outbox, group="sender", concurrency=8, start=StartAt.EARLIEST)
    notifier.register()
    sender.register()
    return notifier, sender


def channel_kind(text: str) -> tuple[str, str]:
    """``CHANNEL=KIND`` (the ``--channel`` option of the worker and the orders service) as a pair."""
    channel, sep, kind = text.partition("=")
    if not sep or not channel.strip() or not kind.strip():
        raise argparse.ArgumentTypeError(f"expected CHANNEL=KIND (e.g. orders=nats), got {text!r}")
    return channel.strip(), kind.strip()


async def run(*, all_channels_on: str | None = None, channel_adapters: dict[str, str] | None = None) -> None:
    """Run the worker until SIGINT/SIGTERM."""
    bus = Bus(Catalog.from_package("generated"), all_channels_on=all_channels_on, channel_adapters=channel_adapters,
              source="urn:hipponot-shop:worker")
    register_worker(bus)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with bus:
        print("worker ready", flush=True)
        await stop.wait()
    print("worker stopped", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the shop's worker (groups notifier and sender)")
    parser.add_argument("--channel", type=channel_kind, action="append", default=[], metavar="CHANNEL=KIND",
                        help="run CHANNEL on adapter KIND instead of the registry's (repeatable)")
    args = parser.parse_args(argv)
    logging.basicConfig(level="WARNING", format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(run(channel_adapters=dict(args.channel)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
