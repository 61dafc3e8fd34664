"""Build small registries on disk for loader tests."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

BASE_TOML = """
[registry]
name = "test"

[channels.orders]
adapter = "memory"

[events."order.placed"]
channel = "orders"
versions = { 1 = "order-placed.v1.json" }
"""

ORDER_V1: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["order_id"],
    "properties": {"order_id": {"type": "string"}, "total": {"$ref": "common/money.json"}},
}
MONEY: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://schemas.test/common/money.json",
    "type": "object",
    "properties": {"amount": {"type": "string"}, "currency": {"$ref": "#/$defs/currency"}},
    "$defs": {"currency": {"type": "string", "pattern": "^[A-Z]{3}$"}},
}

MakeRegistry = Callable[..., Path]


@pytest.fixture
def make_registry(tmp_path: Path) -> MakeRegistry:
    """``make_registry(toml=..., files={"a.json": {...} or "raw text"})`` → the registry folder."""

    def make(toml: str = BASE_TOML, files: dict[str, Any] | None = None) -> Path:
        root = tmp_path / "schemas"
        root.mkdir(exist_ok=True)
        (root / "pubsub.toml").write_text(toml, encoding="utf-8")
        contents = {"order-placed.v1.json": ORDER_V1, "common/money.json": MONEY}
        contents.update(files or {})
        for name, body in contents.items():
            if body is None:
                continue
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body if isinstance(body, str) else json.dumps(body, indent=2), encoding="utf-8")
        return root

    return make
