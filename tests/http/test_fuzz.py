"""Schemathesis against the service's own OpenAPI document: no request makes the server answer 5xx.

Runs with anonymous access (so requests reach the handlers) on memory adapters. The SSE route is called in
streaming mode and only its status is checked (a successful stream never ends).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.http import ServiceSettings, create_app
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from .server import ServerThread


@pytest.fixture(scope="module")
def fuzz_server() -> Iterator[ServerThread]:
    app = create_app(Catalog.from_package("generated"), all_channels_on="memory",
                     settings=ServiceSettings(allow_anonymous=True, max_subscribers=10_000))
    with ServerThread(app) as server:
        yield server


def test_no_server_errors(fuzz_server: ServerThread) -> None:
    api = schemathesis.openapi.from_url(f"{fuzz_server.url}/schema/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 14
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            if case.path == "/channels/{channel}/events":
                headers = {k: str(v) for k, v in (case.headers or {}).items()}
                with httpx.Client(base_url=fuzz_server.url, timeout=10) as http, http.stream(
                        "GET", case.formatted_path, params=case.query, headers=headers) as streamed:
                    assert streamed.status_code < 500, streamed.read()
                return
            response = case.call(base_url=fuzz_server.url, timeout=10)
            case.validate_response(response, checks=[not_a_server_error])

        check()
