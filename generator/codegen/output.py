"""Write the generated package atomically, or compare it with what is on disk (``--check``).

Writing builds the whole package in a sibling temporary folder, then swaps it in with two renames, so a
failed or interrupted run leaves the previous package untouched and no reader ever sees half of each.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import posixpath
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .digest import MANIFEST

#: Files in the output folder that generation does not own (kept across regeneration).
KEEP = frozenset({".gitignore", "README.md"})


@dataclass
class Difference:
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # would be written, missing on disk
    removed: list[str] = field(default_factory=list)  # on disk, no longer generated
    diffs: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.changed or self.added or self.removed)


def on_disk(out: Path) -> dict[str, bytes]:
    if not out.is_dir():
        return {}
    found: dict[str, bytes] = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and "__pycache__" not in rel.split("/") and rel not in KEEP:
            found[rel] = path.read_bytes()
    return found


def compare(files: Mapping[str, bytes], out: Path, context_lines: int = 3, max_lines: int = 40) -> Difference:
    existing = on_disk(out)
    difference = Difference()
    for path, body in files.items():
        if path not in existing:
            difference.added.append(path)
        elif existing[path] != body:
            difference.changed.append(path)
            old = existing[path].decode("utf-8", "replace").splitlines()
            new = body.decode("utf-8", "replace").splitlines()
            lines = list(
                difflib.unified_diff(old, new, f"{out}/{path} (on disk)", f"{out}/{path} (generated)", lineterm="",
                                     n=context_lines)
            )
            if len(lines) > max_lines:
                lines = [*lines[:max_lines], f"... ({len(lines) - max_lines} more diff lines)"]
            difference.diffs[path] = "\n".join(lines)
    difference.removed = sorted(set(existing) - set(files))
    return difference


def quick_check(out: Path) -> bool:
    """True when every file in ``out`` still has the digest its manifest records (and no file was added).

    Reads only the generated files, never the schemas: with the local cache's record that these inputs
    generated this manifest, it is the fast path of ``--check``.
    """
    manifest_path = out / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    recorded = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(recorded, dict):
        return False
    existing = on_disk(out)
    if set(existing) != set(recorded) | {MANIFEST}:
        return False
    return all("sha256:" + hashlib.sha256(existing[path]).hexdigest() == digest for path, digest in recorded.items())


def write_atomically(files: Mapping[str, bytes], out: Path) -> None:
    """Replace ``out`` with exactly ``files`` (plus any :data:`KEEP` files already there), atomically."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    for rel in files:  # checked on the names alone: the staging folder is new, so it holds no symlinks
        parts = PurePosixPath(rel).parts
        if not parts or rel.startswith("/") or "\\" in rel or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"refusing to write {rel!r} outside the output folder")
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        folders = sorted({posixpath.dirname(rel) for rel in files} - {""})
        for folder in folders:
            os.makedirs(staging / folder, exist_ok=True)
        for rel, body in files.items():
            (staging / rel).write_bytes(body)
        for keep in KEEP:
            if (out / keep).is_file():
                shutil.copy2(out / keep, staging / keep)
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        if out.exists():
            os.replace(out, old)
        os.replace(staging, out)
        if old.exists():
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
