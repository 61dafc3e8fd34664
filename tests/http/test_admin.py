"""The admin routes (dead letters, redrive, purge, replay) on a real server with tokens, and their scope."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from hipponot_pubsub.runtime.adapters.base import StartAt
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.envelope import Envelope

from .conftest import TOKENS, ServerFactory, example, structured

ON_CALL = {"name": "on-call", "token": "on-call-token", "admin": ["orders"], "publish": ["orders"]}
ADMIN = "/admin/channels/orders"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def until_listed(http: httpx.AsyncClient, count: int) -> list[dict[str, Any]]:
    """Poll the listing (broker state read over HTTP, not a timer) until it holds ``count`` dead letters."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        response = await http.get(f"{ADMIN}/dead-letters", headers=bearer("on-call-token"))
        assert response.status_code == 200, response.text
        letters: list[dict[str, Any]] = response.json()["dead_letters"]
        if len(letters) == count:
            return letters
        assert asyncio.get_running_loop().time() < deadline, letters
        await asyncio.sleep(0.05)


async def test_dead_letters_over_http(start_server: ServerFactory, catalog: Catalog) -> None:
    server = start_server(tokens={"tokens": [*TOKENS["tokens"], ON_CALL]}, allow_anonymous=False)
    bus = server.app.state["pubsub"].bus
    billed: list[str] = []
    fixed = asyncio.Event()

    async def bill(envelope: Envelope[Any]) -> None:
        if not fixed.is_set():
            raise ValueError("payment provider down")
        billed.append(envelope.id)

    server.call(bus.subscribe("order.placed", bill, group="billing", start=StartAt.EARLIEST))
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        published = await http.post("/events", json=structured("order.placed", example(catalog, "order.placed")),
                                     headers={**bearer("on-call-token"), "content-type": "application/json"})
        assert published.status_code == 202, published.text
        [letter] = await until_listed(http, 1)
        assert letter["group"] == "billing" and letter["error"] == "ValueError: payment provider down"
        assert letter["attributes"]["id"] == published.json()["id"]

        # the scope: admin on the channel, nothing else
        assert (await http.get(f"{ADMIN}/dead-letters")).status_code == 401
        assert (await http.get(f"{ADMIN}/dead-letters", headers=bearer("admin-token"))).status_code == 403
        assert (await http.get("/admin/channels/users/dead-letters", headers=bearer("on-call-token"))
                ).status_code == 403

        one = await http.get(f"{ADMIN}/dead-letters/{letter['position']}", headers=bearer("on-call-token"))
        assert one.status_code == 200 and "payload" in one.json()
        missing = await http.get(f"{ADMIN}/dead-letters/999999", headers=bearer("on-call-token"))
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        bad = await http.get(f"{ADMIN}/dead-letters?since=yesterday", headers=bearer("on-call-token"))
        assert bad.status_code == 400 and bad.json()["errors"][0]["parameter"] == "since"

        refused = await http.post(f"{ADMIN}/dead-letters/redrive", json={"positions": [letter["position"]],
                                                                         "all": True},
                                  headers=bearer("on-call-token"))
        assert refused.status_code == 400 and refused.json()["errors"][0]["pointer"] == "/positions"
        assert (await http.post(f"{ADMIN}/dead-letters/redrive", content=b"\xff", headers=bearer("on-call-token"))
                ).status_code == 400

        fixed.set()
        done = await http.post(f"{ADMIN}/dead-letters/redrive", json={"positions": [letter["position"]]},
                               headers=bearer("on-call-token"))
        assert done.status_code == 200 and done.json() == {"action": "redriven", "done": [letter["position"]],
                                                          "skipped": []}
        deadline = asyncio.get_running_loop().time() + 30
        while billed != [published.json()["id"]]:
            assert asyncio.get_running_loop().time() < deadline, billed
            await asyncio.sleep(0.05)
        again = await http.post(f"{ADMIN}/dead-letters/redrive", json={"all": True}, headers=bearer("on-call-token"))
        assert again.json()["done"] == []
        listed = await http.get(f"{ADMIN}/dead-letters?state=redriven", headers=bearer("on-call-token"))
        [redriven] = listed.json()["dead_letters"]
        assert redriven["outcome"]["by"] == "on-call"

        unconfirmed = await http.post(f"{ADMIN}/dead-letters/purge", json={"all": True},
                                      headers=bearer("on-call-token"))
        assert unconfirmed.status_code == 400 and unconfirmed.json()["errors"][0]["pointer"] == "/confirm"

        counted = await http.post(f"{ADMIN}/replay", json={"from": "1970-01-01T00:00:00Z", "group": "billing",
                                                           "dry_run": True}, headers=bearer("on-call-token"))
        assert counted.status_code == 200 and counted.json()["selected"] == 1
        replayed = await http.post(f"{ADMIN}/replay", json={"from": "1970-01-01T00:00:00Z", "group": "billing"},
                                   headers=bearer("on-call-token"))
        assert replayed.json()["done"] and not replayed.json()["skipped"]
        while len(billed) != 2:
            assert asyncio.get_running_loop().time() < deadline + 30, billed
            await asyncio.sleep(0.05)
        assert billed == [published.json()["id"]] * 2
