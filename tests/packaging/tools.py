"""What the packaging tests do to a checkout the way a user's machine would: build it, install it in a fresh
virtual environment, run commands there.

Every command runs in a child process under a deadline, with an environment stripped of this checkout (no
``PYTHONPATH``, no active venv, no ``PUBSUB_*`` settings, no user or system git configuration), and its
output is kept so a failed assertion shows what the command said.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "constraints.txt"

#: A fixed identity for the commits of the user repositories (no git configuration is read).
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Packaging Test",
    "GIT_AUTHOR_EMAIL": "packaging@example.com",
    "GIT_COMMITTER_NAME": "Packaging Test",
    "GIT_COMMITTER_EMAIL": "packaging@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


@dataclass(frozen=True)
class Ran:
    """A finished command: what was run, its exit status and everything it printed."""

    command: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def __str__(self) -> str:
        return (
            f"$ {' '.join(self.command)}\n(exit {self.returncode} after {self.seconds:.1f}s)\n"
            f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
        )


def clean_environment(path_first: Path | None = None, **extra: str) -> dict[str, str]:
    """This process's environment without what would let a child see the checkout instead of an install."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTEST_ADDOPTS", "PYTEST_PLUGINS"}
        and not name.startswith(("PUBSUB_", "GIT_", "PYTEST_XDIST"))
    }
    if path_first is not None:
        env["PATH"] = f"{path_first}{os.pathsep}{env.get('PATH', '')}"
    env.update(GIT_IDENTITY)
    env.update(extra)
    return env


def run(command: Sequence[str | Path], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> Ran:
    """Run ``command`` to the end (at most ``timeout`` seconds) and keep its output."""
    words = [str(word) for word in command]
    started = time.monotonic()
    done = subprocess.run(
        words, cwd=cwd, env=env if env is not None else clean_environment(), capture_output=True, text=True,
        errors="replace", timeout=timeout, stdin=subprocess.DEVNULL, check=False,
    )
    return Ran(words, done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def expect(ran: Ran, returncode: int = 0) -> Ran:
    """``ran``, after failing the test with its output unless it exited with ``returncode``."""
    assert ran.returncode == returncode, f"expected exit {returncode}\n{ran}"
    return ran


def copy_source_tree(destination: Path) -> Path:
    """The checkout's files as git sees them (tracked and untracked-but-not-ignored, symlinks kept as links),
    so a build reads what a commit of the working tree would hold and writes nothing into the checkout."""
    listed = expect(run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT))
    for name in filter(None, listed.stdout.split("\0")):
        source = ROOT / name
        if not source.is_symlink() and not source.exists():
            continue  # deleted in the working tree, not yet in a commit
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)
    return destination


def build(source: Path, outdir: Path, *distributions: str) -> Ran:
    """``python -m build`` (PEP 517, isolated) of ``source``: ``--sdist``/``--wheel``, or the default of an sdist
    and a wheel built from that sdist."""
    flags = [f"--{kind}" for kind in distributions]
    return expect(run([sys.executable, "-m", "build", *flags, "--outdir", outdir, source], cwd=source, timeout=300))


def one_file(folder: Path, pattern: str) -> Path:
    """The single file in ``folder`` matching ``pattern``."""
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {folder}, found {[p.name for p in found]}"
    return found[0]


def wheel_names(wheel: Path) -> list[str]:
    """The file names a wheel holds, in archive order."""
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


@dataclass(frozen=True)
class Distributions:
    """The checkout built as a user's pip would see it."""

    wheel: Path
    sdist: Path
    #: The wheel built from ``sdist`` (what ``pip install hipponot-pubsub`` gets without a wheel on the index).
    wheel_from_sdist: Path


class Venv:
    """A virtual environment made with ``python -m venv`` from the interpreter running the tests."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, path: Path) -> Venv:
        """A new, empty venv (pip only) in ``path``."""
        expect(run([sys.executable, "-m", "venv", path], cwd=path.parent, timeout=120))
        return cls(path)

    @property
    def bin(self) -> Path:
        return self.path / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def environment(self, **extra: str) -> dict[str, str]:
        """The environment of a shell in which this venv is activated."""
        return clean_environment(self.bin, VIRTUAL_ENV=str(self.path), **extra)

    def install(self, *requirements: str | Path, timeout: float = 300) -> Ran:
        """``pip install -c constraints.txt ...``: the pinned versions, never editable. Byte code is left for
        Python to write as modules are imported: compiling every module of mypy, black and the rest up front
        is most of an install's time, and the tests import few of them."""
        arguments = ["install", "--no-input", "--no-compile", "-c", CONSTRAINTS, *requirements]
        return expect(self.pip(*arguments, timeout=timeout))

    def pip(self, *arguments: str | Path, timeout: float = 120) -> Ran:
        command = [self.python, "-m", "pip", "--disable-pip-version-check", *arguments]
        return run(command, cwd=self.path, env=self.environment(), timeout=timeout)

    def run(self, *command: str | Path, cwd: Path, timeout: float = 120, **extra: str) -> Ran:
        """``command`` as typed in an activated shell in ``cwd`` (the venv's scripts come first on PATH)."""
        return run(list(command), cwd=cwd, env=self.environment(**extra), timeout=timeout)
