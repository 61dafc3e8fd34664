"""Shared by the packaging tests: the distributions built once from the checkout, and the fresh venvs.

Everything is session-scoped: a build and a venv take seconds each, and every test only reads them (the user
repository, which tests change, is module-scoped in its own module).
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from .tools import Distributions, Venv, build, copy_source_tree, one_file

# The user-repository template is copied into temporary git repositories, never collected from here.
collect_ignore = ["user_repo"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "packaging: builds the distributions and installs them in fresh venvs")


@pytest.fixture(scope="session")
def distributions(tmp_path_factory: pytest.TempPathFactory) -> Distributions:
    source = copy_source_tree(tmp_path_factory.mktemp("source"))
    direct = tmp_path_factory.mktemp("dist")
    build(source, direct, "sdist", "wheel")
    via_sdist = tmp_path_factory.mktemp("dist-from-sdist")
    sdist = one_file(direct, "*.tar.gz")
    build(sdist_tree(sdist, tmp_path_factory.mktemp("sdist-tree")), via_sdist, "wheel")
    return Distributions(one_file(direct, "*.whl"), sdist, one_file(via_sdist, "*.whl"))


def sdist_tree(sdist: Path, destination: Path) -> Path:
    """The sdist unpacked (its single top folder), as pip unpacks one before building it."""
    with tarfile.open(sdist) as archive:
        archive.extractall(destination, filter="data")
    [top] = destination.iterdir()
    return top


@pytest.fixture(scope="session")
def venvs(tmp_path_factory: pytest.TempPathFactory, distributions: Distributions) -> Iterator[dict[str, Future[Venv]]]:
    """Both venvs, installed side by side: an install mostly waits on the package index, so the second one
    costs little more time than the first. Each test then waits only for the venv it uses."""

    def make(name: str, *requirements: str | Path) -> Venv:
        venv = Venv.create(tmp_path_factory.mktemp(name) / "venv")
        venv.install(*requirements)
        return venv

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="venv") as pool:
        yield {
            # pip install 'hipponot-pubsub[codegen,testing]' mypy pytest: a user repository's development venv
            "codegen": pool.submit(make, "codegen", f"{distributions.wheel}[codegen,testing]", "mypy", "pytest"),
            # pip install hipponot-pubsub pytest: the runtime without any extra, pytest without pytest-asyncio
            "bare": pool.submit(make, "bare", distributions.wheel, "pytest"),
        }


@pytest.fixture(scope="session")
def bare_venv(venvs: dict[str, Future[Venv]]) -> Venv:
    """``pip install hipponot-pubsub pytest``: the runtime without any extra, pytest without pytest-asyncio."""
    return venvs["bare"].result()


@pytest.fixture(scope="session")
def codegen_venv(venvs: dict[str, Future[Venv]]) -> Venv:
    """``pip install 'hipponot-pubsub[codegen,testing]' mypy pytest``: a user repository's development venv."""
    return venvs["codegen"].result()
