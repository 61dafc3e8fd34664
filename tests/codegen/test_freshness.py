"""``generate --check`` fails only when some output file would change: tool versions and the generator's own
source are not in the output, and the local fast path never hides a real change."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from hipponot_pubsub.generator.codegen import digest
from hipponot_pubsub.generator.codegen.run import generate
from hipponot_pubsub.runtime.project import GenerateTarget

from .conftest import ROOT

EXAMPLE = ROOT / "schemas"


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLE, tmp_path / "schemas")
    return tmp_path / "schemas"


@pytest.fixture
def target(tmp_path: Path, registry: Path) -> GenerateTarget:
    target = GenerateTarget(out=tmp_path / "gen", package="gen")
    assert generate(registry, target, check=False).status == "written"
    return target


def test_manifest_records_no_tool_version_or_generator_digest(target: GenerateTarget) -> None:
    manifest = json.loads((target.out / "manifest.json").read_text())
    assert not {"generator", "inputs_digest", "package"} & set(manifest)
    assert manifest["format"] == 1 and manifest["files"]


def test_fast_path_after_a_generate(registry: Path, target: GenerateTarget) -> None:
    result = generate(registry, target, check=True)
    assert (result.status, result.fast_path) == ("current", True)


def test_other_tool_versions_do_not_make_identical_output_stale(
    registry: Path, target: GenerateTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = digest.version
    monkeypatch.setattr(digest, "version", lambda name: "99.0" if name == "datamodel-code-generator" else real(name))
    result = generate(registry, target, check=True)
    assert (result.status, result.fast_path) == ("current", False)  # built and compared, not trusted
    assert generate(registry, target, check=True).fast_path  # and remembered for these tools


def test_an_edited_generator_does_not_make_identical_output_stale(
    tmp_path: Path, registry: Path, target: GenerateTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "generator"
    shutil.copytree(digest.GENERATOR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(digest, "GENERATOR", copy)
    assert generate(registry, target, check=True).fast_path
    pipeline = copy / "codegen" / "pipeline.py"
    pipeline.write_text(pipeline.read_text() + "\n# an edit that changes no output\n")
    result = generate(registry, target, check=True)
    assert (result.status, result.fast_path) == ("current", False)


def test_a_real_change_is_reported_with_a_warm_cache(registry: Path, target: GenerateTarget) -> None:
    assert generate(registry, target, check=True).fast_path
    path = registry / "users" / "user-registered.v1.json"
    schema = json.loads(path.read_text())
    schema["properties"]["nickname"] = {"type": "string"}
    path.write_text(json.dumps(schema))
    result = generate(registry, target, check=True)
    assert result.status == "stale"
    assert result.difference.changed and "models/users/user_registered_v1.py" in result.difference.changed


@pytest.mark.parametrize("tamper", ["edit", "add", "remove", "manifest"])
def test_a_tampered_output_is_reported_with_a_warm_cache(
    registry: Path, target: GenerateTarget, tamper: str
) -> None:
    assert generate(registry, target, check=True).fast_path
    out = target.out
    if tamper == "edit":
        (out / "publishers.py").write_text((out / "publishers.py").read_text() + "# hand edit\n")
    elif tamper == "add":
        (out / "stray.py").write_text("x = 1\n")
    elif tamper == "remove":
        (out / "subscribers.py").unlink()
    else:  # a consistent forgery: file and manifest edited together
        (out / "publishers.py").write_text("# forged\n")
        manifest = json.loads((out / "manifest.json").read_text())
        manifest["files"]["publishers.py"] = "sha256:" + hashlib.sha256(b"# forged\n").hexdigest()
        (out / "manifest.json").write_text(json.dumps(manifest))
    result = generate(registry, target, check=True)
    assert (result.status, result.fast_path) == ("stale", False)
