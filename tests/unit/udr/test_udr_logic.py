"""Data-table tests of the route table's pure logic (no SDK, no Ansible)."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.calico.azure.plugins.module_utils._udr import logic
from ansible_collections.calico.azure.plugins.module_utils._udr.logic import RouteSpec

RT_ID = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/routeTables/rt"
OTHER_RT_ID = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/routeTables/other"


def arm_route(name, prefix, hop_type="VirtualAppliance", hop_ip=None, **extra_props):
    props = {"addressPrefix": prefix, "nextHopType": hop_type, "provisioningState": "Succeeded"}
    if hop_ip:
        props["nextHopIpAddress"] = hop_ip
    props.update(extra_props)
    return {"name": name, "id": RT_ID + "/routes/" + name, "etag": 'W/"1"', "properties": props}


def va(name, prefix, hop):
    return RouteSpec(name, prefix, "VirtualAppliance", hop)


# --------------------------------------------------------------------------- naming


@pytest.mark.parametrize(
    "node, cidr, dual_stack, expected",
    [
        ("node-1", "10.244.1.0/24", False, "node-1"),
        ("node-1", None, False, "node-1"),
        ("node-1", "10.244.1.0/24", True, "node-1____102441024"),
        ("node-1", "fd00:10:244:1::/64", True, "node-1____fd0010244164"),
        ("aks-pool-0", "2001:db8::/112", True, "aks-pool-0____2001db8112"),
    ],
)
def test_cloud_provider_route_name(node, cidr, dual_stack, expected):
    assert logic.cloud_provider_route_name(node, cidr, dual_stack) == expected


@pytest.mark.parametrize(
    "route_name, node",
    [("node-1", "node-1"), ("node-1____102441024", "node-1"), ("node-1____fd0010244164", "node-1")],
)
def test_node_name_from_route_name(route_name, node):
    assert logic.node_name_from_route_name(route_name) == node


def test_dual_stack_name_needs_cidr():
    with pytest.raises(ValueError):
        logic.cloud_provider_route_name("node-1", None, True)


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("", "is empty"),
        ("a" * 81, "81 characters long"),
        ("-rt", "not a valid Azure name"),
        ("_rt", "not a valid Azure name"),
        ("rt-", "not a valid Azure name"),
        ("rt.", "not a valid Azure name"),
        ("rt table", "not a valid Azure name"),
        ("rt/1", "not a valid Azure name"),
    ],
)
def test_name_errors(name, fragment):
    errors = logic.name_errors("route table", name)
    assert errors and fragment in errors[0]


@pytest.mark.parametrize("name", ["a", "a" * 80, "rt_", "k8s.routes-1", "Node_01", "node-1____fd0010244164"])
def test_valid_names(name):
    assert logic.name_errors("route", name) == []


# --------------------------------------------------------------------------- parsing the routes option


@pytest.mark.parametrize(
    "raw, dual_stack, expected",
    [
        (
            {"name": "node-1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.0.0.4"},
            False,
            va("node-1", "10.244.1.0/24", "10.0.0.4"),
        ),
        (
            {"node": "node-1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.0.0.4"},
            False,
            va("node-1", "10.244.1.0/24", "10.0.0.4"),
        ),
        (
            {"node": "node-1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.0.0.4"},
            True,
            va("node-1____102441024", "10.244.1.0/24", "10.0.0.4"),
        ),
        (
            # IPv6 is normalised (compressed, lower case) before naming, as Kubernetes stores pod CIDRs.
            {"node": "node-1", "address_prefix": "FD00:10:244:1:0::/64", "next_hop_ip": "FD00::0004"},
            True,
            va("node-1____fd0010244164", "fd00:10:244:1::/64", "fd00::4"),
        ),
        (
            {"name": "blackhole", "address_prefix": "10.9.0.0/16", "next_hop_type": "none"},
            False,
            RouteSpec("blackhole", "10.9.0.0/16", "None", None),
        ),
        (
            {"name": "gw", "address_prefix": "0.0.0.0/0", "next_hop_type": "virtual_network_gateway"},
            False,
            RouteSpec("gw", "0.0.0.0/0", "VirtualNetworkGateway", None),
        ),
    ],
)
def test_parse_wanted_routes_valid(raw, dual_stack, expected):
    routes, errors = logic.parse_wanted_routes([raw], dual_stack)
    assert errors == []
    assert routes == [expected]


@pytest.mark.parametrize(
    "raw, message",
    [
        (
            {"name": "node-1", "address_prefix": "10.244.1.5/24", "next_hop_ip": "10.0.0.4"},
            "route 'node-1': address_prefix '10.244.1.5/24' has host bits set; use '10.244.1.0/24'",
        ),
        (
            {"name": "node-6", "address_prefix": "fd00:10:244:1::1/64", "next_hop_ip": "fd00::4"},
            "route 'node-6': address_prefix 'fd00:10:244:1::1/64' has host bits set; use 'fd00:10:244:1::/64'",
        ),
        (
            {"name": "node-1", "address_prefix": "10.244.1.0", "next_hop_ip": "10.0.0.4"},
            "address_prefix '10.244.1.0' is not a CIDR; write it with its prefix length, e.g. '10.244.1.0/32'",
        ),
        (
            {"name": "node-1", "address_prefix": "10.244.300.0/24", "next_hop_ip": "10.0.0.4"},
            "address_prefix '10.244.300.0/24' is not a valid IPv4 or IPv6 CIDR",
        ),
        ({"name": "node-1", "next_hop_ip": "10.0.0.4"}, "route 'node-1': address_prefix is required"),
        (
            {"name": "node-1", "address_prefix": "10.244.1.0/24"},
            "route 'node-1': next_hop_ip is required with next_hop_type VirtualAppliance",
        ),
        (
            {"name": "node-1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.0.0.999"},
            "route 'node-1': next_hop_ip '10.0.0.999' is not a valid IP address",
        ),
        (
            {"name": "node-1", "address_prefix": "fd00:10:244:1::/64", "next_hop_ip": "10.0.0.4"},
            "next_hop_ip 10.0.0.4 is IPv4 but address_prefix fd00:10:244:1::/64 is IPv6",
        ),
        (
            {"name": "node-1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.0.0.4", "next_hop_type": "Internet"},
            "next_hop_ip is only allowed with next_hop_type VirtualAppliance, not Internet",
        ),
        (
            {"name": "node-1", "address_prefix": "10.244.1.0/24", "next_hop_type": "Teleport"},
            "next_hop_type 'Teleport' is not one of VirtualAppliance",
        ),
        (
            {"name": "node 1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.0.0.4"},
            "route name 'node 1' is not a valid Azure name",
        ),
        (
            {"node": "n" * 70, "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.0.0.4"},
            None,  # single-stack name = node name, 70 characters: valid
        ),
        (
            {"name": "a", "node": "b", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.0.0.4"},
            "give either name or node, not both",
        ),
        ({"address_prefix": "10.244.1.0/24", "next_hop_ip": "10.0.0.4"}, "route #1: needs a name"),
    ],
)
def test_parse_wanted_routes_errors(raw, message):
    routes, errors = logic.parse_wanted_routes([raw])
    if message is None:
        assert errors == [] and len(routes) == 1
    else:
        assert any(message in e for e in errors), errors
        assert routes == []


def test_dual_stack_name_too_long_is_reported():
    raw = {"node": "n" * 70, "address_prefix": "fd00:10:244:1::/64", "next_hop_ip": "fd00::4"}
    errors = logic.parse_wanted_routes([raw], dual_stack_names=True)[1]
    assert any("n" * 70 + "____fd0010244164' is 86 characters long" in e for e in errors)


@pytest.mark.parametrize(
    "raws, message",
    [
        (
            [
                {"name": "node-1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.0.0.4"},
                {"name": "NODE-1", "address_prefix": "10.244.2.0/24", "next_hop_ip": "10.0.0.5"},
            ],
            "routes 'node-1' (10.244.1.0/24) and 'NODE-1' (10.244.2.0/24) have the same name",
        ),
        (
            [
                {"name": "node-1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.0.0.4"},
                {"name": "node-2", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.0.0.5"},
            ],
            "routes 'node-1' and 'node-2' have the same address_prefix 10.244.1.0/24",
        ),
        (
            [
                {"name": "a", "address_prefix": "fd00:10:244:1::/64", "next_hop_ip": "fd00::4"},
                {"name": "b", "address_prefix": "FD00:10:244:1:0:0::/64", "next_hop_ip": "fd00::5"},
            ],
            "routes 'a' and 'b' have the same address_prefix fd00:10:244:1::/64",
        ),
    ],
)
def test_duplicates_name_both(raws, message):
    errors = logic.parse_wanted_routes(raws)[1]
    assert any(message in e for e in errors), errors


def test_dual_stack_node_without_dual_stack_names_gets_a_hint():
    raws = [
        {"node": "node-1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.0.0.4"},
        {"node": "node-1", "address_prefix": "fd00:10:244:1::/64", "next_hop_ip": "fd00::4"},
    ]
    errors = logic.parse_wanted_routes(raws)[1]
    assert len(errors) == 1 and "set dual_stack_route_names: true" in errors[0]
    routes, errors = logic.parse_wanted_routes(raws, dual_stack_names=True)
    assert errors == [] and [r.name for r in routes] == ["node-1____102441024", "node-1____fd0010244164"]


def test_every_error_is_reported_not_just_the_first():
    raws = [
        {"name": "a", "address_prefix": "10.244.1.1/24", "next_hop_ip": "10.0.0.4"},
        {"name": "b", "address_prefix": "10.244.2.0/24"},
    ]
    errors = logic.parse_wanted_routes(raws)[1]
    assert len(errors) == 2


# --------------------------------------------------------------------------- overlap


@pytest.mark.parametrize(
    "routes, expected",
    [
        ([va("a", "10.244.1.0/24", "10.0.0.4"), va("b", "10.244.2.0/24", "10.0.0.5")], []),
        (
            [va("a", "10.244.0.0/16", "10.0.0.4"), va("b", "10.244.2.0/24", "10.0.0.5")],
            ["route 'b' (10.244.2.0/24) overlaps route 'a' (10.244.0.0/16)"],
        ),
        (
            [va("b", "10.244.2.0/25", "10.0.0.5"), va("a", "10.244.2.0/24", "10.0.0.4"), va("c", "10.244.3.0/24", "10.0.0.6")],
            ["route 'b' (10.244.2.0/25) overlaps route 'a' (10.244.2.0/24)"],
        ),
        (
            # the same numbers in different families never overlap
            [va("a", "10.244.1.0/24", "10.0.0.4"), va("b", "::a0f4:100/120", "fd00::4")],
            [],
        ),
        (
            [va("a", "fd00:10:244::/56", "fd00::4"), va("b", "fd00:10:244:1::/64", "fd00::5")],
            ["route 'b' (fd00:10:244:1::/64) overlaps route 'a' (fd00:10:244::/56)"],
        ),
    ],
)
def test_overlap_errors(routes, expected):
    errors = logic.overlap_errors(routes)
    assert len(errors) == len(expected)
    for fragment, error in zip(expected, errors):
        assert fragment in error


# --------------------------------------------------------------------------- purge scope


SCOPE_V4 = [ipaddress.ip_network("10.244.0.0/16")]
SCOPE_DUAL = [ipaddress.ip_network("10.244.0.0/16"), ipaddress.ip_network("fd00:10:244::/56")]


@pytest.mark.parametrize(
    "prefix, scope, expected",
    [
        ("10.244.1.0/24", SCOPE_V4, True),
        ("10.244.0.0/16", SCOPE_V4, True),
        ("10.0.0.0/8", SCOPE_V4, False),  # wider than the cluster CIDR: not ours
        ("0.0.0.0/0", SCOPE_V4, False),
        ("192.168.0.0/24", SCOPE_V4, False),
        ("AzureCloud", SCOPE_V4, False),  # service tag
        ("fd00:10:244:1::/64", SCOPE_V4, False),
        ("fd00:10:244:1::/64", SCOPE_DUAL, True),
        ("::/0", SCOPE_DUAL, False),
        ("10.244.1.0/24", [], False),
    ],
)
def test_in_scope(prefix, scope, expected):
    assert logic.in_scope(RouteSpec("r", prefix, "VirtualAppliance", "10.0.0.4"), scope) is expected


@pytest.mark.parametrize(
    "cidrs, networks, message",
    [
        (["10.244.0.0/16"], ["10.244.0.0/16"], None),
        (["10.244.0.0/16", "fd00:10:244::/56"], ["10.244.0.0/16", "fd00:10:244::/56"], None),
        (["10.244.0.1/16"], [], "cluster_cidr '10.244.0.1/16' has host bits set; use '10.244.0.0/16'"),
        (["0.0.0.0/0"], [], "covers every address"),
        (["::/0"], [], "covers every address"),
        (["pods"], [], "cluster_cidr 'pods' is not a valid IPv4 or IPv6 CIDR"),
        (None, [], None),
    ],
)
def test_parse_scope(cidrs, networks, message):
    parsed, errors = logic.parse_scope(cidrs)
    assert [str(n) for n in parsed] == networks
    if message:
        assert len(errors) == 1 and message in errors[0]
    else:
        assert errors == []


@pytest.mark.parametrize(
    "wanted, scope, expected_names",
    [
        ([va("a", "10.244.1.0/24", "10.0.0.4"), RouteSpec("fw", "0.0.0.0/0", "Internet")], [], ["a"]),
        ([va("a", "10.244.1.0/24", "10.0.0.4"), va("fw", "0.0.0.0/0", "10.0.9.4")], SCOPE_V4, ["a"]),
        ([va("a", "10.244.1.0/24", "10.0.0.4"), va("fw", "0.0.0.0/0", "10.0.9.4")], [], ["a", "fw"]),
    ],
)
def test_pod_routes(wanted, scope, expected_names):
    assert [r.name for r in logic.pod_routes(wanted, scope)] == expected_names


# --------------------------------------------------------------------------- desired route set


CURRENT = [
    arm_route("node-1", "10.244.1.0/24", hop_ip="10.0.0.4"),
    arm_route("node-2", "10.244.2.0/24", hop_ip="10.0.0.5"),
    arm_route("default", "0.0.0.0/0", hop_ip="10.0.9.4"),
    arm_route("peer", "192.168.0.0/16", "VirtualNetworkGateway"),
    arm_route("stale-node", "10.244.7.0/24", hop_ip="10.0.0.9"),
]


@pytest.mark.parametrize(
    "wanted, purge, scope, added, changed, removed, kept",
    [
        # unchanged: same routes, ARM case/notation differences do not count
        (
            [va("NODE-1", "10.244.1.0/24", "10.0.0.4"), va("node-2", "10.244.2.0/24", "10.0.0.5")],
            False, [], [], [], [], ["default", "peer", "stale-node"],
        ),
        # a new node, an IP change
        (
            [va("node-1", "10.244.1.0/24", "10.0.0.14"), va("node-3", "10.244.3.0/24", "10.0.0.6")],
            False, [], ["node-3"], ["node-1"], [], ["node-2", "default", "peer", "stale-node"],
        ),
        # purge inside the cluster CIDR only: default and peer survive
        (
            [va("node-1", "10.244.1.0/24", "10.0.0.4")],
            True, SCOPE_V4, [], [], ["node-2", "stale-node"], ["default", "peer"],
        ),
        # purge with an empty list still spares everything outside the scope
        ([], True, SCOPE_V4, [], [], ["node-1", "node-2", "stale-node"], ["default", "peer"]),
        # purge scoped to another range removes nothing
        (
            [va("node-1", "10.244.1.0/24", "10.0.0.4")],
            True, [ipaddress.ip_network("10.50.0.0/16")], [], [], [], ["node-2", "default", "peer", "stale-node"],
        ),
        # next hop type change counts as a change
        (
            [RouteSpec("default", "0.0.0.0/0", "Internet")],
            False, [], [], ["default"], [], ["node-1", "node-2", "peer", "stale-node"],
        ),
    ],
)
def test_plan_routes(wanted, purge, scope, added, changed, removed, kept):
    plan = logic.plan_routes(CURRENT, wanted, purge, scope)
    assert [r.name for r in plan.added] == added
    assert [after.name for _before, after in plan.changed] == changed
    assert [r.name for r in plan.removed] == removed
    assert [r.name for r in plan.kept] == kept
    assert plan.changes is bool(added or changed or removed)
    assert len(plan.routes) == len(CURRENT) + len(added) - len(removed)


def test_plan_routes_keeps_unmanaged_properties_and_order():
    current = [
        arm_route("default", "0.0.0.0/0", hop_ip="10.0.9.4", futureProperty={"x": 1}),
        arm_route("node-1", "10.244.1.0/24", hop_ip="10.0.0.4", futureProperty={"y": 2}),
    ]
    plan = logic.plan_routes(current, [va("node-1", "10.244.1.0/24", "10.0.0.14"), va("node-2", "10.244.2.0/24", "10.0.0.5")])
    assert [r["name"] for r in plan.routes] == ["default", "node-1", "node-2"]
    assert plan.routes[0] == current[0]
    assert plan.routes[1]["properties"]["futureProperty"] == {"y": 2}
    assert plan.routes[1]["properties"]["nextHopIpAddress"] == "10.0.0.14"
    assert plan.routes[2] == {
        "name": "node-2",
        "properties": {"addressPrefix": "10.244.2.0/24", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.0.0.5"},
    }
    # the input is not modified
    assert current[1]["properties"]["nextHopIpAddress"] == "10.0.0.4"


def test_plan_routes_ipv6_notation_is_not_a_change():
    current = [arm_route("node-1____fd0010244164", "FD00:10:244:1:0::/64", hop_ip="FD00:0::4")]
    plan = logic.plan_routes(current, [va("node-1____fd0010244164", "fd00:10:244:1::/64", "fd00::4")])
    assert not plan.changes


def test_plan_routes_ecmp_route_turned_plain_drops_next_hop():
    current = [arm_route("node-1", "10.244.1.0/24", "VirtualApplianceEcmp", nextHop={"ipAddresses": ["10.0.0.4"]})]
    plan = logic.plan_routes(current, [va("node-1", "10.244.1.0/24", "10.0.0.4")])
    props = plan.routes[0]["properties"]
    assert "nextHop" not in props and props["nextHopType"] == "VirtualAppliance"


def test_plan_routes_changed_to_type_without_ip_drops_ip():
    plan = logic.plan_routes([arm_route("x", "10.9.0.0/16", hop_ip="10.0.0.4")], [RouteSpec("x", "10.9.0.0/16", "None")])
    assert "nextHopIpAddress" not in plan.routes[0]["properties"]


# --------------------------------------------------------------------------- merged-table errors


def test_prefix_conflict_with_kept_route_names_both():
    current = [arm_route("kubernetes-route-10-244-1-0-24", "10.244.1.0/24", hop_ip="10.0.0.4")]
    wanted = [va("node-1", "10.244.1.0/24", "10.0.0.4")]
    plan = logic.plan_routes(current, wanted)
    errors = logic.result_errors("rt", plan, wanted)
    assert len(errors) == 1
    assert "route 'node-1' (10.244.1.0/24)" in errors[0] and "'kubernetes-route-10-244-1-0-24'" in errors[0]


def test_prefix_conflict_resolved_by_purge():
    current = [arm_route("kubernetes-route-10-244-1-0-24", "10.244.1.0/24", hop_ip="10.0.0.4")]
    wanted = [va("node-1", "10.244.1.0/24", "10.0.0.4")]
    plan = logic.plan_routes(current, wanted, True, SCOPE_V4)
    assert logic.result_errors("rt", plan, wanted) == []


def _nodes(count, start=0):
    return [va("node-%d" % i, "10.%d.%d.0/24" % (100 + i // 256, i % 256), "10.0.0.4") for i in range(start, start + count)]


@pytest.mark.parametrize(
    "wanted_count, kept_count, message",
    [
        (400, 0, None),
        (401, 0, "would hold 401 routes (401 from routes, 0 other routes kept in the table)"),
        (399, 1, None),
        (399, 2, "would hold 401 routes (399 from routes, 2 other routes kept in the table)"),
    ],
)
def test_route_limit_counts_kept_routes(wanted_count, kept_count, message):
    current = [arm_route("keep-%d" % i, "172.16.%d.0/24" % i, hop_ip="10.0.0.4") for i in range(kept_count)]
    wanted = _nodes(wanted_count)
    plan = logic.plan_routes(current, wanted)
    errors = logic.result_errors("rt", plan, wanted)
    if message is None:
        assert errors == []
    else:
        assert len(errors) == 1
        assert message in errors[0]
        assert "at most 400 routes" in errors[0] and "Azure CNI" in errors[0] and "overlay" in errors[0]


# --------------------------------------------------------------------------- VNet checks


VNET_JSON = {
    "id": "/subscriptions/sub/resourceGroups/net-rg/providers/Microsoft.Network/virtualNetworks/vnet",
    "name": "vnet",
    "properties": {
        "addressSpace": {"addressPrefixes": ["10.0.0.0/16", "10.244.0.0/16", "fd00::/48"]},
        "subnets": [
            {
                "name": "nodes",
                "id": "/subscriptions/sub/resourceGroups/net-rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/nodes",
                "properties": {"addressPrefixes": ["10.0.0.0/24", "fd00::/64"], "routeTable": {"id": RT_ID.upper()}},
            },
            {
                "name": "other",
                "id": "/subscriptions/sub/resourceGroups/net-rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/other",
                "properties": {"addressPrefix": "10.244.200.0/24", "routeTable": {"id": OTHER_RT_ID}},
            },
            {
                "name": "free",
                "id": "/subscriptions/sub/resourceGroups/net-rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/free",
                "properties": {"addressPrefix": "10.0.1.0/24"},
            },
        ],
    },
}


def test_vnet_from_arm():
    vnet = logic.vnet_from_arm(VNET_JSON)
    assert vnet.resource_group == "net-rg"
    assert [str(n) for n in vnet.address_space] == ["10.0.0.0/16", "10.244.0.0/16", "fd00::/48"]
    assert [str(p) for p in vnet.subnet("NODES").prefixes] == ["10.0.0.0/24", "fd00::/64"]
    assert vnet.subnet("free").route_table_id is None
    assert vnet.subnet("missing") is None


@pytest.mark.parametrize(
    "route, message",
    [
        (va("node-1", "10.244.1.0/24", "10.0.0.4"), None),
        (va("node-1____fd00164", "fd00:0:0:1::/64", "fd00::4"), None),
        (
            va("node-1", "10.245.1.0/24", "10.0.0.4"),
            "route 'node-1': pod CIDR 10.245.1.0/24 is outside the address space of VNet 'vnet' "
            "(10.0.0.0/16, 10.244.0.0/16, fd00::/48)",
        ),
        (
            va("node-1", "fd01::/64", "fd00::4"),
            "route 'node-1': pod CIDR fd01::/64 is outside the address space of VNet 'vnet'",
        ),
        (
            va("node-1", "10.244.200.0/25", "10.0.0.4"),
            "route 'node-1': pod CIDR 10.244.200.0/25 overlaps subnet 'other' (10.244.200.0/24) of VNet 'vnet'",
        ),
        (
            va("node-1", "fd00::/112", "fd00::4"),
            "pod CIDR fd00::/112 overlaps subnet 'nodes' (fd00::/64)",
        ),
        (
            va("node-1", "10.244.1.0/24", "10.1.0.4"),
            "route 'node-1': next_hop_ip 10.1.0.4 is outside the address space of VNet 'vnet'",
        ),
    ],
)
def test_vnet_errors(route, message):
    vnet = logic.vnet_from_arm(VNET_JSON)
    errors = logic.vnet_errors([route], [route], [vnet])
    if message is None:
        assert errors == []
    else:
        assert len(errors) == 1 and message in errors[0], errors


def test_vnet_errors_include_pod_overlaps():
    vnet = logic.vnet_from_arm(VNET_JSON)
    routes = [va("a", "10.244.0.0/20", "10.0.0.4"), va("b", "10.244.1.0/24", "10.0.0.5")]
    errors = logic.vnet_errors(routes, routes, [vnet])
    assert errors == ["route 'b' (10.244.1.0/24) overlaps route 'a' (10.244.0.0/20); each node needs its own pod CIDR"]


# --------------------------------------------------------------------------- subnet associations


VNETS = {("net-rg", "vnet"): logic.vnet_from_arm(VNET_JSON)}


@pytest.mark.parametrize(
    "refs, force, todo, message",
    [
        ([("net-rg", "vnet", "nodes")], False, [], None),  # already associated (ids compare case-insensitively)
        ([("net-rg", "vnet", "free")], False, ["free"], None),
        ([("NET-RG", "VNET", "Free")], False, ["free"], None),
        (
            [("net-rg", "vnet", "other")],
            False,
            [],
            # issue 12: the message names the other table and what the subnet would stop getting
            "subnet vnet/other (resource group net-rg) is associated with another route table, 'other' (resource "
            "group rg); moving it to route table 'rt' would stop its traffic from getting that table's routes: no "
            "routes. To replace that association, set force_subnet_association: true and "
            "replace_subnet_route_table: other",
        ),
        # forcing needs the old table's name (issue 12)
        ([("net-rg", "vnet", "other")], True, [], "force_subnet_association also needs replace_subnet_route_table: other"),
        (
            [("net-rg", "vnet", "gone")], False, [],
            "subnet 'gone' not found in virtual network 'vnet' (resource group net-rg); its subnets are: nodes, other, free",
        ),
        ([("net-rg", "nope", "nodes")], False, [], "virtual network 'nope' not found in resource group 'net-rg'"),
    ],
)
def test_plan_subnet_associations(refs, force, todo, message):
    planned, errors = logic.plan_subnet_associations([logic.SubnetRef(*r) for r in refs], VNETS, RT_ID, force)
    if force and not message:
        planned, errors = logic.plan_subnet_associations([logic.SubnetRef(*r) for r in refs], VNETS, RT_ID, force, "other")
    assert [a.ref.name.lower() for a in planned] == todo
    if message:
        assert len(errors) == 1 and message in errors[0], errors
    else:
        assert errors == []


def test_forced_association_remembers_previous_table():
    planned = logic.plan_subnet_associations([logic.SubnetRef("net-rg", "vnet", "other")], VNETS, RT_ID, True, OTHER_RT_ID)[0]
    assert planned[0].current_route_table_id == OTHER_RT_ID


@pytest.mark.parametrize("replace", ["other", "OTHER", OTHER_RT_ID])
def test_forced_association_needs_the_old_tables_name_or_id(replace):
    planned, errors = logic.plan_subnet_associations([logic.SubnetRef("net-rg", "vnet", "other")], VNETS, RT_ID, True, replace)
    assert [a.ref.name for a in planned] == ["other"] and errors == []
    planned, errors = logic.plan_subnet_associations([logic.SubnetRef("net-rg", "vnet", "other")], VNETS, RT_ID, True, "rt-x")
    assert planned == [] and "replace_subnet_route_table is 'rt-x', not that table: set it to other" in errors[0]


def test_association_message_lists_the_other_tables_routes():
    other = {"properties": {"routes": [{"name": "default", "properties": {
        "addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.240.1.4"}}]}}
    _planned, errors = logic.plan_subnet_associations(
        [logic.SubnetRef("net-rg", "vnet", "other")], VNETS, RT_ID, False, None, {OTHER_RT_ID.lower(): other})
    assert "that table's routes: default (0.0.0.0/0 -> VirtualAppliance 10.240.1.4)" in errors[0]


def test_subnet_with_route_table_changes_only_route_table():
    subnet = {
        "id": "x",
        "name": "nodes",
        "etag": 'W/"7"',
        "properties": {
            "addressPrefix": "10.0.0.0/24",
            "networkSecurityGroup": {"id": "nsg"},
            "serviceEndpoints": [{"service": "Microsoft.Storage", "locations": ["westus"]}],
            "delegations": [{"name": "d", "properties": {"serviceName": "Microsoft.Web/serverFarms"}}],
            "natGateway": {"id": "ngw"},
        },
    }
    associated = logic.subnet_with_route_table(subnet, RT_ID)
    expected = dict(subnet, properties=dict(subnet["properties"], routeTable={"id": RT_ID}))
    assert associated == expected
    assert "routeTable" not in subnet["properties"]
    assert logic.subnet_with_route_table(associated, None) == subnet


# --------------------------------------------------------------------------- table body, tags, diff


@pytest.mark.parametrize(
    "current, wanted, purge, expected",
    [
        ({"a": "1"}, None, False, {"a": "1"}),
        ({"a": "1"}, None, True, {"a": "1"}),
        ({"a": "1"}, {"b": "2"}, False, {"a": "1", "b": "2"}),
        ({"a": "1"}, {"b": "2"}, True, {"b": "2"}),
        ({"a": "1"}, {"a": 3}, False, {"a": "3"}),
        (None, {}, True, {}),
    ],
)
def test_merge_tags(current, wanted, purge, expected):
    assert logic.merge_tags(current, wanted, purge) == expected


def test_table_body_from_existing_drops_read_only_and_keeps_the_rest():
    current = {
        "id": RT_ID,
        "name": "rt",
        "etag": 'W/"5"',
        "type": "Microsoft.Network/routeTables",
        "location": "westus",
        "tags": {"a": "1"},
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": "guid",
            "disableBgpRoutePropagation": True,
            "subnets": [{"id": "s"}],
            "routes": [arm_route("old", "10.244.9.0/24", hop_ip="10.0.0.4", hasBgpOverride=False)],
            "futureProperty": 1,
        },
    }
    body = logic.table_body(current, None, current["properties"]["routes"], None, {"a": "1"})
    assert "etag" not in body
    assert body["location"] == "westus" and body["properties"]["futureProperty"] == 1
    assert body["properties"]["disableBgpRoutePropagation"] is True
    for key in ("provisioningState", "resourceGuid", "subnets"):
        assert key not in body["properties"]
    route = body["properties"]["routes"][0]
    assert "etag" not in route and "provisioningState" not in route["properties"] and "hasBgpOverride" not in route["properties"]
    assert route["properties"]["nextHopIpAddress"] == "10.0.0.4"
    # the table read is left as it was (a retry re-plans from a fresh read)
    assert current["properties"]["subnets"] == [{"id": "s"}]


def test_table_body_new_table():
    body = logic.table_body(None, "westeurope", [logic.route_to_arm(va("n", "10.244.1.0/24", "10.0.0.4"))], None, {})
    assert body == {
        "location": "westeurope",
        "properties": {
            "disableBgpRoutePropagation": False,
            "routes": [
                {"name": "n", "properties": {"addressPrefix": "10.244.1.0/24", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.0.0.4"}}
            ],
        },
    }


def test_table_state_one_entry_per_route_subnet_and_tag():
    subnet = "/subscriptions/sub/resourceGroups/net-rg/providers/Microsoft.Network/virtualNetworks/vnet/subnets/nodes"
    table = {"tags": {"env": "prod"}, "properties": {"routes": [
        arm_route("node-2", "10.244.2.0/24", hop_ip="10.0.0.5"), arm_route("node-1", "10.244.1.0/24", hop_ip="10.0.0.4")]}}
    diff = logic.table_diff("rt", None, logic.table_state(table, [subnet]))
    assert diff["after"].splitlines() == [
        "disable_bgp_route_propagation: false",
        "routes/node-1: 10.244.1.0/24 -> VirtualAppliance 10.0.0.4",
        "routes/node-2: 10.244.2.0/24 -> VirtualAppliance 10.0.0.5",
        "subnets/net-rg/vnet/nodes: associated",
        "tags/env: prod",
    ]
    assert (diff["before"], diff["before_header"], diff["after_header"]) == ("", "route table rt (absent)", "route table rt")
    assert logic.table_state(None, [subnet]) is None


def test_table_result():
    table = {
        "id": RT_ID,
        "name": "rt",
        "etag": 'W/"5"',
        "location": "westus",
        "properties": {
            "provisioningState": "Succeeded",
            "routes": [arm_route("node-1", "10.244.1.0/24", hop_ip="10.0.0.4")],
            "subnets": [{"id": "s1"}],
        },
    }
    result = logic.table_result(table)
    assert result["etag"] == 'W/"5"' and result["subnets"] == ["s1"] and result["tags"] == {}
    assert result["disable_bgp_route_propagation"] is False
    assert result["routes"] == [
        {
            "name": "node-1",
            "id": RT_ID + "/routes/node-1",
            "address_prefix": "10.244.1.0/24",
            "next_hop_type": "VirtualAppliance",
            "next_hop_ip": "10.0.0.4",
            "provisioning_state": "Succeeded",
        }
    ]


# --------------------------------------------------------------------------- NIC forwarding


def nic(name, ips, forwarding):
    return {
        "name": name,
        "id": "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/" + name,
        "properties": {
            "enableIPForwarding": forwarding,
            "ipConfigurations": [{"name": "ip%d" % i, "properties": {"privateIPAddress": ip}} for i, ip in enumerate(ips)],
        },
    }


def test_forwarding_warnings_name_the_nic():
    nics = [nic("node-1-nic", ["10.0.0.4", "fd00::4"], False), nic("node-2-nic", ["10.0.0.5"], True), nic("vm-nic", ["10.0.0.99"], False)]
    routes = [
        va("node-1", "10.244.1.0/24", "10.0.0.4"),
        va("node-1____fd0010244164", "fd00:10:244:1::/64", "FD00::4"),
        va("node-2", "10.244.2.0/24", "10.0.0.5"),
    ]
    warnings = logic.forwarding_warnings(nics, routes)
    assert [(w.nic_name, w.address, w.route_names) for w in warnings] == [
        ("node-1-nic", "10.0.0.4", ("node-1",)),
        ("node-1-nic", "fd00::4", ("node-1____fd0010244164",)),
    ]
    assert "NIC 'node-1-nic' (10.0.0.4)" in warnings[0].message() and "IP forwarding off" in warnings[0].message()


def test_no_forwarding_warning_without_appliance_routes():
    assert logic.forwarding_warnings([nic("n", ["10.0.0.4"], False)], [RouteSpec("x", "10.9.0.0/16", "None")]) == []
