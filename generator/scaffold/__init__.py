"""``pubsub init [DIR]``: a registry that ``pubsub lint``, ``generate`` and ``check`` accept at once.

Writes ``schemas/pubsub.toml`` (with its ``[generate]`` table), one example event schema, the GitHub workflow
of ``examples/ci/github-workflow.yml`` as ``.github/workflows/schemas.yml`` and a ``.pre-commit-config.yaml``
running the installed ``pubsub check``. The generated package defaults to ``<folder>.events`` (``myshop``
→ ``myshop.events`` in ``myshop/events``): a sub-package, because ``pubsub generate`` owns its whole folder
and must never replace the user's own code. Nothing is overwritten: if any file exists, nothing is written.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from hipponot_pubsub.runtime.project import is_package_name

TEMPLATES = "hipponot_pubsub.generator.scaffold"
#: Template (a file in this package; ``{{ name }}`` placeholders, plain substitution) → where it goes.
FILES = {
    "pubsub.toml.j2": "schemas/pubsub.toml",
    "example-created.v1.json.j2": "schemas/example/example-created.v1.json",
    "github-workflow.yml.j2": ".github/workflows/schemas.yml",
    "pre-commit-config.yaml.j2": ".pre-commit-config.yaml",
}


def add_parser(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = commands.add_parser(
        "init",
        help="scaffold a registry: pubsub.toml, an example event, a CI workflow and a pre-commit hook",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dir", nargs="?", default=".", metavar="DIR", help="repository folder (default: .)")
    parser.add_argument("--package", default=None,
                        help="dotted import name of the generated package (default: <folder>.events)")
    parser.set_defaults(handler=run)


def package_for(folder: Path) -> str:
    """``my-shop`` → ``my_shop.events``: the folder's name made an identifier, and an ``events`` sub-package."""
    name = re.sub(r"\W+", "_", folder.resolve().name.lower()).strip("_") or "app"
    if not name[0].isalpha():
        name = f"app_{name}"
    return f"{name}.events" if is_package_name(name) else "app.events"


def render(package: str) -> dict[str, str]:
    """Every scaffolded file (relative path → text) for ``package``."""
    values = {"package": package, "out": "../" + package.replace(".", "/"), "urn": package.replace(".", "-")}
    rendered: dict[str, str] = {}
    for template, target in FILES.items():
        text = resources.files(TEMPLATES).joinpath(template).read_text(encoding="utf-8")
        for name, value in values.items():
            text = text.replace("{{ " + name + " }}", value)
        rendered[target] = text
    return rendered


def run(args: argparse.Namespace) -> int:
    folder = Path(args.dir)
    package = args.package or package_for(folder)
    if not is_package_name(package):
        print(f"error: --package {package!r} is not a dotted Python import name (e.g. myapp.events)",
              file=sys.stderr)
        return 2
    files = render(package)
    existing = [rel for rel in files if (folder / rel).exists()]
    if existing:
        for rel in existing:
            print(f"error: {folder / rel} exists: pubsub init never overwrites a file", file=sys.stderr)
        print("nothing written", file=sys.stderr)
        return 1
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:  # "x": a file that appeared meanwhile is not replaced
            handle.write(text)
        print(f"wrote {path}")
    print(f"next: pubsub lint && pubsub generate  (package {package} in {folder / package.replace('.', '/')})")
    return 0
