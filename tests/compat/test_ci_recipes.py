"""The CI recipes parse, run the documented commands, and docs/ci.md shows them as they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "examples" / "ci"


def load(name: str) -> Any:
    return yaml.safe_load((CI / name).read_text(encoding="utf-8"))


def test_github_workflow_runs_pubsub_check_with_history() -> None:
    workflow = load("github-workflow.yml")
    steps = workflow["jobs"]["pubsub-check"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    commands = " ".join(s.get("run", "") for s in steps)
    assert "pubsub check --against" in commands and "--format github" in commands


def test_pre_commit_hooks() -> None:
    hooks = {h["id"]: h for h in load(".pre-commit-hooks.yaml")}
    assert hooks["pubsub-check"]["entry"] == "pubsub check --against origin/main"
    assert all(h["pass_filenames"] is False for h in hooks.values())
    config = load("pre-commit-config.yaml")
    assert config["repos"][0]["hooks"][0]["id"] == "pubsub-check"


@pytest.mark.parametrize("name", ["github-workflow.yml", ".pre-commit-hooks.yaml"])
def test_docs_quote_the_recipe_verbatim(name: str) -> None:
    doc = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    body = "\n".join(
        line for line in (CI / name).read_text(encoding="utf-8").splitlines() if not line.startswith("#")
    ).strip()
    assert body in doc
