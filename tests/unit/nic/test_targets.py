"""Target resolution, read planning and the facts read from a NIC."""

from __future__ import annotations

import pytest

from ansible_collections.calico.azure.plugins.module_utils._nic.transform import (
    NIC_TYPE,
    VM_TYPE,
    ResourceRef,
    TargetError,
    parse_target,
    option_problem,
    parse_targets,
    parse_vm_and_nic_targets,
    plan_reads,
    private_ips,
    vm_nic_refs,
)

from .fake_arm import SUBSCRIPTION, make_vm, nic_id, vm_id

OTHER_SUB = "11111111-2222-3333-4444-555555555555"


def test_a_name_resolves_in_the_default_group_and_subscription():
    ref = parse_target("node-1", VM_TYPE, SUBSCRIPTION, "rg1")
    assert ref == ResourceRef(SUBSCRIPTION, "rg1", VM_TYPE, "node-1")
    assert ref.id == vm_id("node-1")


def test_an_id_may_point_at_another_group_and_subscription():
    ref = parse_target(nic_id("nic-9", "net-rg", OTHER_SUB), NIC_TYPE, SUBSCRIPTION, "rg1")
    assert (ref.subscription_id, ref.resource_group, ref.name) == (OTHER_SUB, "net-rg", "nic-9")


def test_an_id_needs_no_resource_group_option():
    assert parse_target(vm_id("vm"), VM_TYPE, None, None).resource_group == "rg1"


def test_ids_compare_case_insensitively():
    upper = parse_target(nic_id("NIC-1", "RG1"), NIC_TYPE, None, None)
    lower = parse_target(nic_id("nic-1", "rg1").replace("resourceGroups", "resourcegroups"), NIC_TYPE, None, None)
    assert upper.key == lower.key
    assert upper.group_key == lower.group_key


@pytest.mark.parametrize(
    "value, resource_type, group, message",
    [
        ("node-1", VM_TYPE, None, "VM names need resource_group"),
        ("", NIC_TYPE, "rg1", "empty NIC name"),
        (vm_id("vm-1"), NIC_TYPE, "rg1", "is a Microsoft.Compute/virtualMachines id, not a NIC id"),
        ("/subscriptions/x/resourceGroups/rg", NIC_TYPE, "rg1", "not a NIC resource id"),
        ("rg1/nic-1", NIC_TYPE, "rg1", "cannot contain '/'"),
    ],
)
def test_unusable_targets_are_named_with_the_reason(value, resource_type, group, message):
    with pytest.raises(TargetError) as raised:
        parse_target(value, resource_type, SUBSCRIPTION, group)
    assert message in raised.value.reason
    assert raised.value.target.strip("'") == value.strip()


def test_parse_targets_collects_failures_and_deduplicates():
    refs, failures = parse_targets(
        ["nic-1", nic_id("NIC-1"), "nic-2", vm_id("vm")], NIC_TYPE, SUBSCRIPTION, "rg1"
    )
    assert [r.name for r in refs] == ["nic-1", "nic-2"]
    assert len(failures) == 1 and failures[0].target == vm_id("vm")


def test_vm_primary_nic_is_the_marked_one():
    vm = make_vm("vm", ["a", "b", "c"], primary="b")
    assert [r.name for r in vm_nic_refs(vm, False, "VM vm")] == ["b"]
    assert [r.name for r in vm_nic_refs(vm, True, "VM vm")] == ["b", "a", "c"], "primary first, then VM order"


def test_a_vm_with_one_unmarked_nic_uses_it():
    assert [r.name for r in vm_nic_refs(make_vm("vm", ["only"]), False, "VM vm")] == ["only"]


def test_a_vm_nic_in_another_group_keeps_its_group():
    vm = make_vm("vm", [nic_id("far", "net-rg", OTHER_SUB)])
    ref = vm_nic_refs(vm, False, "VM vm")[0]
    assert (ref.subscription_id, ref.resource_group, ref.resource_type) == (OTHER_SUB, "net-rg", NIC_TYPE)


