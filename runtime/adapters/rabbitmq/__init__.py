"""The RabbitMQ adapter (kind ``"rabbitmq"``): see ``adapter.py`` for the guarantees and ``settings.py`` for the
environment variables. Needs the ``rabbitmq`` extra (aio-pika)."""

from .adapter import RabbitMQAdapter, adapter_factory
from .settings import RabbitMQSettings

__all__ = ["RabbitMQAdapter", "RabbitMQSettings", "adapter_factory"]
