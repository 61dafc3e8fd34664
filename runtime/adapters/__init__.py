"""Adapters carry envelope bytes between processes; ``base`` is the contract, one module per backend."""

from .base import (
    Adapter,
    AdapterFactory,
    Capabilities,
    Delivery,
    Health,
    Message,
    Record,
    StartAt,
    Subscription,
    dead_letter_channel,
)

__all__ = [
    "Adapter",
    "AdapterFactory",
    "Capabilities",
    "Delivery",
    "Health",
    "Message",
    "Record",
    "StartAt",
    "Subscription",
    "dead_letter_channel",
]
