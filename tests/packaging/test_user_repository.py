"""A user's repository adopting hipponot-pubsub, from the wheel, as the issue's "done when" describes.

The repository (copied from ``user_repo/`` into a temporary folder and put under git) has its own registry of
three events, a ``[generate]`` table sending them to its own package ``myapp.events``, a service module and a
test of it. Its venv has the wheel installed non-editable with the ``codegen`` and ``testing`` extras, at the
pinned versions, plus mypy and pytest. Then, as the user would: ``pubsub generate``, ``mypy --strict``, the
user's tests, and the CI step of ``examples/ci/github-workflow.yml`` on a breaking and on a compatible commit.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from packaging.requirements import Requirement

from .tools import ROOT, Venv, expect, run

pytestmark = pytest.mark.packaging

TEMPLATE = Path(__file__).parent / "user_repo"
WORKFLOW = ROOT / "examples" / "ci" / "github-workflow.yml"
EVENTS = Path("myapp") / "events"


def git(repo: Path, *arguments: str) -> str:
    return expect(run(["git", *arguments], cwd=repo)).stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--message", message)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, codegen_venv: Venv) -> Path:
    """The user's repository with its events generated and committed on ``main``."""
    folder = tmp_path_factory.mktemp("users") / "myapp-repo"
    shutil.copytree(TEMPLATE, folder)
    git(folder, "init", "--quiet", "--initial-branch", "main")
    expect(codegen_venv.run("pubsub", "generate", cwd=folder))
    commit_all(folder, "Events of myapp, generated into myapp.events")
    return folder


@contextmanager
def branch(repo: Path, name: str) -> Iterator[None]:
    """Work on a new branch from ``main``; back on a clean ``main`` afterwards, whatever happened."""
    git(repo, "switch", "--quiet", "--create", name, "main")
    try:
        yield
    finally:
        git(repo, "switch", "--quiet", "--force", "main")
        git(repo, "clean", "--quiet", "--force", "-d")


def edit_json(path: Path, change: Any) -> None:
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document, indent=2) + "\n")


def workflow_step(name: str) -> dict[str, Any]:
    """A step of the shipped GitHub workflow, by name."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    [step] = [step for step in steps if step.get("name") == name]
    found: dict[str, Any] = step
    return found


def run_ci_check(venv: Venv, repo: Path) -> Any:
    """The workflow's check step exactly as written, as on a push to main (``BASE`` is then ``HEAD~1``)."""
    step = workflow_step("Lint, generated code, compatibility")
    return venv.run("bash", "-c", step["run"], cwd=repo, BASE="HEAD~1")


# --- generate ------------------------------------------------------------------------------------------


def test_generate_writes_the_users_package_from_the_generate_table(repo: Path, codegen_venv: Venv) -> None:
    for name in ("__init__.py", "publishers.py", "subscribers.py", "py.typed", "manifest.json"):
        assert (repo / EVENTS / name).is_file(), f"{EVENTS / name} was not generated"
    assert not (repo / "generated").exists(), "pubsub generate wrote the example's default package"
    hard_coded = re.compile(r"""\b(from|import) generated\b|["']generated["']""")
    for module in sorted((repo / EVENTS).rglob("*.py")):
        for number, line in enumerate(module.read_text().splitlines(), 1):
            assert not hard_coded.search(line), f"{module.relative_to(repo)}:{number} names 'generated': {line}"
    expect(codegen_venv.run("pubsub", "generate", "--check", cwd=repo))
    assert git(repo, "status", "--porcelain") == "", "a second generate changed committed files"


# --- mypy --strict -------------------------------------------------------------------------------------


def test_mypy_strict_accepts_the_service_and_its_tests(repo: Path, codegen_venv: Venv) -> None:
    ran = expect(codegen_venv.run("mypy", "--strict", "myapp", "tests", cwd=repo, timeout=240))
    assert "Success: no issues found" in ran.stdout, str(ran)


MISUSE = '''\
from hipponot_pubsub.runtime.bus import Bus

from myapp.events import AccountClosed, AccountOpenedPublisher, PaymentReceived


async def announce(bus: Bus) -> None:
    await AccountOpenedPublisher(bus).publish(AccountClosed(account_id="acc_1", reason="fraud"))


def pay() -> PaymentReceived:
    return PaymentReceived(account_id="acc_1", amount_cents="500", currency="EUR")
'''


