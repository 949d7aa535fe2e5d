# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ARM keeps references to other resources by id, whatever object a client embedded in its PUT."""

from __future__ import annotations

from azure_emulator.arm.references import normalize_references

SUB = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network"


def test_embedded_references_are_reduced_to_their_id_and_own_children_are_kept():
    nic_id = f"{SUB}/networkInterfaces/nic"
    body = {"properties": {
        "networkSecurityGroup": {"id": f"{SUB}/networkSecurityGroups/nsg", "location": "x", "properties": {"securityRules": []}},
        "ipConfigurations": [{"name": "ip1", "id": f"{nic_id}/ipConfigurations/ip1", "properties": {
            "subnet": {"id": f"{SUB}/virtualNetworks/v/subnets/s", "properties": {"addressPrefix": "10.0.0.0/24"}},
            "publicIPAddress": {"id": f"{SUB}/publicIPAddresses/pip", "properties": {"ipAddress": "1.2.3.4"}},
            "loadBalancerBackendAddressPools": [{"id": f"{SUB}/loadBalancers/lb/backendAddressPools/p", "name": "p"}],
            "applicationSecurityGroups": [{"id": f"{SUB}/applicationSecurityGroups/asg", "location": "x"}],
        }}],
    }}
    normalize_references(body, nic_id)
    props = body["properties"]
    assert props["networkSecurityGroup"] == {"id": f"{SUB}/networkSecurityGroups/nsg"}
    config = props["ipConfigurations"][0]
    assert config["name"] == "ip1"  # the NIC's own child keeps its content
    assert config["properties"] == {
        "subnet": {"id": f"{SUB}/virtualNetworks/v/subnets/s"},
        "publicIPAddress": {"id": f"{SUB}/publicIPAddresses/pip"},
        "loadBalancerBackendAddressPools": [{"id": f"{SUB}/loadBalancers/lb/backendAddressPools/p"}],
        "applicationSecurityGroups": [{"id": f"{SUB}/applicationSecurityGroups/asg"}],
    }


def test_positions_that_are_not_plain_references_keep_their_properties():
    vm_id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"
    nic = {"id": f"{SUB}/networkInterfaces/nic", "properties": {"primary": True}}
    body = {"properties": {"networkProfile": {"networkInterfaces": [dict(nic)]},
                           "publicIPAddress": {"name": "not-a-reference", "properties": {}}}}
    normalize_references(body, vm_id)
    assert body["properties"]["networkProfile"]["networkInterfaces"] == [nic]
    assert body["properties"]["publicIPAddress"] == {"name": "not-a-reference", "properties": {}}


def test_a_put_with_embedded_objects_is_stored_and_answered_by_id(azure_emulator, arm):
    nsg = arm.get(arm.net_path("networkSecurityGroups/nsg-nodes")).json()
    vnet = arm.get(arm.net_path("virtualNetworks/vnet-k8s")).json()
    subnet = vnet["properties"]["subnets"][0]
    path = arm.net_path("networkInterfaces/nic-embedded")
    answer = arm.put(path, {"location": "westeurope", "properties": {
        "networkSecurityGroup": nsg,
        "ipConfigurations": [{"name": "ipconfig1", "properties": {"subnet": subnet}}]}})
    assert answer.status_code == 201, answer.text
    for body in (answer.json(), arm.get(path).json()):
        assert body["properties"]["networkSecurityGroup"] == {"id": nsg["id"]}
        assert body["properties"]["ipConfigurations"][0]["properties"]["subnet"] == {"id": subnet["id"]}
    # A subnet PUT carrying the whole NSG object is stored the same way.
    sub_path = arm.net_path("virtualNetworks/vnet-k8s/subnets/other")
    created = arm.put(sub_path, {"properties": {"addressPrefix": "10.241.0.0/24", "networkSecurityGroup": nsg}})
    assert created.status_code == 201, created.text
    assert arm.get(sub_path).json()["properties"]["networkSecurityGroup"] == {"id": nsg["id"]}
