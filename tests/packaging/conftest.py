# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for the packaging tests: the collection as users get it from Galaxy.

The tarball is built once per session from the checkout with the real ``ansible-galaxy``
and installed into an empty collections path; the tests then look at the collection only
through that installed copy, with an environment that cannot see the checkout.

This directory deliberately has no ``__init__.py``: ``tests/`` is on ``sys.path`` (see
``tests/conftest.py``) and a package named ``packaging`` there would shadow the PyPI
``packaging`` library that these tests and the tools they run import.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pkgtest_support import NAME, NAMESPACE, REPO_ROOT, TARBALL_SIZE, VISIBLE_AT_BUILD, ansible_env, build, git_visible_files, run, tool


@pytest.fixture(scope="session")
def tarball(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Path:
    """The collection tarball built from the checkout as it is."""
    pytestconfig.stash[VISIBLE_AT_BUILD] = git_visible_files(REPO_ROOT)
    path = build(REPO_ROOT, tmp_path_factory.mktemp("dist"))
    pytestconfig.stash[TARBALL_SIZE] = path.stat().st_size
    return path


@pytest.fixture(scope="session")
def collections_dir(tarball: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty collections path with only the tarball installed (no index is consulted)."""
    path = tmp_path_factory.mktemp("collections")
    run([tool("ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "-p", str(path), str(tarball)],
        env=ansible_env(path))
    installed = path / "ansible_collections" / NAMESPACE / NAME
    assert (installed / "MANIFEST.json").is_file(), f"ansible-galaxy installed nothing at {installed}"
    return path


@pytest.fixture(scope="session")
def installed_collection(collections_dir: Path) -> Path:
    return collections_dir / "ansible_collections" / NAMESPACE / NAME


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # pylint: disable=unused-argument
    """Report the tarball size, which the issue asks to record, in every run's summary."""
    size = config.stash.get(TARBALL_SIZE, None)
    if size is not None:
        terminalreporter.write_line(f"calico.azure collection tarball: {size} bytes ({size / 1024:.1f} KiB)")
