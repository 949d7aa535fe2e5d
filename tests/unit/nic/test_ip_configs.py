# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pure planning of azure_nic_ip_configs, and NicRun driving it over the fake ARM."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.calico.azure.plugins.module_utils._nic.ip_configs import (
    IpConfigsChange,
    SubnetNeed,
    check_name_prefix,
    limit_problems,
    managed_index,
    plan_nic,
    pod_configurations_diff,
    resolve_subnet,
    subnet_capacity,
    with_ip_configurations,
)
from ansible_collections.calico.azure.plugins.module_utils._nic.run import NicRun
from ansible_collections.calico.azure.plugins.module_utils._nic.transform import NIC_TYPE, json_differences, parse_targets

from .fake_arm import ERRORS, SUBSCRIPTION, FakeArm, make_nic, nic_id

SUBNET = "/subscriptions/%s/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet/subnets/nodes" % SUBSCRIPTION


def node_nic(name="node-0-nic", pods=()):
    nic = make_nic(name)
    nic["properties"]["ipConfigurations"][0]["properties"]["subnet"] = {"id": SUBNET}
    nic["properties"]["networkSecurityGroup"] = {"id": "/nsg"}
    nic["tags"] = {"a": "b"}
    for index, address in pods:
        nic["properties"]["ipConfigurations"].append({
            "name": "ipconfig-pod-%02d" % index,
            "properties": {"primary": False, "privateIPAddress": address, "subnet": {"id": SUBNET}},
        })
    return nic


def test_names_are_numbered_and_recognised():
    assert managed_index("ipconfig-pod-", "ipconfig-pod-07") == 7
    assert managed_index("ipconfig-pod-", "IPCONFIG-POD-112") == 112
    assert managed_index("ipconfig-pod-", "ipconfig1") is None
    assert managed_index("ipconfig-pod-", "ipconfig-pod-x") is None
    assert check_name_prefix("ipconfig-pod-") is None
    assert "cannot start an IP configuration name" in check_name_prefix("-bad/")


def test_the_plan_fills_gaps_first_and_keeps_what_is_there():
    nic = node_nic(pods=[(1, "10.0.0.10"), (3, "10.0.0.12")])
    plan = plan_nic(nic, 4, SUBNET)
    assert plan.present == ["ipconfig-pod-01", "ipconfig-pod-03"]
    assert plan.add == ["ipconfig-pod-02", "ipconfig-pod-04"]
    assert plan.remove == [] and plan.surplus == [] and plan.total_after == 5


def test_the_body_changes_ip_configurations_and_nothing_else():
    nic = node_nic(pods=[(1, "10.0.0.10")])
    body = with_ip_configurations(nic, plan_nic(nic, 3, SUBNET))
    differences = json_differences(nic, body)
    assert differences == ["properties.ipConfigurations"]
    assert body["properties"]["ipConfigurations"][:2] == nic["properties"]["ipConfigurations"]
    assert body["properties"]["ipConfigurations"][2] == {
        "name": "ipconfig-pod-02",
        "properties": {"primary": False, "privateIPAllocationMethod": "Dynamic", "privateIPAddressVersion": "IPv4",
                       "subnet": {"id": SUBNET}},
    }
    body["properties"]["ipConfigurations"][0]["properties"]["x"] = 1
    assert "x" not in nic["properties"]["ipConfigurations"][0]["properties"], "no shared nested objects"


@pytest.mark.parametrize("surplus, removed, problem", [
    ("fail", [], "beyond count=1 (ipconfig-pod-02, ipconfig-pod-03); pods may be using their addresses"),
    ("keep", [], None),
    ("remove", ["ipconfig-pod-02", "ipconfig-pod-03"], None),
])
def test_surplus_is_refused_kept_or_removed_only_when_asked(surplus, removed, problem):
    nic = node_nic(pods=[(1, "10.0.0.10"), (2, "10.0.0.11"), (3, "10.0.0.12")])
    plan = plan_nic(nic, 1, SUBNET, surplus=surplus)
    assert plan.remove == removed
    problems = limit_problems([("node-0-nic (resource group rg1)", "node-0", plan)], [], 1, surplus)
    if problem:
        assert len(problems) == 1 and problem in problems[0][1]
        assert "Drain the node first" in problems[0][1]
    else:
        assert problems == []


