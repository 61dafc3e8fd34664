"""The NATS JetStream adapter (kind ``"nats"``): see ``adapter.py`` for the guarantees and ``settings.py`` for the
environment variables. Needs the ``nats`` extra (nats-py)."""

from .adapter import NatsAdapter, PartialPublish, StreamInfo, adapter_factory
from .settings import NatsSettings

__all__ = ["NatsAdapter", "NatsSettings", "PartialPublish", "StreamInfo", "adapter_factory"]
