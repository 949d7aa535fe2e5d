# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""site.yml runs the cluster-wide roles once, as the udr role's README and the user guide say.

The Azure work (udr, azure_cni's Azure part) is one pass for the whole cluster. Included per
host, Ansible would include the role and check its argument spec once per node: at 100 nodes
about 600 worker processes and five times the controller CPU (tests/benchmarks/bench_site.py).
"""

from __future__ import annotations

from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SITE = REPO_ROOT / "playbooks" / "site.yml"

# (role, tasks_from) pairs whose work is the cluster's, not a node's.
CLUSTER_WIDE = {
    ("calico.azure.udr", None), ("calico.azure.udr", "preflight"), ("calico.azure.udr", "absent"),
    ("calico.azure.udr", "leftovers"), ("calico.azure.azure_cni", "preflight"), ("calico.azure.azure_cni", "azure"),
}


def _role_includes():
    for play in yaml.safe_load(SITE.read_text(encoding="utf-8")):
        for task in play.get("tasks", []):
            include = task.get("ansible.builtin.include_role")
            if include:
                yield play["name"], task, (include["name"], include.get("tasks_from"))


def test_every_cluster_wide_include_runs_once():
    seen = set()
    per_host = []
    for play, task, role in _role_includes():
        if role in CLUSTER_WIDE:
            seen.add(role)
            if task.get("run_once") is not True:
                per_host.append("%s: %s" % (play, task["name"]))
    assert per_host == [], "cluster-wide roles included once per host"
    assert seen == CLUSTER_WIDE, "site.yml no longer includes %s" % sorted(CLUSTER_WIDE - seen, key=str)


def test_per_node_roles_run_on_every_host():
    """calico_node, cloud_provider_config and the CNI file are each node's own: never run_once."""
    for play in yaml.safe_load(SITE.read_text(encoding="utf-8")):
        for entry in play.get("roles", []):
            assert "run_once" not in entry, entry
        for task in play.get("tasks", []):
            include = task.get("ansible.builtin.include_role") or {}
            if (include.get("name"), include.get("tasks_from")) not in CLUSTER_WIDE and include:
                assert not task.get("run_once"), task["name"]
