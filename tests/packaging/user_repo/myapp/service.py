"""The accounts service: opens accounts and takes payments, announcing both on the bus."""

from __future__ import annotations

from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.envelope import Envelope

from myapp.events import (
    AccountOpened,
    AccountOpenedPublisher,
    AccountOpenedSubscriber,
    PaymentReceived,
    PaymentReceivedPublisher,
)


async def open_account(bus: Bus, account_id: str, email: str) -> None:
    """Open a free account and say so on the bus."""
    await AccountOpenedPublisher(bus).publish(
        AccountOpened(account_id=account_id, email=email, plan="free"), key=account_id
    )


async def take_payment(bus: Bus, account_id: str, amount_cents: int) -> None:
    """Record a payment in euros."""
    await PaymentReceivedPublisher(bus).publish(
        PaymentReceived(account_id=account_id, amount_cents=amount_cents, currency="EUR"), key=account_id
    )


def welcome_credit(bus: Bus) -> None:
    """Subscribe the welcome credit: every opened account receives a first payment of 500 cents."""

    @AccountOpenedSubscriber.handler(bus, group="welcome-credit")
    async def credit(event: Envelope[AccountOpened]) -> None:
        await take_payment(bus, event.data.account_id, 500)
