"""``pubsub compat`` end to end, on registries in temporary git repositories with real commits."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

try:
    from hipponot_pubsub.generator.registry import load_registry  # noqa: F401
except ImportError:  # pragma: no cover - depends on the loader being present
    pytest.skip("hipponot_pubsub.generator.registry.load_registry is not importable yet (the loader has not landed)",
                allow_module_level=True)  # fmt: skip

if shutil.which("git") is None:  # pragma: no cover
    pytest.skip("git is not installed", allow_module_level=True)

from hipponot_pubsub.generator.compat.cli import add_parser

TOML = """
[registry]
name = "test"
compatibility = "BACKWARD"

[channels.orders]
adapter = "memory"

[events."order.placed"]
channel = "orders"
versions = {VERSIONS}
"""

MONEY_ID = "https://schemas.test/common/money.json"


def money(max_length: int) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": MONEY_ID,
        "type": "object",
        "required": ["amount"],
        "properties": {"amount": {"type": "string", "maxLength": max_length}, "currency": {"type": "string"}},
    }


def order(**extra_props: Any) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["order_id", "total"],
        "properties": {"order_id": {"type": "string"}, "total": {"$ref": MONEY_ID}, **extra_props},
    }


class Repo:
    """A git repository holding ``schemas/``; commits are real, with a fixed identity and no hooks."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.schemas = root / "schemas"
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_NOSYSTEM": "1",
               "HOME": str(self.root)}  # fmt: skip
        done = subprocess.run(["git", *args], cwd=self.root, env=env, capture_output=True, text=True, check=True)
        return done.stdout

    def write(self, versions: dict[int, dict[str, Any]], money_length: int = 20, accept: str = "") -> None:
        self.schemas.mkdir(exist_ok=True)
        for old in self.schemas.glob("order-placed.v*.json"):
            old.unlink()
        mapping = ", ".join(f'{n} = "order-placed.v{n}.json"' for n in sorted(versions))
        (self.schemas / "pubsub.toml").write_text(TOML.replace("{VERSIONS}", "{ " + mapping + " }") + accept)
        (self.schemas / "common").mkdir(exist_ok=True)
        (self.schemas / "common" / "money.json").write_text(json.dumps(money(money_length), indent=2))
        for n, schema in versions.items():
            (self.schemas / f"order-placed.v{n}.json").write_text(json.dumps(schema, indent=2))

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "--no-verify", "-m", message)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    repo = Repo(tmp_path)
    repo.write({1: order()})
    repo.commit("v1")
    monkeypatch.chdir(tmp_path)
    return repo


