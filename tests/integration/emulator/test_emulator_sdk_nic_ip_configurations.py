# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Secondary IP configurations of a NIC as NRP handles them, proven with the real azure-mgmt-network SDK.

Dynamic allocation (lowest free address after the four reserved ones, never
the broadcast), one primary per NIC, SubnetIsFull, static addresses honoured
and checked, addresses released when configurations go, and the subnet's
``ipConfigurations[]`` back-references following every change.
"""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.network.models import (
    AddressSpace,
    NetworkInterface,
    NetworkInterfaceIPConfiguration,
    Subnet,
    VirtualNetwork,
)

RG = "rg-k8s"


def subnet_id(emu, vnet: str = "vnet-k8s", subnet: str = "nodes") -> str:
    return f"/subscriptions/{emu.subscription_id}/resourceGroups/{RG}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}"


def secondary(name: str, subnet: str, address: str | None = None, primary: bool | None = False):
    return NetworkInterfaceIPConfiguration(
        name=name,
        subnet=Subnet(id=subnet),
        private_ip_allocation_method="Static" if address else "Dynamic",
        private_ip_address=address,
        primary=primary,
    )


def back_references(network_client, vnet: str = "vnet-k8s", subnet: str = "nodes") -> list[str]:
    found = network_client.subnets.get(RG, vnet, subnet).ip_configurations or []
    return sorted(c.id.rsplit("/", 1)[-1] for c in found)


def test_dynamic_secondaries_get_the_lowest_free_addresses_and_are_released(azure_emulator, network_client):
    nic = network_client.network_interfaces.get(RG, "node-0-nic")
    nic.ip_configurations += [secondary(f"ipconfig-pod-{i:02d}", subnet_id(azure_emulator)) for i in (1, 2, 3)]

    written = network_client.network_interfaces.begin_create_or_update(RG, "node-0-nic", nic).result()

    # node-0/1/2 hold .4, .5, .6 (seed): the next free ones, in order.
    assert [(c.name, c.private_ip_address, c.primary) for c in written.ip_configurations] == [
        ("ipconfig1", "10.240.0.4", True),
        ("ipconfig-pod-01", "10.240.0.7", False),
        ("ipconfig-pod-02", "10.240.0.8", False),
        ("ipconfig-pod-03", "10.240.0.9", False),
    ]
    assert all(c.private_ip_allocation_method == "Dynamic" for c in written.ip_configurations[1:])
    assert back_references(network_client) == ["ipconfig-pod-01", "ipconfig-pod-02", "ipconfig-pod-03",
                                               "ipconfig1", "ipconfig1", "ipconfig1"]

    # A re-PUT keeps every dynamic address; removing one releases it for the next NIC.
    written.ip_configurations = [c for c in written.ip_configurations if c.name != "ipconfig-pod-02"]
    kept = network_client.network_interfaces.begin_create_or_update(RG, "node-0-nic", written).result()
    assert [c.private_ip_address for c in kept.ip_configurations] == ["10.240.0.4", "10.240.0.7", "10.240.0.9"]
    assert "ipconfig-pod-02" not in back_references(network_client)

    other = network_client.network_interfaces.get(RG, "node-1-nic")
    other.ip_configurations.append(secondary("ipconfig-pod-01", subnet_id(azure_emulator)))
    reused = network_client.network_interfaces.begin_create_or_update(RG, "node-1-nic", other).result()
    assert reused.ip_configurations[1].private_ip_address == "10.240.0.8"


def test_a_static_secondary_is_honoured_and_checked(azure_emulator, network_client):
    nic = network_client.network_interfaces.get(RG, "node-0-nic")
    nic.ip_configurations.append(secondary("pinned", subnet_id(azure_emulator), "10.240.3.3"))
    written = network_client.network_interfaces.begin_create_or_update(RG, "node-0-nic", nic).result()
    assert written.ip_configurations[1].private_ip_address == "10.240.3.3"
    assert written.ip_configurations[1].private_ip_allocation_method == "Static"

    cases = [
        ("10.240.0.5", "PrivateIPAddressInUse", "already in use by IP configuration"),
        ("10.241.0.9", "PrivateIPAddressNotInSubnet", "does not belong to subnet"),
        ("10.240.0.2", "PrivateIPAddressInReservedRange", "reserved range"),
        ("10.240.255.255", "PrivateIPAddressInReservedRange", "reserved range"),
    ]
    for address, code, words in cases:
        nic = network_client.network_interfaces.get(RG, "node-2-nic")
        nic.ip_configurations.append(secondary("bad", subnet_id(azure_emulator), address))
        with pytest.raises(HttpResponseError) as refused:
            network_client.network_interfaces.begin_create_or_update(RG, "node-2-nic", nic).result()
        assert refused.value.status_code == 400 and refused.value.error.code == code, address
        assert words in refused.value.error.message
    assert [c.name for c in network_client.network_interfaces.get(RG, "node-2-nic").ip_configurations] == ["ipconfig1"]


def test_exactly_one_primary(azure_emulator, network_client):
    nic = network_client.network_interfaces.get(RG, "node-0-nic")
    nic.ip_configurations.append(secondary("second", subnet_id(azure_emulator), primary=True))
    with pytest.raises(HttpResponseError) as two:
        network_client.network_interfaces.begin_create_or_update(RG, "node-0-nic", nic).result()
    assert two.value.error.code == "OnlyOnePrimaryIpConfigurationAllowed"

    nic = network_client.network_interfaces.get(RG, "node-0-nic")
    nic.ip_configurations[0].primary = False
    nic.ip_configurations.append(secondary("second", subnet_id(azure_emulator), primary=False))
    with pytest.raises(HttpResponseError) as none:
        network_client.network_interfaces.begin_create_or_update(RG, "node-0-nic", nic).result()
    assert none.value.error.code == "PrimaryIpConfigurationRequired"

    # No flag at all: the first configuration is the primary one.
    nic = network_client.network_interfaces.get(RG, "node-0-nic")
    nic.ip_configurations[0].primary = None
    nic.ip_configurations.append(secondary("second", subnet_id(azure_emulator), primary=None))
    written = network_client.network_interfaces.begin_create_or_update(RG, "node-0-nic", nic).result()
    assert [(c.name, c.primary) for c in written.ip_configurations] == [("ipconfig1", True), ("second", False)]


def test_a_subnet_that_runs_out_answers_subnet_is_full(azure_emulator, network_client):
    # A /29 holds 8 addresses: .0-.3 and .7 are Azure's, .4-.6 can be given out.
    network_client.virtual_networks.begin_create_or_update(
        RG,
        "vnet-small",
        VirtualNetwork(location="westeurope", address_space=AddressSpace(address_prefixes=["192.168.7.0/24"]),
                       subnets=[Subnet(name="tiny", address_prefix="192.168.7.0/29")]),
    ).result()
    tiny = subnet_id(azure_emulator, "vnet-small", "tiny")
    configs = [NetworkInterfaceIPConfiguration(name="ipconfig1", subnet=Subnet(id=tiny), primary=True)]
    configs += [secondary(f"ipconfig-pod-{i:02d}", tiny) for i in (1, 2)]
    nic = network_client.network_interfaces.begin_create_or_update(
        RG, "small-nic", NetworkInterface(location="westeurope", ip_configurations=configs)
    ).result()
    assert [c.private_ip_address for c in nic.ip_configurations] == ["192.168.7.4", "192.168.7.5", "192.168.7.6"]

    nic.ip_configurations.append(secondary("ipconfig-pod-03", tiny))
    with pytest.raises(HttpResponseError) as full:
        network_client.network_interfaces.begin_create_or_update(RG, "small-nic", nic).result()
    assert full.value.status_code == 400 and full.value.error.code == "SubnetIsFull"
    assert full.value.error.message == (
        "Subnet tiny with address prefix 192.168.7.0/29 does not have enough capacity for 1 IP addresses."
    )
    stored = network_client.network_interfaces.get(RG, "small-nic")
    assert len(stored.ip_configurations) == 3, "a refused PUT changes nothing"
    assert back_references(network_client, "vnet-small", "tiny") == ["ipconfig-pod-01", "ipconfig-pod-02", "ipconfig1"]
