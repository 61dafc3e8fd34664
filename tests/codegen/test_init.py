"""``pubsub init``: a scaffold that lint, generate and check accept at once, and that never overwrites."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from hipponot_pubsub.generator.cli import main
from hipponot_pubsub.generator.scaffold import package_for, render

from .conftest import ROOT
from .gitrepo import commit_all, init_repo

SCAFFOLD = {"schemas/pubsub.toml", "schemas/example/example-created.v1.json", ".github/workflows/schemas.yml",
            ".pre-commit-config.yaml"}


def test_init_then_lint_generate_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    repo = init_repo(tmp_path / "my-shop")
    monkeypatch.chdir(repo)
    assert main(["init"]) == 0
    assert {p.relative_to(repo).as_posix() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts} \
        == SCAFFOLD
    assert 'package = "my_shop.events"' in (repo / "schemas" / "pubsub.toml").read_text()
    assert main(["lint"]) == 0
    assert main(["generate", "-q"]) == 0
    assert (repo / "my_shop" / "events" / "manifest.json").is_file()
    assert main(["check", "--against", "default"]) == 0  # before the first commit: nothing to compare with
    commit_all(repo, "scaffold")
    assert main(["check", "--against", "default", "--format", "github"]) == 0
    assert "::error" not in capsys.readouterr().out
    sys.path.insert(0, str(repo))
    try:
        importlib.invalidate_caches()
        events = importlib.import_module("my_shop.events")
        assert events.ExampleCreated.model_validate({"example_id": "ex-1"}).example_id == "ex-1"
    finally:
        sys.path.remove(str(repo))
        for name in [n for n in sys.modules if n.startswith("my_shop")]:
            del sys.modules[name]


def test_init_into_a_folder_with_a_package(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path / "new"), "--package", "svc.events.v1"]) == 0
    toml = (tmp_path / "new" / "schemas" / "pubsub.toml").read_text()
    assert 'out = "../svc/events/v1"' in toml and 'package = "svc.events.v1"' in toml
    assert main(["--schemas", str(tmp_path / "new" / "schemas"), "lint"]) == 0


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".pre-commit-config.yaml").write_text("repos: []\n")
    assert main(["init", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / '.pre-commit-config.yaml'} exists" in err and "nothing written" in err
    assert [p.name for p in tmp_path.rglob("*")] == [".pre-commit-config.yaml"]
    assert (tmp_path / ".pre-commit-config.yaml").read_text() == "repos: []\n"


def test_init_refuses_a_bad_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path), "--package", "my-app"]) == 2
    assert "not a dotted Python import name" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("folder", "package"), [("my-shop", "my_shop.events"), ("2fast", "app_2fast.events"),
                                                  ("Shop", "shop.events"), ("---", "app.events"),
                                                  ("class", "app.events")])
def test_package_named_after_the_folder(tmp_path: Path, folder: str, package: str) -> None:
    assert package_for(tmp_path / folder) == package


def test_the_scaffolded_workflow_is_the_documented_recipe() -> None:
    workflow = render("x.events")[".github/workflows/schemas.yml"]
    assert workflow == (ROOT / "examples" / "ci" / "github-workflow.yml").read_text(encoding="utf-8")
