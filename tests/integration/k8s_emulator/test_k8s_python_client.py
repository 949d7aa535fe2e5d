# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The kubernetes Python client (typed APIs, CustomObjectsApi, DynamicClient) against the stand-in."""

from __future__ import annotations

import json

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from k8s_emulator import nodes_for

SCALE_SET = nodes_for(7, scale_set="vmss-pool", subscription="11111111-2222-3333-4444-555555555555")


def _status(exc: ApiException) -> dict:
    return json.loads(exc.body)


@pytest.mark.k8s_seed(SCALE_SET)
def test_list_nodes_paged_with_continue_tokens(k8s_emulator, core_v1):
    names, token, pages = [], None, 0
    while True:
        page = core_v1.list_node(limit=3, _continue=token)
        pages += 1
        names += [n.metadata.name for n in page.items]
        token = page.metadata._continue
        if not token:
            break
        assert page.metadata.remaining_item_count == 7 - len(names)
    assert pages == 3
    assert names == [f"vmss-pool{i:06d}" for i in range(7)]
    node = core_v1.read_node("vmss-pool000003")
    assert node.spec.provider_id == ("azure:///subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/"
                                     "rg-k8s/providers/Microsoft.Compute/virtualMachineScaleSets/vmss-pool/"
                                     "virtualMachines/3")
    assert node.spec.pod_cidrs == ["10.244.3.0/24"]
    assert k8s_emulator.counts()["by_verb"] == {"list": 3, "get": 1}


@pytest.mark.k8s_seed(SCALE_SET)
def test_stale_continue_token_is_410_expired(k8s_emulator, core_v1):
    token = core_v1.list_node(limit=2).metadata._continue
    k8s_emulator.compact()
    with pytest.raises(ApiException) as caught:
        core_v1.list_node(limit=2, _continue=token)
    assert caught.value.status == 410
    assert _status(caught.value)["reason"] == "Expired"


@pytest.mark.k8s_seed(nodes_for(4, control_plane=1))
def test_label_and_field_selectors(core_v1):
    control_plane = core_v1.list_node(label_selector="node-role.kubernetes.io/control-plane").items
    assert [n.metadata.name for n in control_plane] == ["node-0"]
    workers = core_v1.list_node(label_selector="!node-role.kubernetes.io/control-plane,"
                                               "kubernetes.io/hostname in (node-1,node-3)").items
    assert [n.metadata.name for n in workers] == ["node-1", "node-3"]
    assert [n.metadata.name for n in core_v1.list_node(field_selector="metadata.name=node-2").items] == ["node-2"]
    with pytest.raises(ApiException) as caught:
        core_v1.list_node(field_selector="spec.podCIDR=x")
    assert caught.value.status == 400 and _status(caught.value)["message"] == "field label not supported: spec.podCIDR"


def test_patch_and_replace_with_optimistic_concurrency(k8s_emulator, core_v1):
    node = core_v1.read_node("node-1")
    patched = core_v1.patch_node("node-1", {"metadata": {"labels": {"a": "b"}}})
    assert patched.metadata.labels["a"] == "b"
    assert int(patched.metadata.resource_version) > int(node.metadata.resource_version)
    node.metadata.labels["stale"] = "yes"
    with pytest.raises(ApiException) as caught:
        core_v1.replace_node("node-1", node)
    assert caught.value.status == 409
    assert _status(caught.value)["message"] == (
        'Operation cannot be fulfilled on nodes "node-1": the object has been modified; please apply your changes '
        "to the latest version and try again")
    assert _status(caught.value)["details"] == {"name": "node-1", "kind": "nodes"}
    fresh = core_v1.read_node("node-1")
    fresh.metadata.labels["fresh"] = "yes"
    assert core_v1.replace_node("node-1", fresh).metadata.labels["fresh"] == "yes"
    assert "stale" not in k8s_emulator.node("node-1")["metadata"]["labels"]
    assert k8s_emulator.counts()["writes"] == 2


def test_pod_cidr_rules(core_v1):
    with pytest.raises(ApiException) as caught:
        core_v1.patch_node("node-0", {"spec": {"podCIDRs": ["10.244.0.0/24", "10.244.9.0/24"]}})
    status = _status(caught.value)
    assert caught.value.status == 422 and status["reason"] == "Invalid"
    assert status["details"]["causes"] == [
        {"reason": "FieldValueInvalid", "field": "spec.podCIDRs",
         "message": 'Invalid value: []string{"10.244.0.0/24", "10.244.9.0/24"}: may specify no more than one CIDR '
                    "for each IP family"},
        {"reason": "FieldValueForbidden", "field": "spec.podCIDRs",
         "message": 'Forbidden: node updates may not change podCIDR except from "" to valid'}]
    with pytest.raises(ApiException) as caught:
        core_v1.patch_node("node-0", {"spec": {"providerID": "azure:///other"}})
    assert ("spec.providerID: Forbidden: node updates may not change providerID except from \"\" to valid"
            in _status(caught.value)["message"])


