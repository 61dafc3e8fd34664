"""What the built wheel holds: the library and nothing else, in one import package, ready to import and type.

The wheel is built from a copy of the checkout with PEP 517 ``build``, as a release would be; a second wheel is
built from the sdist, as pip does when an index has only the sdist.
"""

from __future__ import annotations

import stat
import zipfile
from importlib.metadata import PathDistribution
from pathlib import PurePosixPath

import pytest

from .tools import ROOT, Distributions, expect, run, wheel_names

pytestmark = pytest.mark.packaging

DIST_INFO = "hipponot_pubsub-0.1.0.dist-info"


def shipped(distributions: Distributions) -> list[str]:
    """The wheel's files apart from its metadata."""
    return [name for name in wheel_names(distributions.wheel) if not name.startswith(DIST_INFO + "/")]


def test_one_top_level_import_package(distributions: Distributions) -> None:
    names = shipped(distributions)
    assert {PurePosixPath(name).parts[0] for name in names} == {"hipponot_pubsub"}, names
    with zipfile.ZipFile(distributions.wheel) as archive:
        assert archive.read(f"{DIST_INFO}/top_level.txt").decode().split() == ["hipponot_pubsub"]


def test_no_example_test_or_benchmark_code(distributions: Distributions) -> None:
    unwanted = {"generated", "tests", "bench", "examples", "schemas", "scripts", "docs"}
    found = [name for name in shipped(distributions) if unwanted & set(PurePosixPath(name).parts)]
    assert not found
    assert not [name for name in shipped(distributions) if "__pycache__" in name or name.endswith(".pyc")]


def test_license_and_typing_marker(distributions: Distributions) -> None:
    with zipfile.ZipFile(distributions.wheel) as archive:
        assert archive.read(f"{DIST_INFO}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        names = set(archive.namelist())
    markers = {f"hipponot_pubsub/{folder}py.typed" for folder in ("", "runtime/", "generator/")}
    assert markers <= names, sorted(markers - names)


@pytest.mark.parametrize("folder", ["runtime", "generator"])
def test_symlinked_folders_ship_as_real_files(distributions: Distributions, folder: str) -> None:
    """``hipponot_pubsub/runtime`` and ``/generator`` are symlinks in the checkout: the wheel must hold every file of
    the folders they point to, byte for byte, as regular files (a zip entry can be a symlink; pip would then
    install a dangling link)."""
    # The files the build copied: tracked, or new and not ignored (copy_source_tree).
    listed = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", folder]
    wanted = {name for name in expect(run(listed, cwd=ROOT)).stdout.split("\0") if name and (ROOT / name).is_file()}
    assert wanted, f"git lists no file under {folder}/"
    with zipfile.ZipFile(distributions.wheel) as archive:
        entries = {info.filename: info for info in archive.infolist()}
        for name in sorted(wanted):
            entry = entries.get(f"hipponot_pubsub/{name}")
            assert entry is not None, f"{name} is not in the wheel as hipponot_pubsub/{name}"
            assert not stat.S_ISLNK(entry.external_attr >> 16), f"hipponot_pubsub/{name} is a symlink in the wheel"
            assert archive.read(entry) == (ROOT / name).read_bytes(), f"hipponot_pubsub/{name} differs from {name}"
    extra = {name for name in entries if name.startswith(f"hipponot_pubsub/{folder}/")} - {
        f"hipponot_pubsub/{name}" for name in wanted
    }
    assert not extra, f"files in the wheel that are not in {folder}/: {sorted(extra)}"


def test_entry_points(distributions: Distributions) -> None:
    metadata = PathDistribution(zipfile.Path(distributions.wheel, f"{DIST_INFO}/"))
    points = {(point.group, point.name): point.value for point in metadata.entry_points}
    assert points[("console_scripts", "pubsub")] == "hipponot_pubsub.generator.cli:main"
    assert points[("pytest11", "pubsub")] == "hipponot_pubsub.runtime.pytest_plugin"


def test_the_sdist_builds_the_same_wheel(distributions: Distributions) -> None:
    assert sorted(wheel_names(distributions.wheel_from_sdist)) == sorted(wheel_names(distributions.wheel))
