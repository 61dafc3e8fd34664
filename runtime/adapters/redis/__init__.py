"""The Redis adapter (``redis.asyncio``): durable streams with consumer groups, or pub/sub fan-out, per channel.

The bus finds it as ``hipponot_pubsub.runtime.adapters.redis:adapter_factory`` (kind ``"redis"``); settings come
from the ``PUBSUB_REDIS_*`` environment variables (see ``settings``).
"""

from .adapter import RedisAdapter, adapter_factory
from .settings import ChannelOptions, RedisSettings

__all__ = ["ChannelOptions", "RedisAdapter", "RedisSettings", "adapter_factory"]
