# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The udr node plan: providerIDs, the cluster as the truth, pod CIDRs that never move, the purge guard."""

from __future__ import annotations

import pytest

from ansible_collections.calico.azure.plugins.module_utils._k8s.nodes import (
    ProviderIdError,
    parse_provider_id,
    read_node,
)
from ansible_collections.calico.azure.plugins.module_utils._k8s.plan import plan_nodes, plan_routes

SUB = "00000000-0000-0000-0000-000000000000"


def pid(vm: str, rg: str = "rg-compute") -> str:
    return "azure:///subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s" % (SUB, rg, vm)


def node(name: str, cidrs=None, provider_id=None, ips=("10.240.0.4",)) -> dict:
    spec = {"providerID": pid(name) if provider_id is None else provider_id}
    if cidrs:
        spec["podCIDRs"] = list(cidrs)
        spec["podCIDR"] = cidrs[0]
    return {"metadata": {"name": name}, "spec": spec,
            "status": {"addresses": [{"type": "InternalIP", "address": a} for a in ips]}}


def test_provider_id_of_a_vm_and_of_a_scale_set_instance():
    vm = parse_provider_id(pid("k8s-w-1", "RG-Compute"))
    assert vm["resource_group"] == "RG-Compute" and vm["vm_name"] == "k8s-w-1" and vm["scale_set"] is None
    assert vm["id"] == pid("k8s-w-1", "RG-Compute")[len("azure://"):]
    ss = parse_provider_id("azure:///subscriptions/%s/resourceGroups/rg/providers/Microsoft.Compute/"
                           "virtualMachineScaleSets/pool/virtualMachines/3" % SUB)
    assert (ss["scale_set"], ss["instance_id"], ss["vm_name"]) == ("pool", "3", "pool_3")
    with pytest.raises(ProviderIdError, match="is not an Azure VM"):
        parse_provider_id("aws:///eu-west-1a/i-0123")


def test_read_node_falls_back_to_spec_pod_cidr():
    obj = {"metadata": {"name": "n"}, "spec": {"podCIDR": "10.244.1.0/24"}, "status": {}}
    assert read_node(obj)["pod_cidrs"] == ["10.244.1.0/24"]


def test_kubernetes_source_takes_names_cidrs_and_vm_ids_from_the_cluster():
    plan = plan_nodes("kubernetes", [node("b", ["10.244.2.0/24"]), node("a", ["10.244.1.0/24", "fd00::/64"])])
    assert plan["errors"] == []
    assert [n["name"] for n in plan["nodes"]] == ["a", "b"]
    assert plan["vms"] == [pid("a")[len("azure://"):], pid("b")[len("azure://"):]]
    assert plan["dual_stack"] is True and plan["patches"] == []


def test_inventory_disagreeing_with_the_cluster_names_both_values():
    inventory = [{"host": "A", "vm": "other-vm", "pod_cidr": "10.244.9.0/24"}]
    plan = plan_nodes("kubernetes", [node("a", ["10.244.1.0/24"])], inventory)
    text = " ".join(plan["errors"])
    assert "other-vm" in text and "udr_vm_name" in text and "10.244.9.0/24" in text and "10.244.1.0/24" in text


def test_a_vm_name_differing_only_in_case_is_the_same_vm():
    plan = plan_nodes("kubernetes", [node("k8s-w-4", ["10.244.4.0/24"])], [{"host": "K8S-W-4", "vm": "K8S-W-4", "pod_cidr": ""}])
    assert plan["errors"] == [] and plan["nodes"][0]["name"] == "k8s-w-4"


