"""``pubsub serve`` from a user's repository root: the package comes from the registry's ``[generate]`` table and
is imported from its folder (nothing installed, nothing on PYTHONPATH); a missing or bad one is a clear exit 2.
``PUBSUB_PATH_PREFIX`` mounts the service below the root, and its AsyncAPI document says so."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from hipponot_pubsub.runtime.catalog import Catalog

ROOT = Path(__file__).resolve().parents[2]
PUBSUB = str(Path(sys.executable).with_name("pubsub"))


def user_repository(tmp_path: Path, generate_table: str, registry: str = "schemas") -> Path:
    """A repository with its registry config and a copy of the example's generated package in ``src/``."""
    repository = tmp_path / "shop"
    (repository / registry).mkdir(parents=True)
    (repository / registry / "pubsub.toml").write_text(f'[registry]\nname = "shop"\n\n[generate]\n{generate_table}\n')
    shutil.copytree(ROOT / "generated", repository / "src" / "generated", ignore=shutil.ignore_patterns("__pycache__"))
    return repository


def environment(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PUBSUB_SCHEMAS")}, **extra}


def serve(repository: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PUBSUB, "serve", "--memory", "--anonymous", "--port", "0", *args], cwd=repository,
                          env=env or environment(), capture_output=True, text=True, timeout=60, check=False)


def test_serves_the_generate_package_from_the_repository_root(tmp_path: Path, catalog: Catalog) -> None:
    repository = user_repository(tmp_path, 'out = "../src/generated"\npackage = "generated"')
    process = subprocess.Popen([PUBSUB, "serve", "--memory", "--anonymous", "--port", "0", "--announce"],
                               cwd=repository, env=environment(PUBSUB_PATH_PREFIX="/pubsub"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("pubsub serving on "), line + process.communicate(timeout=10)[1]
        url = line.removeprefix("pubsub serving on ").strip()
        assert url.endswith("/pubsub")
        types = httpx.get(f"{url}/registry/types", timeout=10).json()["types"]
        assert [t["type"] for t in types] == catalog.types
        document = httpx.get(f"{url}/asyncapi.json", timeout=10).json()
        server = document["servers"]["service"]
        assert url == f"http://{server['host']}/pubsub"
        assert document["channels"]["users"]["address"] == "/pubsub/channels/users/events"
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert process.returncode in (0, 130, -signal.SIGINT)  # uvicorn re-raises SIGINT after a clean shutdown


def test_a_package_that_is_not_there_is_exit_2(tmp_path: Path) -> None:
    repository = user_repository(tmp_path, 'package = "myapp.events"', registry="registry")
    result = serve(repository, env=environment(PUBSUB_SCHEMAS="registry"))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "cannot import the generated package 'myapp.events'" in result.stderr
    assert "run `pubsub generate`" in result.stderr


def test_a_bad_generate_table_is_exit_2_naming_file_and_key(tmp_path: Path) -> None:
    repository = user_repository(tmp_path, 'package = "my-app"')
    result = serve(repository, "--schemas", "schemas")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"{Path('schemas') / 'pubsub.toml'}: /generate/package: 'my-app' is not a dotted Python import name" \
        in result.stderr


def test_the_package_flag_wins_over_the_table(tmp_path: Path) -> None:
    repository = user_repository(tmp_path, 'out = "../src/generated"\npackage = "generated"')
    result = serve(repository, "--package", "elsewhere.events")
    assert result.returncode == 2, result.stderr
    assert "cannot import the generated package 'elsewhere.events'" in result.stderr


def test_format_json_reports_the_error_and_the_ready_line_as_json(tmp_path: Path) -> None:
    import json

    repository = user_repository(tmp_path, 'package = "my-app"')
    result = serve(repository, "--format", "json")
    assert result.returncode == 2, result.stderr
    assert result.stderr == ""
    [error] = json.loads(result.stdout).values()
    assert "/generate/package: 'my-app' is not a dotted Python import name" in error

    repository = user_repository(tmp_path / "ok", 'out = "../src/generated"\npackage = "generated"')
    process = subprocess.Popen([PUBSUB, "serve", "--memory", "--anonymous", "--port", "0", "--format", "json"],
                               cwd=repository, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout is not None
        ready = json.loads(process.stdout.readline())
        assert ready["registry"] == "hipponot-shop" and ready["adapters"] == "memory"
        assert httpx.get(ready["asyncapi"], timeout=10).json()["asyncapi"].startswith("3.")
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
