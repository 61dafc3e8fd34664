"""The Kafka adapter (kind ``"kafka"``): see ``adapter.py`` for the guarantees and ``settings.py`` for the
environment variables. Needs the ``kafka`` extra (aiokafka)."""

from .adapter import KafkaAdapter, TopicInfo, adapter_factory
from .producer import PartialPublish
from .settings import KafkaSettings

__all__ = ["KafkaAdapter", "KafkaSettings", "PartialPublish", "TopicInfo", "adapter_factory"]
