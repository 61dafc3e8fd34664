"""The registry as it was at a git ref, extracted to a temporary directory.

``pubsub compat --against origin/main`` compares the working tree with what is already released. Git is run
as a subprocess (``git archive``), locally: no fetch, no network. A ref where the schemas folder does not
exist yet yields ``None``: everything in the working tree is new, so there is nothing to compare against.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class GitError(Exception):
    """git failed (not a repository, unknown ref, ...); the message says what git said."""


def _git(cwd: Path, *args: str) -> bytes:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise GitError("git is not installed") from exc
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip() or f"git {' '.join(args)} failed"
        raise GitError(message)
    return done.stdout


#: The ``--against`` value that means "the repository's default branch, whatever it is called".
DEFAULT_BRANCH = "default"


def default_branch(cwd: Path) -> str | None:
    """The ref to compare with when none is named: the remote's default branch (``origin/HEAD``, as a clone
    sets it), else ``origin/main`` or ``origin/master``, else the last commit (``HEAD``), so the pre-commit
    hook and CI work in any repository, with or without a remote; None before the first commit (nothing to
    compare with). Read locally: nothing is fetched."""
    top = Path(_git(cwd, "rev-parse", "--show-toplevel").decode().strip())
    try:
        head = _git(top, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD").decode().strip()
    except GitError:
        head = ""
    for ref in [*([head] if head else []), "origin/main", "origin/master", "HEAD"]:
        try:
            _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except GitError:
            continue
        return ref
    return None


def resolve_ref(cwd: Path, ref: str) -> str | None:
    """``ref`` itself, or for :data:`DEFAULT_BRANCH` the ref :func:`default_branch` finds (None: no commit)."""
    return default_branch(cwd) if ref == DEFAULT_BRANCH else ref


@contextmanager
def registry_at(schemas: Path, ref: str) -> Iterator[Path | None]:
    """Yield the path of ``schemas`` as it was at ``ref`` (in a temporary copy), or None if it did not exist."""
    schemas = schemas.resolve()
    if not schemas.is_dir():
        raise GitError(f"{schemas} is not a directory")
    top = Path(_git(schemas, "rev-parse", "--show-toplevel").decode().strip()).resolve()
    try:
        _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except GitError as exc:
        raise GitError(f"unknown git ref {ref!r}") from exc
    relative = schemas.relative_to(top).as_posix()
    listed = _git(top, "ls-tree", "-d", "--name-only", ref, "--", relative or ".")
    with tempfile.TemporaryDirectory(prefix="pubsub-compat-") as tmp:
        if relative and not listed.strip():
            yield None
            return
        archive = _git(top, "archive", "--format=tar", ref, "--", relative or ".")
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp) / relative if relative else Path(tmp)