@pytest.mark.k8s_seed({"nodes": [{"name": "new"}]})
def test_dual_stack_pod_cidrs_from_empty(k8s_emulator, core_v1):
    with pytest.raises(ApiException) as caught:
        core_v1.patch_node("new", {"spec": {"podCIDRs": ["10.244.0.0/24", "10.245.0.0/24"]}})
    assert caught.value.status == 422
    with pytest.raises(ApiException) as caught:
        core_v1.patch_node("new", {"spec": {"podCIDRs": ["10.244.0.0/33"]}})
    assert "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)" in _status(caught.value)["message"]
    node = core_v1.patch_node("new", {"spec": {"podCIDRs": ["10.244.0.0/24", "fd00:10:244::/64"]}})
    assert node.spec.pod_cidr == "10.244.0.0/24" and node.spec.pod_cidrs == ["10.244.0.0/24", "fd00:10:244::/64"]


def test_json_patch_test_op_and_dry_run(k8s_emulator, core_v1):
    before = k8s_emulator.node("node-0")
    dry = core_v1.patch_node("node-0", [{"op": "add", "path": "/metadata/labels/x", "value": "y"}], dry_run="All")
    assert dry.metadata.labels["x"] == "y"
    assert k8s_emulator.node("node-0") == before
    with pytest.raises(ApiException) as caught:
        core_v1.patch_node("node-0", [{"op": "test", "path": "/spec/podCIDR", "value": "10.0.0.0/8"}])
    assert caught.value.status == 422
    assert k8s_emulator.counts()["writes"] == 0


@pytest.mark.k8s_seed({"daemonsets": [{"metadata": {"name": "calico-node", "namespace": "kube-system"}, "spec": {
    "selector": {"matchLabels": {"k8s-app": "calico-node"}},
    "template": {"metadata": {"labels": {"k8s-app": "calico-node"}},
                 "spec": {"containers": [{"name": "calico-node", "image": "calico/node:v3.28.5",
                                          "env": [{"name": "CALICO_NETWORKING_BACKEND", "value": "bird"}]}]}}}}]})
def test_daemonset_strategic_merge_by_container_and_env_name(k8s_emulator, api_client):
    apps = client.AppsV1Api(api_client)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "calico-node", "env": [
        {"name": "CALICO_NETWORKING_BACKEND", "value": "none"}, {"name": "FELIX_IPINIPENABLED", "value": "false"}]}]}}}}
    ds = apps.patch_namespaced_daemon_set("calico-node", "kube-system", patch)
    container = ds.spec.template.spec.containers[0]
    assert container.image == "calico/node:v3.28.5"
    assert [(e.name, e.value) for e in container.env] == [("CALICO_NETWORKING_BACKEND", "none"),
                                                          ("FELIX_IPINIPENABLED", "false")]
    assert ds.metadata.generation == 2
    with pytest.raises(ApiException) as caught:
        apps.read_namespaced_daemon_set("calico-node", "default")
    assert caught.value.status == 404 and _status(caught.value)["message"] == 'daemonsets.apps "calico-node" not found'


INSTALLATION_SEED = {"crds": ["installation"], "installations": [{"spec": {"variant": "Calico"}}]}


@pytest.mark.k8s_seed(INSTALLATION_SEED)
def test_installation_custom_objects_and_schema(k8s_emulator, api_client):
    custom = client.CustomObjectsApi(api_client)
    args = ("operator.tigera.io", "v1", "installations")
    assert custom.get_cluster_custom_object(*args, "default")["spec"] == {"variant": "Calico"}
    with pytest.raises(ApiException) as caught:
        custom.create_cluster_custom_object(*args, {"apiVersion": "operator.tigera.io/v1", "kind": "Installation",
                                                    "metadata": {"name": "default"}, "spec": {}})
    assert caught.value.status == 409 and _status(caught.value)["reason"] == "AlreadyExists"
    with pytest.raises(ApiException) as caught:
        custom.patch_cluster_custom_object(*args, "default", {"spec": {"calicoNetwork": {"mtu": "big"}}})
    assert caught.value.status == 422
    assert _status(caught.value)["details"]["causes"][0]["field"] == "spec.calicoNetwork.mtu"
    pruned = custom.patch_cluster_custom_object(*args, "default", {"spec": {"notAField": 1, "calicoNetwork": {
        "bgp": "Disabled"}}})
    assert pruned["spec"] == {"variant": "Calico", "calicoNetwork": {"bgp": "Disabled"}}
    crd = client.ApiextensionsV1Api(api_client).read_custom_resource_definition("installations.operator.tigera.io")
    assert crd.spec.names.kind == "Installation"
    custom.delete_cluster_custom_object(*args, "default")
    assert k8s_emulator.get_object("Installation", "default", api_version="operator.tigera.io/v1") is None


