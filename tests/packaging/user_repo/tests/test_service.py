"""The user's own tests: the service against the pytest plugin's in-memory bus, asserting what it published."""

from __future__ import annotations

import pytest
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.testing import Received, assert_published
from myapp.events import PaymentReceived, PaymentReceivedSubscriber
from myapp.service import open_account, welcome_credit


@pytest.mark.asyncio
async def test_opening_an_account_publishes_it(pubsub_bus: Bus) -> None:
    await open_account(pubsub_bus, "acc_42", "ada@example.com")

    [event] = await assert_published(pubsub_bus, "account.opened", count=1)
    assert event.data == {"account_id": "acc_42", "email": "ada@example.com", "plan": "free"}


@pytest.mark.asyncio
async def test_a_decorated_subscriber_runs_on_the_fixture_bus(pubsub_bus: Bus) -> None:
    payments: Received[PaymentReceived] = Received()
    PaymentReceivedSubscriber.handler(pubsub_bus, group="test")(payments)
    welcome_credit(pubsub_bus)

    await open_account(pubsub_bus, "acc_7", "grace@example.com")

    [payment] = await payments.wait_for(1)
    assert (payment.data.account_id, payment.data.amount_cents) == ("acc_7", 500)
    await assert_published(pubsub_bus, "payment.received", count=1, data={"account_id": "acc_7", "currency": "EUR"})
