"""Which generated package the service serves when its caller names none: the one ``pubsub generate`` writes.

That is the ``package`` of the ``[generate]`` table in the registry's ``pubsub.toml`` (registry folder:
``$PUBSUB_SCHEMAS`` or ``./schemas``), else ``generated``; imported from the table's ``out`` folder when it is
not installed, so ``pubsub serve`` and ``create_app()`` work from a repository's root. No HTTP library is
imported here: ``pubsub serve`` resolves the package before it knows whether the ``http`` extra is installed.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..project import generate_target

#: The registry folder when neither ``--schemas`` nor ``$PUBSUB_SCHEMAS`` names one (as for the other commands).
DEFAULT_SCHEMAS = "schemas"


def served_package(package: str | None = None, schemas: str | Path | None = None) -> str:
    """``package``, else the ``[generate]`` package of the registry in ``schemas`` (default ``$PUBSUB_SCHEMAS`` or
    ``schemas``), made importable from its folder. Raises ``ProjectError`` (a ``ValueError``) on a bad table."""
    registry = Path(schemas or os.environ.get("PUBSUB_SCHEMAS", DEFAULT_SCHEMAS))
    target = generate_target(registry, package=package)
    target.ensure_importable()
    return target.package
