# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""calico.azure.azure_nic_ip_configs against the Azure stand-in, through ansible-playbook.

check -> nothing written -> apply -> exact end state (full JSON compare of
everything but ipConfigurations) -> re-run with zero writes; and the refusals
that must come before any write (a full subnet, shrinking without the option).
"""

from __future__ import annotations

import copy
import ipaddress
import json

import pytest

from helpers.ansible_run import run_playbook

SUB = "5ab50000-0000-4000-8000-00000000c0de"
TASK = "Pod IP configurations"
RG = "rg-k8s"
NODES = 10


def nic_id(name: str) -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/networkInterfaces/{name}"


def subnet_id(vnet: str = "vnet-k8s", subnet: str = "nodes") -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}"


def cluster_seed(nodes: int = NODES, subnet_prefix: str = "10.240.0.0/16") -> dict:
    """``nodes`` VMs whose NICs carry everything a NIC can carry besides pod addresses."""
    return {
        "subscription_id": SUB,
        "resource_groups": [{"name": RG, "location": "westeurope"}],
        "network_security_groups": [{"name": "nsg-nodes", "resource_group": RG}],
        "public_ip_addresses": [{"name": f"pip-{i}", "resource_group": RG} for i in range(nodes)],
        "application_security_groups": [{"name": "asg-nodes", "resource_group": RG}],
        "load_balancers": [{"name": "lb", "resource_group": RG, "backend_pools": ["pool"]}],
        "virtual_networks": [
            {
                "name": "vnet-k8s",
                "resource_group": RG,
                "address_prefixes": ["10.0.0.0/8"],
                "subnets": [{"name": "nodes", "address_prefix": subnet_prefix}],
            }
        ],
        "virtual_machines": [
            {
                "name": f"node-{i}",
                "resource_group": RG,
                "nics": [
                    {
                        "name": f"node-{i}-nic",
                        "primary": True,
                        "accelerated_networking": True,
                        "network_security_group": "nsg-nodes",
                        "dns_servers": ["10.0.0.10"],
                        "tags": {"role": "node", "index": str(i)},
                        "ip_configurations": [
                            {
                                "name": "ipconfig1",
                                "subnet": "vnet-k8s/nodes",
                                "private_ip": str(ipaddress.ip_network(subnet_prefix)[4 + i]),
                                "public_ip": f"pip-{i}",
                                "load_balancer_backend_pools": ["lb/pool"],
                                "application_security_groups": ["asg-nodes"],
                            }
                        ],
                    }
                ],
            }
            for i in range(nodes)
        ],
    }


def playbook(args: dict) -> str:
    return "\n".join(
        [
            "- hosts: localhost",
            "  gather_facts: false",
            "  tasks:",
            f"    - name: {TASK}",
            f"      calico.azure.azure_nic_ip_configs: {json.dumps(args)}",
        ]
    )


def run(emu, args: dict, **kwargs):
    emu.clear_log()
    result = run_playbook(playbook(args), env=emu.env(), **kwargs)
    assert result.data, f"ansible-playbook gave no JSON result:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result.task(TASK)


def arm_writes(emu) -> list:
    return [r for r in emu.requests() if r["kind"] == "arm" and r["method"] in ("PUT", "PATCH", "POST", "DELETE")]


def without_volatile(document):
    if isinstance(document, dict):
        return {k: without_volatile(v) for k, v in document.items() if k not in ("etag", "provisioningState")}
    if isinstance(document, list):
        return [without_volatile(item) for item in document]
    return copy.deepcopy(document)


def all_but_ip_configurations(nic: dict) -> dict:
    document = without_volatile(nic)
    document["properties"].pop("ipConfigurations")
    return document


def pod_names(count: int, start: int = 1) -> list:
    return [f"ipconfig-pod-{i:02d}" for i in range(start, count + 1)]


VMS = [f"node-{i}" for i in range(NODES)]


@pytest.mark.azure_seed(cluster_seed())
def test_ten_nics_thirty_addresses_check_apply_rerun(azure_emulator):
    emu = azure_emulator
    before = {i: emu.get_resource(nic_id(f"node-{i}-nic")) for i in range(NODES)}
    args = {"resource_group": RG, "vms": VMS, "count": 30}

    checked = run(emu, args, check=True, diff=True)
    assert checked["changed"] is True
    assert arm_writes(emu) == []
    assert all(emu.get_resource(nic_id(f"node-{i}-nic")) == before[i] for i in range(NODES))
    assert [(n["vm"], n["added"], n["addresses"]) for n in checked["nics"]] == [(vm, pod_names(30), []) for vm in VMS]
    assert checked["subnets"] == [{"id": subnet_id(), "capacity": 65531, "used": NODES, "free": 65531 - NODES,
                                   "needed": 300}]
    after_text = checked["diff"]["after"]
    assert after_text.startswith("NIC rg-k8s/node-0-nic on VM node-0 ip_configurations/ipconfig-pod-01: (dynamic)\n")
    assert after_text.count("(dynamic)") == 300 and checked["diff"]["before"].count("\n") == NODES
    assert "NIC rg-k8s/node-9-nic on VM node-9 pod_ip_configurations: 0\n" in checked["diff"]["before"]
    assert "NIC rg-k8s/node-9-nic on VM node-9 pod_ip_configurations: 30\n" in after_text
    assert checked["diff"]["before_header"] == checked["diff"]["after_header"] == "network interfaces"

    applied = run(emu, args, diff=True)
    assert applied["changed"] is True and "failures" not in applied
    writes = arm_writes(emu)
    assert sorted((w["method"], w["resource_id"].lower(), w["if_match"]) for w in writes) == sorted(
        ("PUT", nic_id(f"node-{i}-nic").lower(), before[i]["etag"]) for i in range(NODES)
    ), "one conditional PUT per NIC"
    seen = set()
    for i in range(NODES):
        after = emu.get_resource(nic_id(f"node-{i}-nic"))
        configs = after["properties"]["ipConfigurations"]
        # The primary configuration and every other NIC property exactly as read.
        assert without_volatile(configs[0]) == without_volatile(before[i]["properties"]["ipConfigurations"][0])
        assert all_but_ip_configurations(after) == all_but_ip_configurations(before[i])
        assert [c["name"] for c in configs[1:]] == pod_names(30)
        for c in configs[1:]:
            assert c["properties"]["primary"] is False
            assert c["properties"]["privateIPAllocationMethod"] == "Dynamic"
            assert c["properties"]["subnet"]["id"].lower() == subnet_id().lower()
        addresses = [c["properties"]["privateIPAddress"] for c in configs[1:]]
        record = applied["nics"][i]
        assert record["addresses"] == addresses and applied["addresses"][f"node-{i}"] == addresses
        assert record["ip_configurations"][0] == {"name": "ipconfig-pod-01", "address": addresses[0]}
        seen.update(addresses)
    assert len(seen) == 300
    # Lowest free first: the NICs' primaries hold .4-.13, the pods get .14 onwards, no gaps.
    expected = {str(ipaddress.ip_address("10.240.0.14") + k) for k in range(300)}
    assert seen == expected
    assert "10.240.0.14\n" in applied["diff"]["after"]
    first = applied["nics"][0]["addresses"][0]
    assert "NIC rg-k8s/node-0-nic on VM node-0 ip_configurations/ipconfig-pod-01: %s\n" % first in applied["diff"]["after"]

    subnet = emu.get_resource(subnet_id())
    assert len(subnet["properties"]["ipConfigurations"]) == NODES * 31

    again = run(emu, args)
    assert again["changed"] is False and arm_writes(emu) == []
    assert again["nics"][3]["addresses"] == applied["nics"][3]["addresses"]
    check_again = run(emu, args, check=True)
    assert check_again["changed"] is False and arm_writes(emu) == []


@pytest.mark.azure_seed(cluster_seed(nodes=3))
def test_growing_adds_only_the_missing_and_shrinking_needs_the_option(azure_emulator):
    emu = azure_emulator
    vms = ["node-0", "node-1", "node-2"]
    first = run(emu, {"resource_group": RG, "vms": vms, "count": 4})
    kept = {n["vm"]: n["addresses"] for n in first["nics"]}

    grown = run(emu, {"resource_group": RG, "vms": vms, "count": 6})
    assert grown["changed"] is True
    assert [n["added"] for n in grown["nics"]] == [pod_names(6, 5)] * 3
    for n in grown["nics"]:
        assert n["addresses"][:4] == kept[n["vm"]], "existing addresses never move"
        assert len(n["addresses"]) == 6
    assert len(arm_writes(emu)) == 3

    stored = {vm: emu.get_resource(nic_id(f"{vm}-nic")) for vm in vms}
    refused = run(emu, {"resource_group": RG, "vms": vms, "count": 5}, check=False)
    assert refused["failed"] is True and arm_writes(emu) == []
    assert refused["nics"] == []
    assert "NIC node-0-nic (resource group rg-k8s): it holds 1 pod IP configurations beyond count=5 " \
           "(ipconfig-pod-06); pods may be using their addresses. Drain the node first, then set surplus: remove" \
        in refused["msg"]
    assert refused["msg"].endswith("Nothing was written: every target is resolved and read before the first write.")
    assert {vm: emu.get_resource(nic_id(f"{vm}-nic")) for vm in vms} == stored

    at_least = run(emu, {"resource_group": RG, "vms": vms, "count": 5, "surplus": "keep"})
    assert at_least["changed"] is False and arm_writes(emu) == []

    shrunk = run(emu, {"resource_group": RG, "vms": ["node-1"], "count": 5, "surplus": "remove"})
    assert shrunk["changed"] is True and shrunk["nics"][0]["removed"] == ["ipconfig-pod-06"]
    released = grown["nics"][1]["addresses"][5]
    assert released not in shrunk["nics"][0]["addresses"]
    names = [c["name"] for c in emu.get_resource(nic_id("node-1-nic"))["properties"]["ipConfigurations"]]
    assert names == ["ipconfig1"] + pod_names(5)
    subnet_refs = [r["id"].lower() for r in emu.get_resource(subnet_id())["properties"]["ipConfigurations"]]
    assert (nic_id("node-1-nic") + "/ipConfigurations/ipconfig-pod-06").lower() not in subnet_refs


@pytest.mark.azure_seed(cluster_seed(nodes=3, subnet_prefix="10.240.0.0/27"))
def test_a_subnet_without_room_fails_before_any_write(azure_emulator):
    emu = azure_emulator
    # A /27: 32 - 5 reserved = 27 addresses, 3 held by the nodes: 24 free; 3 x 10 do not fit.
    before = {i: emu.get_resource(nic_id(f"node-{i}-nic")) for i in range(3)}

    result = run(emu, {"resource_group": RG, "vms": ["node-0", "node-1", "node-2"], "count": 10})

    assert result["failed"] is True and arm_writes(emu) == []
    assert result["failures"] == [{
        "target": "subnet vnet-k8s/nodes",
        "reason": "30 more addresses are needed but only 24 of its 27 are free (3 in use); lower count or give the "
                  "nodes a larger subnet",
    }]
    assert all(emu.get_resource(nic_id(f"node-{i}-nic")) == before[i] for i in range(3))

    fits = run(emu, {"resource_group": RG, "vms": ["node-0", "node-1", "node-2"], "count": 8})
    assert fits["changed"] is True and sum(len(n["addresses"]) for n in fits["nics"]) == 24


@pytest.mark.azure_seed(cluster_seed(nodes=2))
def test_limits_and_bad_input_fail_before_any_request(azure_emulator):
    emu = azure_emulator
    too_many = run(emu, {"resource_group": RG, "vms": ["node-0"], "count": 256})
    assert too_many["failed"] is True
    assert too_many["msg"].startswith("count must be between 1 and 255 (got 256)")
    bad_prefix = run(emu, {"resource_group": RG, "vms": ["node-0"], "count": 2, "name_prefix": "-bad/"})
    assert bad_prefix["failed"] is True
    assert bad_prefix["msg"].startswith("name_prefix '-bad/' cannot start an IP configuration name")
    assert [r for r in emu.requests() if r["kind"] == "arm"] == []
    unknown = run(emu, {"resource_group": RG, "vms": ["node-0", "ghost"], "count": 2})
    assert unknown["failed"] is True and arm_writes(emu) == []
    assert [f["target"] for f in unknown["failures"]] == ["VM ghost"]


@pytest.mark.azure_seed(cluster_seed(nodes=2))
def test_an_outside_write_between_read_and_write_survives(azure_emulator):
    emu = azure_emulator
    target = nic_id("node-1-nic")
    emu.schedule_mutation(target, {"tags": {"changed-by": "someone-else"}}, after_method="GET",
                          after_path_contains="node-1-nic")

    result = run(emu, {"resource_group": RG, "nics": ["node-0-nic", "node-1-nic"], "count": 3})

    assert result["changed"] is True and "failures" not in result
    stored = emu.get_resource(target)
    assert stored["tags"] == {"role": "node", "index": "1", "changed-by": "someone-else"}
    puts = [w for w in arm_writes(emu) if w["resource_id"].lower() == target.lower()]
    assert [p["status"] for p in puts] == [412, 200], "the stale write is refused, the re-read one applies"
    assert [c["name"] for c in stored["properties"]["ipConfigurations"]] == ["ipconfig1"] + pod_names(3)
