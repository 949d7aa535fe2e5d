"""Seeds expand to the ARM documents real resources have (no server: the core only)."""

from __future__ import annotations

import pytest

from azure_emulator.arm.errors import ArmError
from azure_emulator.core import EmulatorCore

SUB_ID = "11111111-1111-4111-8111-111111111111"
SUB = f"/subscriptions/{SUB_ID}"
NODES = {"virtual_network": "vnet", "name": "nodes", "resource_group": "rg-net"}
FULL = {
    "subscription_id": SUB_ID,
    "resource_groups": [{"name": "rg-net", "location": "westeurope"}, {"name": "rg-vms", "location": "westeurope"}],
    "network_security_groups": [{"name": "nsg-nodes", "resource_group": "rg-net"}],
    "public_ip_addresses": [{"name": "pip-0", "resource_group": "rg-vms"}],
    "application_security_groups": [{"name": "asg-nodes", "resource_group": "rg-vms"}],
    "nat_gateways": [{"name": "natgw", "resource_group": "rg-net"}],
    "load_balancers": [{"name": "lb", "resource_group": "rg-vms", "backend_pools": ["pool"]}],
    "route_tables": [{"name": "rt", "resource_group": "rg-net", "routes": [
        {"name": "r1", "address_prefix": "10.244.0.0/24", "next_hop_ip": "10.240.0.4"}]}],
    "virtual_networks": [{
        "name": "vnet", "resource_group": "rg-net", "address_prefixes": ["10.0.0.0/8", "fd00::/48"],
        "subnets": [
            {"name": "nodes", "address_prefixes": ["10.240.0.0/16", "fd00:0:0:1::/64"], "network_security_group": "nsg-nodes",
             "route_table": "rt", "nat_gateway": "natgw", "service_endpoints": ["Microsoft.Storage"]},
            {"name": "aci", "address_prefix": "10.241.0.0/24", "delegations": ["Microsoft.ContainerInstance/containerGroups"]},
        ],
    }],
    "virtual_machines": [{
        "name": "node-0", "resource_group": "rg-vms", "zones": ["1"],
        "nics": [{
            "name": "node-0-nic", "enable_ip_forwarding": True, "accelerated_networking": True,
            "network_security_group": f"{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/networkSecurityGroups/nsg-nodes",
            "dns_servers": ["10.0.0.10"], "tags": {"role": "node"},
            "ip_configurations": [
                {"name": "v4", "subnet": NODES, "private_ip": "10.240.0.4", "public_ip": "pip-0",
                 "load_balancer_backend_pools": ["lb/pool"], "application_security_groups": ["asg-nodes"]},
                {"name": "v6", "subnet": NODES, "private_ip": "fd00:0:0:1::4", "primary": False},
            ],
        }, {"name": "node-0-nic2", "primary": False, "subnet": NODES}],
    }],
}


def test_full_seed_gives_nics_everything_a_real_nic_carries():
    core = EmulatorCore(FULL)
    nic = core.get_resource(f"{SUB}/resourceGroups/rg-vms/providers/Microsoft.Network/networkInterfaces/node-0-nic")
    props = nic["properties"]
    assert props["enableIPForwarding"] is True and props["enableAcceleratedNetworking"] is True
    assert props["networkSecurityGroup"]["id"].endswith("/networkSecurityGroups/nsg-nodes")
    assert props["dnsSettings"]["dnsServers"] == ["10.0.0.10"] and nic["tags"] == {"role": "node"}
    assert props["virtualMachine"]["id"].endswith("/virtualMachines/node-0") and props["primary"] is True
    assert props["macAddress"]
    v4, v6 = props["ipConfigurations"]
    assert v4["properties"]["privateIPAddress"] == "10.240.0.4" and v4["properties"]["primary"] is True
    assert v4["properties"]["publicIPAddress"]["id"].endswith("/publicIPAddresses/pip-0")
    assert v4["properties"]["loadBalancerBackendAddressPools"][0]["id"].endswith("/loadBalancers/lb/backendAddressPools/pool")
    assert v4["properties"]["applicationSecurityGroups"][0]["id"].endswith("/applicationSecurityGroups/asg-nodes")
    assert v6["properties"]["privateIPAddressVersion"] == "IPv6" and v6["properties"]["primary"] is False
    second = core.get_resource(f"{SUB}/resourceGroups/rg-vms/providers/Microsoft.Network/networkInterfaces/node-0-nic2")
    assert second["properties"]["primary"] is False
    assert second["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"] == "10.240.0.5"  # allocated

    subnet = core.get_resource(f"{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/nodes")
    assert subnet["properties"]["routeTable"]["id"].endswith("/routeTables/rt")
    assert subnet["properties"]["natGateway"]["id"].endswith("/natGateways/natgw")
    assert subnet["properties"]["serviceEndpoints"][0]["service"] == "Microsoft.Storage"
    assert len(subnet["properties"]["ipConfigurations"]) == 3
    aci = core.get_resource(f"{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aci")
    assert aci["properties"]["delegations"][0]["properties"]["serviceName"] == "Microsoft.ContainerInstance/containerGroups"
    table = core.get_resource(f"{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/routeTables/rt")
    assert [s["id"] for s in table["properties"]["subnets"]] == [subnet["id"]]
    vm = core.get_resource(f"{SUB}/resourceGroups/rg-vms/providers/Microsoft.Compute/virtualMachines/node-0")
    assert [n["properties"]["primary"] for n in vm["properties"]["networkProfile"]["networkInterfaces"]] == [True, False]
    assert vm["etag"] == '"1"' and vm["zones"] == ["1"]


@pytest.mark.parametrize("name", ["default.yml", "demo.yml"])
def test_shipped_seeds_load(name):
    core = EmulatorCore(name)
    rg = f"/subscriptions/{core.identity['subscription_id']}/resourceGroups/rg-k8s"
    for index in range(3):
        nic = core.get_resource(f"{rg}/providers/Microsoft.Network/networkInterfaces/node-{index}-nic")
        assert nic["properties"]["enableIPForwarding"] is False
        assert nic["properties"]["virtualMachine"]["id"].endswith(f"/virtualMachines/node-{index}")
    subnet = core.get_resource(f"{rg}/providers/Microsoft.Network/virtualNetworks/vnet-k8s/subnets/nodes")
    assert subnet["properties"]["networkSecurityGroup"] and subnet["properties"]["serviceEndpoints"]


def test_a_seed_azure_would_refuse_fails_to_load():
    bad = {"resource_groups": [{"name": "rg"}], "route_tables": [{"name": "rt", "resource_group": "rg", "routes": [
        {"name": "a", "address_prefix": "10.0.0.0/24", "next_hop_type": "VirtualAppliance"}]}]}
    with pytest.raises(ArmError) as excinfo:
        EmulatorCore(bad)
    assert excinfo.value.code == "MissingNextHopIpAddress"


def test_reset_forgets_state_and_settings():
    core = EmulatorCore("default.yml")
    nic_id = f"/subscriptions/{core.identity['subscription_id']}/resourceGroups/rg-k8s/providers/Microsoft.Network/networkInterfaces/node-0-nic"
    core.mutate(nic_id, {"properties": {"enableIPForwarding": True}})
    core.set_latency(request_ms=5, lro_seconds=2)
    core.inject_faults(3)
    core.reset("default.yml")
    assert core.get_resource(nic_id)["properties"]["enableIPForwarding"] is False
    assert (core.settings.request_ms, core.settings.lro_seconds, core.faults) == (0.0, 0.0, [])
