# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Role calico_node, operator format, applied to the Kubernetes stand-in (with the Installation CRD of v3.32.1).

The operator's Installation from custom-resources.yaml (the file's other resources are other CRDs' kinds the
stand-in does not serve) is converted on the control node and applied once with server-side apply; the stand-in
checks it against the CRD's schema; check mode writes nothing, a re-run writes nothing.
"""

from __future__ import annotations

import pytest
import yaml

from helpers.ansible_run import run_playbook
from helpers.shared import shared_dir

PLAY = """
- hosts: localhost
  gather_facts: false
  roles:
    - role: calico.azure.calico_node
      vars:
        calico_node_config_format: operator
        calico_node_manifest_path: {path}
        calico_node_cluster_cidr: 10.244.0.0/16
        calico_node_apply: true
        calico_node_kubernetes:
          kubeconfig: {kubeconfig}
"""


def installation_file(tmp_path):
    text = shared_dir("calico-manifests", "v3.32.1", "custom-resources.yaml").read_text(encoding="utf-8")
    path = tmp_path / "installation.yaml"
    path.write_text(text.split("\n---\n")[0] + "\n")
    return path


@pytest.mark.k8s_seed({"crds": ["installation"]})
def test_operator_installation_check_apply_rerun(k8s_emulator, kubeconfig, tmp_path):
    path = installation_file(tmp_path)
    original = path.read_text()
    play = PLAY.format(path=path, kubeconfig=kubeconfig)

    check = run_playbook(play, check=True, diff=True)
    assert check.rc == 0, check.stdout[-3000:]
    assert k8s_emulator.counts()["writes"] == 0 and path.read_text() == original
    assert check.task("calico.azure.calico_node : Compare the converted resources with the cluster")["changed"] is True

    applied = run_playbook(play)
    assert applied.rc == 0, applied.stdout[-3000:]
    live = k8s_emulator.get_object("Installation", "default", api_version="operator.tigera.io/v1")
    assert live["spec"]["calicoNetwork"]["bgp"] == "Disabled"
    assert live["spec"]["cni"] == {"type": "Calico", "ipam": {"type": "HostLocal"}}
    assert live["spec"]["calicoNetwork"]["ipPools"] == [{
        "name": "default-ipv4-ippool", "blockSize": 26, "cidr": "10.244.0.0/16", "encapsulation": "None",
        "natOutgoing": "Enabled", "nodeSelector": "all()"}]
    assert yaml.safe_load(path.read_text())["spec"] == live["spec"]
    writes = k8s_emulator.counts()["writes"]
    assert writes == 1

    again = run_playbook(play)
    assert again.rc == 0, again.stdout[-3000:]
    assert again.changed_count == 0
    assert k8s_emulator.counts()["writes"] == writes
