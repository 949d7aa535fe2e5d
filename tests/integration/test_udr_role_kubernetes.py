# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The udr role with nodes from the cluster (issue 10) and its safety (issue 12), against both stand-ins.

The cluster lives in the Kubernetes stand-in, the VMs in rg-compute and the
VNet and route table in rg-network. Each case checks the exact route table
after the run and counts the ARM writes (0 for every refusal).
"""

from __future__ import annotations

import json

import pytest

from helpers.ansible_run import run_playbook

NET = "rg-network"
COMPUTE = "rg-compute"
TABLE = "rt-pods"
VMS = ["k8s-w-%d" % i for i in range(7)]


def azure_seed(count: int = 7) -> dict:
    return {
        "resource_groups": [{"name": NET, "location": "westeurope"}, {"name": COMPUTE, "location": "westeurope"}],
        "virtual_networks": [{
            "name": "vnet-k8s", "resource_group": NET,
            "address_prefixes": ["10.240.0.0/16", "10.244.0.0/16", "fd00:10::/32"],
            "subnets": [{"name": "nodes", "address_prefix": "10.240.0.0/24"}],
        }],
        "virtual_machines": [
            {"name": VMS[i], "resource_group": COMPUTE,
             "nics": [{"name": VMS[i] + "-nic",
                       "subnet": {"resource_group": NET, "virtual_network": "vnet-k8s", "name": "nodes"},
                       "private_ip": "10.240.0.%d" % (4 + i)}]}
            for i in range(count)
        ],
    }


def provider_id(sub: str, vm: str) -> str:
    return "azure:///subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s" % (sub, COMPUTE, vm)


def k8s_node(sub: str, i: int, pod_cidrs=None) -> dict:
    cidrs = ["10.244.%d.0/24" % i] if pod_cidrs is None else pod_cidrs
    node = {"name": VMS[i], "providerID": provider_id(sub, VMS[i]),
            "addresses": [{"type": "InternalIP", "address": "10.240.0.%d" % (4 + i)}]}
    if cidrs:
        node["podCIDRs"] = cidrs
    return node


def cluster(sub: str, count: int = 6, dual_stack: int | None = 5, overrides: dict | None = None) -> dict:
    overrides = overrides or {}
    nodes = []
    for i in range(count):
        node = k8s_node(sub, i, overrides.get(i))
        if i == dual_stack:
            node["podCIDRs"] = ["10.244.%d.0/24" % i, "fd00:10:244:%d::/64" % i]
            node["addresses"].append({"type": "InternalIP", "address": "fd00:10:240::%d" % (4 + i)})
        nodes.append(node)
    return {"nodes": nodes}


@pytest.fixture
def world(azure_emulator, k8s_emulator):
    azure_emulator.reset(azure_seed())
    return azure_emulator, k8s_emulator


def run(emu, k8s, check: bool = False, role_vars: dict | None = None, tasks_from: str = "main", inventory=None):
    emu.clear_log()
    k8s.clear_log()
    params = {"udr_node_source": "kubernetes", "udr_kubernetes": {"kubeconfig": str(k8s.kubeconfig)},
              "udr_resource_group": NET, "udr_route_table_name": TABLE, "udr_vm_resource_group": COMPUTE,
              "udr_subnets": [{"virtual_network": "vnet-k8s", "name": "nodes", "resource_group": NET}],
              "udr_cluster_cidr": "10.244.0.0/16", "udr_cluster_name": "demo"}
    params.update(role_vars or {})
    book = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "udr", "ansible.builtin.include_role": {"name": "calico.azure.udr", "tasks_from": tasks_from},
         "vars": params}]}]
    return run_playbook(json.dumps(book, indent=1), env=dict(emu.env(), **k8s.env()), check=check, inventory=inventory)


def writes(emu) -> list:
    return [(r["method"], r["path"]) for r in emu.requests()
            if r["kind"] == "arm" and r["method"] in ("PUT", "PATCH", "DELETE", "POST")]


def routes(emu) -> dict:
    table = emu.get_resource("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/routeTables/%s"
                             % (emu.subscription_id, NET, TABLE))
    if table is None:
        return {}
    return {r["name"]: (r["properties"]["addressPrefix"], r["properties"].get("nextHopIpAddress"))
            for r in table["properties"]["routes"]}


def expected_dual_stack(count: int = 6) -> dict:
    result = {"%s____10244%d024" % (VMS[i], i): ("10.244.%d.0/24" % i, "10.240.0.%d" % (4 + i)) for i in range(count)}
    result["%s____fd0010244564" % VMS[5]] = ("fd00:10:244:5::/64", "fd00:10:240::9")
    return result


def test_cluster_converges_to_the_routes_kubernetes_implies_and_reruns_unchanged(world):
    emu, k8s = world
    k8s.reset(cluster(emu.subscription_id))
    checked = run(emu, k8s, check=True)
    assert checked.rc == 0, checked.stdout[-3000:]
    assert writes(emu) == [] and routes(emu) == {}
    applied = run(emu, k8s)
    assert applied.rc == 0, applied.stdout[-3000:]
    assert routes(emu) == expected_dual_stack()
    table_writes = [w for w in writes(emu) if "/routeTables/" in w[1]]
    assert len(table_writes) == 1
    warnings = [w for t in applied.tasks() for h in t["hosts"].values() for w in h.get("warnings", [])]
    assert not [w for w in warnings if "forwarding off" in w], warnings
    again = run(emu, k8s)
    assert again.rc == 0 and writes(emu) == [] and again.changed_count == 0
    assert k8s.counts()["writes"] == 0
    # One pass: the check-mode call's reads only (the table, the VMs' NIC list, the VNet); no real call.
    assert sorted(arm_reads(emu)) == sorted(["routeTables/" + TABLE, "networkInterfaces", "virtualNetworks/vnet-k8s"])


def arm_reads(emu) -> list:
    return [r["path"].split("/providers/", 1)[-1].split("/", 1)[-1] for r in emu.requests()
            if r["kind"] == "arm" and r["method"] == "GET"]


def test_scale_set_nodes_get_routes_and_forwarding_with_the_vms_in_one_table_write(world):
    """Issue 15: a Uniform scale set's instances (providerID .../virtualMachineScaleSets/<ss>/virtualMachines/<id>)."""
    emu, k8s = world
    seed = azure_seed(count=2)
    seed["virtual_machine_scale_sets"] = [{
        "name": "pool-u", "resource_group": COMPUTE, "orchestration_mode": "Uniform", "capacity": 2,
        "upgrade_policy": "Manual", "computer_name_prefix": "pool-u",
        "network_interface_configurations": [{"name": "pool-u-nic", "primary": True, "ip_configurations": [
            {"name": "ipconfig1", "subnet": {"resource_group": NET, "virtual_network": "vnet-k8s", "name": "nodes"}}]}]}]
    emu.reset(seed)
    ss_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachineScaleSets/pool-u" % (
        emu.subscription_id, COMPUTE)
    listed = emu.core.engine.handle("GET", ss_id + "/networkInterfaces", {"api-version": "2018-10-01"}, {}, b"").body
    ips = {n["properties"]["virtualMachine"]["id"].rsplit("/", 1)[-1]:
           n["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"] for n in listed["value"]}
    nodes = [k8s_node(emu.subscription_id, i) for i in range(2)]
    for iid in ("0", "1"):
        nodes.append({"name": "pool-u00000" + iid, "providerID": "azure://%s/virtualMachines/%s" % (ss_id, iid),
                      "podCIDRs": ["10.244.1%s.0/24" % iid],
                      "addresses": [{"type": "InternalIP", "address": ips[iid]}]})
    k8s.reset({"nodes": nodes})
    checked = run(emu, k8s, check=True)
    assert checked.rc == 0, checked.stdout[-3000:]
    assert writes(emu) == [] and routes(emu) == {}
    applied = run(emu, k8s)
    assert applied.rc == 0, applied.stdout[-3000:]
    want = {VMS[i]: ("10.244.%d.0/24" % i, "10.240.0.%d" % (4 + i)) for i in range(2)}
    want.update({"pool-u00000" + iid: ("10.244.1%s.0/24" % iid, ips[iid]) for iid in ("0", "1")})
    assert routes(emu) == want
    done = writes(emu)
    assert len([w for w in done if "/routeTables/" in w[1]]) == 1
    assert ("PATCH", ss_id) in done and ("POST", ss_id + "/manualupgrade") in done
    model = emu.get_resource(ss_id)["properties"]["virtualMachineProfile"]["networkProfile"]
    assert model["networkInterfaceConfigurations"][0]["properties"]["enableIPForwarding"] is True
    again = run(emu, k8s)
    assert again.rc == 0 and writes(emu) == [] and again.changed_count == 0


