"""The real azure-mgmt-network / azure-mgmt-compute clients against the stand-in, over verified TLS."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.network.models import Route, RouteTable, Subnet

RG = "rg-k8s"


def _route(name, prefix, ip):
    return Route(name=name, address_prefix=prefix, next_hop_type="VirtualAppliance", next_hop_ip_address=ip)


def test_route_table_created_through_a_full_lro(azure_emulator, network_client):
    azure_emulator.set_latency(lro_in_progress_polls=1)  # the status URL says InProgress once, then Succeeded
    poller = network_client.route_tables.begin_create_or_update(
        RG, "rt-calico", RouteTable(location="westeurope", routes=[_route("node-0", "10.244.0.0/24", "10.240.0.4")])
    )
    table = poller.result()

    assert table.provisioning_state == "Succeeded"
    assert [r.name for r in table.routes] == ["node-0"]
    assert table.etag.startswith('W/"')
    log = [(r["method"], r["kind"], r["status"]) for r in azure_emulator.requests() if r["kind"] in ("arm", "lro_poll")]
    # PUT 201, two status polls (InProgress, Succeeded), then the final GET ARMPolling does for a PUT.
    assert log == [("PUT", "arm", 201), ("GET", "lro_poll", 200), ("GET", "lro_poll", 200), ("GET", "arm", 200)]
    counts = azure_emulator.counts()
    assert (counts["writes"], counts["reads"], counts["lro_polls"]) == (1, 1, 2)
    assert counts["by_type"] == {"Microsoft.Network/routeTables": 2}


def test_put_answer_is_updating_until_the_operation_is_due(azure_emulator, arm):
    azure_emulator.set_latency(lro_in_progress_polls=1)
    path = arm.net_path("routeTables/rt-a")
    created = arm.put(path, {"location": "westeurope", "properties": {"routes": []}})
    assert created.status_code == 201
    assert created.json()["properties"]["provisioningState"] == "Updating"
    assert created.headers["Retry-After"].isdigit()
    status_url = created.headers["Azure-AsyncOperation"]
    assert arm.get(path).json()["properties"]["provisioningState"] == "Updating"
    assert arm.get_url(status_url).json() == {"status": "InProgress"}
    assert arm.get_url(status_url).json() == {"status": "Succeeded"}
    assert arm.get(path).json()["properties"]["provisioningState"] == "Succeeded"
    updated = arm.put(path, {"location": "westeurope", "properties": {"routes": []}})
    assert updated.status_code == 200


def test_failed_lro_surfaces_the_error_code(azure_emulator, network_client):
    azure_emulator.fail_next_lro(code="InternalServerError", message="Simulated failure of the route table write.")
    with pytest.raises(HttpResponseError) as excinfo:
        network_client.route_tables.begin_create_or_update(RG, "rt-fail", RouteTable(location="westeurope")).result()
    assert "Simulated failure" in str(excinfo.value)
    table = azure_emulator.get_resource(f"/subscriptions/{azure_emulator.subscription_id}/resourceGroups/{RG}/providers/Microsoft.Network/routeTables/rt-fail")
    assert table["properties"]["provisioningState"] == "Failed"


def test_table_put_replaces_route_set_and_child_routes_update_the_parent(network_client):
    routes = network_client.routes
    tables = network_client.route_tables
    first = tables.begin_create_or_update(RG, "rt", RouteTable(location="westeurope", routes=[
        _route("a", "10.244.0.0/24", "10.240.0.4"), _route("b", "10.244.1.0/24", "10.240.0.5")])).result()
    routes.begin_create_or_update(RG, "rt", "c", _route("c", "10.244.2.0/24", "10.240.0.6")).result()
    after_child = tables.get(RG, "rt")
    assert sorted(r.name for r in after_child.routes) == ["a", "b", "c"]
    assert after_child.etag != first.etag
    assert {r.etag for r in after_child.routes} == {after_child.etag}

    replaced = tables.begin_create_or_update(RG, "rt", RouteTable(location="westeurope", routes=[
        _route("c", "10.244.2.0/24", "10.240.0.6")])).result()
    assert [r.name for r in replaced.routes] == ["c"]

    routes.begin_delete(RG, "rt", "c").result()
    assert tables.get(RG, "rt").routes == []
    with pytest.raises(ResourceNotFoundError):
        routes.get(RG, "rt", "c")


def test_subnet_association_is_kept_in_sync_on_both_sides(azure_emulator, network_client):
    table = network_client.route_tables.begin_create_or_update(RG, "rt", RouteTable(location="westeurope")).result()
    subnet = network_client.subnets.get(RG, "vnet-k8s", "nodes")
    nsg_before = subnet.network_security_group.id
    endpoints_before = [e.service for e in subnet.service_endpoints]
    subnet.route_table = RouteTable(id=table.id)
    network_client.subnets.begin_create_or_update(RG, "vnet-k8s", "nodes", subnet).result()

    table_after = network_client.route_tables.get(RG, "rt")
    assert [s.id.lower() for s in table_after.subnets] == [subnet.id.lower()]
    assert table_after.etag != table.etag  # the back-reference changed the table
    subnet_after = network_client.subnets.get(RG, "vnet-k8s", "nodes")
    assert subnet_after.network_security_group.id == nsg_before
    assert [e.service for e in subnet_after.service_endpoints] == endpoints_before
    assert len(subnet_after.ip_configurations) == 3  # the three node NICs

    with pytest.raises(HttpResponseError) as excinfo:
        network_client.route_tables.begin_delete(RG, "rt").result()
    assert excinfo.value.error.code == "InUseRouteTableCannotBeDeleted"

    subnet_after.route_table = None
    network_client.subnets.begin_create_or_update(RG, "vnet-k8s", "nodes", subnet_after).result()
    assert not network_client.route_tables.get(RG, "rt").subnets
    network_client.route_tables.begin_delete(RG, "rt").result()
    with pytest.raises(ResourceNotFoundError):
        network_client.route_tables.get(RG, "rt")


def test_subnet_create_via_child_api(network_client):
    created = network_client.subnets.begin_create_or_update(
        RG, "vnet-k8s", "extra", Subnet(address_prefix="10.241.0.0/24")
    ).result()
    assert created.provisioning_state == "Succeeded"
    vnet = network_client.virtual_networks.get(RG, "vnet-k8s")
    assert sorted(s.name for s in vnet.subnets) == ["extra", "nodes"]


def test_nic_put_keeps_everything_it_was_sent(azure_emulator, network_client):
    nic = network_client.network_interfaces.get(RG, "node-0-nic")
    before = azure_emulator.get_resource(nic.id)
    nic.enable_ip_forwarding = True
    result = network_client.network_interfaces.begin_create_or_update(RG, "node-0-nic", nic).result()
    assert result.enable_ip_forwarding is True
    after = azure_emulator.get_resource(nic.id)
    for doc in (before, after):
        doc.pop("etag")
        for ipc in doc["properties"]["ipConfigurations"]:
            ipc.pop("etag")
    before["properties"]["enableIPForwarding"] = True
    assert after == before


def test_lists_page_with_next_link(azure_emulator, network_client):
    azure_emulator.set_page_size(2)
    names = [nic.name for nic in network_client.network_interfaces.list(RG)]
    assert names == ["node-0-nic", "node-1-nic", "node-2-nic"]
    assert azure_emulator.counts()["by_type"]["Microsoft.Network/networkInterfaces"] == 2  # two pages
    assert len(list(network_client.network_interfaces.list_all())) == 3


def test_vm_network_profile_names_the_primary_nic(azure_emulator, compute_client, network_client):
    vm = compute_client.virtual_machines.get(RG, "node-1")
    assert [n.id.rsplit("/", 1)[-1] for n in vm.network_profile.network_interfaces] == ["node-1-nic"]
    assert vm.network_profile.network_interfaces[0].primary is True
    nic = network_client.network_interfaces.get(RG, "node-1-nic")
    assert nic.virtual_machine.id.lower() == vm.id.lower()
    assert nic.primary is True and nic.mac_address
    assert sorted(v.name for v in compute_client.virtual_machines.list(RG)) == ["node-0", "node-1", "node-2"]


def test_delete_answers_202_then_204_when_absent(arm):
    path = arm.net_path("routeTables/rt-del")
    arm.put(path, {"location": "westeurope"})
    first = arm.delete(path)
    assert first.status_code == 202
    assert "Azure-AsyncOperation" in first.headers and "Location" in first.headers
    assert arm.get_url(first.headers["Azure-AsyncOperation"]).json()["status"] == "Succeeded"
    assert arm.get(path).status_code == 404
    assert arm.delete(path).status_code == 204


def test_ids_are_case_insensitive(arm):
    arm.put(arm.net_path("routeTables/Rt-Case"), {"location": "West Europe"})
    got = arm.get(arm.net_path("ROUTETABLES/rt-case").replace("rg-k8s", "RG-K8S"))
    assert got.status_code == 200
    assert got.json()["name"] == "Rt-Case"
    assert got.json()["location"] == "westeurope"


def test_resource_groups(arm, azure_emulator):
    sub = f"/subscriptions/{azure_emulator.subscription_id}"
    assert arm.get(f"{sub}/resourcegroups/rg-k8s", api_version="2021-04-01").json()["location"] == "westeurope"
    assert arm.put(f"{sub}/resourcegroups/rg-new", {"location": "northeurope"}, api_version="2021-04-01").status_code == 201
    names = [g["name"] for g in arm.get(f"{sub}/resourcegroups", api_version="2021-04-01").json()["value"]]
    assert names == ["rg-k8s", "rg-new"]
    missing = arm.get(f"{sub}/resourcegroups/nope", api_version="2021-04-01")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ResourceGroupNotFound"
    in_missing_rg = arm.put(arm.net_path("routeTables/x", rg="nope"), {"location": "westeurope"})
    assert in_missing_rg.status_code == 404 and in_missing_rg.json()["error"]["code"] == "ResourceGroupNotFound"


def test_effective_routes_show_user_routes(network_client):
    table = network_client.route_tables.begin_create_or_update(RG, "rt", RouteTable(location="westeurope", routes=[
        _route("node-1", "10.244.1.0/24", "10.240.0.5")])).result()
    subnet = network_client.subnets.get(RG, "vnet-k8s", "nodes")
    subnet.route_table = RouteTable(id=table.id)
    network_client.subnets.begin_create_or_update(RG, "vnet-k8s", "nodes", subnet).result()
    effective = network_client.network_interfaces.begin_get_effective_route_table(RG, "node-0-nic").result()
    user = [r for r in effective.value if r.source == "User"]
    assert [(r.address_prefix, r.next_hop_ip_address, r.next_hop_type) for r in user] == [
        (["10.244.1.0/24"], ["10.240.0.5"], "VirtualAppliance")
    ]


def test_resource_group_delete_removes_its_contents(arm, azure_emulator):
    sub = f"/subscriptions/{azure_emulator.subscription_id}"
    arm.put(f"{sub}/resourcegroups/rg-temp", {"location": "westeurope"}, api_version="2021-04-01")
    table = arm.put(arm.net_path("routeTables/rt", rg="rg-temp"), {"location": "westeurope"}).json()
    deleting = arm.delete(f"{sub}/resourcegroups/rg-temp", api_version="2021-04-01")
    assert deleting.status_code == 202 and "Location" in deleting.headers
    assert arm.get_url(deleting.headers["Location"]).status_code in (200, 204)
    assert azure_emulator.get_resource(table["id"]) is None
    assert arm.get(f"{sub}/resourcegroups/rg-temp", api_version="2021-04-01").status_code == 404


def test_reset_without_a_seed_restores_the_start_seed(azure_emulator):
    nic_id = f"/subscriptions/{azure_emulator.subscription_id}/resourceGroups/{RG}/providers/Microsoft.Network/networkInterfaces/node-0-nic"
    azure_emulator.reset({})
    assert azure_emulator.get_resource(nic_id) is None
    azure_emulator.reset()
    assert azure_emulator.get_resource(nic_id)["properties"]["enableIPForwarding"] is False