def test_mypy_strict_rejects_a_wrong_model_and_a_wrong_field_type(repo: Path, codegen_venv: Venv) -> None:
    misuse = repo / "myapp" / "misuse.py"
    misuse.write_text(MISUSE)
    try:
        ran = codegen_venv.run("mypy", "--strict", "myapp/misuse.py", cwd=repo, timeout=240)
    finally:
        misuse.unlink()
    assert ran.returncode == 1, str(ran)
    errors = [line for line in ran.stdout.splitlines() if ": error: " in line]
    assert len(errors) == 2, str(ran)
    wrong_model, wrong_type = errors
    assert wrong_model.startswith("myapp/misuse.py:7: error: ") and "AccountClosed" in wrong_model, str(ran)
    assert "AccountOpened" in wrong_model and "publish" in wrong_model, str(ran)
    assert wrong_type.startswith("myapp/misuse.py:11: error: ") and '"amount_cents"' in wrong_type, str(ran)
    assert '"str"' in wrong_type and '"int"' in wrong_type, str(ran)


# --- the user's tests ----------------------------------------------------------------------------------


def test_the_users_tests_pass_with_the_test_kit(repo: Path, codegen_venv: Venv) -> None:
    ran = expect(codegen_venv.run("pytest", "-q", cwd=repo, timeout=180))
    assert re.search(r"^2 passed\b", ran.stdout, re.MULTILINE), str(ran)


# --- the copied CI recipe ------------------------------------------------------------------------------


def test_the_workflow_installs_the_extra_the_check_needs() -> None:
    """The recipe's ``pip install`` must bring the code generator: the bare install has none."""
    command = shlex.split(workflow_step("Install hipponot-pubsub")["run"], comments=True)
    assert command[:2] == ["pip", "install"], command
    [requirement] = [Requirement(word) for word in command[2:] if word.startswith("hipponot-pubsub")]
    assert "codegen" in requirement.extras or "all" in requirement.extras, command


def test_the_ci_step_fails_a_breaking_commit(repo: Path, codegen_venv: Venv) -> None:
    with branch(repo, "make-referral-required"):
        edit_json(
            repo / "schemas" / "accounts" / "account-opened.v1.json",
            lambda schema: schema["required"].append("referral_code"),
        )
        expect(codegen_venv.run("pubsub", "generate", cwd=repo))
        commit_all(repo, "account.opened v1: referral_code is required")

        ran = run_ci_check(codegen_venv, repo)

    assert ran.returncode == 1, str(ran)
    annotations = [line for line in ran.stdout.splitlines() if line.startswith("::error ")]
    assert any("file=schemas/accounts/account-opened.v1.json" in line for line in annotations), str(ran)
    assert "Traceback" not in ran.stdout + ran.stderr, str(ran)


def test_the_ci_step_passes_a_compatible_commit(repo: Path, codegen_venv: Venv) -> None:
    with branch(repo, "add-nickname-v2"):
        schemas = repo / "schemas"
        v2 = schemas / "accounts" / "account-opened.v2.json"
        shutil.copy(schemas / "accounts" / "account-opened.v1.json", v2)

        def add_nickname(schema: dict[str, Any]) -> None:
            schema["$id"] = schema["$id"].replace(".v1.json", ".v2.json")
            schema["properties"]["nickname"] = {"description": "How to greet the customer.", "type": "string"}

        edit_json(v2, add_nickname)
        registry = schemas / "pubsub.toml"
        v1_only = 'versions = { 1 = "accounts/account-opened.v1.json" }'
        assert v1_only in registry.read_text()
        registry.write_text(registry.read_text().replace(
            v1_only, 'versions = { 1 = "accounts/account-opened.v1.json", 2 = "accounts/account-opened.v2.json" }'
        ))
        edit_json(
            schemas / "payments" / "payment-received.v1.json",
            lambda schema: schema.update(description="A payment for an account was received and booked."),
        )
        expect(codegen_venv.run("pubsub", "generate", cwd=repo))
        assert (repo / EVENTS / "models" / "accounts" / "account_opened_v2.py").is_file()
        commit_all(repo, "account.opened v2: optional nickname; payment.received described better")

        ran = run_ci_check(codegen_venv, repo)

    assert ran.returncode == 0, str(ran)
    assert not [line for line in ran.stdout.splitlines() if line.startswith("::error ")], str(ran)
