"""The fast path of ``pubsub generate --check``: a local record of "this output was current for these inputs".

One small JSON file per output folder in the user's cache folder (``$PUBSUB_CACHE_DIR``, else
``$XDG_CACHE_HOME/hipponot-pubsub``, else ``~/.cache/hipponot-pubsub``), never in the repository, so nothing
needs ignoring and nothing committed depends on the tools installed. Each record holds the
:func:`~hipponot_pubsub.generator.codegen.digest.fast_path_key` (registry inputs + tool versions + generator
source) and the digest of the manifest that was found current. A check trusts it only when the key matches
and every file on disk still has the digest the manifest records; anything else (no record, a new tool
version, an edited generator, a tampered file) rebuilds in memory and compares. A cache that cannot be read or
written is simply not used.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .digest import MANIFEST
from .output import quick_check


def cache_dir() -> Path:
    if explicit := os.environ.get("PUBSUB_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hipponot-pubsub"


def _record_path(out: Path) -> Path:
    name = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:32]
    return cache_dir() / "generate" / f"{name}.json"


def _manifest_digest(out: Path) -> str | None:
    try:
        return "sha256:" + hashlib.sha256((out / MANIFEST).read_bytes()).hexdigest()
    except OSError:
        return None


def known_current(out: Path, key: str) -> bool:
    """True when ``out`` was found current for ``key`` and no file in it changed since."""
    try:
        record = json.loads(_record_path(out).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict) or record.get("key") != key:
        return False
    manifest = _manifest_digest(out)
    return manifest is not None and record.get("manifest") == manifest and quick_check(out)


def remember_current(out: Path, key: str) -> None:
    """Record that ``out`` is what the inputs of ``key`` generate (best effort, atomically)."""
    manifest = _manifest_digest(out)
    if manifest is None:
        return
    path = _record_path(out)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        staging.write_text(json.dumps({"key": key, "manifest": manifest, "out": str(out.resolve())}) + "\n",
                           encoding="utf-8")
        os.replace(staging, path)
    except OSError:
        pass