def pubsub_compat(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Parse like the ``pubsub`` CLI does (``add_parser`` on its sub-command parser) and run the handler."""
    parser = argparse.ArgumentParser(prog="pubsub")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["compat", *argv])
    code = args.handler(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_clean_tree_is_compatible(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = pubsub_compat(capsys, "--against", "HEAD")
    assert code == 0, out
    assert "compatible: no changes" in out


def test_new_version_against_previous_commit(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write({1: order(), 2: order(note={"type": "string"})})
    repo.commit("v2: optional note")
    code, out = pubsub_compat(capsys, "--against", "HEAD~1")
    assert code == 0, out  # lenient: an optional field is fine
    assert "INFO: order.placed v1→v2: [property.added.optional]" in out
    code, out = pubsub_compat(capsys, "--against", "HEAD~1", "--rules", "strict")
    assert code == 1, out
    assert "ERROR: order.placed v1→v2: [property.added.optional] /properties/note" in out


def test_in_place_edit_of_shared_file_is_found(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write({1: order()}, money_length=10)  # released v1's shared money.json tightened, not committed
    code, out = pubsub_compat(capsys, "--against", "main")
    assert code == 1, out
    line = next(x for x in out.splitlines() if x.startswith("ERROR"))
    assert "order.placed v1 (edited since main): [limit.tightened]" in line
    assert f"{MONEY_ID}#/properties/amount/maxLength: maxLength tightened from 20 to 10" in line
    code, out = pubsub_compat(capsys, "--against", "main", "--format", "github")
    assert code == 1
    error = next(x for x in out.splitlines() if x.startswith("::error"))
    lines = (repo.schemas / "common" / "money.json").read_text().splitlines()
    line = next(n for n, text in enumerate(lines, start=1) if '"maxLength"' in text)
    assert error.startswith(
        f"::error file=schemas/common/money.json,line={line},title=order.placed v1 (edited since main)%3A"
    )


def test_breaking_change_accepted_in_registry_file(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    breaking = order()
    breaking["properties"]["order_id"] = {"type": "string", "format": "uuid"}
    accept = """
[[compat.accept]]
event = "order.placed"
version = 2
change = "format.added"
pointer = "/properties/order_id/format"
reason = "every producer already sends UUIDs (ADR-3)"
"""
    repo.write({1: order(), 2: breaking})
    code, out = pubsub_compat(capsys)
    assert code == 1 and "[format.added]" in out
    repo.write({1: order(), 2: breaking}, accept=accept)
    code, out = pubsub_compat(capsys, "--format", "json")
    assert code == 0, out
    payload = json.loads(out)
    (finding,) = payload["findings"]
    assert finding["severity"] == "accepted" and finding["accepted"].startswith("every producer")
    assert finding["new_pointer"] == "/properties/order_id/format" and finding["breaks"] == ["BACKWARD"]
    assert payload["compatible"] is True


def test_bad_accept_entry_is_a_usage_error(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write({1: order()}, accept='\n[[compat.accept]]\nevent = "order.placed"\nversion = 1\nchange = "x"\n')
    code, out = pubsub_compat(capsys)
    assert code == 2
    assert "'change' must be a change id" in out and "'reason' is required" in out


def test_removed_version_against_head(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write({1: order(), 2: order(note={"type": "string"})})
    repo.commit("v2")
    repo.write({1: order()})
    code, out = pubsub_compat(capsys, "--against", "HEAD", "--level", "forward")
    assert code == 1, out
    assert "[version.removed]" in out


def test_level_override_and_transitive(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.write({1: order(), 2: order(note={"type": "string", "maxLength": 5}),
                3: order(note={"type": "string", "maxLength": 9})})  # fmt: skip
    code, out = pubsub_compat(capsys)
    assert code == 0, out  # BACKWARD: loosening breaks only FORWARD → warning
    assert "WARNING: order.placed v2→v3: [limit.loosened]" in out
    code, out = pubsub_compat(capsys, "--level", "FORWARD_TRANSITIVE", "--format", "json")
    assert code == 1
    pairs = {(f["old_version"], f["new_version"]) for f in json.loads(out)["findings"]}
    assert pairs == {(1, 2), (2, 3), (1, 3)}


def test_registry_that_did_not_exist_at_ref(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    (repo.root / "README").write_text("x")
    repo.git("rm", "-r", "-q", "schemas")
    repo.commit("no schemas yet")
    repo.write({1: order()})
    code, out = pubsub_compat(capsys, "--against", "HEAD")
    assert code == 0, out


def test_usage_errors(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = pubsub_compat(capsys, "--against", "no-such-ref")
    assert code == 2 and "unknown git ref 'no-such-ref'" in out
    (repo.schemas / "order-placed.v1.json").write_text("{ not json")
    code, out = pubsub_compat(capsys)
    assert code == 2 and "order-placed.v1.json" in out


def test_broken_registry_at_ref_is_a_usage_error(repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    (repo.schemas / "order-placed.v1.json").write_text("{ not json")
    repo.commit("broken")
    repo.write({1: order()})
    code, out = pubsub_compat(capsys, "--against", "HEAD")
    assert code == 2 and "at HEAD" in out
