# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""calico.azure.azure_vmss_forwarding against the Azure stand-in, through ansible-playbook.

check -> nothing written -> apply -> exact end state -> re-run with zero writes.
"""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.calico.azure.plugins.module_utils._nic.transform import json_differences
from helpers.ansible_run import run_playbook

SUB = "5ab50000-0000-4000-8000-00000000c0de"
TASK = "Scale-set forwarding"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-k8s"


def ss_id(name: str) -> str:
    return f"{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}"


def pool(name, mode="Uniform", policy="Manual", capacity=3, configs=None):
    return {"name": name, "resource_group": "rg-k8s", "orchestration_mode": mode, "upgrade_policy": policy,
            "capacity": capacity, "computer_name_prefix": name[:6],
            "network_interface_configurations": configs or [
                {"name": f"{name}-nic", "primary": True, "network_security_group": "nsg-nodes",
                 "ip_configurations": [{"name": "ipconfig1", "subnet": "vnet-k8s/nodes"}]}]}


def seed(*pools):
    return {
        "subscription_id": SUB,
        "resource_groups": [{"name": "rg-k8s", "location": "westeurope"}],
        "network_security_groups": [{"name": "nsg-nodes", "resource_group": "rg-k8s"}],
        "virtual_networks": [{"name": "vnet-k8s", "resource_group": "rg-k8s", "address_prefixes": ["10.0.0.0/8"],
                              "subnets": [{"name": "nodes", "address_prefix": "10.240.0.0/16"}]}],
        "virtual_machine_scale_sets": list(pools),
    }


def run(emu, args: dict, **kwargs):
    emu.clear_log()
    text = "\n".join(["- hosts: localhost", "  gather_facts: false", "  tasks:", f"    - name: {TASK}",
                      f"      calico.azure.azure_vmss_forwarding: {json.dumps(args)}"])
    result = run_playbook(text, env=emu.env(), **kwargs)
    assert result.data, f"no JSON result:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result.task(TASK)


def writes(emu) -> list:
    return [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in emu.requests()
            if r["kind"] == "arm" and r["method"] in ("PUT", "PATCH", "POST", "DELETE")]


def instance_forwarding(emu, name):
    nics = []
    path = f"{ss_id(name)}/networkInterfaces"
    for page in range(100):
        raw = emu.core.engine.handle("GET", path, {"api-version": "2018-10-01", "$skiptoken": str(len(nics))}, {}, b"").body
        nics += raw["value"]
        if "nextLink" not in raw:
            break
    return {n["properties"]["virtualMachine"]["id"].rsplit("/", 1)[-1]: n["properties"]["enableIPForwarding"] for n in nics}


def model_of(emu, name):
    return copy.deepcopy(emu.get_resource(ss_id(name))["properties"]["virtualMachineProfile"])


@pytest.mark.azure_seed(seed(pool("pool-a", capacity=20)))
def test_uniform_manual_pool_of_20_gets_one_model_write_and_one_upgrade_call(azure_emulator):
    emu = azure_emulator
    emu.set_page_size(8)  # the scale-set NIC list pages
    model_before = model_of(emu, "pool-a")
    args = {"resource_group": "rg-k8s", "scale_sets": ["pool-a"]}

    checked = run(emu, args, check=True, diff=True)
    assert checked["changed"] is True
    assert writes(emu) == []
    assert [i["forwarding_after"] for i in checked["instances"]] == [True] * 20
    before_lines, after_lines = checked["diff"]["before"].splitlines(), checked["diff"]["after"].splitlines()
    assert [line for line in before_lines if "nic_configurations/" in line] == [
        "scale set pool-a nic_configurations/pool-a-nic.enableIPForwarding: false"]
    assert [line for line in after_lines if "nic_configurations/" in line] == [
        "scale set pool-a nic_configurations/pool-a-nic.enableIPForwarding: true"]
    assert len(after_lines) == 21 and "scale set pool-a instances/19.latest_model: true (manualupgrade)" in after_lines
    assert checked["diff"]["before_header"] == checked["diff"]["after_header"] == "scale sets"

    applied = run(emu, args)
    assert applied["changed"] is True
    assert writes(emu) == [("PATCH", "pool-a"), ("POST", "manualupgrade")]
    # Node IPs from one list of the scale set's NICs: 20 NICs at 8 a page are 3 pages; the set is read once.
    nic_pages = [r for r in emu.requests() if r["method"] == "GET" and r["path"].endswith("/pool-a/networkInterfaces")]
    assert len(nic_pages) == 3
    assert len([r for r in emu.requests() if r["method"] == "GET" and r["path"].endswith("/virtualMachineScaleSets/pool-a")]) == 1
    expected = copy.deepcopy(model_before)
    expected["networkProfile"]["networkInterfaceConfigurations"][0]["properties"]["enableIPForwarding"] = True
    after = model_of(emu, "pool-a")
    assert after == expected, json_differences(expected, after)
    assert instance_forwarding(emu, "pool-a") == {str(i): True for i in range(20)}
    vms = emu.core.engine.handle("GET", f"{ss_id('pool-a')}/virtualMachines", {"api-version": "2024-07-01"}, {}, b"").body
    assert all(v["properties"]["latestModelApplied"] for v in vms["value"])
    records = {r["instance_id"]: r for r in applied["instances"]}
    assert len(records) == 20
    assert records["0"]["name"] == "pool-a000000"
    assert records["0"]["private_ip"].startswith("10.240.")
    assert (records["5"]["forwarding_before"], records["5"]["forwarding_after"], records["5"]["latest_model_after"]) == (False, True, True)
    assert applied["scale_sets"][0]["upgraded_instances"] == [str(i) for i in range(20)]

    again = run(emu, args)
    assert again["changed"] is False
    assert writes(emu) == []
    checked_again = run(emu, args, check=True)
    assert checked_again["changed"] is False and writes(emu) == []


@pytest.mark.azure_seed(seed(pool("pool-a", capacity=3)))
def test_instances_left_on_an_old_model_are_upgraded_without_a_model_write(azure_emulator):
    emu = azure_emulator
    model = model_of(emu, "pool-a")
    model["networkProfile"]["networkInterfaceConfigurations"][0]["properties"]["enableIPForwarding"] = True
    emu.core.engine.handle("PATCH", ss_id("pool-a"), {"api-version": "2024-07-01"}, {},
                           json.dumps({"properties": {"virtualMachineProfile": model}}).encode())
    result = run(emu, {"resource_group": "rg-k8s", "scale_sets": ["pool-a"]})
    assert result["changed"] is True
    assert writes(emu) == [("POST", "manualupgrade")]
    assert instance_forwarding(emu, "pool-a") == {"0": True, "1": True, "2": True}


@pytest.mark.azure_seed(seed(pool("pool-auto", policy="Automatic", capacity=4)))
def test_automatic_policy_makes_no_upgrade_call(azure_emulator):
    emu = azure_emulator
    args = {"resource_group": "rg-k8s", "scale_sets": [ss_id("pool-auto")]}
    assert run(emu, args, check=True)["changed"] is True and writes(emu) == []
    applied = run(emu, args)
    assert writes(emu) == [("PATCH", "pool-auto")]
    assert applied["scale_sets"][0]["upgraded_instances"] == []
    assert all(r["latest_model_after"] and r["forwarding_after"] for r in applied["instances"])
    assert instance_forwarding(emu, "pool-auto") == {str(i): True for i in range(4)}
    assert run(emu, args)["changed"] is False and writes(emu) == []


@pytest.mark.azure_seed(seed(pool("pool-auto", policy="Automatic", capacity=2)))
def test_automatic_policy_without_waiting_reports_instances_as_azure_left_them(azure_emulator):
    emu = azure_emulator
    applied = run(emu, {"resource_group": "rg-k8s", "scale_sets": ["pool-auto"], "wait_for_upgrade": False})
    assert writes(emu) == [("PATCH", "pool-auto")]
    assert [r["latest_model_after"] for r in applied["instances"]] == [False, False]


@pytest.mark.azure_seed(seed(pool("pool-flex", mode="Flexible", capacity=3)))
def test_flexible_pool_goes_through_the_nic_path(azure_emulator):
    emu = azure_emulator
    args = {"resource_group": "rg-k8s", "scale_sets": ["pool-flex"]}
    checked = run(emu, args, check=True, diff=True)
    assert checked["changed"] is True and writes(emu) == []
    assert checked["diff"]["after"].splitlines() == [
        f"scale set pool-flex VM pool-flex_{i:08x} NIC pool-flex_{i:08x}-pool-flex-nic enableIPForwarding: true"
        for i in range(3)]
    applied = run(emu, args)
    assert sorted(writes(emu)) == [("PUT", f"pool-flex_{i:08x}-pool-flex-nic") for i in range(3)]
    for i in range(3):
        nic = emu.get_resource(f"{RG}/providers/Microsoft.Network/networkInterfaces/pool-flex_{i:08x}-pool-flex-nic")
        assert nic["properties"]["enableIPForwarding"] is True
    assert [r["name"] for r in applied["instances"]] == [f"pool-flex_{i:08x}" for i in range(3)]
    assert run(emu, args)["changed"] is False and writes(emu) == []


@pytest.mark.azure_seed(seed(pool("pool-a", capacity=1)))
def test_a_scale_set_name_without_resource_group_fails_before_any_request(azure_emulator):
    result = run(azure_emulator, {"scale_sets": ["pool-a"]})
    assert result.get("failed") is True
    assert "set resource_group" in result["msg"]
    assert writes(azure_emulator) == []