def test_added_node_gets_its_route_and_removed_node_loses_it(world):
    emu, k8s = world
    k8s.reset(cluster(emu.subscription_id, count=5, dual_stack=None))
    assert run(emu, k8s).rc == 0
    k8s.reset(cluster(emu.subscription_id, count=6, dual_stack=None))
    assert run(emu, k8s).rc == 0
    assert routes(emu) == {VMS[i]: ("10.244.%d.0/24" % i, "10.240.0.%d" % (4 + i)) for i in range(6)}
    # A foreign route inside the cluster CIDR, written by someone else, and a node gone from the cluster.
    table_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/routeTables/%s" % (
        emu.subscription_id, NET, TABLE)
    table = emu.get_resource(table_id)
    table["properties"]["routes"].append({"name": "appliance", "properties": {
        "addressPrefix": "10.244.200.0/24", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.240.0.100"}})
    emu.put_resource(table_id, table)
    nodes = cluster(emu.subscription_id, count=6, dual_stack=None)
    del nodes["nodes"][2]
    k8s.reset(nodes)
    result = run(emu, k8s)
    assert result.rc == 0, result.stdout[-3000:]
    want = {VMS[i]: ("10.244.%d.0/24" % i, "10.240.0.%d" % (4 + i)) for i in range(6) if i != 2}
    want["appliance"] = ("10.244.200.0/24", "10.240.0.100")
    assert routes(emu) == want


@pytest.mark.parametrize("case", ["pod_cidr", "vm_name", "no_pod_cidr"])
def test_inconsistency_fails_before_any_write(world, tmp_path, case):
    emu, k8s = world
    overrides = {3: []} if case == "no_pod_cidr" else {}
    k8s.reset(cluster(emu.subscription_id, dual_stack=None, overrides=overrides))
    host_vars = {"pod_cidr": {"udr_pod_cidr": "10.244.9.0/24"}, "vm_name": {"udr_vm_name": "k8s-w-5"}}.get(case, {})
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"localhost": {"ansible_connection": "local"}},
                                             "children": {"calico_azure_nodes": {"hosts": {"k8s-w-3": host_vars}}}}}))
    result = run(emu, k8s, inventory=inventory)
    assert result.rc != 0
    text = result.stdout
    expected = {"pod_cidr": ["10.244.9.0/24", "10.244.3.0/24", "udr_pod_cidr"],
                "vm_name": ["k8s-w-5", "k8s-w-3", "udr_vm_name"],
                "no_pod_cidr": ["k8s-w-3", "--allocate-node-cidrs", "udr_allocate_pod_cidrs"]}[case]
    for word in expected:
        assert word in text
    assert writes(emu) == [] and routes(emu) == {}


