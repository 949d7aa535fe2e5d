# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers shared by the packaging tests and their fixtures (tests/packaging/conftest.py).

A module of its own, with a name nothing else uses: test modules cannot import from
``conftest`` reliably, since several conftest.py files in non-package directories all
compete for that one module name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent
NAMESPACE, NAME = "calico", "azure"

TARBALL_SIZE = pytest.StashKey[int]()
# What git showed right before the build: in a checkout others are editing, listing it later
# could differ from what was packed.
VISIBLE_AT_BUILD = pytest.StashKey[set]()


def tool(name: str) -> str:
    """A console script of the venv running pytest, else from PATH."""
    candidate = BIN_DIR / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed in {BIN_DIR} nor on PATH; run `make venv`")
    return found


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run a command; on failure, fail the test with its output (not a bare CalledProcessError)."""
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


def git_visible_files(root: Path) -> set[str]:
    """Files git shows in `root`: tracked or untracked-not-ignored, and present on disk."""
    out = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root).stdout
    return {rel for rel in out.split("\0") if rel and (root / rel).is_file()}


def ansible_env(collections_dir: Path) -> dict[str, str]:
    """An environment in which ansible finds calico.azure only in `collections_dir`."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(collections_dir),
        # Not the venv's site-packages either: only what the tarball installed counts.
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_DEPRECATION_WARNINGS="0",
    )
    return env


def build(source: Path, output: Path) -> Path:
    """`ansible-galaxy collection build` of `source`; the path of the tarball it wrote."""
    output.mkdir(parents=True, exist_ok=True)
    run([tool("ansible-galaxy"), "collection", "build", "--force", "--output-path", str(output), str(source)])
    tarballs = sorted(output.glob(f"{NAMESPACE}-{NAME}-*.tar.gz"))
    assert len(tarballs) == 1, f"expected one tarball in {output}, found {tarballs}"
    return tarballs[0]
