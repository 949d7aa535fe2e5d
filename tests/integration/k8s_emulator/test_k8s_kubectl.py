# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""kubectl (whatever is on PATH) against the stand-in: reads, the three patch types, apply both ways, errors."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

KUBECTL = shutil.which("kubectl")
pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")

CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata: {name: calico-config, namespace: kube-system}
data: {backend: "%s"}
"""


def kubectl(kubeconfig, *args, stdin=None, check=True):
    # The discovery cache beside the kubeconfig, not in ~/.kube: tests leave the user's home alone.
    cache_dir = str(Path(kubeconfig).parent / "kube-cache")
    proc = subprocess.run([KUBECTL, "--kubeconfig", kubeconfig, "--cache-dir", cache_dir, *args], input=stdin,
                          capture_output=True, text=True, timeout=60, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_get_nodes_json_and_jsonpath(k8s_emulator, kubeconfig):
    listed = json.loads(kubectl(kubeconfig, "get", "nodes", "-o", "json").stdout)
    assert [n["metadata"]["name"] for n in listed["items"]] == ["node-0", "node-1", "node-2"]
    assert listed["items"][1]["spec"]["podCIDRs"] == ["10.244.1.0/24"]
    cidr = kubectl(kubeconfig, "get", "node", "node-1", "-o", "jsonpath={.spec.podCIDR}").stdout
    assert cidr == "10.244.1.0/24"
    selected = kubectl(kubeconfig, "get", "nodes", "-l", "node-role.kubernetes.io/control-plane", "-o", "name").stdout
    assert selected.split() == ["node/node-0"]
    assert k8s_emulator.counts()["writes"] == 0


@pytest.mark.parametrize("patch_type, patch", [
    ("merge", '{"metadata":{"labels":{"calico":"policy-only"}}}'),
    ("strategic", '{"metadata":{"labels":{"calico":"policy-only"}}}'),
    ("json", '[{"op":"add","path":"/metadata/labels/calico","value":"policy-only"}]'),
])
def test_patch_node_each_type(k8s_emulator, kubeconfig, patch_type, patch):
    before = k8s_emulator.node("node-1")["metadata"]["resourceVersion"]
    out = kubectl(kubeconfig, "patch", "node", "node-1", "--type", patch_type, "-p", patch).stdout
    assert out.strip() == "node/node-1 patched"
    node = k8s_emulator.node("node-1")
    assert node["metadata"]["labels"]["calico"] == "policy-only"
    assert int(node["metadata"]["resourceVersion"]) > int(before)
    assert k8s_emulator.counts()["writes"] == 1
    patch_entry = [e for e in k8s_emulator.requests() if e["method"] == "PATCH"][0]
    assert patch_entry["field_manager"] == "kubectl-patch"
    owners = {m["manager"] for m in node["metadata"]["managedFields"]}
    assert "kubectl-patch" in owners


def test_pod_cidr_change_is_422_with_api_server_wording(k8s_emulator, kubeconfig):
    proc = kubectl(kubeconfig, "patch", "node", "node-1", "-p", '{"spec":{"podCIDR":"10.9.0.0/24"}}', check=False)
    assert proc.returncode == 1
    assert ('The Node "node-1" is invalid: spec.podCIDRs: Forbidden: node updates may not change podCIDR '
            'except from "" to valid') in proc.stderr
    assert k8s_emulator.node("node-1")["spec"]["podCIDR"] == "10.244.1.0/24"
    assert k8s_emulator.counts()["writes"] == 0


@pytest.mark.k8s_seed({"nodes": [{"name": "fresh"}]})
def test_pod_cidr_from_empty_to_valid_is_allowed(k8s_emulator, kubeconfig):
    kubectl(kubeconfig, "patch", "node", "fresh", "-p", '{"spec":{"podCIDR":"10.244.7.0/24"}}')
    spec = k8s_emulator.node("fresh")["spec"]
    assert spec["podCIDR"] == "10.244.7.0/24" and spec["podCIDRs"] == ["10.244.7.0/24"]


def test_client_side_apply_then_server_side_conflict_and_force(k8s_emulator, kubeconfig):
    assert "created" in kubectl(kubeconfig, "apply", "-f", "-", stdin=CONFIGMAP % "none").stdout
    cm = k8s_emulator.get_object("ConfigMap", "calico-config", "kube-system")
    assert json.loads(cm["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])["data"] == {
        "backend": "none"}
    assert "unchanged" in kubectl(kubeconfig, "apply", "-f", "-", stdin=CONFIGMAP % "none").stdout
    assert "configured" in kubectl(kubeconfig, "apply", "-f", "-", stdin=CONFIGMAP % "bird").stdout
    writes = k8s_emulator.counts()["writes"]
    assert writes == 2

    proc = kubectl(kubeconfig, "apply", "--server-side", "--field-manager", "calico-azure", "-f", "-",
                   stdin=CONFIGMAP % "vxlan", check=False)
    assert proc.returncode == 1
    assert ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .data.backend'
            in proc.stderr)
    assert k8s_emulator.get_object("ConfigMap", "calico-config", "kube-system")["data"] == {"backend": "bird"}

    same = kubectl(kubeconfig, "apply", "--server-side", "--field-manager", "calico-azure", "-f", "-",
                   stdin=CONFIGMAP % "bird")
    assert "serverside-applied" in same.stdout  # same value: shared ownership, no conflict
    kubectl(kubeconfig, "apply", "--server-side", "--field-manager", "calico-azure", "--force-conflicts", "-f", "-",
            stdin=CONFIGMAP % "vxlan")
    cm = k8s_emulator.get_object("ConfigMap", "calico-config", "kube-system")
    assert cm["data"] == {"backend": "vxlan"}
    owners = {m["manager"]: m for m in cm["metadata"]["managedFields"]}
    assert owners["calico-azure"]["operation"] == "Apply"
    assert owners["calico-azure"]["fieldsV1"]["f:data"] == {"f:backend": {}}
    assert "f:data" not in owners.get("kubectl-client-side-apply", {}).get("fieldsV1", {})


def test_delete_and_not_found(k8s_emulator, kubeconfig):
    assert kubectl(kubeconfig, "delete", "node", "node-2").stdout.strip() == 'node "node-2" deleted'
    assert k8s_emulator.node("node-2") is None
    proc = kubectl(kubeconfig, "get", "node", "node-2", check=False)
    assert proc.returncode == 1
    assert 'Error from server (NotFound): nodes "node-2" not found' in proc.stderr


def test_create_existing_is_already_exists(k8s_emulator, kubeconfig):
    kubectl(kubeconfig, "create", "-f", "-", stdin=CONFIGMAP % "none")
    proc = kubectl(kubeconfig, "create", "-f", "-", stdin=CONFIGMAP % "none", check=False)
    assert proc.returncode == 1
    assert ('Error from server (AlreadyExists): error when creating "STDIN": configmaps "calico-config" already exists'
            in proc.stderr)


def test_wrong_token_is_unauthorized(k8s_emulator, kubeconfig, tmp_path):
    config = k8s_emulator.kubeconfig_dict(token="not-the-token")
    bad = tmp_path / "kubeconfig"
    bad.write_text(json.dumps(config))
    proc = kubectl(str(bad), "get", "nodes", check=False)
    assert proc.returncode == 1
    # What kubectl says for a 401 during discovery (a fresh cache, as for a new user).
    assert "error: You must be logged in to the server (the server has asked for the client to provide credentials)" \
        in proc.stderr
    log = k8s_emulator.requests()
    assert log and all(e["status"] == 401 for e in log)
    assert "not-the-token" not in json.dumps(log)


def test_readonly_token_is_forbidden_to_write(k8s_emulator):
    readonly = k8s_emulator.readonly_kubeconfig
    assert kubectl(readonly, "get", "nodes", "-o", "name").stdout.split()[0] == "node/node-0"
    proc = kubectl(readonly, "label", "node", "node-0", "x=y", check=False)
    assert proc.returncode == 1
    assert ('nodes "node-0" is forbidden: User "system:serviceaccount:default:k8s-emulator-readonly" cannot patch '
            'resource "nodes" in API group "" at the cluster scope') in proc.stderr
    assert k8s_emulator.counts()["writes"] == 0


@pytest.mark.k8s_seed({"crds": ["installation"], "installations": [{"spec": {"variant": "Calico"}}]})
def test_installation_crd_served_and_validated(k8s_emulator, kubeconfig):
    got = json.loads(kubectl(kubeconfig, "get", "installation", "default", "-o", "json").stdout)
    assert got["apiVersion"] == "operator.tigera.io/v1" and got["spec"] == {"variant": "Calico"}
    proc = kubectl(kubeconfig, "patch", "installation", "default", "--type", "merge", "-p",
                   '{"spec":{"variant":"Bogus"}}', check=False)
    assert proc.returncode == 1
    assert 'spec.variant: Unsupported value: "Bogus": "Calico", "TigeraSecureEnterprise"' in proc.stderr
    kubectl(kubeconfig, "patch", "installation", "default", "--type", "merge", "-p",
            '{"spec":{"calicoNetwork":{"bgp":"Disabled"}}}')
    assert k8s_emulator.get_object("Installation", "default", api_version="operator.tigera.io/v1")["spec"][
        "calicoNetwork"] == {"bgp": "Disabled"}


@pytest.mark.k8s_seed({"crds": ["installation"]})
def test_server_side_apply_installation_strict_fields(k8s_emulator, kubeconfig):
    manifest = """apiVersion: operator.tigera.io/v1