def test_allocate_mode_patches_exactly_the_nodes_without_a_pod_cidr(world):
    emu, k8s = world
    k8s.reset(cluster(emu.subscription_id, dual_stack=None, overrides={1: [], 4: []}))
    result = run(emu, k8s, role_vars={"udr_allocate_pod_cidrs": True})
    assert result.rc == 0, result.stdout[-3000:]
    patched = [r for r in k8s.requests() if r["verb"] == "patch"]
    assert sorted(r["name"] for r in patched) == [VMS[1], VMS[4]]
    cidrs = {n: (k8s.get_object("Node", n)["spec"].get("podCIDRs")) for n in VMS[:6]}
    # 10.244.0-5 minus 1 and 4 are held: the free blocks are 1 and 4 again, lowest first.
    assert cidrs[VMS[1]] == ["10.244.1.0/24"] and cidrs[VMS[4]] == ["10.244.4.0/24"]
    assert routes(emu) == {VMS[i]: ("10.244.%d.0/24" % i, "10.240.0.%d" % (4 + i)) for i in range(6)}
    again = run(emu, k8s, role_vars={"udr_allocate_pod_cidrs": True})
    assert again.rc == 0 and again.changed_count == 0 and writes(emu) == [] and k8s.counts()["writes"] == 0


def test_teardown_keeps_foreign_routes_and_the_table(world):
    emu, k8s = world
    k8s.reset(cluster(emu.subscription_id, dual_stack=None))
    assert run(emu, k8s).rc == 0
    table_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/routeTables/%s" % (
        emu.subscription_id, NET, TABLE)
    table = emu.get_resource(table_id)
    table["properties"]["routes"].append({"name": "firewall", "properties": {
        "addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.240.0.100"}})
    emu.put_resource(table_id, table)
    result = run(emu, k8s, tasks_from="absent")
    assert result.rc == 0, result.stdout[-3000:]
    assert routes(emu) == {"firewall": ("0.0.0.0/0", "10.240.0.100")}
    assert "kept the route table" in result.stdout


