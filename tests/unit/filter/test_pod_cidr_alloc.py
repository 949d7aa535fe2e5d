"""Pod CIDR allocation and the udr role's preconditions (pure logic, and through the filter)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.calico.azure.plugins.module_utils._pod_cidrs.allocation import (
    PodCidrError,
    allocate_pod_cidrs,
    pod_cidr_problems,
)


def routes(mapping):
    return [{"name": k, "address_prefix": v, "next_hop_type": "VirtualAppliance"} for k, v in mapping.items()]


def test_allocates_lowest_blocks_in_sorted_name_order():
    result = allocate_pod_cidrs({"node-c": None, "node-a": None, "node-b": ""}, "10.244.0.0/16", 24)
    assert result == {"node-a": "10.244.0.0/24", "node-b": "10.244.1.0/24", "node-c": "10.244.2.0/24"}


def test_explicit_cidrs_are_kept_and_skipped_by_allocation():
    result = allocate_pod_cidrs({"a": None, "b": "10.244.0.0/24", "c": None}, "10.244.0.0/16", 24)
    assert result == {"a": "10.244.1.0/24", "b": "10.244.0.0/24", "c": "10.244.2.0/24"}


def test_adding_a_node_that_sorts_first_moves_nobody():
    first = allocate_pod_cidrs({"node-b": None, "node-c": None}, "10.244.0.0/16", 24)
    second = allocate_pod_cidrs({"node-a": None, "node-b": None, "node-c": None}, "10.244.0.0/16", 24,
                                routes(first))
    assert second["node-b"] == first["node-b"] and second["node-c"] == first["node-c"]
    assert second["node-a"] == "10.244.2.0/24"


def test_removed_node_frees_its_block_for_the_next_new_node():
    current = routes({"a": "10.244.0.0/24", "b": "10.244.1.0/24", "c": "10.244.2.0/24"})
    result = allocate_pod_cidrs({"a": None, "c": None, "d": None}, "10.244.0.0/16", 24, current)
    assert result == {"a": "10.244.0.0/24", "c": "10.244.2.0/24", "d": "10.244.1.0/24"}


@pytest.mark.parametrize(
    "held, why",
    [
        ("10.245.0.0/24", "outside the cluster CIDR"),
        ("10.244.0.0/25", "wrong mask size"),
        ("10.244.5.0/24", "overlaps an explicit CIDR"),
        ("not-a-cidr", "unreadable"),
    ],
)
def test_existing_route_is_not_kept_when_unusable(held, why):
    result = allocate_pod_cidrs({"a": None, "b": "10.244.5.0/24"}, "10.244.0.0/16", 24, routes({"a": held}))
    assert result["a"] == "10.244.0.0/24", why


def test_two_routes_claiming_the_same_block_first_name_keeps_it():
    current = routes({"a": "10.244.3.0/24", "b": "10.244.3.0/24"})
    result = allocate_pod_cidrs({"a": None, "b": None}, "10.244.0.0/16", 24, current)
    assert result == {"a": "10.244.3.0/24", "b": "10.244.0.0/24"}


def test_allocation_jumps_over_larger_and_unaligned_explicit_networks():
    result = allocate_pod_cidrs({"big": "10.244.0.0/23", "odd": "10.244.2.128/25", "x": None},
                                "10.244.0.0/16", 24)
    assert result["x"] == "10.244.3.0/24"


def test_ipv6_cluster_cidr():
    result = allocate_pod_cidrs({"a": None, "b": None}, "fd00:10:244::/56", 64)
    assert result == {"a": "fd00:10:244::/64", "b": "fd00:10:244:1::/64"}


@pytest.mark.parametrize(
    "nodes, cluster, mask, message",
    [
        ({"a": "10.244.0.0/24", "b": "10.244.0.128/25"}, "10.244.0.0/16", 24, "overlaps 10.244.0.0/24 of node a"),
        ({"a": "10.244.0.1/24"}, None, None, "not a valid network"),
        ({"a": "10.9.0.0/24"}, "10.244.0.0/16", 24, "outside the cluster CIDR"),
        ({"a": None}, None, 24, "set the cluster CIDR"),
        ({"a": None}, "10.244.0.0/16", 8, "does not fit"),
        ({"a": None, "b": None, "c": None}, "10.244.0.0/23", 24, "no free /24 block left for node c"),
    ],
)
def test_impossible_input_names_the_problem(nodes, cluster, mask, message):
    with pytest.raises(PodCidrError, match=message):
        allocate_pod_cidrs(nodes, cluster, mask)


@settings(max_examples=60, deadline=None)
@given(
    first=st.sets(st.text("abcdefgh", min_size=1, max_size=4), min_size=1, max_size=12),
    later=st.sets(st.text("abcdefgh", min_size=1, max_size=4), max_size=12),
)
def test_property_growth_keeps_every_existing_assignment_and_never_overlaps(first, later):
    cluster = "10.244.0.0/20"  # 16 blocks of /24; larger node sets are skipped below
    nodes_1 = {n: None for n in first}
    nodes_2 = {n: None for n in (first | later)}
    if len(nodes_2) > 16:
        return
    before = allocate_pod_cidrs(nodes_1, cluster, 24)
    after = allocate_pod_cidrs(nodes_2, cluster, 24, routes(before))
    assert all(after[n] == before[n] for n in before)
    nets = [ipaddress.ip_network(v) for v in after.values()]
    assert len({str(n) for n in nets}) == len(nets)
    assert all(n.subnet_of(ipaddress.ip_network(cluster)) and n.prefixlen == 24 for n in nets)
    assert allocate_pod_cidrs(nodes_2, cluster, 24, routes(after)) == after


def test_problems_empty_for_a_good_plan():
    assert pod_cidr_problems({"a": "10.244.0.0/24", "b": "10.244.1.0/24"}, ["10.0.0.0/8"],
                             {"a": "10.240.0.4", "b": "10.240.0.5"}) == []


def test_problem_pod_cidr_outside_vnet():
    problems = pod_cidr_problems({"a": "192.168.0.0/24"}, ["10.0.0.0/8", "172.16.0.0/12"])
    assert problems == ["pod CIDR 192.168.0.0/24 of node a is outside the VNet address space 10.0.0.0/8, "
                        "172.16.0.0/12: Azure drops traffic for pod IPs outside the VNet, pick pod CIDRs inside it"]


def test_problems_all_listed_at_once():
    problems = pod_cidr_problems(
        {"a": "10.244.0.0/23", "b": "10.244.1.0/24", "c": "bogus", "d": "10.240.0.0/24"},
        ["10.0.0.0/8"], {"a": "10.240.0.4"})
    assert any("overlaps pod CIDR 10.244.1.0/24 of node b" in p for p in problems)
    assert any("'bogus'" in p for p in problems)
    assert any("contains the IP 10.240.0.4 of node a" in p for p in problems)
    assert len(problems) == 3


def test_route_limit_counts_routes_that_stay():
    pods = {"n%03d" % i: "10.%d.%d.0/24" % (100 + i // 256, i % 256) for i in range(399)}
    foreign = [{"name": "to-onprem", "address_prefix": "192.168.0.0/16"},
               {"name": "stale", "address_prefix": "10.100.200.0/24"}]
    # 399 node routes + 2 foreign = 401 > 400 ...
    problems = pod_cidr_problems(pods, existing_routes=foreign)
    assert problems and "would hold 401 routes (399 nodes + 2 other routes)" in problems[0]
    # ... but the stale one is inside the purge CIDR, so it goes: 400 is allowed.
    assert pod_cidr_problems(pods, existing_routes=foreign, purge_cidr="10.96.0.0/11") == []
    # A node's own existing route is replaced, not added.
    assert pod_cidr_problems(pods, existing_routes=[{"name": "n000", "address_prefix": "10.1.0.0/24"}]) == []


def test_filters_are_exposed_with_ansible_errors():
    from ansible.errors import AnsibleFilterError

    from ansible_collections.calico.azure.plugins.filter.pod_cidrs import FilterModule

    filters = FilterModule().filters()
    assert filters["allocate_pod_cidrs"]({"a": None}, "10.244.0.0/16", 24) == {"a": "10.244.0.0/24"}
    with pytest.raises(AnsibleFilterError, match="no free"):
        filters["allocate_pod_cidrs"]({"a": None, "b": None}, "10.244.0.0/24", 24)
    assert filters["pod_cidr_problems"]({"a": "10.244.0.0/24"}, ["10.244.0.0/16"], None, None, None) == []
