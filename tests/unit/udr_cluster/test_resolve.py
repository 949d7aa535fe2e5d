# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""azure_udr_cluster's node resolution from NIC and scale-set lists (pure)."""

from __future__ import annotations

from ansible_collections.calico.azure.plugins.module_utils._udr_cluster import resolve

SUB = "00000000-0000-0000-0000-000000000001"
RG = "/subscriptions/%s/resourceGroups/rg-compute" % SUB


def vm_id(name):
    return RG + "/providers/Microsoft.Compute/virtualMachines/" + name


def nic(name, vm=None, primary=None, ip="10.240.0.4"):
    props = {"ipConfigurations": [{"name": "ipconfig1", "properties": {"primary": True, "privateIPAddress": ip}}]}
    if vm:
        props["virtualMachine"] = {"id": vm_id(vm)}
    if primary is not None:
        props["primary"] = primary
    return {"id": RG + "/providers/Microsoft.Network/networkInterfaces/" + name, "name": name, "properties": props}


def test_nodes_split_into_vms_by_group_and_scale_set_members():
    nodes = [
        {"name": "a", "vm_ref": vm_id("a"), "vm_name": "a"},
        {"name": "b", "vm_ref": "b", "vm_name": "b"},
        {"name": "u0", "vm_ref": RG + "/providers/Microsoft.Compute/virtualMachineScaleSets/pool/virtualMachines/0",
         "vm_name": "pool_0"},
        {"name": "u1", "vm_ref": RG + "/providers/Microsoft.Compute/virtualMachineScaleSets/pool/virtualMachines/1",
         "vm_name": "pool_1"},
    ]
    targets = resolve.split_nodes(nodes, SUB, "rg-compute")
    assert targets.errors == []
    assert [ref.name for ref, _nodes in targets.vms.values()] == ["a", "b"]
    assert targets.vm_groups() == [(SUB, "rg-compute")]
    (entry,) = targets.scale_sets.values()
    assert entry["name"] == "pool" and entry["members"] == {"0": "u0", "1": "u1"}


def test_a_vm_name_without_a_resource_group_names_the_node_and_the_variable():
    targets = resolve.split_nodes([{"name": "n1", "vm_ref": "n1", "vm_name": "n1"}], SUB, None)
    assert len(targets.errors) == 1
    assert "node n1" in targets.errors[0] and "udr_vm_resource_group" in targets.errors[0]


def test_the_nic_list_maps_vms_to_their_primary_nic():
    listed = resolve.nics_by_vm([nic("a-1", "a", primary=False), nic("a-0", "A", primary=True), nic("free")])
    assert sorted(listed) == [vm_id("a").lower()]
    assert [n["name"] for n in resolve.pick_nics(listed[vm_id("a").lower()], False)] == ["a-0"]
    assert [n["name"] for n in resolve.pick_nics(listed[vm_id("a").lower()], True)] == ["a-0", "a-1"]


def test_a_vm_the_list_cannot_answer_for_is_read_on_its_own():
    assert resolve.pick_nics([], False) is None
    assert resolve.pick_nics([nic("x-0", "x"), nic("x-1", "x")], False) is None  # no primary mark
    assert [n["name"] for n in resolve.pick_nics([nic("y-0", "y")], False)] == ["y-0"]  # one NIC: the primary


def test_instances_the_scale_set_does_not_list_are_errors_naming_the_node():
    errors = resolve.member_errors({"name": "pool"}, [{"instanceId": "0"}], {"0": "u0", "7": "u7"})
    assert len(errors) == 1 and "node u7" in errors[0] and "instance 7" in errors[0] and "instances: 0" in errors[0]


def test_instance_ips_come_from_the_primary_nic_of_each_instance():
    nics = [
        {"properties": {"primary": True, "virtualMachine": {"id": "/x/virtualMachines/0"},
                        "ipConfigurations": [{"properties": {"primary": True, "privateIPAddress": "10.240.1.4"}}]}},
        {"properties": {"primary": False, "virtualMachine": {"id": "/x/virtualMachines/0"},
                        "ipConfigurations": [{"properties": {"primary": True, "privateIPAddress": "10.240.9.9"}}]}},
    ]
    assert resolve.instance_ips(nics) == {"0": ("10.240.1.4", None)}


def test_the_route_checks_see_forwarding_on_without_changing_the_nic_read():
    read = nic("a-0", "a")
    forwarded = resolve.as_forwarded(read)
    assert forwarded["properties"]["enableIPForwarding"] is True
    assert "enableIPForwarding" not in read["properties"]


def test_a_flexible_member_named_by_a_scale_set_path_is_its_vm():
    scale_set = {"id": RG + "/providers/Microsoft.Compute/virtualMachineScaleSets/flex"}
    assert resolve.flexible_member_vm(scale_set, "flex_1a2b") == vm_id("flex_1a2b")


def test_the_diff_holds_the_table_and_each_forwarding_change_under_one_header():
    table = {"before": "routes/a: 10.244.0.0/24\n", "after": "routes/a: 10.244.1.0/24\n",
             "before_header": "route table rt", "after_header": "route table rt"}
    nic = ("NIC rg/nic-1", {"before": "enableIPForwarding: false\n", "after": "enableIPForwarding: true\n",
                            "before_header": "NIC rg/nic-1", "after_header": "NIC rg/nic-1"})
    diff = resolve.build_diff(table, [nic])
    assert diff["before_header"] == diff["after_header"] == "cluster"
    assert diff["before"] == "NIC rg/nic-1 enableIPForwarding: false\nroute table routes/a: 10.244.0.0/24\n"
    assert diff["after"] == "NIC rg/nic-1 enableIPForwarding: true\nroute table routes/a: 10.244.1.0/24\n"
    assert resolve.build_diff(None, []) is None
