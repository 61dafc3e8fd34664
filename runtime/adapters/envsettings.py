"""Reading an adapter's settings dataclass from ``PUBSUB_<KIND>_*`` environment variables, and its TLS context.

Kafka, NATS and RabbitMQ settings are frozen dataclasses whose every field is read from the variable named
after it (``PUBSUB_KAFKA_`` + ``FIELD_NAME``), converted by the type of its default. That reading, the
true/false spelling it accepts and the client TLS context they build are the same for all of them, so they live
here once: a variable means the same thing, and fails the same way, whichever adapter reads it.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import Field, replace
from typing import Any, ClassVar, Protocol, TypeVar


class _Dataclass(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]


SettingsT = TypeVar("SettingsT", bound=_Dataclass)


def parse_bool(value: str, variable: str) -> bool:
    """``1/true/yes/on`` or ``0/false/no/off/`` (any case, white space ignored); ``ValueError`` naming
    ``variable`` otherwise."""
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{variable}: expected true/false, got {value!r}")


def settings_from_env(cls: type[SettingsT], prefix: str, environ: Mapping[str, str] | None,
                      overrides: Mapping[str, Any]) -> SettingsT:
    """``cls`` with each field read from ``prefix + FIELD`` in ``environ`` (default ``os.environ``) when set,
    as a bool, int or float by the type of the field's default (a field defaulting to ``None`` is a string);
    ``overrides`` win over the environment."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, spec in cls.__dataclass_fields__.items():
        raw = env.get(prefix + name.upper())
        if raw is None:
            continue
        kind: type[Any] = str if spec.default is None else type(spec.default)
        if kind is bool:
            values[name] = parse_bool(raw, prefix + name.upper())
        elif kind is int:
            values[name] = int(raw)
        elif kind is float:
            values[name] = float(raw)
        else:
            values[name] = raw
    settings = cls(**values)
    return replace(settings, **overrides) if overrides else settings


def client_tls_context(cafile: str | None, certfile: str | None, keyfile: str | None,
                       check_hostname: bool) -> ssl.SSLContext:
    """A client TLS context verifying the server with ``cafile`` (the system CAs when ``None``), checking its host
    name or not, and presenting ``certfile``/``keyfile`` when a certificate is given (mutual TLS)."""
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = check_hostname
    if certfile:
        context.load_cert_chain(certfile, keyfile)
    return context