def test_several_unmarked_nics_are_ambiguous():
    with pytest.raises(TargetError, match="2 NICs and none is marked primary"):
        vm_nic_refs(make_vm("vm", ["a", "b"]), False, "VM vm")
    assert len(vm_nic_refs(make_vm("vm", ["a", "b"]), True, "VM vm")) == 2


def test_a_vm_without_nics_is_an_error_naming_it():
    with pytest.raises(TargetError) as raised:
        vm_nic_refs({"properties": {}}, True, "VM bare (resource group rg1)")
    assert raised.value.target == "VM bare (resource group rg1)"


def test_busy_groups_are_listed_and_the_rest_read_one_by_one():
    refs = [ResourceRef(SUBSCRIPTION, "big", NIC_TYPE, "n%d" % i) for i in range(5)]
    refs += [ResourceRef(SUBSCRIPTION, "BIG", NIC_TYPE, "upper")]  # same group, other case
    refs += [ResourceRef(SUBSCRIPTION, "small", NIC_TYPE, "s1"), ResourceRef(OTHER_SUB, "big", NIC_TYPE, "x")]
    plan = plan_reads(refs, list_threshold=3)
    assert plan.list_groups == [(SUBSCRIPTION, "big")]
    assert [r.name for r in plan.single_reads] == ["s1", "x"]


def test_threshold_one_lists_everything():
    refs = [ResourceRef(SUBSCRIPTION, "a", NIC_TYPE, "n1"), ResourceRef(SUBSCRIPTION, "b", NIC_TYPE, "n2")]
    assert plan_reads(refs, list_threshold=1).list_groups == [(SUBSCRIPTION, "a"), (SUBSCRIPTION, "b")]
    assert plan_reads(refs, list_threshold=3).list_groups == []


def _config(address, primary=None, version=None):
    properties = {"privateIPAddress": address}
    if primary is not None:
        properties["primary"] = primary
    if version:
        properties["privateIPAddressVersion"] = version
    return {"properties": properties}


@pytest.mark.parametrize(
    "configurations, expected",
    [
        ([_config("10.0.0.4", True), _config("10.0.0.5", False)], ("10.0.0.4", None)),
        ([_config("10.0.0.5", False), _config("10.0.0.4", True)], ("10.0.0.4", None)),
        ([_config("10.0.0.4")], ("10.0.0.4", None)),
        ([_config("10.0.0.4", True, "IPv4"), _config("fd00::4", False, "IPv6")], ("10.0.0.4", "fd00::4")),
        ([_config("172.20.2.16/28", True)], ("172.20.2.16", None)),
        ([_config("10.0.0.4", False), _config("10.0.0.5", False)], (None, None)),
        ([], (None, None)),
    ],
)
def test_private_ips(configurations, expected):
    assert private_ips({"properties": {"ipConfigurations": configurations}}) == expected


def test_option_problem_names_the_option_to_set():
    assert "set vms" in option_problem([], [], 10)
    assert "max_parallel must be 1 or more (got 0)" in option_problem(["vm-1"], [], 0)
    assert option_problem(["vm-1"], [], 1) is None
    assert option_problem([], ["nic-1"], 4) is None


def test_vm_and_nic_targets_are_parsed_together_with_every_failure():
    vms, nics, failures = parse_vm_and_nic_targets(
        ["vm-1", "vm-1", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-2"],
        ["nic-1"], "s", "rg")
    assert [ref.name for ref in vms] == ["vm-1", "vm-2"]
    assert [ref.name for ref in nics] == ["nic-1"]
    assert failures == []
    _vms, _nics, failures = parse_vm_and_nic_targets(["vm-1"], ["nic-1"], "s", None)
    assert len(failures) == 2  # no resource group for either short name