kind: Installation
metadata: {name: default}
spec: {cni: {type: Calico}, %s}
"""
    proc = kubectl(kubeconfig, "apply", "--server-side", "-f", "-", stdin=manifest % "bogus: 1", check=False)
    assert proc.returncode == 1
    assert ('Installation in version "v1" cannot be handled as a Installation: strict decoding error: '
            'unknown field "spec.bogus"') in proc.stderr
    assert k8s_emulator.counts()["writes"] == 0
    warned = kubectl(kubeconfig, "apply", "--server-side", "--validate=warn", "-f", "-", stdin=manifest % "bogus: 1")
    assert 'Warning: unknown field "spec.bogus"' in warned.stderr
    stored = k8s_emulator.get_object("Installation", "default", api_version="operator.tigera.io/v1")
    assert stored["spec"] == {"cni": {"type": "Calico"}}
    assert [m["manager"] for m in stored["metadata"]["managedFields"]] == ["kubectl"]
    owned = stored["metadata"]["managedFields"][0]["fieldsV1"]
    assert owned == {"f:spec": {"f:cni": {"f:type": {}}}}  # the pruned field is nobody's


def test_default_output_is_the_servers_table(kubeconfig):
    lines = kubectl(kubeconfig, "get", "nodes").stdout.splitlines()
    assert lines[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert lines[1].split()[:3] == ["node-0", "Ready", "control-plane"]
    assert lines[2].split()[2] == "<none>" and lines[2].split()[-1] == "v1.32.4"
    empty = kubectl(kubeconfig, "get", "cm", "-n", "kube-system")
    assert empty.stdout == "" and empty.stderr.strip() == "No resources found in kube-system namespace."


def test_replace_with_stale_resource_version_is_conflict(k8s_emulator, kubeconfig):
    node = json.loads(kubectl(kubeconfig, "get", "node", "node-1", "-o", "json").stdout)
    kubectl(kubeconfig, "label", "node", "node-1", "moved=on")
    node["metadata"]["labels"]["stale"] = "yes"
    proc = kubectl(kubeconfig, "replace", "-f", "-", stdin=json.dumps(node), check=False)
    assert proc.returncode == 1
    assert ('Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on nodes '
            '"node-1": the object has been modified; please apply your changes to the latest version and try again'
            in proc.stderr)
    assert "stale" not in k8s_emulator.node("node-1")["metadata"]["labels"]
    assert k8s_emulator.counts()["writes"] == 1
