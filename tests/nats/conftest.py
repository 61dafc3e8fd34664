"""Fixtures of the NATS adapter's tests: the shared contract suite's ``adapter`` and ``channel`` on the
machine's NATS server (every test gets its own stream and group names, so runs never collide), and private
servers for fault tests."""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator

import nats
import pytest
import pytest_asyncio
from hipponot_pubsub.runtime.adapters.base import dead_letter_channel
from hipponot_pubsub.runtime.adapters.nats import NatsAdapter, NatsSettings
from hipponot_pubsub.runtime.catalog import ChannelSpec

from .server import NatsServer, require_shared_server

_names = itertools.count()
RUN = uuid.uuid4().hex[:8]


def settings_for(url: str, **overrides: object) -> NatsSettings:
    """Test settings: names unique to this run and test (streams outlive a run on the shared server), short
    timeouts so a failure shows quickly, memory storage (the restart tests ask for file storage)."""
    unique = f"t{RUN}{next(_names)}"
    values: dict[str, object] = {
        "url": url, "stream_template": f"{unique}_{{channel}}", "subject_template": f"{unique}.{{channel}}",
        "group_template": f"{unique}_{{group}}", "storage": "memory", "publish_timeout": 5.0,
        "connect_timeout": 5.0, "ack_wait": 5.0, "reconnect_wait": 0.05,
    }
    values.update(overrides)
    return NatsSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def nats_url() -> str:
    return require_shared_server()


@pytest.fixture
def nats_settings(nats_url: str) -> NatsSettings:
    return settings_for(nats_url)


@pytest.fixture
def channel() -> str:
    return f"contract-{next(_names)}"


@pytest_asyncio.fixture
async def adapter(nats_settings: NatsSettings, channel: str) -> AsyncIterator[NatsAdapter]:
    made = NatsAdapter([ChannelSpec(channel, "nats", {"history": 1000})], settings=nats_settings)
    await made.start()
    try:
        yield made
    finally:
        await made.close()
        await drop_streams(nats_settings, [channel])


async def drop_streams(settings: NatsSettings, channels: list[str]) -> None:
    """Delete a test's streams from the shared server (they would otherwise stay until someone purges them)."""
    nc = await nats.connect(settings.url, connect_timeout=2)
    try:
        jsm = nc.jsm()
        for channel in channels:
            for name in (channel, dead_letter_channel(channel)):
                with contextlib.suppress(Exception):  # already gone
                    await jsm.delete_stream(settings.stream(name))
    finally:
        await nc.close()


@pytest.fixture
def private_server() -> Iterator[NatsServer]:
    started = NatsServer().start()
    try:
        yield started
    finally:
        started.stop()
