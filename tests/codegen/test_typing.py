"""mypy --strict accepts correct use of the generated API and rejects misuse."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from mypy import api

from .conftest import ROOT

HEADER = """\
from generated import (
    OrderPlaced,
    OrderPlacedPublisher,
    OrderPlacedSubscriber,
    UserRegistered,
    UserRegisteredPublisher,
)
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.envelope import Envelope
"""

CORRECT = """
async def place(bus: Bus, order: OrderPlaced) -> str:
    result = await OrderPlacedPublisher(bus).publish(order, key="customer-1", correlation_id="c-1")
    return result.id

def wire(bus: Bus) -> None:
    @OrderPlacedSubscriber.handler(bus, group="billing")
    async def bill(event: Envelope[OrderPlaced]) -> None:
        print(event.data.order_number, event.data.total.amount)

class Billing(OrderPlacedSubscriber):
    async def handle(self, event: Envelope[OrderPlaced]) -> None:
        print(event.data.sales_channel)
"""

WRONG_PAYLOAD = """
async def place(bus: Bus, user: UserRegistered) -> None:
    await OrderPlacedPublisher(bus).publish(user)
"""

WRONG_HANDLER = """
def wire(bus: Bus) -> None:
    @OrderPlacedSubscriber.handler(bus, group="billing")
    async def bill(event: Envelope[UserRegistered]) -> None:
        print(event.data.email)
"""

WRONG_FIELD = """
def read(order: OrderPlaced) -> str:
    return order.no_such_field
"""


def run_mypy(tmp_path: Path, body: str) -> tuple[int, str]:
    source = tmp_path / "use_generated.py"
    source.write_text(HEADER + textwrap.dedent(body))
    stdout, stderr, status = api.run(
        ["--strict", "--no-error-summary", "--cache-dir", str(ROOT / ".mypy_cache"), "--python-executable", "",
         "--follow-imports", "silent", str(source)]
    )
    return status, stdout + stderr


@pytest.fixture(autouse=True)
def _cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_correct_use_type_checks(tmp_path: Path) -> None:
    status, output = run_mypy(tmp_path, CORRECT)
    assert status == 0, output


def test_wrong_payload_type_is_rejected(tmp_path: Path) -> None:
    status, output = run_mypy(tmp_path, WRONG_PAYLOAD)
    assert status == 1
    assert 'Argument 1 to "publish" of "Publisher" has incompatible type "UserRegisteredV1"' in output


def test_handler_for_the_wrong_event_is_rejected(tmp_path: Path) -> None:
    status, output = run_mypy(tmp_path, WRONG_HANDLER)
    assert status == 1
    assert "Envelope[UserRegisteredV1]" in output and "Envelope[OrderPlacedV2]" in output


def test_unknown_field_is_rejected(tmp_path: Path) -> None:
    status, output = run_mypy(tmp_path, WRONG_FIELD)
    assert status == 1
    assert '"OrderPlacedV2" has no attribute "no_such_field"' in output