def test_limits_per_nic_per_vm_and_per_subnet():
    nic = node_nic()
    nic["properties"]["ipConfigurations"] += [{"name": "user-%d" % i, "properties": {}} for i in range(10)]
    plan = plan_nic(nic, 250, SUBNET)
    assert plan.total_after == 261
    problems = dict(limit_problems([("n (resource group rg1)", "vm-1", plan)], [SubnetNeed(SUBNET, 251, 11, adds=250)],
                                   250, "fail"))
    assert problems["NIC n (resource group rg1)"] == ("it would hold 261 IP configurations; Azure allows at most 256 per "
                                                      "network interface, so count can be at most 245 here")
    assert problems["VM vm-1"].startswith("its NICs would hold 261 private IP addresses")
    assert problems["subnet vnet/nodes"] == ("250 more addresses are needed but only 240 of its 251 are free "
                                             "(11 in use); lower count or give the nodes a larger subnet")


def test_subnet_capacity_counts_azures_reserved_addresses():
    assert subnet_capacity({"properties": {"addressPrefix": "10.240.0.0/24"}}) == 251
    assert subnet_capacity({"properties": {"addressPrefixes": ["10.0.0.0/29", "fd00::/64"]}}) == 3


def test_the_subnet_defaults_to_the_primary_configurations():
    nic = node_nic()
    assert resolve_subnet(nic, None) == SUBNET
    assert resolve_subnet(nic, "pods") == SUBNET.rsplit("/", 1)[0] + "/pods"
    assert resolve_subnet(nic, "/x/y") == "/x/y"


def test_a_configuration_in_another_subnet_is_named():
    nic = node_nic(pods=[(1, "10.0.0.10")])
    nic["properties"]["ipConfigurations"][1]["properties"]["subnet"] = {"id": SUBNET + "-other"}
    plan = plan_nic(nic, 2, SUBNET)
    assert plan.wrong_subnet == ["ipconfig-pod-01"]
    assert "already exist in another subnet" in limit_problems([("n", None, plan)], [], 2, "fail")[0][1]


class AllocatingArm(FakeArm):
    """The fake ARM with dynamic addresses, as NRP fills them in."""

    next_address = 100

    def begin_put(self, resource_id, body, if_match):
        body = copy.deepcopy(body)
        for configuration in body["properties"]["ipConfigurations"]:
            if not configuration["properties"].get("privateIPAddress"):
                AllocatingArm.next_address += 1
                configuration["properties"]["privateIPAddress"] = "10.0.1.%d" % (AllocatingArm.next_address % 250)
        return super().begin_put(resource_id, body, if_match)


def test_the_run_writes_each_nic_once_and_reports_the_addresses():
    arm = AllocatingArm([node_nic("node-%d-nic" % i) for i in range(4)])
    refs, _failures = parse_targets(["node-%d-nic" % i for i in range(4)], NIC_TYPE, SUBSCRIPTION, "rg1")
    change = IpConfigsChange(3, {nic_id("node-%d-nic" % i): SUBNET for i in range(4)})

    checked = NicRun(arm, ERRORS, change, check_mode=True).run([], refs)
    assert arm.count("put") == 0 and checked.changed
    assert [r["added"] for r in checked.records] == [["ipconfig-pod-01", "ipconfig-pod-02", "ipconfig-pod-03"]] * 4
    assert checked.records[0]["addresses"] == []
    before = {nic_id("node-0-nic").lower(): []}
    text = pod_configurations_diff(checked.records[:1], before)
    assert text["before"] == "NIC rg1/node-0-nic pod_ip_configurations: 0\n"
    assert text["after"] == ("NIC rg1/node-0-nic ip_configurations/ipconfig-pod-01: (dynamic)\n"
                             "NIC rg1/node-0-nic ip_configurations/ipconfig-pod-02: (dynamic)\n"
                             "NIC rg1/node-0-nic ip_configurations/ipconfig-pod-03: (dynamic)\n"
                             "NIC rg1/node-0-nic pod_ip_configurations: 3\n")

    outcome = NicRun(arm, ERRORS, change).run([], refs)
    assert outcome.failures == [] and arm.count("put") == 4
    assert all(len(r["addresses"]) == 3 for r in outcome.records)
    again = NicRun(arm, ERRORS, change).run([], refs)
    assert not again.changed and arm.count("put") == 4
