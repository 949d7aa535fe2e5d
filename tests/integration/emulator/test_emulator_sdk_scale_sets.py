# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scale sets through the real azure-mgmt-compute / azure-mgmt-network clients (seed scale-sets.yml)."""

from __future__ import annotations

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceModifiedError

pytestmark = pytest.mark.azure_seed("scale-sets.yml")
RG = "rg-k8s"


def _forwarding_patch(client, name, enabled):
    scale_set = client.virtual_machine_scale_sets.get(RG, name)
    configs = scale_set.virtual_machine_profile.network_profile.network_interface_configurations
    for config in configs:
        config.enable_ip_forwarding = enabled
    from azure.mgmt.compute.models import (VirtualMachineScaleSetUpdate, VirtualMachineScaleSetUpdateNetworkProfile,
                                           VirtualMachineScaleSetUpdateVMProfile)

    update = VirtualMachineScaleSetUpdate(virtual_machine_profile=VirtualMachineScaleSetUpdateVMProfile(
        network_profile=VirtualMachineScaleSetUpdateNetworkProfile(network_interface_configurations=configs)))
    return scale_set, update


def _instance_forwarding(network_client, name):
    nics = network_client.network_interfaces.list_virtual_machine_scale_set_network_interfaces(RG, name)
    return {nic.virtual_machine.id.rsplit("/", 1)[-1]: nic.enable_ip_forwarding for nic in nics}


def test_manual_policy_keeps_instances_on_the_old_model_until_manualupgrade(azure_emulator, compute_client, network_client):
    azure_emulator.set_page_size(2)  # the scale-set NIC list pages (3 instances -> a nextLink)
    ss_id = f"/subscriptions/{azure_emulator.subscription_id}/resourceGroups/{RG}/providers/Microsoft.Compute/virtualMachineScaleSets/pool-manual"
    stored_before = azure_emulator.get_resource(ss_id)
    scale_set, update = _forwarding_patch(compute_client, "pool-manual", True)
    assert scale_set.etag == '"1"'
    updated = compute_client.virtual_machine_scale_sets.begin_update(
        RG, "pool-manual", update, etag=scale_set.etag, match_condition=MatchConditions.IfNotModified).result()
    assert updated.etag == '"2"'
    assert updated.virtual_machine_profile.network_profile.network_interface_configurations[0].enable_ip_forwarding is True
    # Everything else in the model is what it was.
    expected = stored_before["properties"]["virtualMachineProfile"]
    expected["networkProfile"]["networkInterfaceConfigurations"][0]["properties"]["enableIPForwarding"] = True
    assert azure_emulator.get_resource(ss_id)["properties"]["virtualMachineProfile"] == expected

    vms = list(compute_client.virtual_machine_scale_set_vms.list(RG, "pool-manual"))
    assert [(vm.instance_id, vm.latest_model_applied) for vm in vms] == [("0", False), ("1", False), ("2", False)]
    assert _instance_forwarding(network_client, "pool-manual") == {"0": False, "1": False, "2": False}

    compute_client.virtual_machine_scale_sets.begin_update_instances(RG, "pool-manual", {"instanceIds": ["0", "2"]}).result()
    vms = {vm.instance_id: vm for vm in compute_client.virtual_machine_scale_set_vms.list(RG, "pool-manual")}
    assert {i: vm.latest_model_applied for i, vm in vms.items()} == {"0": True, "1": False, "2": True}
    assert _instance_forwarding(network_client, "pool-manual") == {"0": True, "1": False, "2": True}
    assert vms["0"].os_profile.computer_name == "poolm000000"
    reads = [r for r in azure_emulator.requests() if r["method"] == "GET" and "networkInterfaces" in r["path"]]
    assert len(reads) >= 4  # two lists of two pages each


def test_stale_if_match_is_refused(compute_client):
    _unused, update = _forwarding_patch(compute_client, "pool-manual", True)
    with pytest.raises(ResourceModifiedError):
        compute_client.virtual_machine_scale_sets.begin_update(
            RG, "pool-manual", update, etag='"7"', match_condition=MatchConditions.IfNotModified).result()


