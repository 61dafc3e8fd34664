"""Waiting on conditions under a deadline (tests never sleep to synchronise)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hipponot_pubsub.runtime.adapters.base import Delivery, Subscription


async def eventually(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Return once ``condition()`` holds; fail naming ``what`` after ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.005)  # poll the condition
    except TimeoutError:
        raise AssertionError(f"timed out after {timeout}s waiting for {what}") from None


async def take(subscription: Subscription, timeout: float = 10.0) -> Delivery:
    delivery = await asyncio.wait_for(subscription.next(), timeout)
    assert delivery is not None
    return delivery
