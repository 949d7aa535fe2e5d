# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""calico.azure.azure_udr_cluster against the Azure stand-in, through ansible-playbook.

A mixed cluster (VMs + a Uniform scale set + a Flexible scale set, nodes as
kubernetes.core.k8s_info returns them): check -> nothing written -> apply ->
exact end state, every route in one table write -> re-run with zero writes and
the reads the one pass promises. Bad input fails with zero writes, naming the
node and what to change.
"""

from __future__ import annotations

import copy
import json

import pytest

from helpers.ansible_run import run_playbook

SUB = "5ab50000-0000-4000-8000-00000000c1a5"
NET, COMPUTE, TABLE = "rg-network", "rg-compute", "rt-pods"
TASK = "One pass"
RG = f"/subscriptions/{SUB}/resourceGroups/{COMPUTE}"
TABLE_ID = f"/subscriptions/{SUB}/resourceGroups/{NET}/providers/Microsoft.Network/routeTables/{TABLE}"
SUBNET = {"resource_group": NET, "virtual_network": "vnet-k8s", "name": "nodes"}


def seed() -> dict:
    def pool(name, mode, capacity):
        return {"name": name, "resource_group": COMPUTE, "orchestration_mode": mode, "capacity": capacity,
                "upgrade_policy": "Manual", "computer_name_prefix": name,
                "network_interface_configurations": [
                    {"name": f"{name}-nic", "primary": True,
                     "ip_configurations": [{"name": "ipconfig1", "subnet": SUBNET}]}]}
    return {
        "subscription_id": SUB,
        "resource_groups": [{"name": NET, "location": "westeurope"}, {"name": COMPUTE, "location": "westeurope"}],
        "virtual_networks": [{"name": "vnet-k8s", "resource_group": NET,
                              "address_prefixes": ["10.240.0.0/16", "10.244.0.0/16"],
                              "subnets": [{"name": "nodes", "address_prefix": "10.240.0.0/24"}]}],
        "virtual_machines": [
            {"name": f"vm-{i}", "resource_group": COMPUTE,
             "nics": [{"name": f"vm-{i}-nic", "subnet": SUBNET, "private_ip": f"10.240.0.{4 + i}"}]}
            for i in range(3)],
        "virtual_machine_scale_sets": [pool("pool-u", "Uniform", 3), pool("pool-f", "Flexible", 2)],
    }


def vm_provider_id(vm: str) -> str:
    return f"azure://{RG}/providers/Microsoft.Compute/virtualMachines/{vm}"


def instance_provider_id(scale_set: str, instance: str) -> str:
    return f"azure://{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{scale_set}/virtualMachines/{instance}"


def node(name: str, provider_id: str, cidr: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
            "spec": {"providerID": provider_id, "podCIDR": cidr, "podCIDRs": [cidr]}, "status": {"addresses": []}}


def cluster() -> list:
    nodes = [node(f"vm-{i}", vm_provider_id(f"vm-{i}"), f"10.244.{i}.0/24") for i in range(3)]
    nodes += [node(f"pool-u00000{i}", instance_provider_id("pool-u", str(i)), f"10.244.{10 + i}.0/24") for i in range(3)]
    nodes += [node(f"pool-f{i:06x}", vm_provider_id(f"pool-f_{i:08x}"), f"10.244.{20 + i}.0/24") for i in range(2)]
    return nodes


def args(nodes: list, **extra) -> dict:
    base = {"resource_group": NET, "name": TABLE, "cluster_name": "demo", "cluster_cidr": ["10.244.0.0/16"],
            "purge_routes": True, "subnets": [SUBNET], "kubernetes_nodes": nodes, "vm_resource_group": COMPUTE}
    base.update(extra)
    return base


def run(emu, module_args: dict, **kwargs):
    emu.clear_log()
    text = "\n".join(["- hosts: localhost", "  gather_facts: false", "  tasks:", f"    - name: {TASK}",
                      "      ignore_errors: true",
                      f"      calico.azure.azure_udr_cluster: {json.dumps(module_args)}"])
    result = run_playbook(text, env=emu.env(), **kwargs)
    assert result.data, f"no JSON result:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result.task(TASK)


def writes(emu) -> list:
    return [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in emu.requests()
            if r["kind"] == "arm" and r["method"] in ("PUT", "PATCH", "POST", "DELETE")]


def reads(emu) -> list:
    return sorted(r["path"].split("/providers/", 1)[-1] for r in emu.requests()
                  if r["kind"] == "arm" and r["method"] == "GET")


def instance_nics(emu, scale_set: str) -> dict:
    raw = emu.core.engine.handle("GET", f"{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{scale_set}/networkInterfaces",
                                 {"api-version": "2018-10-01"}, {}, b"").body
    return {n["properties"]["virtualMachine"]["id"].rsplit("/", 1)[-1]: n["properties"] for n in raw["value"]}


def nic(emu, name: str) -> dict:
    return emu.get_resource(f"{RG}/providers/Microsoft.Network/networkInterfaces/{name}")


def routes(emu) -> dict:
    table = emu.get_resource(TABLE_ID)
    return {r["name"]: (r["properties"]["addressPrefix"], r["properties"].get("nextHopIpAddress"))
            for r in (table or {"properties": {"routes": []}})["properties"]["routes"]}


@pytest.mark.azure_seed(seed())
def test_mixed_cluster_gets_every_route_in_one_table_write_and_forwarding_everywhere(azure_emulator):
    emu = azure_emulator
    nodes = cluster()
    uniform_ips = {iid: p["ipConfigurations"][0]["properties"]["privateIPAddress"]
                   for iid, p in instance_nics(emu, "pool-u").items()}
    flexible_ips = {i: nic(emu, f"pool-f_{i:08x}-pool-f-nic")["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"]
                    for i in range(2)}
    expected = {f"vm-{i}": (f"10.244.{i}.0/24", f"10.240.0.{4 + i}") for i in range(3)}
    expected.update({f"pool-u00000{i}": (f"10.244.{10 + i}.0/24", uniform_ips[str(i)]) for i in range(3)})
    expected.update({f"pool-f{i:06x}": (f"10.244.{20 + i}.0/24", flexible_ips[i]) for i in range(2)})

    checked = run(emu, args(nodes), check=True, diff=True)
    assert checked["changed"] is True, checked
    assert writes(emu) == [] and routes(emu) == {}
    assert {(r["node"], r["address_prefix"], r["next_hop_ip"]) for r in checked["routes"]} == {
        (name, cidr, hop) for name, (cidr, hop) in expected.items()}
    changed_vms = sorted(n["vm"] for n in checked["nics"] if n["changed"])
    assert changed_vms == ["pool-f_00000000", "pool-f_00000001", "vm-0", "vm-1", "vm-2"]
    assert checked["scale_sets"][0]["model_changed"] is True
    assert checked["writes"] == {"nics": 5, "scale_set_models": 1, "scale_set_upgrades": 1, "route_table": 1, "subnets": 1}
    assert "enableIPForwarding: false" in checked["diff"]["before"]
    assert "enableIPForwarding: true" in checked["diff"]["after"]
    assert "pool-u00000" in checked["diff"]["after"]
    assert not checked.get("warnings"), checked.get("warnings")

    applied = run(emu, args(nodes))
    assert applied["changed"] is True, applied
    assert not applied.get("warnings"), applied.get("warnings")
    assert routes(emu) == expected
    done = writes(emu)
    # Forwarding first (5 NICs, one model write and one upgrade), then ONE table write, then the association.
    assert [w for w in done if w[1] == TABLE] == [("PUT", TABLE)]
    assert sorted(w for w in done if w[1].endswith("-nic")) == sorted(
        ("PUT", n) for n in ["vm-0-nic", "vm-1-nic", "vm-2-nic", "pool-f_00000000-pool-f-nic", "pool-f_00000001-pool-f-nic"])
    assert ("PATCH", "pool-u") in done and ("POST", "manualupgrade") in done
    assert done.index(("PUT", TABLE)) > max(done.index(w) for w in done if w[1] != TABLE and w != ("PUT", "nodes"))
    assert ("PUT", "nodes") in done and len(done) == 9
    assert all(p["enableIPForwarding"] for p in instance_nics(emu, "pool-u").values())
    for name in ["vm-0-nic", "vm-1-nic", "vm-2-nic", "pool-f_00000000-pool-f-nic", "pool-f_00000001-pool-f-nic"]:
        assert nic(emu, name)["properties"]["enableIPForwarding"] is True

    again = run(emu, args(nodes))
    assert again["changed"] is False and writes(emu) == []
    assert set(again["writes"].values()) == {0}
    # One pass: the table, one NIC list for the VMs (Flexible instances included), the Uniform set's model,
    # instances and NICs, the VNet.
    assert reads(emu) == sorted([
        f"Microsoft.Network/routeTables/{TABLE}", "Microsoft.Network/networkInterfaces",
        "Microsoft.Compute/virtualMachineScaleSets/pool-u", "Microsoft.Compute/virtualMachineScaleSets/pool-u/virtualMachines",
        "Microsoft.Compute/virtualMachineScaleSets/pool-u/networkInterfaces",
        "Microsoft.Network/virtualNetworks/vnet-k8s"])
    checked_again = run(emu, args(nodes), check=True)
    assert checked_again["changed"] is False and writes(emu) == []


@pytest.mark.azure_seed(seed())
def test_an_allocated_pod_cidr_is_returned_to_patch_and_routed(azure_emulator):
    emu = azure_emulator
    nodes = cluster()[:2]
    del nodes[1]["spec"]["podCIDR"], nodes[1]["spec"]["podCIDRs"]
    module_args = args(nodes, allocate_pod_cidrs=True, pod_cidr_pool="10.244.0.0/16")
    checked = run(emu, module_args, check=True)
    assert checked["nodes_to_patch"] == [{"name": "vm-1", "pod_cidrs": ["10.244.1.0/24"]}] and writes(emu) == []
    applied = run(emu, module_args)
    assert applied["nodes_to_patch"] == [{"name": "vm-1", "pod_cidrs": ["10.244.1.0/24"]}]
    assert routes(emu) == {"vm-0": ("10.244.0.0/24", "10.240.0.4"), "vm-1": ("10.244.1.0/24", "10.240.0.5")}


@pytest.mark.parametrize("breakage, expected", [
    ("unknown VM", ["node vm-9", "vm-9", "not found", "udr_vm_resource_group"]),
    ("outside the VNet", ["10.250.0.0/24", "vm-0"]),
    ("providerID disagrees", ["node vm-0", "udr_vm_name", "vm-1"]),
    ("unknown instance", ["node pool-u000009", "instance 9", "pool-u"]),
])
@pytest.mark.azure_seed(seed())
def test_bad_input_fails_with_zero_writes_naming_the_node(azure_emulator, breakage, expected):
    emu = azure_emulator
    nodes = cluster()
    extra = {}
    if breakage == "unknown VM":
        nodes.append(node("vm-9", vm_provider_id("vm-9"), "10.244.9.0/24"))
    elif breakage == "outside the VNet":
        nodes[0] = node("vm-0", vm_provider_id("vm-0"), "10.250.0.0/24")
        extra = {"cluster_cidr": ["10.244.0.0/16", "10.250.0.0/16"]}
    elif breakage == "providerID disagrees":
        extra = {"inventory": [{"host": "vm-0", "vm": "vm-1", "pod_cidr": ""}]}
    else:
        nodes.append(node("pool-u000009", instance_provider_id("pool-u", "9"), "10.244.19.0/24"))
    before = copy.deepcopy(emu.get_resource(f"{RG}/providers/Microsoft.Network/networkInterfaces/vm-0-nic"))
    result = run(emu, args(nodes, **extra))
    assert result.get("failed") is True, result
    assert writes(emu) == []
    for text in expected:
        assert text in result["msg"], result["msg"]
    assert emu.get_resource(f"{RG}/providers/Microsoft.Network/networkInterfaces/vm-0-nic") == before
