# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The stand-in as other processes use it: the CLI, its info file and the control API over HTTPS; faults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from k8s_emulator import ControlClient

TESTS_DIR = Path(__file__).resolve().parents[2]


def test_cli_info_file_kubeconfig_and_control_api(tmp_path):
    info_file = tmp_path / "k8s.json"
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"nodes": [{"name": "solo", "podCIDR": "10.244.0.0/24"}]}))
    proc = subprocess.Popen([sys.executable, "-m", "k8s_emulator", "--seed", str(seed), "--info-file", str(info_file)],
                            cwd=TESTS_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(TESTS_DIR)})
    try:
        deadline = time.monotonic() + 30
        while not info_file.exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        info = json.loads(info_file.read_text())
        api = client.CoreV1Api(config.new_client_from_config(config_file=info["kubeconfig"]))
        assert [n.metadata.name for n in api.list_node().items] == ["solo"]
        control = ControlClient(info["base_url"], info["ca_file"])
        control.put_object({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "solo", "labels": {"x": "1"}},
                            "spec": {"podCIDR": "10.244.0.0/24"}}, manager="kubelet")
        assert api.read_node("solo").metadata.labels == {"x": "1"}
        assert control.counts()["by_verb"] == {"list": 1, "get": 1}
        assert [e["verb"] for e in control.requests()] == ["list", "get"]
        control.reset({"nodes": []})
        assert api.list_node().items == []
        control.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert not info_file.exists()


def test_faults_and_out_of_band_writer(k8s_emulator, core_v1):
    k8s_emulator.inject_faults(status=503, count=1, method="PATCH", path_contains="/nodes/node-1", retry_after=2)
    with pytest.raises(ApiException) as caught:
        core_v1.patch_node("node-1", {"metadata": {"labels": {"a": "b"}}})
    assert caught.value.status == 503 and caught.value.headers["Retry-After"] == "2"
    assert json.loads(caught.value.body)["reason"] == "ServiceUnavailable"
    core_v1.patch_node("node-1", {"metadata": {"labels": {"a": "b"}}})
    node = core_v1.read_node("node-1")
    # Another writer changes the node between our read and our replace: 409.
    other = k8s_emulator.node("node-1")
    other["metadata"]["labels"]["other"] = "writer"
    k8s_emulator.put_object(other, manager="kubelet")
    with pytest.raises(ApiException) as caught:
        core_v1.replace_node("node-1", node)
    assert caught.value.status == 409
    managers = {m["manager"] for m in k8s_emulator.node("node-1")["metadata"]["managedFields"]}
    assert "kubelet" in managers
    assert k8s_emulator.delete_object("Node", "node-2") is True
    assert [n.metadata.name for n in core_v1.list_node().items] == ["node-0", "node-1"]
