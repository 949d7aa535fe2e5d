# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Ownership records in route-table tags, ownership-aware purges and teardown plans, next-hop checks (pure)."""

from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.calico.azure.plugins.module_utils._udr import logic
from ansible_collections.calico.azure.plugins.module_utils._udr import ownership
from ansible_collections.calico.azure.plugins.module_utils._udr.logic import RouteSpec

SCOPE = [ipaddress.ip_network("10.244.0.0/16")]


def arm_route(name, prefix, hop="10.240.0.4", hop_type="VirtualAppliance"):
    props = {"addressPrefix": prefix, "nextHopType": hop_type}
    if hop_type == "VirtualAppliance":
        props["nextHopIpAddress"] = hop
    return {"name": name, "properties": props}


def va(name, prefix, hop):
    return RouteSpec(name, prefix, "VirtualAppliance", hop)


# --------------------------------------------------------------------------- records


def test_record_round_trip_and_shards_within_azure_limits():
    names = ["node-%03d____10244%d024" % (i, i) for i in range(60)]
    tags = ownership.record_tags("demo:pool-a", names)
    assert all(len(v) <= ownership.MAX_TAG_VALUE for v in tags.values())
    assert len(tags) > 1 and "calico-azure-routes.demo:pool-a" in tags and "calico-azure-routes.demo:pool-a.2" in tags
    assert sorted(ownership.records(tags)["demo:pool-a"]) == sorted(names)
    assert ownership.owned_by(tags, "DEMO:pool-a") == set(n.lower() for n in names)


def test_record_limit_is_an_error_naming_the_way_out():
    tags = dict(("t%d" % i, "x") for i in range(45))
    tags.update(ownership.record_tags("demo", ["n%03d-%s" % (i, "x" * 60) for i in range(40)]))
    errors = ownership.record_errors("rt", "demo", tags)
    assert len(errors) == 1 and "but Azure allows 50 tags per resource" in errors[0]
    assert ownership.record_errors("rt", "demo", {"a": "b"}) == []


def test_with_record_keeps_other_owners_and_the_cluster_tag():
    tags = {"calico-azure-cluster": "other", "calico-azure-routes.demo:b": "b-1", "calico-azure-routes.demo:a": "old",
            "calico-azure-routes.demo:a.2": "older", "env": "prod"}
    assert ownership.with_record(tags, "demo:a", ["a-1"], "demo") == {
        "calico-azure-cluster": "other", "calico-azure-routes.demo:b": "b-1", "calico-azure-routes.demo:a": "a-1", "env": "prod"}
    assert ownership.with_record({}, "demo", [], "demo") == {"calico-azure-cluster": "demo"}
    assert ownership.owned_by_others(tags, "demo:a") == {"b-1": "demo:b"}


@pytest.mark.parametrize("cluster, pool, fragment", [
    (None, "a", "node_pool 'a' needs cluster_name"),
    ("my.cluster", None, "cluster_name 'my.cluster' is not usable in a tag name"),
    ("demo", "pool/a", "node_pool 'pool/a' is not usable in a tag name"),
])
def test_owner_errors(cluster, pool, fragment):
    assert any(fragment in e for e in ownership.owner_errors(cluster, pool))


# --------------------------------------------------------------------------- purge with ownership


def test_purge_removes_owned_keeps_foreign_and_other_owners():
    current = [arm_route("gone", "10.244.9.0/24"), arm_route("foreign", "10.244.50.0/24"),
               arm_route("pool-b", "10.244.60.0/24"), arm_route("default", "0.0.0.0/0"), arm_route("keep", "10.244.1.0/24")]
    wanted = [va("keep", "10.244.1.0/24", "10.240.0.4")]
    plan = logic.plan_routes(current, wanted, True, SCOPE, owned={"gone", "keep"}, others=frozenset({"pool-b"}))
    assert [r.name for r in plan.removed] == ["gone"]
    assert [r.name for r in plan.foreign] == ["foreign"]
    assert sorted(r["name"] for r in plan.routes) == ["default", "foreign", "keep", "pool-b"]
    opted = logic.plan_routes(current, wanted, True, SCOPE, owned={"gone"}, others=frozenset({"pool-b"}), purge_foreign=True)
    assert [r.name for r in opted.removed] == ["gone", "foreign"] and [r.name for r in opted.foreign_removed] == ["foreign"]
    assert "pool-b" in [r["name"] for r in opted.routes]  # another owner's route, even with the opt-in


