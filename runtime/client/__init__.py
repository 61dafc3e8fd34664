"""Client transport of the HTTP service: publish (async and sync), stream channels over SSE with resume.

The generated ``client.py`` builds typed publishers on ``hipponot_pubsub.runtime.client.typed``; this package is
usable alone. Needs extra ``http`` (httpx, httpx-sse); without it importing this package raises
``MissingExtra`` naming it.
"""

from ..extras import missing_extra

try:
    from .stream import Backoff, EventStream, raw_envelope, subscribe, typed_reader
    from .transport import AsyncPubSubClient, PubSubClient, ServiceError, event_body, raise_for_problem
    from .typed import HttpPublisher, SyncHttpPublisher
except ModuleNotFoundError as error:  # httpx and httpx-sse come with extra http
    raise missing_extra(error, "the HTTP client (hipponot_pubsub.runtime.client)") or error from None

__all__ = [
    "AsyncPubSubClient",
    "Backoff",
    "EventStream",
    "HttpPublisher",
    "PubSubClient",
    "ServiceError",
    "SyncHttpPublisher",
    "event_body",
    "raise_for_problem",
    "raw_envelope",
    "subscribe",
    "typed_reader",
]
