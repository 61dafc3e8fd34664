"""Key names. Every key of one channel carries the channel in a ``{...}`` hash tag, so all of them hash to one
Redis Cluster slot: the dead-letter ``XADD`` and the ``XACK`` of the original can then run in one
``MULTI``/``EXEC`` even on a cluster (Cluster itself is out of scope today; this keeps the door open)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ChannelKeys:
    stream: str  # the channel's stream (streams mode)
    dead_letter: str  # the dead-letter stream (both modes: dead letters are worth keeping)
    redrive: str  # the redrive stream: redriven and replayed copies for one group each (streams mode)
    pubsub: str  # the PUBLISH channel name (pubsub mode)
    sequence: str  # the counter that numbers pubsub-mode events

    @classmethod
    def of(cls, prefix: str, channel: str) -> ChannelKeys:
        base = f"{prefix}:{{{channel}}}"
        return cls(stream=base, dead_letter=f"{base}:dead-letter", redrive=f"{base}:redrive",
                   pubsub=f"{base}:pubsub", sequence=f"{base}:seq")
