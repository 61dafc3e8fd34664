"""hipponot-pubsub: a JSON Schema event registry, its code generator and the typed runtime generated code uses.

The short public API: what a service built on generated code touches. Everything here comes from the runtime
(``hipponot_pubsub.runtime``), which the bare install carries; the code generator is
``hipponot_pubsub.generator`` (extra ``codegen``), the HTTP service ``hipponot_pubsub.runtime.http`` and its
client ``hipponot_pubsub.runtime.client`` (extra ``http``).

.. code-block:: python

    from hipponot_pubsub import Bus, Catalog, Envelope

    async with Bus(Catalog.from_package("myapp.events")) as bus:
        ...

Names are imported on first use, so ``import hipponot_pubsub`` (and the ``pubsub`` command, which lives in this
package) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runtime.bus import Bus, PublishResult
    from .runtime.catalog import Catalog, ChannelSpec, EventSpec
    from .runtime.envelope import Envelope
    from .runtime.errors import (
        BusClosed,
        MalformedEvent,
        PoisonEvent,
        PubSubError,
        UnknownChannel,
        UnknownEventType,
        ValidationFailed,
        Violation,
        WrongChannel,
    )
    from .runtime.model import EventPayload, PayloadModel
    from .runtime.publisher import Publisher
    from .runtime.retry import RetryPolicy
    from .runtime.subscriber import Subscriber

#: Public name → the runtime module that defines it.
_EXPORTS = {
    "Bus": "bus",
    "PublishResult": "bus",
    "Catalog": "catalog",
    "ChannelSpec": "catalog",
    "EventSpec": "catalog",
    "Envelope": "envelope",
    "BusClosed": "errors",
    "MalformedEvent": "errors",
    "PoisonEvent": "errors",
    "PubSubError": "errors",
    "UnknownChannel": "errors",
    "UnknownEventType": "errors",
    "ValidationFailed": "errors",
    "Violation": "errors",
    "WrongChannel": "errors",
    "EventPayload": "model",
    "PayloadModel": "model",
    "Publisher": "publisher",
    "RetryPolicy": "retry",
    "Subscriber": "subscriber",
}

__all__ = [
    "Bus",
    "BusClosed",
    "Catalog",
    "ChannelSpec",
    "Envelope",
    "EventPayload",
    "EventSpec",
    "MalformedEvent",
    "PayloadModel",
    "PoisonEvent",
    "PubSubError",
    "PublishResult",
    "Publisher",
    "RetryPolicy",
    "Subscriber",
    "UnknownChannel",
    "UnknownEventType",
    "ValidationFailed",
    "Violation",
    "WrongChannel",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hipponot_pubsub' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".runtime.{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