def test_teardown_deletes_only_the_clusters_own_table_with_nothing_else_in_it():
    routes = [arm_route("node-1", "10.244.1.0/24"), arm_route("default", "0.0.0.0/0")]
    shared = logic.plan_teardown("rt", routes, {"node-1"}, "demo", "demo")
    assert (shared.delete_table, [r.name for r in shared.removed], [r["name"] for r in shared.routes]) == (False, ["node-1"], ["default"])
    assert "it holds 1 route(s) that are not this cluster's: default (0.0.0.0/0 -> VirtualAppliance 10.240.0.4)" in shared.reasons
    own = logic.plan_teardown("rt", routes[:1], {"node-1"}, "demo", "Demo")
    assert own.delete_table is True and own.reasons == []
    other = logic.plan_teardown("rt", routes[:1], {"node-1"}, "demo", "prod")
    assert other.delete_table is False and other.reasons == ["it is tagged calico-azure-cluster=prod, not demo"]


# --------------------------------------------------------------------------- next hops


VNET = logic.vnet_from_arm({
    "id": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet",
    "name": "vnet",
    "properties": {"addressSpace": {"addressPrefixes": ["10.240.0.0/16"]},
                   "subnets": [{"name": "nodes", "properties": {"addressPrefix": "10.240.0.0/24"}}]},
})
HELD = {ipaddress.ip_address("10.240.0.4"): ("nic-0", "")}


@pytest.mark.parametrize("hop, vnets, error, warning", [
    ("10.240.0.4", [VNET], None, None),
    ("10.244.1.0", [VNET], "inside the route's own address_prefix 10.244.1.0/24, so its traffic would loop", None),
    ("10.244.2.3", [VNET], "inside the pod CIDR 10.244.2.0/24 of route 'n2'", None),
    ("10.240.0.0", [VNET], "an address Azure reserves in subnet 'nodes' (10.240.0.0/24)", None),
    ("10.240.0.2", [VNET], "an address Azure reserves in subnet 'nodes'", None),
    ("10.240.0.255", [VNET], "an address Azure reserves in subnet 'nodes'", None),
    ("10.240.0.9", [VNET], None, "no NIC in resource group(s) rg holds next_hop_ip 10.240.0.9"),
    ("8.8.8.8", [], "next_hop_ip 8.8.8.8 is a public address that no NIC holds", None),
    ("10.240.0.9", [], None, "could not be checked against a VNet"),
])
def test_next_hop_problems(hop, vnets, error, warning):
    wanted = [va("n1", "10.244.1.0/24", hop), va("n2", "10.244.2.0/24", "10.240.0.4")]
    errors, warnings = logic.next_hop_problems(wanted, wanted, vnets, HELD, ["rg"])
    if error:
        assert len(errors) == 1 and error in errors[0], errors
    else:
        assert errors == []
    if warning:
        assert any(warning in w for w in warnings), warnings
    elif not error:
        assert warnings == []


def test_unsettled_states():
    assert logic.is_unsettled("Failed") and logic.is_unsettled("updating")
    assert not logic.is_unsettled("Succeeded") and not logic.is_unsettled(None)


def test_ownership_report_names_each_routes_owner_and_the_foreign_ones():
    tags = {"calico-azure-cluster": "demo", "calico-azure-routes.demo:a": "node-1,Node-2", "calico-azure-routes.demo:b": "node-3",
            "env": "prod"}
    report = ownership.ownership_report(tags, ["default", "node-1", "node-2", "node-3"])
    assert report == {
        "cluster": "demo",
        "owners": {"demo:a": ["node-1", "Node-2"], "demo:b": ["node-3"]},
        "route_owners": {"default": None, "node-1": "demo:a", "node-2": "demo:a", "node-3": "demo:b"},
        "foreign_routes": ["default"],
    }
    assert ownership.ownership_report(None, ["r"]) == {"cluster": None, "owners": {}, "route_owners": {"r": None},
                                                       "foreign_routes": ["r"]}