def test_nodes_without_pod_cidr_are_reported_or_allocated_around_every_route():
    nodes = [node("a", ["10.244.0.0/24"]), node("b"), node("c")]
    reported = plan_nodes("kubernetes", nodes, cluster_cidr="10.244.0.0/16", node_mask_size=24)
    assert "b, c" in reported["errors"][0] and "--allocate-node-cidrs" in reported["errors"][0]
    routes = [{"name": "foreign", "address_prefix": "10.244.1.0/24"}, {"name": "c", "address_prefix": "10.244.7.0/24"}]
    allocated = plan_nodes("kubernetes", nodes, existing_routes=routes, cluster_cidr="10.244.0.0/16",
                           node_mask_size=24, allocate=True)
    assert allocated["errors"] == []
    assert allocated["patches"] == [{"name": "b", "pod_cidrs": ["10.244.2.0/24"]},
                                    {"name": "c", "pod_cidrs": ["10.244.7.0/24"]}]


def inv(*hosts, **cidrs):
    return [{"host": h, "vm": "", "pod_cidr": cidrs.get(h.replace("-", "_"), "")} for h in hosts]


def test_inventory_names_are_lower_cased_and_a_deleted_route_comes_back_with_its_cidr():
    routes = [{"name": "n1", "address_prefix": "10.244.5.0/24"}]
    plan = plan_nodes("inventory", inventory=inv("N1", "n2"), existing_routes=routes, cluster_cidr="10.244.0.0/16",
                      node_mask_size=24)
    assert plan["errors"] == []
    assert {n["name"]: n["pod_cidrs"] for n in plan["nodes"]} == {"n1": ["10.244.5.0/24"], "n2": ["10.244.0.0/24"]}
    assert plan["nodes"][0]["vm_ref"] == "N1"
    again = plan_nodes("inventory", inventory=inv("n1", "n2", n1="10.244.5.0/24"), cluster_cidr="10.244.0.0/16",
                       node_mask_size=24)
    assert {n["name"]: n["pod_cidrs"] for n in again["nodes"]}["n1"] == ["10.244.5.0/24"]


def test_an_explicit_cidr_never_moves_another_node():
    routes = [{"name": "n1", "address_prefix": "10.244.0.0/24"}]
    plan = plan_nodes("inventory", inventory=inv("n1", "n2", n2="10.244.0.0/24"), existing_routes=routes,
                      cluster_cidr="10.244.0.0/16", node_mask_size=24)
    assert len(plan["errors"]) == 1 and "node n1" in plan["errors"][0] and "node n2" in plan["errors"][0]


def test_an_explicit_cidr_differing_from_the_nodes_route_is_refused():
    routes = [{"name": "n1", "address_prefix": "10.244.0.0/24"}]
    plan = plan_nodes("inventory", inventory=inv("n1", n1="10.244.3.0/24"), existing_routes=routes)
    assert "never moves" in plan["errors"][0] and "10.244.0.0/24" in plan["errors"][0]


def test_a_purge_from_fewer_nodes_than_the_group_names_the_missing_ones():
    plan = plan_nodes("inventory", inventory=inv("n1", "n2", "n3", n1="10.244.1.0/24"), selected_hosts=["n1"], purge=True)
    assert "n2, n3" in plan["errors"][0]
    assert plan_nodes("inventory", inventory=inv("n1", "n2", n1="10.244.1.0/24", n2="10.244.2.0/24"),
                      selected_hosts=["n1"], purge=False)["errors"] == []


def test_routes_use_azures_ip_and_report_an_internal_ip_mismatch():
    plan = plan_nodes("kubernetes", [node("a", ["10.244.1.0/24", "fd00:10:244:1::/64"], ips=("10.240.0.9", "fd00::9"))])
    records = [{"vm": "A", "private_ip": "10.240.0.4", "private_ipv6": None}]
    result = plan_routes(plan, records)
    assert result["routes"] == [{"node": "a", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.240.0.4"},
                                {"node": "a", "address_prefix": "fd00:10:244:1::/64", "next_hop_ip": "fd00::9"}]
    assert "10.240.0.9" in result["warnings"][0] and result["problems"] == []
    assert "no private IP" in plan_routes(plan, [])["problems"][0]
