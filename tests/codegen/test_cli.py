"""The CI face of the CLI: ``--format text|json|github`` on lint, generate and check, ``--version``, and the
one-line message when the code generator is not installed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from hipponot_pubsub.generator.cli import main
from hipponot_pubsub.generator.github import annotation

from .conftest import ROOT
from .gitrepo import commit_all, init_repo

EXAMPLE = ROOT / "schemas"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"pubsub (hipponot-pubsub) {version('hipponot-pubsub')}"


def test_annotations_escape_as_the_runner_reads_them() -> None:
    line = annotation("error", "100% sure\r\nnext: line", file="a,b:c.json", line=3, title="t: x, y")
    assert line == "::error file=a%2Cb%3Ac.json,line=3,title=t%3A x%2C y::100%25 sure%0D%0Anext: line"
    assert annotation("notice", "m") == "::notice::m"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user repository with the example registry, its package generated into ``gen`` and committed."""
    init_repo(tmp_path)
    shutil.copytree(EXAMPLE, tmp_path / "schemas")
    toml = tmp_path / "schemas" / "pubsub.toml"
    toml.write_text(toml.read_text().replace('out = "../generated"\npackage = "generated"',
                                             'out = "../gen"\npackage = "gen"'))
    monkeypatch.chdir(tmp_path)
    assert main(["generate", "-q"]) == 0
    commit_all(tmp_path, "registry")
    return tmp_path


def _break(repo: Path) -> None:
    """A breaking change (a new required property in v1), not regenerated: stale output, compat error."""
    path = repo / "schemas" / "users" / "user-registered.v1.json"
    schema = json.loads(path.read_text())
    schema["properties"]["nickname"] = {"type": "string"}
    schema["required"].append("nickname")
    path.write_text(json.dumps(schema, indent=2) + "\n")


def test_check_github_annotates_stale_files_and_breaking_changes(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--against", "HEAD", "--format", "github"]) == 0
    capsys.readouterr()
    _break(repo)
    assert main(["check", "--against", "HEAD", "--format", "github"]) == 1
    out = capsys.readouterr().out
    errors = [line for line in out.splitlines() if line.startswith("::error ")]
    assert any(line.startswith("::error file=gen/models/users/user_registered_v1.py,title=generated file stale::")
               for line in errors), out
    assert any("file=schemas/users/user-registered.v1.json" in line and "nickname" in line for line in errors), out
    assert "== " not in out  # no text headers among the workflow commands


def test_check_json_is_one_document(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _break(repo)
    assert main(["check", "--against", "HEAD", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)  # the whole stdout is one JSON document
    assert report["ok"] is False and set(report["failed"]) == {"generate", "compat"}
    assert report["steps"]["generate"]["changed"] == [
        "gen/manifest.json", "gen/models/users/user_registered_v1.py", "gen/schemas/user_registered.v1.json"]
    assert report["steps"]["compat"]["compatible"] is False
    assert report["steps"]["api"]["exit"] == 0


def test_lint_github_names_file_and_pointer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "schemas")
    toml = tmp_path / "schemas" / "pubsub.toml"
    toml.write_text(toml.read_text().replace('adapter = "memory"', 'adapter = "carrier-pigeon"', 1))
    schemas = str(tmp_path / "schemas")
    assert main(["lint", "--schemas", schemas, "--format", "github"]) == 1
    line = capsys.readouterr().out.strip().splitlines()[0]
    assert line.startswith(f"::error file={schemas}/pubsub.toml,title=registry problem (unknown-adapter)::")
    assert "/channels/users/adapter: " in line
    assert main(["check", "--schemas", schemas, "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["failed"] == ["lint"] and report["steps"]["lint"]["problems"][0]["code"] == "unknown-adapter"


def test_generate_json(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--check", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "current"
    _break(repo)
    assert main(["generate", "--check", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["status"], report["up_to_date"], report["out"]) == ("stale", False, "gen")
    assert main(["generate", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "written"


#: The library made unimportable, as when it is not installed (``import x`` raises ImportError for a None entry).
BLOCK = ("import sys; sys.modules[{name!r}] = None; "
         "from hipponot_pubsub.generator.cli import main; sys.exit(main({argv!r}))")


@pytest.mark.parametrize("module", ["datamodel_code_generator", "jinja2"])
@pytest.mark.parametrize("command", ["generate", "check"])
def test_without_the_code_generator_commands_say_which_extra(tmp_path: Path, module: str, command: str) -> None:
    argv = ["--schemas", str(EXAMPLE), command, "--out", str(tmp_path / "gen"), "--package", "gen"]
    done = subprocess.run([sys.executable, "-c", BLOCK.format(name=module, argv=argv)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (f"error: pubsub {command} needs the code generator: "
                                   "pip install 'hipponot-pubsub[codegen]'")
    assert not (tmp_path / "gen").exists()


@pytest.mark.parametrize("argv", [["lint"], ["compat"], ["schemas", "list"]])
def test_lint_and_compat_work_without_the_code_generator(argv: list[str]) -> None:
    prelude = "import sys; sys.modules['datamodel_code_generator'] = sys.modules['jinja2'] = None; "
    argv = ["--schemas", str(EXAMPLE), *argv]
    code = prelude + f"from hipponot_pubsub.generator.cli import main; sys.exit(main({argv!r}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