def test_automatic_policy_upgrades_every_instance_when_the_model_write_completes(compute_client, network_client):
    scale_set = compute_client.virtual_machine_scale_sets.get(RG, "pool-auto")
    assert scale_set.upgrade_policy.mode == "Automatic"
    scale_set.virtual_machine_profile.network_profile.network_interface_configurations[0].enable_ip_forwarding = True
    compute_client.virtual_machine_scale_sets.begin_create_or_update(RG, "pool-auto", scale_set).result()
    vms = list(compute_client.virtual_machine_scale_set_vms.list(RG, "pool-auto"))
    assert [vm.latest_model_applied for vm in vms] == [True, True]
    assert _instance_forwarding(network_client, "pool-auto") == {"0": True, "1": True}


def test_instance_get_instance_view_and_nic_endpoints(compute_client, network_client):
    vm = compute_client.virtual_machine_scale_set_vms.get(RG, "pool-manual", "1", expand="instanceView")
    assert vm.latest_model_applied is True
    assert [s.code for s in vm.instance_view.statuses] == ["ProvisioningState/succeeded", "PowerState/running"]
    view = compute_client.virtual_machine_scale_set_vms.get_instance_view(RG, "pool-manual", "1")
    assert view.computer_name == "poolm000001"
    assert view.vm_agent.statuses[0].display_status == "Ready"
    nics = network_client.network_interfaces
    per_instance = list(nics.list_virtual_machine_scale_set_vm_network_interfaces(RG, "pool-manual", "1"))
    assert [n.name for n in per_instance] == ["pool-manual-nic"]
    nic = nics.get_virtual_machine_scale_set_network_interface(RG, "pool-manual", "1", "pool-manual-nic")
    assert nic.network_security_group.id.endswith("/networkSecurityGroups/nsg-nodes")
    configs = list(nics.list_virtual_machine_scale_set_ip_configurations(RG, "pool-manual", "1", "pool-manual-nic"))
    one = nics.get_virtual_machine_scale_set_ip_configuration(RG, "pool-manual", "1", "pool-manual-nic", "ipconfig1")
    assert [c.private_ip_address for c in configs] == [one.private_ip_address] == [nic.ip_configurations[0].private_ip_address]
    addresses = {n.ip_configurations[0].private_ip_address for n in nics.list_virtual_machine_scale_set_network_interfaces(RG, "pool-manual")}
    assert len(addresses) == 3 and all(a.startswith("10.240.") for a in addresses)
    # Ordinary NICs are never given an address a scale-set instance holds.
    flex_nic = nics.get(RG, "pool-flex_00000000-nic0")
    assert flex_nic.ip_configurations[0].private_ip_address not in addresses


def test_flexible_members_are_ordinary_vms_with_ordinary_nics(compute_client, network_client):
    members = list(compute_client.virtual_machine_scale_set_vms.list(RG, "pool-flex"))
    assert [m.instance_id for m in members] == ["pool-flex_00000000", "pool-flex_00000001"]
    vm = compute_client.virtual_machines.get(RG, "pool-flex_00000000")
    assert vm.virtual_machine_scale_set.id.endswith("/virtualMachineScaleSets/pool-flex")
    nic = network_client.network_interfaces.get(RG, vm.network_profile.network_interfaces[0].id.rsplit("/", 1)[-1])
    assert nic.virtual_machine.id == vm.id
    with pytest.raises(HttpResponseError) as refused:
        compute_client.virtual_machine_scale_sets.begin_update_instances(RG, "pool-flex", {"instanceIds": ["pool-flex_00000000"]})
    assert refused.value.error.code == "OperationNotAllowed"


def test_manualupgrade_refuses_unknown_instances(compute_client):
    with pytest.raises(HttpResponseError) as refused:
        compute_client.virtual_machine_scale_sets.begin_update_instances(RG, "pool-manual", {"instanceIds": ["9"]})
    assert refused.value.error.code == "InvalidParameter"


def test_vm_instance_view_has_the_compute_shape(compute_client):
    view = compute_client.virtual_machines.instance_view(RG, "pool-flex_00000001")
    assert [s.code for s in view.statuses] == ["ProvisioningState/succeeded", "PowerState/running"]
    assert view.computer_name == "poolf000001"
    expanded = compute_client.virtual_machines.get(RG, "pool-flex_00000001", expand="instanceView")
    assert expanded.instance_view.vm_agent.vm_agent_version
    assert compute_client.virtual_machines.get(RG, "pool-flex_00000001").instance_view is None
