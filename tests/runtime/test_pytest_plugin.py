"""The pytest plugin as users meet it: a pytest run in a project of their own, which the ``pytest11`` entry
point joins whether or not the project uses it.

Each project is a temporary folder outside this checkout, with a copy of the example's generated package (not
importable from there until the plugin makes it so), run by a child pytest with the folder as rootdir.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

USER_TEST = '''
import pytest
from generated.publishers import OrderPlacedPublisher
from generated.subscribers import OrderPlacedSubscriber
from hipponot_pubsub.runtime.testing import Received, assert_published

ORDER = {order!r}


@pytest.mark.asyncio
async def test_checkout_bills_the_order(pubsub_bus):
    billed = Received()

    @OrderPlacedSubscriber.handler(pubsub_bus, group="billing")
    async def bill(event):
        await billed(event)

    await OrderPlacedPublisher(pubsub_bus).publish(OrderPlacedPublisher.model.model_validate(ORDER))
    [event] = await billed.wait_for(1)
    assert event.data.order_number == ORDER["order_number"]
    await assert_published(pubsub_bus, "order.placed", count=1)
'''

PLAIN_TEST = "def test_unrelated():\n    assert 1 + 1 == 2\n"

#: Shadows pytest-asyncio, found first on PYTHONPATH (by pytest's finders too): importing it fails as it does
#: where it is not installed. pytest is also told not to load its entry point, which such an install lacks.
NO_PYTEST_ASYNCIO = 'raise ModuleNotFoundError("No module named \'pytest_asyncio\'", name="pytest_asyncio")\n'


def order() -> object:
    import json

    return json.loads((ROOT / "schemas" / "orders" / "order-placed.v2.json").read_text())["examples"][0]


def user_project(tmp_path: Path, *, generate_table: str | None, package_folder: str = "src/generated") -> Path:
    project = tmp_path / "shop"
    (project / "schemas").mkdir(parents=True)
    config = '[registry]\nname = "shop"\n'
    if generate_table is not None:
        config += f"\n[generate]\n{generate_table}\n"
    (project / "schemas" / "pubsub.toml").write_text(config)
    shutil.copytree(ROOT / "generated", project / package_folder, ignore=shutil.ignore_patterns("__pycache__"))
    (project / "tests").mkdir()
    return project


def run_pytest(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(project), *args],
        capture_output=True, text=True, cwd=project, env={**environment, **(env or {})}, timeout=180, check=False,
    )
    result.stdout += result.stderr  # one text to assert on and to show
    return result


def test_fixtures_bind_to_the_generate_table_and_decorated_subscribers_run(tmp_path: Path) -> None:
    project = user_project(tmp_path, generate_table='out = "../src/generated"\npackage = "generated"')
    (project / "tests" / "test_checkout.py").write_text(USER_TEST.format(order=order()))
    result = run_pytest(project, "-q")  # asyncio strict mode: the project configures nothing
    assert result.returncode == 0, result.stdout
    assert "1 passed" in result.stdout


def test_the_package_option_and_ini_name_the_package(tmp_path: Path) -> None:
    project = user_project(tmp_path, generate_table=None, package_folder="generated")
    shutil.rmtree(project / "schemas")  # no registry at all
    (project / "tests" / "test_checkout.py").write_text(USER_TEST.format(order=order()))
    by_option = run_pytest(project, "-q", "--pubsub-package", "generated")
    assert by_option.returncode == 0, by_option.stdout
    (project / "pytest.ini").write_text("[pytest]\npubsub_package = generated\n")
    by_ini = run_pytest(project, "-q")
    assert by_ini.returncode == 0, by_ini.stdout


def test_without_a_package_only_tests_using_the_kit_fail_and_say_how_to_name_it(tmp_path: Path) -> None:
    project = user_project(tmp_path, generate_table=None)
    (project / "tests" / "test_kit.py").write_text("def test_types(pubsub_catalog):\n    assert pubsub_catalog.types\n")
    (project / "tests" / "test_plain.py").write_text(PLAIN_TEST)
    result = run_pytest(project, "-q")
    assert result.returncode == 1, result.stdout
    assert "1 passed, 1 error" in result.stdout, result.stdout
    assert "schemas/pubsub.toml has no [generate] package" in result.stdout
    assert "--pubsub-package" in result.stdout
    assert "Traceback" not in result.stdout


def test_without_pytest_asyncio_the_plugin_loads_and_only_pubsub_bus_fails(tmp_path: Path) -> None:
    project = user_project(tmp_path, generate_table='out = "../src/generated"\npackage = "generated"')
    (project / "tests" / "test_checkout.py").write_text(USER_TEST.format(order=order()).replace(
        "@pytest.mark.asyncio\n", ""))
    (project / "tests" / "test_plain.py").write_text(
        PLAIN_TEST + "\n\ndef test_catalog(pubsub_catalog):\n    assert 'order.placed' in pubsub_catalog.types\n")
    shadow = tmp_path / "shadow" / "pytest_asyncio"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(NO_PYTEST_ASYNCIO)
    result = run_pytest(project, "-p", "no:asyncio", "-rfE", env={"PYTHONPATH": str(shadow.parent)})
    assert "Error while loading plugin" not in result.stdout
    assert "hipponot-pubsub-" in result.stdout.partition("plugins:")[2].splitlines()[0]  # loaded
    assert "2 passed, 1 error" in result.stdout, result.stdout
    assert "the pubsub_bus fixture needs pytest-asyncio: pip install 'hipponot-pubsub[testing]'" in result.stdout


def test_loading_the_plugin_imports_none_of_the_runtime() -> None:
    """Every pytest run of an environment with the library loads the plugin: it must not pay for the runtime."""
    code = ("import sys, hipponot_pubsub.runtime.pytest_plugin\n"
            "print(sorted(m for m in sys.modules if m.startswith('hipponot_pubsub.runtime.') and m.rpartition('.')[2]"
            " not in ('pytest_plugin', 'project', 'extras', 'errors')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
