"""``pubsub compat`` through the real ``pubsub`` entry point, once the lead has wired ``add_parser`` in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

cli = pytest.importorskip("hipponot_pubsub.generator.cli")

ROOT = Path(__file__).resolve().parents[2]


def _wired() -> bool:
    try:
        cli.build_parser().parse_args(["compat", "--format", "json"])
    except SystemExit:
        return False
    return True


pytestmark = pytest.mark.skipif(not _wired(), reason="compat is not wired into the pubsub CLI yet")


def test_pubsub_compat_on_the_example_registry(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["--schemas", str(ROOT / "schemas"), "compat", "--format", "json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == (0 if payload["compatible"] else 1)
    assert {"findings", "summary", "rules"} <= set(payload)


def test_format_github_after_the_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    cli.main(["compat", "--schemas", str(ROOT / "schemas"), "--format", "github"])
    out = capsys.readouterr().out.splitlines()
    assert out and all(line.startswith("::") for line in out[:-1])
