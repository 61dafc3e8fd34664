"""``pip install hipponot-pubsub`` without extras: the runtime a service needs, nothing of the code generator,
and a pytest that keeps working with the plugin installed but pytest-asyncio absent."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from .tools import Venv, expect

pytestmark = pytest.mark.packaging

USER_REGISTRY = Path(__file__).parent / "user_repo" / "schemas"

RUNTIME_MODULES = [
    "hipponot_pubsub",
    "hipponot_pubsub.runtime.bus",
    "hipponot_pubsub.runtime.catalog",
    "hipponot_pubsub.runtime.envelope",
    "hipponot_pubsub.runtime.validation",
    "hipponot_pubsub.runtime.testing",
    "hipponot_pubsub.runtime.adapters.memory",
]

#: What only an extra brings: the code generator (codegen), the HTTP service (http), the brokers' clients,
#: and pytest-asyncio (testing).
NOT_INSTALLED = ["datamodel_code_generator", "jinja2", "litestar", "httpx", "redis", "aiokafka", "pytest_asyncio"]


def test_the_runtime_imports(bare_venv: Venv, tmp_path: Path) -> None:
    script = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    expect(bare_venv.run("python", "-c", script, *RUNTIME_MODULES, cwd=tmp_path))
    facade = "from hipponot_pubsub import Bus, Catalog, Envelope, Publisher, Subscriber; print(Bus.__module__)"
    ran = expect(bare_venv.run("python", "-c", facade, cwd=tmp_path))
    assert ran.stdout.strip() == "hipponot_pubsub.runtime.bus", str(ran)


def test_no_code_generator_or_other_extra_is_installed(bare_venv: Venv, tmp_path: Path) -> None:
    script = "import importlib.util, sys\nprint(*[n for n in sys.argv[1:] if importlib.util.find_spec(n)])"
    ran = expect(bare_venv.run("python", "-c", script, *NOT_INSTALLED, cwd=tmp_path))
    assert ran.stdout.split() == [], f"installed without an extra: {ran.stdout.split()}"


def test_pubsub_version_works_without_extras(bare_venv: Venv, tmp_path: Path) -> None:
    ran = expect(bare_venv.run("pubsub", "--version", cwd=tmp_path))
    assert "0.1.0" in ran.stdout, str(ran)


@pytest.mark.parametrize(("command", "extra"), [("generate", "codegen"), ("check", "codegen"), ("serve", "http")])
def test_a_command_whose_extra_is_missing_names_it(bare_venv: Venv, tmp_path: Path, command: str, extra: str) -> None:
    shutil.copytree(USER_REGISTRY, tmp_path / "schemas")
    ran = bare_venv.run("pubsub", command, cwd=tmp_path)
    said = ran.stdout + ran.stderr
    assert ran.returncode == 2, str(ran)
    assert f"hipponot-pubsub[{extra}]" in said, str(ran)
    assert "Traceback" not in said, str(ran)
    assert not (tmp_path / "myapp").exists(), "a command that cannot run wrote files"


def test_pytest_runs_with_the_plugin_and_without_pytest_asyncio(bare_venv: Venv, tmp_path: Path) -> None:
    (tmp_path / "test_trivial.py").write_text("def test_arithmetic() -> None:\n    assert 1 + 1 == 2\n")
    ran = expect(bare_venv.run("pytest", "-p", "no:cacheprovider", cwd=tmp_path, timeout=60))
    assert re.search(r"^plugins: .*\bhipponot-pubsub-0\.1\.0\b", ran.stdout, re.MULTILINE), str(ran)
    assert re.search(r"\b1 passed\b", ran.stdout), str(ran)
