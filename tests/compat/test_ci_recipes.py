"""The CI recipes parse, work in any repository (no folder names, the default branch found at run time), and
docs/ci.md shows them as they are, with links that resolve."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import pytest
from hipponot_pubsub.generator.cli import main
from hipponot_pubsub.generator.compat.gitref import default_branch

from ..codegen.gitrepo import commit_all, git, init_repo

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "examples" / "ci"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
DOC = ROOT / "docs" / "ci.md"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_github_workflow_runs_pubsub_check_with_history() -> None:
    workflow = load(CI / "github-workflow.yml")
    steps = workflow["jobs"]["pubsub-check"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    commands = " ".join(s.get("run", "") for s in steps)
    assert "pubsub check --against" in commands and "--format github" in commands
    assert "'hipponot-pubsub[codegen]'" in commands  # check needs the code generator
    assert "generated/" not in (CI / "github-workflow.yml").read_text()  # no folder of the example


def test_pre_commit_hooks_are_one_file_and_name_no_folder() -> None:
    assert not (CI / ".pre-commit-hooks.yaml").exists()
    hooks = {h["id"]: h for h in load(HOOKS)}
    assert hooks["pubsub-check"]["entry"] == "pubsub check --against default"
    assert hooks["pubsub-compat"]["entry"] == "pubsub compat --against default"
    assert all(h["pass_filenames"] is False for h in hooks.values())
    check_files = re.compile(hooks["pubsub-check"]["files"])
    for changed in ["schemas/pubsub.toml", "schemas/orders/a.v1.json", "src/myapp/events/publishers.py"]:
        assert check_files.search(changed), changed
    assert "generated/" not in HOOKS.read_text()
    config = load(CI / "pre-commit-config.yaml")
    assert config["repos"][0]["hooks"][0]["id"] == "pubsub-check"


@pytest.mark.parametrize("path", [CI / "github-workflow.yml", HOOKS], ids=["workflow", "hooks"])
def test_docs_quote_the_recipe_verbatim(path: Path) -> None:
    body = "\n".join(
        line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")
    ).strip()
    assert body in DOC.read_text(encoding="utf-8")


def _anchor(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_doc_links_resolve() -> None:
    text = DOC.read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [link for link in links if not link.startswith(("http://", "https://"))]
    assert local, "docs/ci.md links its recipes"
    for link in local:
        target, _, anchor = link.partition("#")
        path = (DOC.parent / target).resolve() if target else DOC
        assert path.is_file(), f"docs/ci.md links {link}, which does not exist"
        if anchor:
            headings = [_anchor(h) for h in re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), re.M)]
            assert anchor in headings, f"docs/ci.md links {link}: no such heading ({headings})"


# -- the default branch, in real repositories ------------------------------------------------------------------

def test_default_branch_without_a_commit_or_a_remote(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "repo")
    assert default_branch(repo) is None
    (repo / "a").write_text("a")
    commit_all(repo, "first")
    assert default_branch(repo) == "HEAD"


def test_default_branch_of_a_clone_is_origin_head(tmp_path: Path) -> None:
    origin = init_repo(tmp_path / "origin", branch="trunk")
    (origin / "a").write_text("a")
    commit_all(origin, "first")
    git(tmp_path, "clone", "-q", str(origin), "clone")
    assert default_branch(tmp_path / "clone") == "origin/trunk"


def test_default_branch_falls_back_to_origin_master(tmp_path: Path) -> None:
    origin = init_repo(tmp_path / "origin", branch="master")
    (origin / "a").write_text("a")
    commit_all(origin, "first")
    repo = init_repo(tmp_path / "repo", branch="work")
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "fetch", "-q", "origin")  # no origin/HEAD: only a clone sets it
    assert default_branch(repo) == "origin/master"


def _hook_argv(hook_id: str) -> list[str]:
    entry = next(h for h in load(HOOKS) if h["id"] == hook_id)["entry"]
    words = shlex.split(entry)
    assert words[0] == "pubsub"
    return words[1:]


def test_the_hook_entry_compares_with_the_default_branch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a clone whose registry lives in schemas/ and whose package is ``myapp.events`` ([generate])."""
    origin = init_repo(tmp_path / "origin")
    shutil.copytree(ROOT / "schemas", origin / "schemas")
    toml = origin / "schemas" / "pubsub.toml"
    toml.write_text(toml.read_text().replace('out = "../generated"\npackage = "generated"',
                                             'out = "../myapp/events"\npackage = "myapp.events"'))
    monkeypatch.chdir(origin)
    assert main(["generate", "-q"]) == 0
    commit_all(origin, "registry")
    git(tmp_path, "clone", "-q", str(origin), "clone")
    clone = tmp_path / "clone"
    monkeypatch.chdir(clone)
    assert main(_hook_argv("pubsub-check")) == 0

    path = clone / "schemas" / "users" / "user-registered.v1.json"
    original = path.read_text()
    schema = json.loads(original)
    schema["properties"]["locale"]["maxLength"] = 2  # narrowed: breaks BACKWARD against origin/main
    path.write_text(json.dumps(schema, indent=2))
    assert main(["generate", "-q"]) == 0
    commit_all(clone, "narrow locale")  # committed locally: origin/main, not HEAD, is the baseline
    assert main(_hook_argv("pubsub-check")) == 1
    assert main(_hook_argv("pubsub-compat")) == 1

    schema = json.loads(original)
    schema["description"] += " Compatible edit."
    path.write_text(json.dumps(schema, indent=2))
    assert main(["generate", "-q"]) == 0
    assert main(_hook_argv("pubsub-check")) == 0
