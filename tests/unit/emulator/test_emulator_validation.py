"""The Network RP rules as pure functions (no server)."""

from __future__ import annotations

import pytest

from azure_emulator.arm.errors import ArmError
from azure_emulator.validation import check_name, check_route, check_route_set

RID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/routeTables/rt/routes/r"


def _code(fn, *args) -> str | None:
    try:
        fn(*args)
    except ArmError as exc:
        return exc.code
    return None


@pytest.mark.parametrize("name", ["a", "A1", "node-0", "node_0.k8s", "x_", "a" * 80, "9lives"])
def test_valid_names(name):
    assert _code(check_name, name) is None


@pytest.mark.parametrize("name", ["", "-a", "_a", ".a", "a.", "a-", "a" * 81, "a b", "a/b", "ä"])
def test_invalid_names(name):
    assert _code(check_name, name) == "InvalidResourceName"


def _route(**props):
    return {"name": "r", "properties": props}


@pytest.mark.parametrize(
    "props, code",
    [
        ({"addressPrefix": "10.0.0.0/24", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.1.0.4"}, None),
        ({"addressPrefix": "fd00::/64", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "fd00::4"}, None),
        ({"addressPrefix": "0.0.0.0/0", "nextHopType": "Internet"}, None),
        ({"addressPrefix": "AzureCloud.westeurope", "nextHopType": "Internet"}, None),
        ({"addressPrefix": "10.0.0.0/24", "nextHopType": "VirtualAppliance"}, "MissingNextHopIpAddress"),
        ({"addressPrefix": "10.0.0.0/24", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.1.0"}, "InvalidRouteNextHopIpAddress"),
        ({"addressPrefix": "10.0.0.0/24", "nextHopType": "VnetLocal", "nextHopIpAddress": "10.1.0.4"}, "NextHopIpAddressNotAllowed"),
        ({"addressPrefix": "10.0.0.0", "nextHopType": "None"}, "InvalidAddressPrefixFormat"),
        ({"addressPrefix": "10.0.0.5/24", "nextHopType": "None"}, "InvalidAddressPrefixFormat"),
        ({"addressPrefix": "300.0.0.0/8", "nextHopType": "None"}, "InvalidAddressPrefixFormat"),
        ({"addressPrefix": "10.0.0.0/24", "nextHopType": "virtualappliance", "nextHopIpAddress": "10.1.0.4"}, "InvalidRequestFormat"),
        ({"nextHopType": "None"}, "MissingRouteAddressPrefix"),
    ],
)
def test_route_rules(props, code):
    assert _code(check_route, _route(**props), RID) == code


def test_route_set_conflicts_compare_normalised_prefixes():
    routes = [
        {"name": "a", "properties": {"addressPrefix": "FD00:0:0:1::/64"}},
        {"name": "b", "properties": {"addressPrefix": "fd00:0:0:1::/64"}},
    ]
    with pytest.raises(ArmError) as excinfo:
        check_route_set(routes, "rt")
    assert excinfo.value.code == "RouteConflict"
    assert excinfo.value.message == "Route: b conflicts with Route: a. Routes cannot have the same AddressPrefix."


def test_route_set_limit_is_400():
    routes = [{"name": f"r{i}", "properties": {"addressPrefix": f"10.{i // 256}.{i % 256}.0/24"}} for i in range(401)]
    assert _code(check_route_set, routes[:400], "rt") is None
    assert _code(check_route_set, routes, "rt") == "RouteTableRouteLimitReached"
