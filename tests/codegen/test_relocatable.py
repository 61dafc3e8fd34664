"""Generation into any package: ``--package myapp.events --out myapp/events``, and the same bytes as any name."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hipponot_pubsub.generator.cli import main
from hipponot_pubsub.runtime.catalog import Catalog
from hipponot_pubsub.runtime.testing import memory_bus, published
from pydantic import ValidationError

from .conftest import ROOT
from .test_generate import tree

EXAMPLE = ROOT / "schemas"


@pytest.fixture
def user_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A user's repository: the example registry with ``[generate]`` naming ``myapp.events`` in
    ``src/myapp/events``, the user's own ``myapp`` package beside it, the current directory at its root."""
    shutil.copytree(EXAMPLE, tmp_path / "schemas")
    toml = tmp_path / "schemas" / "pubsub.toml"
    text = toml.read_text(encoding="utf-8")
    text = text[: text.index("[generate]")] + '[generate]\nout = "../src/myapp/events"\npackage = "myapp.events"\n'
    toml.write_text(text, encoding="utf-8")
    (tmp_path / "src" / "myapp").mkdir(parents=True)
    (tmp_path / "src" / "myapp" / "__init__.py").write_text('"""The user\'s own code."""\n')
    (tmp_path / "src" / "myapp" / "service.py").write_text("OWN = True\n")
    monkeypatch.chdir(tmp_path)
    sys.path.insert(0, str(tmp_path / "src"))
    importlib.invalidate_caches()
    yield tmp_path
    sys.path.remove(str(tmp_path / "src"))
    for name in [n for n in sys.modules if n == "myapp" or n.startswith("myapp.")]:
        del sys.modules[name]


def test_dotted_package_from_the_generate_table(user_repo: Path) -> None:
    assert main(["generate", "-q"]) == 0  # no --out, no --package: the table says
    out = user_repo / "src" / "myapp" / "events"
    assert (out / "manifest.json").is_file()
    assert (user_repo / "src" / "myapp" / "service.py").read_text() == "OWN = True\n"  # the user's code stays
    assert main(["generate", "--check", "-q"]) == 0
    assert main(["check"]) == 0


def test_output_names_no_package(user_repo: Path) -> None:
    """The same files as the committed ``generated/`` package: nothing in them says which name they have."""
    assert main(["generate", "-q"]) == 0
    generated = tree(user_repo / "src" / "myapp" / "events")
    assert generated == tree(ROOT / "generated")
    assert not any(b"myapp" in body or b'"generated' in body for body in generated.values())


async def test_a_dotted_package_imports_validates_and_publishes(user_repo: Path) -> None:
    assert main(["generate", "-q"]) == 0
    events: Any = importlib.import_module("myapp.events")
    catalog = Catalog.from_package("myapp.events")
    spec = catalog.spec("user.registered")
    assert spec.model is events.UserRegistered  # resolved relative to myapp.events
    assert spec.model.__module__ == "myapp.events.models.users.user_registered_v1"
    example = json.loads((EXAMPLE / "users" / "user-registered.v1.json").read_text())["examples"][0]
    user = events.UserRegistered.model_validate(example)
    with pytest.raises(ValidationError, match="email"):  # the bundle (found from the module's name) is enforced
        events.UserRegistered.model_validate({**example, "email": 42})
    async with memory_bus(catalog) as bus:
        await events.UserRegisteredPublisher(bus).publish(user, key=example["customer_id"])
        sent = await published(bus, "user.registered")
    assert [envelope.data["customer_id"] for envelope in sent] == [example["customer_id"]]


def test_package_must_be_a_dotted_import_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--schemas", str(EXAMPLE), "--out", str(tmp_path / "x"), "--package", "my-app"]) == 2
    assert "'my-app' is not a dotted Python import name" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_flags_override_the_table(user_repo: Path) -> None:
    assert main(["generate", "-q", "--out", "elsewhere/pkg", "--package", "pkg"]) == 0
    assert (user_repo / "elsewhere" / "pkg" / "manifest.json").is_file()
    assert not (user_repo / "src" / "myapp" / "events").exists()


def test_a_bad_generate_table_is_a_lint_problem_with_its_pointer(
    user_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toml = user_repo / "schemas" / "pubsub.toml"
    toml.write_text(toml.read_text().replace('package = "myapp.events"', 'package = "my-app.events"'))
    assert main(["lint"]) == 1
    err = capsys.readouterr().err
    assert "pubsub.toml:/generate/package: 'my-app.events' is not a dotted Python import name" in err
    assert main(["generate"]) == 2
    assert "/generate/package" in capsys.readouterr().err
    assert not (user_repo / "src" / "myapp" / "events").exists()


def test_manifests_with_absolute_model_names_still_load() -> None:
    """Manifests written before the output was relocatable name ``generated.models...`` in full."""
    manifest = json.loads((ROOT / "generated" / "manifest.json").read_text())
    for event in manifest["events"]:
        event["model"] = "generated" + event["model"]
    catalog = Catalog.from_manifest(manifest, lambda rel: json.loads((ROOT / "generated" / rel).read_text()))
    assert catalog.spec("order.placed").model.__name__ == "OrderPlacedV2"


def test_a_catalog_from_a_folder_without_its_package_names_what_to_do() -> None:
    catalog = Catalog.from_folder(ROOT / "generated")
    assert catalog.spec("order.placed").validator.is_valid({}) is False  # validation needs no import
    with pytest.raises(LookupError, match=r"from_folder\(folder, package=name\)"):
        _ = catalog.spec("order.placed").model
    assert Catalog.from_folder(ROOT / "generated", package="generated").spec("order.placed").model.__name__ \
        == "OrderPlacedV2"
