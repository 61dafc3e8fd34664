"""What ``pubsub generate --check`` needs to answer "nothing changed" without building anything: the digest of
the inputs and the manifest's name. Kept apart from the pipeline so that answer imports neither
datamodel-code-generator nor jinja2 nor the registry loader (most of a cold ``--check``)."""

from __future__ import annotations

import hashlib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

MANIFEST = "manifest.json"


def generator_version() -> str:
    try:
        return version("hipponot-pubsub")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without installing
        return "0+unknown"


def inputs_digest(root: Path, package: str) -> str:
    """A digest of everything generation depends on: pubsub.toml, every JSON file, the generator itself (and the
    versions of the libraries whose behaviour shapes the output).

    ``pubsub generate --check`` compares it with the manifest's to answer "nothing changed" without parsing
    a single schema, which keeps the check well under a second on large registries.
    """
    hasher = hashlib.sha256()
    hasher.update(f"package={package}\ngenerator={generator_version()}\n".encode())
    for library in ("datamodel-code-generator", "jsonschema"):
        hasher.update(f"{library}={version(library)}\n".encode())
    here = Path(__file__).parent
    for path in sorted([*here.glob("*.py"), *here.joinpath("templates").glob("*.j2")]):
        hasher.update(path.name.encode() + b"\0" + path.read_bytes())
    for path in sorted([root / "pubsub.toml", *root.rglob("*.json")]):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        hasher.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return "sha256:" + hasher.hexdigest()
