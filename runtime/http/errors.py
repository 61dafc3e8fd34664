"""Error responses as RFC 9457 problem details (``application/problem+json``), and the mapping from errors.

Every refusal names a ``type`` (a stable URN a client can switch on), a ``title``, the ``status`` and a
``detail`` sentence; refusals about event content list ``errors``, each with a JSON ``pointer`` into the
event (and an ``index`` into the batch for batch requests). No exception escapes as a bare 500: anything
unexpected is logged and answered with a problem document (and the schemathesis test checks none occurs).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.exceptions import ValidationException as LitestarValidationException
from litestar.types import ExceptionHandlersMap

from ..errors import (
    AdapterError,
    BusClosed,
    InvalidPosition,
    MalformedEvent,
    NotADeadLetter,
    PubSubError,
    UnknownChannel,
    UnknownEventType,
    ValidationFailed,
    Violation,
    WrongChannel,
)
from ..jsonparse import dump_json

logger = logging.getLogger("hipponot_pubsub.runtime.http")

PROBLEM_JSON = "application/problem+json"
_PREFIX = "urn:hipponot-pubsub:problem:"


class Problem(Exception):
    """An error response: raise it from a handler, the exception handler renders it."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str = "",
        *,
        errors: Sequence[Mapping[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self, instance: str | None = None) -> dict[str, Any]:
        document: dict[str, Any] = {"type": _PREFIX + self.kind, "title": self.title, "status": self.status}
        if self.detail:
            document["detail"] = self.detail
        if instance:
            document["instance"] = instance
        if self.errors:
            document["errors"] = self.errors
        document.update(self.extra)
        return document

    def response(self, instance: str | None = None) -> Response[bytes]:
        return Response(dump_json(self.body(instance)), status_code=self.status, media_type=PROBLEM_JSON,
                        headers=self.headers)


def violation_errors(violations: Sequence[Violation], index: int | None = None) -> list[dict[str, Any]]:
    """``ValidationFailed.violations`` as problem ``errors`` (data pointers are prefixed with ``/data``)."""
    errors = []
    for violation in violations:
        item: dict[str, Any] = {"pointer": "/data" + violation.pointer, "message": violation.message}
        if violation.keyword:
            item["keyword"] = violation.keyword
        if index is not None:
            item = {"index": index, **item}
        errors.append(item)
    return errors


def envelope_errors(error: MalformedEvent, index: int | None = None) -> list[dict[str, Any]]:
    """The attribute problems ``envelope_from_wire`` lists in its message, one error each with its pointer."""
    text = str(error)
    _, _, listed = text.partition("not a valid CloudEvent: ")
    parts = listed.split("; ") if listed else [text]
    errors: list[dict[str, Any]] = []
    for part in parts:
        pointer, sep, message = part.partition(": ")
        if not sep or not pointer.startswith("/"):
            pointer, message = ("/specversion", part) if part.startswith("specversion") else ("", part)
        item: dict[str, Any] = {"pointer": pointer, "message": message}
        errors.append(item if index is None else {"index": index, **item})
    return errors


def problem_for(error: Exception) -> Problem:
    """The problem document an error stands for (``Problem`` itself passes through)."""
    if isinstance(error, Problem):
        return error
    if isinstance(error, ValidationFailed):
        return Problem(422, "schema-violation", "The event's data breaks its schema",
                       f"{error.event_type} v{error.version}: {len(error.violations)} schema violation(s)",
                       errors=violation_errors(error.violations))
    if isinstance(error, MalformedEvent):
        if str(error).startswith("not JSON"):
            return Problem(400, "malformed-json", "The body is not JSON", str(error))
        return Problem(422, "invalid-cloudevent", "Not a valid CloudEvent", str(error), errors=envelope_errors(error))
    if isinstance(error, UnknownEventType):
        return Problem(404, "unknown-event-type", "Unknown event type", str(error))
    if isinstance(error, UnknownChannel):
        return Problem(404, "unknown-channel", "Unknown channel", str(error))
    if isinstance(error, WrongChannel):
        return Problem(422, "wrong-channel", "Event type sent on the wrong channel", str(error))
    if isinstance(error, InvalidPosition):
        return Problem(400, "invalid-position", "Unknown stream position", str(error))
    if isinstance(error, NotADeadLetter):
        return Problem(404, "not-a-dead-letter", "No such dead letter", str(error))
    if isinstance(error, BusClosed):
        return Problem(503, "unavailable", "The service is shutting down", str(error), headers={"Retry-After": "5"})
    if isinstance(error, AdapterError):
        return Problem(503, "adapter-unavailable", "The event store is unavailable", str(error),
                       headers={"Retry-After": "5"})
    if isinstance(error, PubSubError):
        return Problem(400, "refused", "Request refused", str(error))
    if isinstance(error, NotAuthorizedException):
        return Problem(401, "unauthenticated", "Authentication required", error.detail,
                       headers={"WWW-Authenticate": 'Bearer realm="pubsub"'})
    if isinstance(error, PermissionDeniedException):
        return Problem(403, "forbidden", "Outside the token's scopes", error.detail)
    if isinstance(error, LitestarValidationException):
        errors = [{"pointer": "", "message": str(e.get("message", e))} for e in (error.extra or [])
                  if isinstance(e, Mapping)]
        return Problem(400, "bad-request", "Bad request", error.detail, errors=errors)
    if isinstance(error, HTTPException):
        kinds = {404: "not-found", 405: "method-not-allowed", 413: "too-large", 415: "unsupported-media-type"}
        headers = {k: v for k, v in (error.headers or {}).items()}
        return Problem(error.status_code, kinds.get(error.status_code, "http-error"), error.detail or "Error",
                       error.detail, headers=headers)
    logger.exception("unexpected error", exc_info=error)
    return Problem(500, "internal", "Internal error", "an unexpected error occurred; it has been logged")


def _handle(request: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    return problem_for(error).response(request.url.path)


#: The app's exception handlers: every error becomes problem+json.
EXCEPTION_HANDLERS: ExceptionHandlersMap = {Exception: _handle}
