# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The scale-set model transformation and the instance plan (pure)."""

from __future__ import annotations

import copy
import json

from ansible_collections.calico.azure.plugins.module_utils._nic.transform import json_differences
from ansible_collections.calico.azure.plugins.module_utils._vmss import plan
from helpers.shared import shared_dir


def published_scale_set() -> dict:
    """Microsoft's CreateOrUpdate example with two NIC configurations (the first forwarding already)."""
    example = shared_dir("azure-rest-examples", "vmss", "compute",
                         "VirtualMachineScaleSet_Create_FromWithNetworkInterfaceWithDnsSettings.json")
    return json.loads(example.read_text())["responses"]["200"]["body"]


def configs_of(body):
    return body["properties"]["virtualMachineProfile"]["networkProfile"]["networkInterfaceConfigurations"]


def test_the_patch_carries_the_configurations_as_read_with_only_the_flag_changed():
    scale_set = published_scale_set()
    configs_of(scale_set)[0]["properties"]["enableIPForwarding"] = False
    read = copy.deepcopy(scale_set)
    patch = plan.model_patch(scale_set, True, all_nics=False)
    assert scale_set == read  # the document read is not modified
    assert list(patch) == ["properties"] and list(patch["properties"]) == ["virtualMachineProfile"]
    assert list(patch["properties"]["virtualMachineProfile"]) == ["networkProfile"]
    assert json_differences(configs_of(read), configs_of(patch), ignore_keys=()) == ["[0].properties.enableIPForwarding"]
    assert configs_of(patch)[0]["properties"]["enableIPForwarding"] is True


def test_nothing_to_change_gives_no_patch_and_all_nics_covers_every_configuration():
    scale_set = published_scale_set()
    assert configs_of(scale_set)[0]["properties"]["enableIPForwarding"] is True
    assert plan.model_patch(scale_set, True, all_nics=False) is None
    assert plan.configurations_to_change(scale_set, True, all_nics=True) == [configs_of(scale_set)[1]["name"]]
    assert plan.configurations_to_change(scale_set, False, all_nics=False) == [configs_of(scale_set)[0]["name"]]


def test_a_single_configuration_is_primary_even_unmarked():
    scale_set = {"properties": {"virtualMachineProfile": {"networkProfile": {"networkInterfaceConfigurations": [
        {"name": "only", "properties": {}}]}}}}
    assert plan.configurations_to_change(scale_set, True, all_nics=False) == ["only"]


def test_upgrade_calls_only_for_manual_policies():
    manual = {"properties": {"upgradePolicy": {"mode": "Manual"}}}
    assert plan.needs_upgrade_call(manual, ["0"]) is True
    assert plan.needs_upgrade_call(manual, []) is False
    assert plan.needs_upgrade_call({"properties": {}}, ["0"]) is True  # Manual is the default
    for mode in ("Automatic", "Rolling"):
        assert plan.needs_upgrade_call({"properties": {"upgradePolicy": {"mode": mode}}}, ["0"]) is False


def test_stale_instances_and_records_from_one_nic_list():
    vmss = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/pool"
    instances = [{"instanceId": str(i), "id": f"{vmss}/virtualMachines/{i}", "properties": {
        "latestModelApplied": i != 1, "osProfile": {"computerName": f"pool00000{i}"}}} for i in range(3)]
    nics = [{"name": "nic", "properties": {"primary": True, "enableIPForwarding": i == 2,
                                           "virtualMachine": {"id": f"{vmss}/virtualMachines/{i}"},
                                           "ipConfigurations": [{"properties": {"primary": True, "privateIPAddress": f"10.0.0.{i + 4}"}}]}}
            for i in range(3)]
    assert plan.stale_instances(instances) == ["1"]
    records = plan.instance_records({"name": "pool"}, instances, nics, {"0": (True, True), "1": (None, False)})
    assert [(r["name"], r["private_ip"], r["forwarding_before"], r["forwarding_after"], r["changed"]) for r in records] == [
        ("pool000000", "10.0.0.4", False, True, True),
        ("pool000001", "10.0.0.5", False, False, False),
        ("pool000002", "10.0.0.6", True, True, False),
    ]
    assert records[1]["latest_model_before"] is False and records[1]["latest_model_after"] is False


def test_diff_names_the_configuration_and_how_instances_are_upgraded():
    diff = plan.scale_sets_diff(plan.model_diff("pool", ["nic"], True, ["0", "1"], "Manual"))
    assert diff["before"].splitlines() == ["scale set pool instances/0.latest_model: false",
                                           "scale set pool instances/1.latest_model: false",
                                           "scale set pool nic_configurations/nic.enableIPForwarding: false"]
    assert diff["after"].splitlines() == ["scale set pool instances/0.latest_model: true (manualupgrade)",
                                          "scale set pool instances/1.latest_model: true (manualupgrade)",
                                          "scale set pool nic_configurations/nic.enableIPForwarding: true"]
    assert diff["before_header"] == diff["after_header"] == "scale sets"
    rolling = plan.scale_sets_diff(plan.model_diff("pool", [], True, ["0"], "Rolling"))
    assert rolling["after"] == "scale set pool instances/0.latest_model: true (upgraded by Azure (Rolling policy))\n"


def test_a_flexible_member_diff_is_its_nic_flag():
    record = {"vm": "vm-0", "name": "vm-0-nic", "forwarding_before": False, "forwarding_after": True}
    diff = plan.scale_sets_diff([plan.vm_nic_diff("flex", record)])
    assert (diff["before"], diff["after"]) == ("scale set flex VM vm-0 NIC vm-0-nic enableIPForwarding: false\n",
                                               "scale set flex VM vm-0 NIC vm-0-nic enableIPForwarding: true\n")
