"""`pubsub generate`: deterministic output, --check, atomic writes, hostile names."""

from __future__ import annotations

import importlib
import json
import shutil
from pathlib import Path

import pytest

from generator.cli import main
from generator.codegen import output
from generator.codegen.names import NameCollision, class_name, module_path, unique

from .conftest import FIXTURES, ROOT, Generate

EXAMPLE = ROOT / "schemas"


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def generate(schemas: Path, out: Path, *extra: str) -> int:
    return main(["generate", "--schemas", str(schemas), "--out", str(out), "-q", *extra])


def test_regeneration_is_byte_identical(tmp_path: Path) -> None:
    assert generate(EXAMPLE, tmp_path / "a") == 0
    assert generate(EXAMPLE, tmp_path / "b") == 0
    first = tree(tmp_path / "a")
    assert first == tree(tmp_path / "b")
    assert generate(EXAMPLE, tmp_path / "a") == 0
    assert tree(tmp_path / "a") == first
    manifest = json.loads(first["manifest.json"])
    assert "time" not in json.dumps(manifest).lower() or "placed_at" in json.dumps(manifest)
    assert {e["type"] for e in manifest["events"]} >= {"order.placed", "user.registered"}


def test_committed_generated_package_is_current() -> None:
    assert main(["generate", "--schemas", str(EXAMPLE), "--out", str(ROOT / "generated"), "--check", "-q"]) == 0


def test_check_passes_when_current_and_names_stale_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "gen"
    assert generate(EXAMPLE, out) == 0
    assert generate(EXAMPLE, out, "--check") == 0
    assert "up to date" in capsys.readouterr().out

    edited = out / "publishers.py"
    edited.write_text(edited.read_text() + "\n# hand edit\n")
    before = tree(out)
    assert generate(EXAMPLE, out, "--check") == 1
    err = capsys.readouterr().err
    assert f"changed: {out}/publishers.py" in err
    assert "+# hand edit" not in err and "-# hand edit" in err  # the diff shows what regenerating removes
    assert tree(out) == before, "--check must write nothing"


def test_check_after_schema_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    schemas = tmp_path / "schemas"
    shutil.copytree(EXAMPLE, schemas)
    out = tmp_path / "gen"
    assert generate(schemas, out) == 0
    path = schemas / "users" / "user-registered.v1.json"
    schema = json.loads(path.read_text())
    schema["properties"]["nickname"] = {"type": "string", "description": "What friends call them."}
    path.write_text(json.dumps(schema, indent=2))
    capsys.readouterr()
    assert generate(schemas, out, "--check") == 1
    err = capsys.readouterr().err
    assert "models/users/user_registered_v1.py" in err
    assert "nickname" in err


def test_missing_and_leftover_files_are_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "gen"
    assert generate(EXAMPLE, out) == 0
    (out / "subscribers.py").unlink()
    (out / "stray.py").write_text("x = 1\n")
    assert generate(EXAMPLE, out, "--check") == 1
    err = capsys.readouterr().err
    assert "missing: " in err and "subscribers.py" in err
    assert "not generated any more: " in err and "stray.py" in err


def test_failed_write_leaves_previous_output_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "gen"
    assert generate(EXAMPLE, out) == 0
    before = tree(out)
    calls = 0
    real = Path.write_bytes

    def flaky(self: Path, data: bytes) -> int:  # type: ignore[override]
        nonlocal calls
        calls += 1
        if calls == 5:
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", flaky)
    schemas = tmp_path / "schemas"
    shutil.copytree(EXAMPLE, schemas)
    (schemas / "users" / "user-registered.v1.json").write_text(
        (EXAMPLE / "users" / "user-registered.v1.json").read_text().replace("marketing", "marketting")
    )
    with pytest.raises(OSError, match="No space left"):
        generate(schemas, out)
    monkeypatch.undo()
    assert tree(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".gen")] == []


def test_broken_registry_generates_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert generate(FIXTURES / "broken", tmp_path / "gen") == 1
    assert not (tmp_path / "gen").exists()
    assert "nothing generated" in capsys.readouterr().err


def test_hostile_names(generate_package: Generate) -> None:
    out = generate_package(FIXTURES / "hostile", "hostile_pkg")
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert all(".." not in f and not f.startswith("/") for f in files)
    for path in out.rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    package = importlib.import_module("hostile_pkg")
    model = package.ImportV1.model_validate({"class": "c", "from": 3, "a-b": "x", "a_b": 4, "model_config": "m"})
    assert (model.class_, model.from_, model.a_b, model.a_b_1, model.model_config_) == ("c", 3, "x", 4, "m")
    assert model.model_dump(by_alias=True, exclude_unset=True) == {
        "class": "c",
        "from": 3,
        "a-b": "x",
        "a_b": 4,
        "model_config": "m",
    }
    manifest = json.loads((out / "manifest.json").read_text())
    assert {e["type"] for e in manifest["events"]} == {"import", "../../etc/passwd", "größe.geändert", "list"}
    assert {e["bundle"] for e in manifest["events"]} == {
        "schemas/import.v1.json",
        "schemas/etc_passwd.v1.json",
        "schemas/groe_geandert.v1.json",
        "schemas/list.v1.json",
    }


def test_names_are_identifiers() -> None:
    for text in ["import", "list", "größe.geändert", "../../etc/passwd", "1st.event", "", "order.placed"]:
        name = class_name(text, "V1")
        assert name.isidentifier(), name
    assert class_name("order.placed") == "OrderPlaced"
    assert module_path("../../x/Order-Placed.v1.json") == ("x", "order_placed_v1")
    assert module_path("class/import.json") == ("class_", "import_")


def test_colliding_event_types_are_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(NameCollision, match=r"'order\.placed' and 'order_placed' both become"):
        unique([("order.placed", "OrderPlaced"), ("order_placed", "OrderPlaced")], "event types")
    schemas = tmp_path / "schemas"
    shutil.copytree(EXAMPLE, schemas)
    toml = (schemas / "pubsub.toml").read_text()
    toml += '\n[events."order_placed"]\nchannel = "orders"\nversions = { 1 = "orders/order-placed.v1.json" }\n'
    (schemas / "pubsub.toml").write_text(toml)
    assert generate(schemas, tmp_path / "gen") == 1
    assert "both become" in capsys.readouterr().err
    assert not (tmp_path / "gen").exists()


def test_quick_check_detects_tampering(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    assert generate(EXAMPLE, out) == 0
    from generator.codegen.pipeline import inputs_digest

    digest = inputs_digest(EXAMPLE, "generated")
    assert output.quick_check(out, digest)
    (out / "models" / "common" / "money.py").write_text("# tampered\n")
    assert not output.quick_check(out, digest)
