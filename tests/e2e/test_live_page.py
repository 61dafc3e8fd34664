"""The live page (examples/shop/static/live.html) in headless Chromium: events arrive, and after a reload the
page resumes where it stopped — events published while it was reloading (or away) appear, none missing, none
twice.

Needs Debian's Chromium (``apt-get install chromium``) and the Python ``playwright`` package; ``playwright
install`` is not used: the browser is the distribution's, pointed at with ``executable_path``.
"""

from __future__ import annotations

import importlib.util
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hipponot_pubsub.runtime.http import ServiceSettings

from examples.shop.orders_service import build_service, create_shop_app
from tests.http.server import ServerThread

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"]
CHECKOUT = {"customer_id": "cus_8fK2LmQ9xTzA1b",
            "items": [{"sku": "TSHIRT-ORG-M", "quantity": 1, "unit_price": "19.99"}]}
TIMEOUT_MS = 20_000

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)
if importlib.util.find_spec("playwright") is None:
    pytest.skip("the playwright package is missing (pip install playwright; the browser is the system Chromium)",
                allow_module_level=True)

from playwright.sync_api import Page, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def shop() -> Iterator[ServerThread]:
    """The shop (orders service + worker) on in-memory adapters, served by uvicorn on a free port."""
    service = build_service(all_channels_on="memory", settings=ServiceSettings(allow_anonymous=True))
    with ServerThread(create_shop_app(service, with_worker=True)) as server:
        yield server


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    assert shutil.which(str(CHROMIUM))
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        try:
            context = browser.new_context()
            tab = context.new_page()
            tab.set_default_timeout(TIMEOUT_MS)
            yield tab
        finally:
            browser.close()


class Orders:
    """Places orders through ``POST /orders``; remembers every position the service returned, in order."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=10)
        self.positions: list[str] = []
        self.lock = threading.Lock()

    def place(self, count: int) -> None:
        for _ in range(count):
            response = self.client.post("/orders", json=CHECKOUT)
            assert response.status_code == 201, response.text
            with self.lock:
                self.positions.append(response.json()["position"])


def shown(page: Page) -> list[str]:
    """Positions of the rows on the page, oldest first (the page shows the newest on top)."""
    positions: list[str] = page.eval_on_selector_all("tr.event", "rows => rows.map(r => r.dataset.position)")
    return positions[::-1]


def wait_live(page: Page) -> None:
    page.wait_for_selector('body[data-state="live"]', state="attached")


def wait_rows(page: Page, count: int) -> None:
    page.wait_for_function("n => document.querySelectorAll('tr.event').length >= n", arg=count)


def state(page: Page) -> Any:
    return page.evaluate("() => ({last: sessionStorage.getItem('pubsub-live:orders:last'), "
                         "duplicates: window.liveDuplicates || 0})")


def test_live_page_resumes_after_reload_without_gap(shop: ServerThread, page: Page) -> None:
    orders = Orders(shop.url)
    page.goto(f"{shop.url}/")  # redirects to the live page of channel "orders"
    assert page.url.endswith("/static/live.html?channel=orders")
    wait_live(page)

    # Events arrive while the page is open.
    orders.place(5)
    wait_rows(page, 5)
    assert shown(page) == orders.positions

    # Reload while events keep being published: some reach the old page, the rest must come after the reload.
    publisher = threading.Thread(target=orders.place, args=(10,))
    page.evaluate("() => setTimeout(() => location.reload(), 0)")
    publisher.start()
    page.wait_for_load_state("load")
    publisher.join(30)
    wait_live(page)
    orders.place(3)
    wait_rows(page, 18)
    assert shown(page) == orders.positions  # every event once, in order: no gap, no duplicate
    assert state(page)["last"] == orders.positions[-1]

    # Away from the page entirely while events are published; coming back shows them all.
    page.goto("about:blank")
    orders.place(4)
    page.goto(f"{shop.url}/static/live.html?channel=orders")
    wait_live(page)
    wait_rows(page, 22)
    orders.place(1)
    wait_rows(page, 23)
    assert shown(page) == orders.positions
    assert state(page)["duplicates"] == 0
    assert len(set(orders.positions)) == 23
