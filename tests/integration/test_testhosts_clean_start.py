# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An interrupted run does not poison the next: ``testhosts.up`` starts from a clean slot.

A run killed during molecule left the hosts' overlay upper layers (``/etc/calico`` written
by the killed converge) in the run directory, and the next run's check step saw them. Here
a run is "killed" by leaving everything as it was (live sshd, namespaces, bridge, a file in
a host's /etc) and, worse, by losing the state file too; then ``up`` runs again.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests" / "molecule_support"))
import testhosts  # noqa: E402  pylint: disable=wrong-import-position

SLOT = 45 + int(os.environ.get("CALICO_AZURE_TEST_SLOT_OFFSET", "0"))
HOSTS = ["node1", "node2"]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists(testhosts.SSHD),
    reason="test hosts need root and sshd (make system-deps)",
)


def etc_of(host: dict, path: str) -> subprocess.CompletedProcess:
    """Run `ls` of a path in the host's /etc over its mount namespace (what a task would see)."""
    return subprocess.run(
        ["nsenter", "-t", str(host["pid"]), "-m", "ls", "-A", path], capture_output=True, text=True, check=False
    )


def leave_a_converge_behind(run_dir: Path) -> dict:
    state = testhosts.up(run_dir, SLOT, HOSTS)
    upper = Path(state["hosts"][0]["etc_upper"])
    (upper / "calico").mkdir()
    (upper / "calico" / "calico-node.env").write_text("CALICO_NETWORKING_BACKEND=none\n")
    assert etc_of(state["hosts"][0], "/etc/calico").stdout.split() == ["calico-node.env"]
    return state


def assert_clean_world(state: dict, run_dir: Path) -> None:
    assert [h["name"] for h in state["hosts"]] == HOSTS
    assert testhosts.slot_namespaces(SLOT) == sorted(h["netns"] for h in state["hosts"])
    assert sorted(testhosts.slot_sshd_pids(SLOT, run_dir)) == sorted(h["pid"] for h in state["hosts"])
    for host in state["hosts"]:
        # The new host's /etc upper layer holds only what its own start wrote (the units).
        assert sorted(p.name for p in Path(host["etc_upper"]).iterdir()) == ["systemd"]
        listing = etc_of(host, "/etc/calico")
        assert listing.returncode != 0, f"{host['name']}: /etc/calico survived: {listing.stdout}"


@pytest.fixture
def run_dir(tmp_path: Path):
    path = tmp_path / "world"
    yield path
    testhosts.down(path)
    testhosts.clear_slot(path, SLOT)
    assert testhosts.slot_namespaces(SLOT) == [] and testhosts.slot_links(SLOT) == []
    assert testhosts.slot_sshd_pids(SLOT, path) == []


def test_up_after_a_killed_run_starts_from_an_empty_run_dir(run_dir: Path) -> None:
    old = leave_a_converge_behind(run_dir)
    (run_dir / "stray-file").write_text("from the killed run")

    new = testhosts.up(run_dir, SLOT, HOSTS)

    assert not (run_dir / "stray-file").exists()
    assert not any(testhosts._alive(h["pid"]) for h in old["hosts"]), "the old hosts' sshd still run"
    assert_clean_world(new, run_dir)


def test_up_tears_down_leftovers_no_state_file_names(run_dir: Path) -> None:
    old = leave_a_converge_behind(run_dir)
    (run_dir / "hosts.json").unlink()  # killed before it could be read, or deleted by hand

    new = testhosts.up(run_dir, SLOT, HOSTS)

    assert not any(testhosts._alive(h["pid"]) for h in old["hosts"]), "the old hosts' sshd still run"
    assert_clean_world(new, run_dir)
