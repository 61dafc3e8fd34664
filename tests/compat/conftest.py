"""Shared fixtures of the compatibility tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``pubsub check`` remembers current outputs: in a folder of the test's own, never the user's cache."""
    folder = tmp_path_factory.mktemp("pubsub-cache")
    monkeypatch.setenv("PUBSUB_CACHE_DIR", str(folder))
    return folder
