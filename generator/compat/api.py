"""Generated-API breakage: what changes for code that imports the generated package.

Two schemas can be compatible as data while the Python API generated from them is not: a property renamed in
a title, a class that datamodel-code-generator names differently, a removed publisher. Importers break on
those even though every event still validates. This module reads the public surface of two generated
packages (classes, their fields with annotations, module-level aliases) from source with ``ast`` — never by
importing them — and reports what was removed or changed, as its own kind of finding.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

#: Class-body names that are configuration, not part of the typed API.
_NOT_API = frozenset({"model_config", "__pubsub_event__", "__pubsub_bundle__"})


@dataclass(frozen=True, order=True)
class ApiFinding:
    """One change to the generated API; ``breaking`` ones fail ``pubsub check``."""

    file: str
    name: str
    change: str  # api.class.removed | api.field.removed | api.field.changed | api.alias.changed | api.name.added
    message: str
    breaking: bool


Surface = Mapping[str, Mapping[str, str]]


def api_surface(package: Path) -> dict[str, dict[str, str]]:
    """``{"file.py:Name": {field: annotation}}`` for classes; ``{"file.py:Alias": {"=": target}}`` for aliases."""
    surface: dict[str, dict[str, str]] = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                fields = {
                    item.target.id: ast.unparse(item.annotation)
                    for item in node.body
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                    and item.target.id not in _NOT_API and not item.target.id.startswith("_")
                }
                surface[f"{rel}:{node.name}"] = fields
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if not name.startswith("_") and isinstance(node.value, ast.Name):
                    surface[f"{rel}:{name}"] = {"=": node.value.id}
    return surface


def compare_api(old: Surface, new: Surface, prefix: str = "generated") -> list[ApiFinding]:
    findings: list[ApiFinding] = []
    for key, old_fields in old.items():
        file, name = key.split(":", 1)
        shown = f"{prefix}/{file}"
        new_fields = new.get(key)
        if new_fields is None:
            findings.append(ApiFinding(shown, name, "api.name.removed",
                                       f"{name} was removed from {shown}: code importing it breaks", True))
            continue
        if "=" in old_fields:
            if new_fields.get("=") != old_fields["="]:
                findings.append(ApiFinding(
                    shown, name, "api.alias.changed",
                    f"{name} now stands for {new_fields.get('=')} instead of {old_fields['=']}: "
                    "code using it gets the new version's fields", False))
            continue
        for field, annotation in old_fields.items():
            if field not in new_fields:
                findings.append(ApiFinding(shown, f"{name}.{field}", "api.field.removed",
                                           f"{name}.{field} was removed: code reading or setting it breaks", True))
            elif new_fields[field] != annotation:
                findings.append(ApiFinding(
                    shown, f"{name}.{field}", "api.field.changed",
                    f"{name}.{field} changed type from {annotation} to {new_fields[field]}: type-checked code "
                    "using it may break", True))
    for key in sorted(set(new) - set(old)):
        file, name = key.split(":", 1)
        findings.append(ApiFinding(f"{prefix}/{file}", name, "api.name.added", f"{name} was added", False))
    return sorted(findings)
