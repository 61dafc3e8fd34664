"""HTTP transport to the pubsub service: publish (async and sync) and map refusals back to runtime errors.

A refusal the in-process bus would raise is raised the same way here, so code moving from a broker connection
to HTTP keeps its ``except`` clauses: 422 schema violations → ``ValidationFailed`` (with each violation's
pointer, relative to ``data``), 404 → ``UnknownEventType`` / ``UnknownChannel``, 400/422 envelope problems →
``MalformedEvent``; anything else → ``ServiceError`` carrying the status and the problem document.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import httpx

from ..bus import PublishResult
from ..envelope import CONTENT_TYPE, Envelope
from ..errors import MalformedEvent, PubSubError, UnknownChannel, UnknownEventType, ValidationFailed, Violation
from ..jsonparse import dump_json, parse_json

DEFAULT_TIMEOUT = 10.0
#: httpx writes a request's headers and body separately; without TCP_NODELAY, Nagle's algorithm holds the body
#: back until the server's delayed ACK (~40 ms on Linux), capping a connection at ~25 requests/s.
SOCKET_OPTIONS = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]


class ServiceError(PubSubError):
    """The service refused a request (or failed); ``status`` and ``problem`` say why."""

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        self.status = status
        self.problem = dict(problem)
        super().__init__(f"HTTP {status}: {problem.get('title', '')}: {problem.get('detail', '')}".rstrip(": "))

    @property
    def retry_after(self) -> float | None:
        value = self.problem.get("retry_after")
        return float(value) if isinstance(value, int | float) else None


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = parse_json(response.content)
    except PubSubError:
        return {"title": response.reason_phrase, "detail": response.text[:500]}
    if not isinstance(body, dict):
        return {"title": response.reason_phrase}
    if "retry-after" in response.headers:
        with contextlib.suppress(ValueError):
            body["retry_after"] = float(response.headers["retry-after"])
    return body


def raise_for_problem(response: httpx.Response, event_type: str = "", version: int = 0) -> None:
    """Raise the runtime error a refused response stands for (nothing for 2xx)."""
    if response.status_code < 400:
        return
    problem = _problem(response)
    kind = str(problem.get("type", "")).rsplit(":", 1)[-1]
    detail = str(problem.get("detail", ""))
    if kind == "schema-violation":
        violations = [
            Violation(str(e.get("pointer", "")).removeprefix("/data"), str(e.get("message", "")),
                      str(e.get("keyword", "")))
            for e in problem.get("errors", []) if isinstance(e, dict)
        ]
        raise ValidationFailed(event_type, version, violations)
    if kind == "unknown-event-type":
        raise UnknownEventType(detail)
    if kind == "unknown-channel":
        raise UnknownChannel(detail)
    if kind in ("malformed-json", "invalid-cloudevent"):
        raise MalformedEvent(detail)
    raise ServiceError(response.status_code, problem)


def _result(item: Mapping[str, Any]) -> PublishResult:
    return PublishResult(str(item["id"]), str(item["position"]), str(item["channel"]), str(item["type"]),
                         int(item["version"]), bool(item.get("duplicate", False)))


def event_body(
    event_type: str,
    data: Any,
    *,
    version: int | None = None,
    key: str | None = None,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    subject: str | None = None,
    idempotency_key: str | None = None,
    principal: str | None = None,
    traceparent: str | None = None,
    id: str | None = None,
) -> dict[str, Any]:
    """A structured-mode CloudEvent for JSON-ready ``data``; the server fills id, source and time if absent."""
    wire: dict[str, Any] = {"specversion": "1.0", "type": event_type, "data": data}
    optional = {"dataversion": version, "partitionkey": key, "correlationid": correlation_id,
                "causationid": causation_id, "subject": subject, "idempotencykey": idempotency_key,
                "principal": principal, "traceparent": traceparent, "id": id}
    wire.update({k: v for k, v in optional.items() if v is not None})
    return wire


def _headers(token: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"} if token else {}


def _batch_content(events: Iterable[Mapping[str, Any] | Envelope[Any]]) -> bytes:
    return dump_json([e.to_wire() if isinstance(e, Envelope) else dict(e) for e in events])


class AsyncPubSubClient:
    """Publishes to (and streams from, see ``.stream``) a pubsub service. ``async with`` it."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 http: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(base_url=self.base_url, timeout=timeout, headers=_headers(token),
                                              transport=httpx.AsyncHTTPTransport(socket_options=SOCKET_OPTIONS))

    async def __aenter__(self) -> AsyncPubSubClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def publish(self, event_type: str, data: Any, **attributes: Any) -> PublishResult:
        """Publish one event (JSON-ready ``data``); returns once the service's adapter stored it."""
        return await self.publish_wire(event_body(event_type, data, **attributes))

    async def publish_wire(self, wire: Mapping[str, Any] | Envelope[Any]) -> PublishResult:
        body = wire.to_wire() if isinstance(wire, Envelope) else wire
        response = await self.http.post("/events", content=dump_json(body), headers={"content-type": CONTENT_TYPE})
        raise_for_problem(response, str(body.get("type", "")), int(body.get("dataversion") or 0))
        return _result(response.json())

    async def publish_many(self, events: Sequence[Mapping[str, Any] | Envelope[Any]]) -> list[PublishResult]:
        """Publish a batch: all stored, or none (``ServiceError`` 422 lists the errors per index)."""
        response = await self.http.post("/events/batch", content=_batch_content(events),
                                        headers={"content-type": "application/cloudevents-batch+json"})
        raise_for_problem(response)
        return [_result(item) for item in response.json()["results"]]


class PubSubClient:
    """The synchronous publisher (for code without an event loop). ``with`` it."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 http: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._owns_http = http is None
        self.http = http or httpx.Client(base_url=self.base_url, timeout=timeout, headers=_headers(token),
                                         transport=httpx.HTTPTransport(socket_options=SOCKET_OPTIONS))

    def __enter__(self) -> PubSubClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    def publish(self, event_type: str, data: Any, **attributes: Any) -> PublishResult:
        return self.publish_wire(event_body(event_type, data, **attributes))

    def publish_wire(self, wire: Mapping[str, Any] | Envelope[Any]) -> PublishResult:
        body = wire.to_wire() if isinstance(wire, Envelope) else wire
        response = self.http.post("/events", content=dump_json(body), headers={"content-type": CONTENT_TYPE})
        raise_for_problem(response, str(body.get("type", "")), int(body.get("dataversion") or 0))
        return _result(response.json())

    def publish_many(self, events: Sequence[Mapping[str, Any] | Envelope[Any]]) -> list[PublishResult]:
        response = self.http.post("/events/batch", content=_batch_content(events),
                                  headers={"content-type": "application/cloudevents-batch+json"})
        raise_for_problem(response)
        return [_result(item) for item in response.json()["results"]]
