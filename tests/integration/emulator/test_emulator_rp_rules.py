"""The Network RP's input rules, as the stand-in answers them over HTTP."""

from __future__ import annotations

import pytest


def _table(*routes):
    return {"location": "westeurope", "properties": {"routes": [
        {"name": name, "properties": props} for name, props in routes]}}


VA = {"addressPrefix": "10.244.0.0/24", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.240.0.4"}


@pytest.mark.parametrize(
    "routes, code",
    [
        ([("a", VA), ("b", {**VA, "nextHopIpAddress": "10.240.0.5"})], "RouteConflict"),
        ([("a", {"addressPrefix": "10.244.0.0/24", "nextHopType": "VirtualAppliance"})], "MissingNextHopIpAddress"),
        ([("a", {**VA, "nextHopIpAddress": "10.240.0.999"})], "InvalidRouteNextHopIpAddress"),
        ([("a", {"addressPrefix": "10.244.0.0/24", "nextHopType": "Internet", "nextHopIpAddress": "10.240.0.4"})], "NextHopIpAddressNotAllowed"),
        ([("a", {**VA, "addressPrefix": "10.244.0.0/33"})], "InvalidAddressPrefixFormat"),
        ([("a", {**VA, "addressPrefix": "10.244.0.1/24"})], "InvalidAddressPrefixFormat"),
        ([("a", {**VA, "nextHopType": "Router"})], "InvalidRequestFormat"),
        ([("-a", VA)], "InvalidResourceName"),
        ([("a.", VA)], "InvalidResourceName"),
        ([("a" * 81, VA)], "InvalidResourceName"),
        ([("a", VA), ("A", {**VA, "addressPrefix": "10.244.1.0/24"})], "DuplicateResourceName"),
    ],
)
def test_invalid_route_tables_are_refused_with_the_rp_code(arm, routes, code):
    answer = arm.put(arm.net_path("routeTables/rt"), _table(*routes))
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == code
    assert arm.get(arm.net_path("routeTables/rt")).status_code == 404  # nothing was stored


def test_route_conflict_message_names_both_routes(arm):
    answer = arm.put(arm.net_path("routeTables/rt"), _table(("node-0", VA), ("node-1", VA)))
    assert answer.json()["error"]["message"] == (
        "Route: node-1 conflicts with Route: node-0. Routes cannot have the same AddressPrefix."
    )


def test_valid_names_and_service_tag_prefixes_are_accepted(arm):
    name = "A" + "b" * 78 + "_"
    answer = arm.put(arm.net_path(f"routeTables/{name}"), _table(
        ("node_0.x-y_", VA),
        ("to-storage", {"addressPrefix": "Storage.WestEurope", "nextHopType": "Internet"}),
        ("v6", {"addressPrefix": "fd00:10:244::/64", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "fd00::4"}),
    ))
    assert answer.status_code == 201, answer.text


def test_route_limit_is_400_per_table(arm):
    routes = [(f"r{i}", {"addressPrefix": f"10.{i // 256}.{i % 256}.0/24", "nextHopType": "None"}) for i in range(400)]
    assert arm.put(arm.net_path("routeTables/rt"), _table(*routes)).status_code == 201
    over = arm.put(arm.net_path("routeTables/rt/routes/r400"), {"properties": {"addressPrefix": "10.200.0.0/24", "nextHopType": "None"}})
    assert over.status_code == 400 and over.json()["error"]["code"] == "RouteTableRouteLimitReached"
    assert len(arm.get(arm.net_path("routeTables/rt")).json()["properties"]["routes"]) == 400


def test_child_route_conflicting_with_a_sibling(arm):
    arm.put(arm.net_path("routeTables/rt"), _table(("a", VA)))
    clash = arm.put(arm.net_path("routeTables/rt/routes/b"), {"properties": VA})
    assert clash.status_code == 400 and clash.json()["error"]["code"] == "RouteConflict"


def test_child_of_a_missing_parent(arm):
    answer = arm.put(arm.net_path("routeTables/missing/routes/a"), {"properties": VA})
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "ParentResourceNotFound"
    assert arm.get(arm.net_path("routeTables/missing")).json()["error"]["code"] == "ResourceNotFound"


def test_subnet_rules(arm):
    subnets = arm.net_path("virtualNetworks/vnet-k8s/subnets")
    outside = arm.put(f"{subnets}/x", {"properties": {"addressPrefix": "192.168.0.0/24"}})
    assert outside.json()["error"]["code"] == "NetcfgSubnetRangeOutsideVnet"
    overlap = arm.put(f"{subnets}/x", {"properties": {"addressPrefix": "10.240.1.0/24"}})
    assert overlap.json()["error"]["code"] == "NetcfgSubnetRangesOverlap"
    missing_rt = arm.put(f"{subnets}/x", {"properties": {"addressPrefix": "10.1.0.0/24",
                                                         "routeTable": {"id": arm.net_path("routeTables/nope")}}})
    assert missing_rt.json()["error"]["code"] == "InvalidResourceReference"
    in_use = arm.delete(f"{subnets}/nodes")
    assert in_use.status_code == 400 and in_use.json()["error"]["code"] == "InUseSubnetCannotBeDeleted"


def test_route_table_in_another_region_cannot_be_associated(arm):
    rt_id = arm.put(arm.net_path("routeTables/rt-us"), {"location": "eastus"}).json()["id"]
    answer = arm.put(arm.net_path("virtualNetworks/vnet-k8s/subnets/x"),
                     {"properties": {"addressPrefix": "10.1.0.0/24", "routeTable": {"id": rt_id}}})
    assert answer.json()["error"]["code"] == "InvalidResourceReference"


def test_vnet_put_without_a_used_subnet_is_refused(arm):
    vnet = arm.get(arm.net_path("virtualNetworks/vnet-k8s")).json()
    vnet["properties"]["subnets"] = []
    answer = arm.put(arm.net_path("virtualNetworks/vnet-k8s"), vnet)
    assert answer.json()["error"]["code"] == "InUseSubnetCannotBeDeleted"


def test_attached_nic_cannot_be_deleted(arm):
    answer = arm.delete(arm.net_path("networkInterfaces/node-0-nic"))
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "NicInUse"


def test_api_version_is_required(arm):
    answer = arm.session.get(f"{arm.emu.base_url}{arm.net_path('routeTables')}", verify=arm.emu.ca_file)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "MissingApiVersionParameter"


def test_location_is_required(arm):
    answer = arm.put(arm.net_path("routeTables/rt"), {"properties": {}})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "LocationRequired"