def test_readme_playbook_with_limit_changes_no_other_nodes_route(world, tmp_path):
    """The inventory source, as the README's minimal playbook runs it, with --limit one node."""
    emu, k8s = world
    hosts = {VMS[i].upper() if i == 1 else VMS[i]: {"ansible_connection": "local"} for i in range(3)}
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"calico_azure_nodes": {"hosts": hosts}}))
    book = json.dumps([{"hosts": "calico_azure_nodes", "gather_facts": False, "vars": {
        "udr_node_source": "inventory", "udr_resource_group": NET, "udr_route_table_name": TABLE,
        "udr_vm_resource_group": COMPUTE, "udr_cluster_name": "demo", "udr_cluster_cidr": "10.244.0.0/16",
        "udr_subnets": [{"virtual_network": "vnet-k8s", "name": "nodes", "resource_group": NET}]},
        "roles": [{"role": "calico.azure.udr"}]}], indent=1)
    env = dict(emu.env(), **k8s.env())
    emu.clear_log()
    first = run_playbook(book, env=env, inventory=inventory)
    assert first.rc == 0, first.stdout[-3000:]
    # Route names are the node names kubelet registers: the upper-case host K8S-W-1 is node k8s-w-1.
    full = {VMS[i]: ("10.244.%d.0/24" % i, "10.240.0.%d" % (4 + i)) for i in range(3)}
    assert routes(emu) == full
    table_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/routeTables/%s" % (
        emu.subscription_id, NET, TABLE)
    table = emu.get_resource(table_id)
    table["properties"]["routes"] = [r for r in table["properties"]["routes"] if r["name"] != VMS[0]]
    emu.put_resource(table_id, table)
    emu.clear_log()
    limited = run_playbook(book, env=env, inventory=inventory, args=["--limit", VMS[2]])
    assert limited.rc == 0, limited.stdout[-3000:]
    # k8s-w-0's route comes back with its own CIDR (from nowhere but the plan: the lowest free block is its own
    # again only because nothing else took it), and no other route changed.
    assert routes(emu) == full
    assert len([w for w in writes(emu) if "/routeTables/" in w[1]]) == 1


def test_leftovers_report_exactly_the_udr_state_without_writing(world):
    emu, k8s = world
    k8s.reset(cluster(emu.subscription_id, count=3, dual_stack=None))
    assert run(emu, k8s).rc == 0
    result = run(emu, k8s, tasks_from="leftovers")
    assert result.rc == 0 and writes(emu) == []
    assert "still holds 3 routes (k8s-w-0, k8s-w-1, k8s-w-2)" in result.stdout
    assert "calico_azure_udr_teardown=true" in result.stdout
    removed = run(emu, k8s, tasks_from="absent")
    assert removed.rc == 0 and routes(emu) == {}
    assert emu.get_resource("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/routeTables/%s"
                            % (emu.subscription_id, NET, TABLE)) is None


def test_a_vm_that_does_not_exist_names_the_variable_and_writes_nothing(world):
    emu, k8s = world
    seed = cluster(emu.subscription_id, dual_stack=None)
    seed["nodes"][3]["providerID"] = provider_id(emu.subscription_id, "ghost")
    k8s.reset(seed)
    result = run(emu, k8s)
    assert result.rc != 0
    assert "udr_vm_resource_group" in result.stdout and "ghost" in result.stdout
    assert writes(emu) == [] and routes(emu) == {}