@pytest.mark.k8s_seed(INSTALLATION_SEED)
def test_dynamic_client_server_side_apply_ownership(k8s_emulator, dynamic):
    installations = dynamic.resources.get(api_version="operator.tigera.io/v1", kind="Installation")
    body = {"apiVersion": "operator.tigera.io/v1", "kind": "Installation", "metadata": {"name": "default"},
            "spec": {"cni": {"type": "Calico", "ipam": {"type": "HostLocal"}}}}
    applied = installations.server_side_apply(body=body, name="default", field_manager="calico-azure")
    assert applied.spec.cni.ipam.type == "HostLocal"
    managers = {m["manager"]: m for m in applied.to_dict()["metadata"]["managedFields"]}
    assert managers["calico-azure"]["fieldsV1"] == {"f:spec": {"f:cni": {"f:ipam": {"f:type": {}}, "f:type": {}}}}
    other = {**body, "spec": {"cni": {"type": "AmazonVPC"}}}
    with pytest.raises(ApiException) as caught:
        installations.server_side_apply(body=other, name="default", field_manager="someone-else")
    assert caught.value.status == 409
    assert _status(caught.value)["message"] == 'Apply failed with 1 conflict: conflict with "calico-azure": .spec.cni.type'
    forced = installations.server_side_apply(body=other, name="default", field_manager="someone-else", force_conflicts=True)
    assert forced.spec.cni.type == "AmazonVPC" and forced.spec.cni.ipam.type == "HostLocal"
    # Fields a manager stops applying are removed when nobody else owns them.
    again = installations.server_side_apply(body={**body, "spec": {"cni": {"type": "AmazonVPC"}}}, name="default",
                                            field_manager="calico-azure")
    assert again.spec.cni.to_dict() == {"type": "AmazonVPC"}
    with pytest.raises(ApiException) as caught:
        installations.patch(body=body, name="default", content_type="application/apply-patch+yaml")
    assert caught.value.status == 400
    assert k8s_emulator.counts()["writes"] == 3


def test_status_subresource_is_separate_from_the_main_resource(k8s_emulator, core_v1):
    ignored = core_v1.patch_node("node-0", {"status": {"conditions": [{"type": "Ready", "status": "False"}]},
                                            "metadata": {"labels": {"seen": "yes"}}})
    assert ignored.status.conditions[0].status == "True" and ignored.metadata.labels["seen"] == "yes"
    changed = core_v1.patch_node_status("node-0", {"status": {"conditions": [{"type": "Ready", "status": "False"}]},
                                                   "metadata": {"labels": {"via-status": "yes"}}})
    assert changed.status.conditions[0].status == "False"
    assert "via-status" not in changed.metadata.labels
    ready = [c for c in k8s_emulator.node("node-0")["status"]["conditions"] if c["type"] == "Ready"]
    assert ready[0]["status"] == "False" and ready[0]["reason"] == "KubeletReady"  # merged by type


@pytest.mark.k8s_seed({"nodes": [{"name": "dual", "podCIDRs": ["10.244.0.0/24", "fd00:10:244::/64"]}]})
def test_each_changed_pod_cidr_position_is_one_error(core_v1):
    with pytest.raises(ApiException) as caught:
        # merge patch: podCIDRs carries patchStrategy=merge, so a strategic merge would add, not replace.
        core_v1.patch_node("dual", {"spec": {"podCIDRs": ["10.244.9.0/24", "fd00:10:249::/64"]}},
                           _content_type="application/merge-patch+json")
    status = _status(caught.value)
    assert [c["field"] for c in status["details"]["causes"]] == ["spec.podCIDRs", "spec.podCIDRs"]
    assert status["message"] == ('Node "dual" is invalid: [spec.podCIDRs: Forbidden: node updates may not change '
                                 'podCIDR except from "" to valid, spec.podCIDRs: Forbidden: node updates may not '
                                 'change podCIDR except from "" to valid]')
