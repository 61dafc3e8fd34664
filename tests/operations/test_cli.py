"""``pubsub dlq`` and ``pubsub replay`` as an operator runs them: separate processes against a real Redis, the
example registry's ``orders`` channel, while the service's group (``billing``) runs in this process."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from hipponot_pubsub.generator.registry import load_registry
from hipponot_pubsub.runtime.adapters.base import StartAt
from hipponot_pubsub.runtime.bus import Bus
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.envelope import Envelope
from hipponot_pubsub.runtime.retry import RetryPolicy

from tests.redis.server import shared_server

from .test_redrive_replay import until

ROOT = Path(__file__).resolve().parents[2]
PUBSUB = [sys.executable, "-m", "hipponot_pubsub.generator"]


def order(number: str) -> dict[str, Any]:
    example = load_registry(ROOT / "schemas").event_version("order.placed", 2).schema["examples"][0]
    data: dict[str, Any] = copy.deepcopy(example)
    data["order_number"] = number
    return data


@pytest.fixture
def redis_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    values = {"PUBSUB_REDIS_URL": shared_server().url, "PUBSUB_REDIS_PREFIX": f"cli{uuid.uuid4().hex[:8]}",
              "PUBSUB_REDIS_BLOCK": "0.2", "PUBSUB_REDIS_CLAIM_INTERVAL": "0.2"}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return {**os.environ, **values}


class Billing:
    def __init__(self) -> None:
        self.fixed = False
        self.billed: list[str] = []

    async def __call__(self, envelope: Envelope[Any]) -> None:
        number = envelope.data["order_number"]
        if number == "HN-66666666" and not self.fixed:
            raise ValueError(f"cannot bill {number}")
        self.billed.append(number)


@pytest_asyncio.fixture
async def service(redis_env: dict[str, str]) -> AsyncIterator[tuple[Bus, Billing]]:
    billing = Billing()
    async with Bus(Catalog.from_package("generated"), all_channels_on="redis",
                   retry=RetryPolicy(base_delay=0.005, max_delay=0.02, jitter=0.0)) as bus:
        await bus.subscribe("order.placed", billing, group="billing", start=StartAt.EARLIEST)
        yield bus, billing


async def pubsub(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([*PUBSUB, *args, "--all-channels-on", "redis"], cwd=ROOT, env=env, input=stdin,
                              capture_output=True, text=True, timeout=60)
    return await asyncio.to_thread(run)


async def test_list_show_redrive_purge_and_replay_from_the_command_line(
        service: tuple[Bus, Billing], redis_env: dict[str, str]) -> None:
    bus, billing = service
    published = [await bus.publish("order.placed", order(n)) for n in ("HN-00000001", "HN-66666666")]

    async def dead() -> bool:
        listed = await pubsub(redis_env, "dlq", "list", "orders", "--format", "json")
        return listed.returncode == 0 and len(json.loads(listed.stdout)["dead_letters"]) == 1
    await until(dead, "the dead letter, listed by pubsub dlq list", timeout=60)
    listed = await pubsub(redis_env, "dlq", "list", "orders", "--format", "json", "--error", "cannot bill")
    [letter] = json.loads(listed.stdout)["dead_letters"]
    assert letter["group"] == "billing" and letter["attempts"] == 6 and letter["state"] == "dead"
    assert letter["attributes"]["id"] == published[1].id

    shown = await pubsub(redis_env, "dlq", "show", "orders", letter["position"])
    assert shown.returncode == 0, shown.stderr
    assert "error: ValueError: cannot bill HN-66666666" in shown.stdout and "HN-66666666" in shown.stdout

    billing.fixed = True
    done = await pubsub(redis_env, "dlq", "redrive", "orders", letter["position"], "--by", "ci")
    assert done.returncode == 0 and done.stdout.startswith("redriven: 1, skipped: 0"), done

    async def billed() -> bool:
        return "HN-66666666" in billing.billed
    await until(billed, "the redriven order at billing")
    twice = await pubsub(redis_env, "dlq", "redrive", "orders", letter["position"])
    assert twice.stdout.startswith("redriven: 0, skipped: 1") and "already redriven" in twice.stdout

    replayed = await pubsub(redis_env, "replay", "orders", "--from", published[0].position, "--group", "billing",
                            "--dry-run")
    assert replayed.returncode == 0 and "1 event(s) of orders selected for group billing (dry run" in replayed.stderr
    replayed = await pubsub(redis_env, "replay", "orders", "--from", published[0].position, "--group", "billing")
    assert replayed.returncode == 0 and replayed.stdout.startswith("replayed: 1"), replayed

    async def billed_twice() -> bool:
        return billing.billed.count("HN-66666666") == 2
    await until(billed_twice, "the replayed order at billing")

    refused = await pubsub(redis_env, "dlq", "purge", "orders", "--all")
    assert refused.returncode == 2 and "needs confirmation: pass --yes" in refused.stderr
    assert json.loads((await pubsub(redis_env, "dlq", "list", "orders", "--format", "json")).stdout)[
        "dead_letters"] == []  # the redriven one is no longer dead: nothing to purge
    purged = await pubsub(redis_env, "dlq", "purge", "orders", "--all", "--yes")
    assert purged.returncode == 0 and purged.stdout.startswith("purged: 0")


@pytest.mark.parametrize(("args", "message"), [
    (("dlq", "list", "nowhere"), "nowhere"),
    (("dlq", "show", "orders", "12-0"), "holds no dead letter at '12-0'"),
    (("dlq", "redrive", "orders"), "name the dead letters to redrive"),
    (("dlq", "list", "orders", "--since", "yesterday"), "--since 'yesterday' is not an RFC 3339 time"),
    (("replay", "orders", "--from", "not-a-position", "--group", "g"), "not-a-position"),
])
async def test_bad_input_is_one_line_and_exit_2(redis_env: dict[str, str], args: tuple[str, ...],
                                                message: str) -> None:
    result = await pubsub(redis_env, *args)
    assert result.returncode == 2, result
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
