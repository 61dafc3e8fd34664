"""What ``pubsub generate --check`` needs to answer "nothing changed" without building anything: a key of
everything generation depends on, and the manifest's name. Kept apart from the pipeline so that answer imports
neither datamodel-code-generator nor jinja2 nor the registry loader (most of a cold ``--check``).

The key is never written into the generated package: it changes with tool versions and the generator's own
source, which would make byte-identical output look stale. It lives in a local cache instead
(:mod:`hipponot_pubsub.generator.codegen.cache`).
"""

from __future__ import annotations

import hashlib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

MANIFEST = "manifest.json"

#: Libraries whose behaviour shapes the output: a different version may generate different bytes.
TOOLS = ("hipponot-pubsub", "datamodel-code-generator", "jinja2", "jsonschema", "referencing")
#: The generator's own source folder (``hipponot_pubsub/generator``): its code shapes the output too.
GENERATOR = Path(__file__).parent.parent


def tool_fingerprint() -> str:
    """The versions of :data:`TOOLS` and the source of the generator's code generation and registry loader."""
    hasher = hashlib.sha256()
    for library in TOOLS:
        try:
            installed = version(library)
        except PackageNotFoundError:
            installed = "missing"
        hasher.update(f"{library}={installed}\n".encode())
    generator = GENERATOR
    sources = [*generator.joinpath("codegen").glob("*.py"), *generator.joinpath("codegen", "templates").glob("*.j2"),
               *generator.joinpath("registry").glob("*.py")]
    for path in sorted(sources):
        hasher.update(path.relative_to(generator).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return "sha256:" + hasher.hexdigest()


def inputs_digest(root: Path) -> str:
    """A digest of the registry: pubsub.toml and every JSON file under ``root`` (hidden folders aside)."""
    hasher = hashlib.sha256()
    for path in sorted([root / "pubsub.toml", *root.rglob("*.json")]):
        rel = path.relative_to(root).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        hasher.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return "sha256:" + hasher.hexdigest()


def fast_path_key(root: Path) -> str:
    """The key under which a checked output is remembered: the registry's inputs and the tools together."""
    return "sha256:" + hashlib.sha256(f"{inputs_digest(root)}\n{tool_fingerprint()}".encode()).hexdigest()
