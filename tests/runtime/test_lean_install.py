"""The bare install is the runtime core: it imports and runs with every optional library absent, and what
needs an extra says which one to install.

Each test runs a child Python whose import system refuses the optional libraries (a ``sys.meta_path`` finder
put first, as an install without them would behave), so nothing this process already imported can hide an
import the core makes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Every library that comes with an extra (pyproject.toml), by top-level module.
OPTIONAL = ("litestar", "uvicorn", "httptools", "httpx", "httpx_sse", "prometheus_client", "anyio", "redis",
            "aiokafka", "nats", "aio_pika", "aiormq", "datamodel_code_generator", "jinja2", "pytest", "pytest_asyncio")

PRELUDE = '''
import sys

class Refuse:
    """An install without these libraries: importing one fails as it would there."""
    def __init__(self, names):
        self.names = frozenset(names)
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Refuse(BLOCKED))
'''


def run_without(blocked: tuple[str, ...], code: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    program = f"BLOCKED = {blocked!r}\n{PRELUDE}\n{textwrap.dedent(code)}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the example package generated/, as pytest's pythonpath gives it
    return subprocess.run([sys.executable, "-c", program, *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=120, check=False)


def test_the_core_imports_and_runs_without_any_optional_library() -> None:
    result = run_without(OPTIONAL, """
        import asyncio
        import hipponot_pubsub
        from hipponot_pubsub import Bus, Catalog, Envelope
        import hipponot_pubsub.runtime.adapters.memory
        import hipponot_pubsub.runtime.envelope
        from hipponot_pubsub.runtime.testing import Received, assert_published, memory_bus
        import hipponot_pubsub.runtime.http          # listed everywhere; its names need extra http
        import hipponot_pubsub.runtime.http.cli      # `pubsub serve` stays registered
        import generated.models
        from generated.publishers import OrderPlacedPublisher
        from generated.subscribers import OrderPlacedSubscriber

        async def main():
            catalog = Catalog.from_package("generated")
            order = OrderPlacedPublisher.model.model_validate(catalog.spec("order.placed").bundle["resources"][0]
                                                              ["schema"]["examples"][0])
            async with memory_bus(catalog) as bus:
                received = Received()
                OrderPlacedSubscriber.handler(bus)(received)   # decorated on a running bus
                await OrderPlacedPublisher(bus).publish(order)
                await received.wait_for(1)
                await assert_published(bus, "order.placed", count=1)

        asyncio.run(main())
        loaded = sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED)
        print("loaded:", loaded)
    """)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "loaded: []" in result.stdout


def test_the_http_service_and_client_name_their_extra() -> None:
    result = run_without(OPTIONAL, """
        from hipponot_pubsub.runtime.errors import MissingExtra
        for statement in ("from hipponot_pubsub.runtime.http import create_app",
                          "import hipponot_pubsub.runtime.client"):
            try:
                exec(statement)
            except MissingExtra as error:
                print(type(error).__name__, error.extra, "|", error)
    """)
    assert result.returncode == 0, result.stdout + result.stderr
    service, client = result.stdout.splitlines()
    assert service.startswith("MissingExtra http |") and "pip install 'hipponot-pubsub[http]'" in service
    assert client.startswith("MissingExtra http |") and "HTTP client" in client


BUS_START = """
    import asyncio
    from hipponot_pubsub import Bus, Catalog
    from hipponot_pubsub.runtime.errors import MissingExtra
    MEMORY = "hipponot_pubsub.runtime.adapters.memory:memory_adapter_factory"

    async def main(other):
        bus = Bus(Catalog.from_package("generated"), adapters={other: MEMORY})
        try:
            await bus.start()
        except MissingExtra as error:
            print(error)
        assert not bus.running

    asyncio.run(main(sys.argv[1]))
"""


def test_a_redis_channel_without_redis_names_the_extra_at_bus_start() -> None:
    result = run_without(("redis",), BUS_START, "kafka")  # kafka channels on memory: only redis is missing
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the redis adapter (channels orders) needs redis" in result.stdout
    assert "install 'hipponot-pubsub[redis]'" in result.stdout


def test_a_kafka_channel_without_aiokafka_names_the_extra_at_bus_start() -> None:
    result = run_without(("aiokafka",), BUS_START, "redis")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "the kafka adapter (channels notifications) needs aiokafka" in result.stdout
    assert "install 'hipponot-pubsub[kafka]'" in result.stdout


def test_pubsub_serve_without_the_http_extra_exits_2_naming_it() -> None:
    http = ("litestar", "uvicorn", "httptools", "httpx", "httpx_sse", "prometheus_client")
    result = run_without(http, """
        from hipponot_pubsub.generator.cli import main
        sys.exit(main(["serve", "--memory", "--anonymous", "--port", "0"]))
    """)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert re.fullmatch(r"error: pubsub serve needs (uvicorn|litestar), which is not installed: "
                        r"pip install 'hipponot-pubsub\[http\]'", line), line


def test_pubsub_serve_on_the_registry_adapters_without_redis_exits_2_naming_it() -> None:
    result = run_without(("redis",), """
        from hipponot_pubsub.generator.cli import main
        sys.exit(main(["serve", "--anonymous", "--port", "0"]))
    """)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == ("error: the redis adapter (channels orders) needs redis, which is not "
                                              "installed: pip install 'hipponot-pubsub[redis]'")


@pytest.mark.parametrize(("kind", "module", "extra"), [("nats", "nats", "nats"), ("rabbitmq", "aio_pika", "rabbitmq")])
def test_a_broker_channel_without_its_library_names_the_extra_at_bus_start(kind: str, module: str, extra: str) -> None:
    result = run_without((module,), """
        import asyncio
        from hipponot_pubsub import Bus, Catalog
        from hipponot_pubsub.runtime.errors import MissingExtra

        uri = "urn:example:ping"
        bundle = {"format": 1, "type": "ping", "version": 1, "root": uri, "resources": [
            {"uris": [uri], "dialect": "https://json-schema.org/draft/2020-12/schema", "schema": {"type": "object"}}]}

        async def main(kind):
            catalog = Catalog.from_bundles([bundle], {"pings": {"adapter": kind}}, {"ping": "pings"})
            bus = Bus(catalog)
            try:
                await bus.start()
            except MissingExtra as error:
                print(error)
            assert not bus.running

        asyncio.run(main(sys.argv[1]))
    """, kind)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"the {kind} adapter (channels pings) needs {module}" in result.stdout
    assert f"install 'hipponot-pubsub[{extra}]'" in result.stdout
