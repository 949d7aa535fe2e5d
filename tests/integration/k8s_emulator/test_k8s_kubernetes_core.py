# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kubernetes.core modules through ansible-playbook: check mode writes nothing, then apply, then re-run unchanged."""

from __future__ import annotations

import pytest

from helpers.ansible_run import run_playbook

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Read the control-plane nodes
      kubernetes.core.k8s_info:
        kind: Node
        label_selectors: [node-role.kubernetes.io/control-plane]
      register: control_plane
    - name: Label a node
      kubernetes.core.k8s:
        state: patched
        kind: Node
        name: node-1
        definition: {metadata: {labels: {calico.azure/mode: policy-only}}}
    - name: Client-side apply a ConfigMap
      kubernetes.core.k8s:
        apply: true
        definition: {apiVersion: v1, kind: ConfigMap, metadata: {name: csa, namespace: kube-system}, data: {a: "1"}}
    - name: Server-side apply the Installation
      kubernetes.core.k8s:
        apply: true
        server_side_apply: {field_manager: calico-azure}
        definition:
          apiVersion: operator.tigera.io/v1
          kind: Installation
          metadata: {name: default}
          spec: {cni: {type: Calico, ipam: {type: HostLocal}}, calicoNetwork: {bgp: Disabled}}
"""

SEED = {"nodes": [{"name": "node-0", "labels": {"node-role.kubernetes.io/control-plane": ""}, "podCIDR": "10.244.0.0/24"},
                  {"name": "node-1", "podCIDR": "10.244.1.0/24"}],
        "crds": ["installation"], "installations": [{"spec": {"variant": "Calico"}}]}


def _changed(result) -> dict:
    return {t["task"]["name"]: t["hosts"]["localhost"].get("changed") for t in result.tasks()}


@pytest.mark.k8s_seed(SEED)
def test_k8s_info_patched_apply_and_server_side_apply(k8s_emulator):
    check = run_playbook(PLAYBOOK, env=k8s_emulator.env(), check=True)
    assert check.rc == 0, check.stdout[-3000:]
    assert _changed(check) == {"Read the control-plane nodes": False, "Label a node": True,
                               "Client-side apply a ConfigMap": True, "Server-side apply the Installation": True}
    names = [n["metadata"]["name"] for n in check.task("Read the control-plane nodes")["resources"]]
    assert names == ["node-0"]
    assert k8s_emulator.counts()["writes"] == 0
    dry_runs = [e for e in k8s_emulator.requests() if e["method"] in ("PATCH", "POST")]
    assert dry_runs and all(e["dry_run"] for e in dry_runs)
    assert "calico.azure/mode" not in k8s_emulator.node("node-1")["metadata"]["labels"]

    k8s_emulator.clear_log()
    applied = run_playbook(PLAYBOOK, env=k8s_emulator.env())
    assert applied.rc == 0, applied.stdout[-3000:]
    assert list(_changed(applied).values()) == [False, True, True, True]
    assert k8s_emulator.counts()["writes"] == 3
    assert k8s_emulator.node("node-1")["metadata"]["labels"]["calico.azure/mode"] == "policy-only"
    installation = k8s_emulator.get_object("Installation", "default", api_version="operator.tigera.io/v1")
    assert installation["spec"] == {"variant": "Calico", "cni": {"type": "Calico", "ipam": {"type": "HostLocal"}},
                                    "calicoNetwork": {"bgp": "Disabled"}}
    assert "calico-azure" in {m["manager"] for m in installation["metadata"]["managedFields"]}
    assert k8s_emulator.get_object("ConfigMap", "csa", "kube-system")["data"] == {"a": "1"}

    k8s_emulator.clear_log()
    again = run_playbook(PLAYBOOK, env=k8s_emulator.env())
    assert again.rc == 0, again.stdout[-3000:]
    assert list(_changed(again).values()) == [False, False, False, False]
    counts = k8s_emulator.counts()
    assert counts["writes"] == 0
    # kubernetes.core still sends its apply requests (a client-side-apply patch and the SSA patch): no-ops.
    assert counts["write_requests"] == 2
