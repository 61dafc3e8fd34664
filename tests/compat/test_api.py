"""Generated-API breakage: removed or retyped classes and fields are findings of their own."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hipponot_pubsub.generator.cli import main
from hipponot_pubsub.generator.compat.api import api_surface, compare_api

ROOT = Path(__file__).parent.parent.parent


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_removed_renamed_and_retyped(tmp_path: Path) -> None:
    old = write(tmp_path / "old", {
        "models.py": "class Order:\n    order_id: str\n    total: int\n    note: str | None = None\n",
        "publishers.py": "class OrderPublisher:\n    pass\nLatest = OrderPublisher\n",
    })
    new = write(tmp_path / "new", {
        "models.py": "class Order:\n    order_id: str\n    total: float\n",
        "publishers.py": "class OrderV2Publisher:\n    pass\nLatest = OrderV2Publisher\n",
    })
    findings = {(f.change, f.name): f for f in compare_api(api_surface(old), api_surface(new))}
    assert findings[("api.field.removed", "Order.note")].breaking
    assert findings[("api.field.changed", "Order.total")].breaking
    assert "from int to float" in findings[("api.field.changed", "Order.total")].message
    assert findings[("api.name.removed", "OrderPublisher")].breaking
    assert not findings[("api.alias.changed", "Latest")].breaking
    assert not findings[("api.name.added", "OrderV2Publisher")].breaking


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                   capture_output=True)


def test_check_against_a_commit_reports_generated_api_breakage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "schemas", repo / "schemas")
    monkeypatch.chdir(repo)
    assert main(["generate", "-q"]) == 0
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "v1")
    assert main(["check", "--against", "HEAD"]) == 0

    # Data-compatible under lenient rules, but the generated model loses a field.
    path = repo / "schemas" / "users" / "user-registered.v1.json"
    schema = json.loads(path.read_text())
    schema["properties"].pop("marketing_opt_in")
    schema["required"] = [r for r in schema.get("required", []) if r != "marketing_opt_in"]
    path.write_text(json.dumps(schema, indent=2))
    assert main(["generate", "-q"]) == 0
    capsys.readouterr()
    assert main(["check", "--against", "HEAD"]) == 1
    out = capsys.readouterr().out
    assert "UserRegisteredV1.marketing_opt_in was removed" in out
    assert "[api.field.removed]" in out
