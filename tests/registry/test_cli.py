"""The ``pubsub`` CLI as a user runs it: exit codes, one line per problem, JSON for machines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hipponot_pubsub.generator.cli import main

FIXTURES = Path(__file__).parent.parent / "fixtures"
EXAMPLE = Path(__file__).parent.parent.parent / "schemas"


def test_lint_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--schemas", str(EXAMPLE), "lint"]) == 0
    assert "ok" in capsys.readouterr().out


def test_lint_reports_one_line_per_problem(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--schemas", str(FIXTURES / "broken")]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 13  # 12 problems + the count
    assert any(line.startswith(f"{FIXTURES / 'broken'}/pubsub.toml:/channels/jobs/adapter: ") for line in lines)
    assert any(":7:5: invalid JSON" in line for line in lines)


def test_lint_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--schemas", str(FIXTURES / "broken"), "--format", "json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert {p["code"] for p in problems} >= {"remote-ref", "unknown-adapter", "invalid-json"}
    assert all({"file", "pointer", "message"} <= set(p) for p in problems)


def test_schemas_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "list", "--schemas", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["TYPE", "VERSIONS", "CHANNEL", "ADAPTER"]
    assert any(line.split() == ["order.placed", "1,2", "orders", "redis"] for line in out)


def test_schemas_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--format", "json", "--schemas", str(EXAMPLE), "schemas", "list"]) == 0
    rows = {row["type"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["order.placed"]["versions"] == [1, 2]


def test_schemas_show_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["schemas", "show", "order.placed", "--version", "1", "--schemas", str(EXAMPLE), "--format", "json"]) == 0
    )
    shown = json.loads(capsys.readouterr().out)
    assert (shown["version"], shown["file"]) == (1, "orders/order-placed.v1.json")
    assert shown["schema"]["$id"].endswith("order-placed.v1.json")


def test_schemas_show_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "show", "order.nope", "--schemas", str(EXAMPLE)]) == 1
    assert "unknown event type 'order.nope'" in capsys.readouterr().err
    assert main(["schemas", "show", "order.placed", "--version", "9", "--schemas", str(EXAMPLE)]) == 1
    assert "no version 9" in capsys.readouterr().err


def test_help_everywhere() -> None:
    for argv in (["--help"], ["lint", "--help"], ["schemas", "--help"], ["schemas", "list", "--help"]):
        command = [sys.executable, "-m", "hipponot_pubsub.generator", *argv]
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 0 and "usage: pubsub" in result.stdout
