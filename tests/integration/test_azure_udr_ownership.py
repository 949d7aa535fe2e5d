# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""calico.azure.azure_udr_routes on shared tables (issue 12) and hardening (issue 13) against the stand-in.

Each case checks the exact route table and subnets in the stand-in after the
run and counts the writes that reached ARM (0 for every refusal and in check
mode). Tasks share one ansible-playbook run where the order of their writes
is what is asserted, to keep the suite fast.
"""

from __future__ import annotations

import json

import pytest

from helpers.ansible_run import run_playbook

RG = "rg-k8s"
TABLE = "rt-pods"
SCOPE = ["10.244.0.0/16"]

SEED = {
    "resource_groups": [{"name": RG, "location": "westeurope"}],
    "route_tables": [{"name": "rt-other", "resource_group": RG}],
    "virtual_networks": [
        {
            "name": "vnet-k8s",
            "resource_group": RG,
            "address_prefixes": ["10.240.0.0/16", "10.244.0.0/16"],
            "subnets": [
                {"name": "nodes", "address_prefix": "10.240.0.0/24"},
                {"name": "gw", "address_prefix": "10.240.1.0/24", "route_table": "rt-other"},
            ],
        }
    ],
    "virtual_machines": [
        {"name": "node-%d" % i, "resource_group": RG,
         "nics": [{"name": "node-%d-nic" % i, "subnet": "vnet-k8s/nodes", "private_ip": "10.240.0.%d" % (4 + i),
                   "enable_ip_forwarding": True}]}
        for i in range(4)
    ],
}
pytestmark = pytest.mark.azure_seed(SEED)

FIREWALL = {"name": "default", "properties": {"addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance",
                                              "nextHopIpAddress": "10.240.1.4"}}
ONPREM = {"name": "onprem", "properties": {"addressPrefix": "192.168.0.0/16", "nextHopType": "VirtualNetworkGateway"}}


def node_route(index: int, name: str | None = None) -> dict:
    return {"name": name or "node-%d" % index, "address_prefix": "10.244.%d.0/24" % index,
            "next_hop_ip": "10.240.0.%d" % (4 + index)}


def arm_route(index: int, name: str | None = None) -> dict:
    route = node_route(index, name)
    return {"name": route["name"], "properties": {"addressPrefix": route["address_prefix"],
                                                  "nextHopType": "VirtualAppliance", "nextHopIpAddress": route["next_hop_ip"]}}


def rid(emu, *type_names: str) -> str:
    path = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network" % (emu.subscription_id, RG)
    return "/".join([path] + list(type_names))


def table_id(emu, name: str = TABLE) -> str:
    return rid(emu, "routeTables", name)


def subnet_id(emu, name: str) -> str:
    return rid(emu, "virtualNetworks", "vnet-k8s", "subnets", name)


def task(name: str = "routes", ignore_errors: bool = False, check_mode: bool | None = None, **args) -> dict:
    result = {"name": name, "calico.azure.azure_udr_routes": dict({"resource_group": RG, "name": TABLE}, **args)}
    if ignore_errors:
        result["ignore_errors"] = True
    if check_mode is not None:
        result["check_mode"] = check_mode
    return result


def run(emu, *tasks: dict, check: bool = False):
    emu.clear_log()
    book = json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}], indent=1)
    return run_playbook(book, env=emu.env(), check=check)


def writes(emu) -> list:
    return [(r["method"], r["path"].rstrip("/").rsplit("/", 2)[-2].lower())
            for r in emu.requests() if r["kind"] == "arm" and r["method"] in ("PUT", "PATCH", "DELETE", "POST")]


def route_map(emu, name: str = TABLE) -> dict:
    table = emu.get_resource(table_id(emu, name))
    return {r["name"]: (r["properties"]["addressPrefix"], r["properties"]["nextHopType"], r["properties"].get("nextHopIpAddress"))
            for r in table["properties"]["routes"]}


def ok(result, name: str = "routes") -> dict:
    outcome = result.task(name)
    assert result.rc == 0 and not outcome.get("failed"), outcome.get("msg") or result.stdout[-3000:] + result.stderr[-2000:]
    return outcome


def failed(result, name: str) -> dict:
    outcome = result.task(name)
    assert outcome.get("failed") is True, outcome
    assert "Traceback" not in str(outcome.get("exception", "")) and "module_stderr" not in outcome, outcome
    return outcome


def warnings_of(outcome: dict) -> str:
    return "\n".join(outcome.get("warnings") or [])


def associate(emu, subnet: str, table: str) -> None:
    document = emu.get_resource(subnet_id(emu, subnet))
    props = dict(document["properties"], routeTable={"id": table_id(emu, table)})
    emu.put_resource(subnet_id(emu, subnet), dict(document, properties=props))


# --------------------------------------------------------------------------- issue 12: foreign routes


def test_adopted_table_keeps_foreign_routes_and_purges_only_owned_ones(azure_emulator):
    emu = azure_emulator
    cloud_provider_route = {"name": "aks-cp-route", "properties": {
        "addressPrefix": "10.244.50.0/24", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.240.0.7"}}
    emu.put_resource(table_id(emu), {"location": "westeurope", "tags": {"env": "prod"},
                                     "properties": {"routes": [FIREWALL, cloud_provider_route, arm_route(1)]}})
    args = dict(cluster_name="demo", cluster_cidr=SCOPE, purge_routes=True, routes=[node_route(1), node_route(2)])

    checked = ok(run(emu, task(**args), check=True))
    assert writes(emu) == []
    assert checked["changed"] is True and checked["routes_removed"] == 0
    assert checked["foreign_routes"] == [{"name": "aks-cp-route", "address_prefix": "10.244.50.0/24",
                                          "next_hop_type": "VirtualAppliance", "next_hop_ip": "10.240.0.7"}]
    assert ("route 'aks-cp-route' (10.244.50.0/24 -> VirtualAppliance 10.240.0.7) is inside cluster_cidr but was not "
            "written by 'demo' (not in its record): kept. Set purge_foreign_routes: true to remove it") in warnings_of(checked)

    applied = ok(run(emu, task(**args)))
    assert writes(emu) == [("PUT", "routetables")]
    assert route_map(emu) == {
        "default": ("0.0.0.0/0", "VirtualAppliance", "10.240.1.4"),
        "aks-cp-route": ("10.244.50.0/24", "VirtualAppliance", "10.240.0.7"),
        "node-1": ("10.244.1.0/24", "VirtualAppliance", "10.240.0.5"),
        "node-2": ("10.244.2.0/24", "VirtualAppliance", "10.240.0.6"),
    }
    # node-1 was already there but is listed: adopted into the record
    assert emu.get_resource(table_id(emu))["tags"] == {
        "env": "prod", "calico-azure-cluster": "demo", "calico-azure-routes.demo": "node-1,node-2"}
    assert applied["owned_routes"] == ["node-1", "node-2"]

    rerun = ok(run(emu, task(**args)))
    assert rerun["changed"] is False and writes(emu) == []

    # node-2 is gone: its (owned) route goes, the foreign route stays
    gone = ok(run(emu, task(**{**args, "routes": [node_route(1)]})))
    assert gone["routes_removed"] == 1 and writes(emu) == [("PUT", "routetables")]
    assert sorted(route_map(emu)) == ["aks-cp-route", "default", "node-1"]
    assert emu.get_resource(table_id(emu))["tags"]["calico-azure-routes.demo"] == "node-1"

    # the explicit opt-in removes it, listed before it goes (check mode) and when it goes
    forced = {**args, "routes": [node_route(1)], "purge_foreign_routes": True}
    predicted = ok(run(emu, task(**forced), check=True))
    assert writes(emu) == [] and predicted["foreign_routes_removed"][0]["name"] == "aks-cp-route"
    assert ("route 'aks-cp-route' (10.244.50.0/24 -> VirtualAppliance 10.240.0.7) is inside cluster_cidr but was not "
            "written by 'demo': would be removed (purge_foreign_routes)") in warnings_of(predicted)
    removed = ok(run(emu, task(**forced)))
    assert "written by 'demo': removed (purge_foreign_routes)" in warnings_of(removed)
    assert writes(emu) == [("PUT", "routetables")]
    assert sorted(route_map(emu)) == ["default", "node-1"]


def test_two_pools_share_one_table_and_an_empty_purge_needs_opt_in(azure_emulator):
    emu = azure_emulator
    pool_a = dict(cluster_name="demo", node_pool="a", cluster_cidr=SCOPE, purge_routes=True)
    pool_b = dict(cluster_name="demo", node_pool="b", cluster_cidr=SCOPE, purge_routes=True)
    result = run(
        emu,
        task("a", routes=[node_route(1), node_route(2)], **pool_a),
        task("b", routes=[node_route(3)], **pool_b),
        # pool b's run never touches pool a's routes, and cannot take one over
        task("b again", routes=[node_route(3)], **pool_b),
        task("b takes a-route", ignore_errors=True, routes=[node_route(3), node_route(1)], **pool_b),
        task("b empty", ignore_errors=True, routes=[], **pool_b),
    )
    assert ok(result, "a")["changed"] and ok(result, "b")["changed"]
    assert ok(result, "b again")["changed"] is False
    taken = failed(result, "b takes a-route")
    assert ("route 'node-1' is recorded as owned by 'demo:a' in route table 'rt-pods' (tag calico-azure-routes.demo:a); "
            "a route belongs to one node pool") in taken["msg"]
    empty = failed(result, "b empty")
    assert ("purge_routes is set but routes is empty, so the purge would remove every owned route inside cluster_cidr "
            "(10.244.0.0/16)") in empty["msg"] and "set allow_empty_purge: true" in empty["msg"]
    assert writes(emu) == [("PUT", "routetables"), ("PUT", "routetables")]  # a, b; nothing for the rest
    assert sorted(route_map(emu)) == ["node-1", "node-2", "node-3"]
    tags = emu.get_resource(table_id(emu))["tags"]
    assert tags == {"calico-azure-cluster": "demo", "calico-azure-routes.demo:a": "node-1,node-2",
                    "calico-azure-routes.demo:b": "node-3"}

    emptied = ok(run(emu, task("b empty", routes=[], allow_empty_purge=True, **pool_b)), "b empty")
    assert emptied["routes_removed"] == 1 and writes(emu) == [("PUT", "routetables")]
    assert sorted(route_map(emu)) == ["node-1", "node-2"]
    assert "calico-azure-routes.demo:b" not in emu.get_resource(table_id(emu))["tags"]


# --------------------------------------------------------------------------- issue 12: state absent


def test_absent_on_a_shared_table_removes_only_the_clusters_routes(azure_emulator):
    emu = azure_emulator
    emu.put_resource(table_id(emu), {
        "location": "westeurope",
        "tags": {"calico-azure-cluster": "demo", "calico-azure-routes.demo": "node-1,node-2"},
        "properties": {"routes": [FIREWALL, ONPREM, arm_route(1), arm_route(2)]},
    })
    associate(emu, "nodes", TABLE)

    checked = ok(run(emu, task(state="absent", cluster_name="demo"), check=True))
    assert writes(emu) == [] and checked["changed"] is True
    assert checked["route_table_kept"] is True and checked["routes_removed"] == 2
    assert [r["name"] for r in checked["kept_routes"]] == ["default", "onprem"]
    message = ("route table 'rt-pods' was kept, with its subnet associations: it holds 2 route(s) that are not this "
               "cluster's: default (0.0.0.0/0 -> VirtualAppliance 10.240.1.4), onprem (192.168.0.0/16 -> "
               "VirtualNetworkGateway). Only the cluster's routes were removed (2)")
    assert message in warnings_of(checked)

    removed = ok(run(emu, task(state="absent", cluster_name="demo")))
    assert removed["kept_reason"].startswith(message)
    assert writes(emu) == [("PUT", "routetables")]
    assert sorted(route_map(emu)) == ["default", "onprem"]
    table = emu.get_resource(table_id(emu))
    assert table["tags"] == {"calico-azure-cluster": "demo"}
    assert emu.get_resource(subnet_id(emu, "nodes"))["properties"]["routeTable"]["id"].lower() == table_id(emu).lower()

    again = ok(run(emu, task(state="absent", cluster_name="demo")))
    assert again["changed"] is False and again["route_table_kept"] is True and writes(emu) == []


def test_absent_keeps_a_table_that_is_not_the_clusters(azure_emulator):
    emu = azure_emulator
    emu.put_resource(table_id(emu), {"location": "westeurope", "properties": {"routes": [arm_route(1)]}})
    result = run(
        emu,
        task("no cluster", ignore_errors=True, state="absent"),
        task("untagged", state="absent", cluster_name="demo", routes=[node_route(1)]),
    )
    assert "state: absent needs cluster_name" in failed(result, "no cluster")["msg"]
    untagged = ok(result, "untagged")
    assert untagged["route_table_kept"] is True and untagged["kept_routes"] == []
    assert "it has no calico-azure-cluster tag, so it is not known to be this cluster's" in untagged["kept_reason"]
    # the listed route goes, the table stays
    assert writes(emu) == [("PUT", "routetables")]
    assert route_map(emu) == {}


# --------------------------------------------------------------------------- issue 12: force_subnet_association


def test_force_subnet_association_names_what_the_subnet_loses_and_needs_the_old_table(azure_emulator):
    emu = azure_emulator
    emu.put_resource(table_id(emu, "rt-other"), {"location": "westeurope", "properties": {"routes": [FIREWALL]}})
    gw = [{"virtual_network": "vnet-k8s", "name": "gw"}]
    result = run(
        emu,
        task("plain", ignore_errors=True, subnets=gw),
        task("wrong table", ignore_errors=True, subnets=gw, force_subnet_association=True,
             replace_subnet_route_table="rt-third"),
    )
    assert failed(result, "plain")["msg"] == (
        "subnet vnet-k8s/gw (resource group rg-k8s) is associated with another route table, 'rt-other' (resource group "
        "rg-k8s); moving it to route table 'rt-pods' would stop its traffic from getting that table's routes: default "
        "(0.0.0.0/0 -> VirtualAppliance 10.240.1.4). To replace that association, set force_subnet_association: true "
        "and replace_subnet_route_table: rt-other; or dissociate it first")
    assert "replace_subnet_route_table is 'rt-third', not that table: set it to rt-other" in failed(result, "wrong table")["msg"]
    assert writes(emu) == []

    forced = dict(subnets=gw, force_subnet_association=True, replace_subnet_route_table="rt-other")
    moved = ok(run(emu, task(**forced)))
    assert ("subnet vnet-k8s/gw (resource group rg-k8s) moved from route table 'rt-other' (resource group rg-k8s) "
            "(force_subnet_association); it no longer gets that table's routes: default (0.0.0.0/0 -> VirtualAppliance "
            "10.240.1.4)") in warnings_of(moved)
    assert writes(emu) == [("PUT", "routetables"), ("PUT", "subnets")]
    assert emu.get_resource(subnet_id(emu, "gw"))["properties"]["routeTable"]["id"].lower() == table_id(emu).lower()
    assert route_map(emu, "rt-other") == {"default": ("0.0.0.0/0", "VirtualAppliance", "10.240.1.4")}
    assert ok(run(emu, task(**forced)))["changed"] is False and writes(emu) == []


# --------------------------------------------------------------------------- issue 13 item 2: next hops


def test_next_hops_that_cannot_be_a_node_are_refused_before_any_write(azure_emulator):
    emu = azure_emulator
    nodes = [{"virtual_network": "vnet-k8s", "name": "nodes"}]
    cases = [
        ("loop", dict(routes=[{"name": "n1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.244.1.0"}]),
         "route 'n1': next_hop_ip 10.244.1.0 is inside the route's own address_prefix 10.244.1.0/24, so its traffic "
         "would loop; set next_hop_ip to the node's private IP"),
        ("inside own prefix", dict(routes=[{"name": "n1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.244.1.9"}]),
         "route 'n1': next_hop_ip 10.244.1.9 is inside the route's own address_prefix 10.244.1.0/24"),
        ("another node's pod CIDR", dict(routes=[node_route(1), {"name": "n2", "address_prefix": "10.244.2.0/24",
                                                                 "next_hop_ip": "10.244.1.7"}], cluster_cidr=SCOPE),
         "route 'n2': next_hop_ip 10.244.1.7 is inside the pod CIDR 10.244.1.0/24 of route 'node-1', not a node's "
         "address; set next_hop_ip to the node's private IP"),
        ("network address", dict(routes=[{"name": "n1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.240.0.0"}],
                                 subnets=nodes),
         "route 'n1': next_hop_ip 10.240.0.0 is an address Azure reserves in subnet 'nodes' (10.240.0.0/24) of VNet "
         "'vnet-k8s' (the network address, the next three and the broadcast address)"),
        ("gateway .1", dict(routes=[{"name": "n1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.240.0.1"}],
                            subnets=nodes),
         "route 'n1': next_hop_ip 10.240.0.1 is an address Azure reserves in subnet 'nodes'"),
        ("DNS .3", dict(routes=[{"name": "n1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.240.0.3"}],
                        subnets=nodes),
         "route 'n1': next_hop_ip 10.240.0.3 is an address Azure reserves in subnet 'nodes'"),
        ("broadcast", dict(routes=[{"name": "n1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.240.0.255"}],
                           subnets=nodes),
         "route 'n1': next_hop_ip 10.240.0.255 is an address Azure reserves in subnet 'nodes'"),
        ("public, no VNet known", dict(routes=[{"name": "n1", "address_prefix": "192.168.5.0/24", "next_hop_ip": "8.8.8.8"}]),
         "route 'n1': next_hop_ip 8.8.8.8 is a public address that no NIC holds, and no VNet is known to check it "
         "against (no subnets given, the table is not associated); a VirtualAppliance next hop must be the node's "
         "private IP: fix next_hop_ip or set subnets"),
        ("VNet found through the NIC", dict(routes=[{"name": "n1", "address_prefix": "10.50.1.0/24",
                                                     "next_hop_ip": "10.240.0.5"}]),
         "route 'n1': pod CIDR 10.50.1.0/24 is outside the address space of VNet 'vnet-k8s'"),
    ]
    result = run(emu, *[task(label, ignore_errors=True, **args) for label, args, _m in cases])
    for label, _args, message in cases:
        assert message in failed(result, label)["msg"], label
    assert writes(emu) == []
    assert emu.get_resource(table_id(emu)) is None

    # an address no NIC holds, with no VNet known: written (it may be a scale-set NIC) but warned twice
    warned = ok(run(emu, task(routes=[{"name": "n1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.240.0.99"}])))
    text = warnings_of(warned)
    assert ("route 'n1': no NIC in resource group(s) rg-k8s holds next_hop_ip 10.240.0.99, so Azure drops the traffic "
            "of this route until a NIC has that address") in text
    assert ("route 'n1': next_hop_ip 10.240.0.99 could not be checked against a VNet (no subnets given, the table is "
            "not associated and no NIC holds it); set subnets to the nodes' subnets") in text
    assert writes(emu) == [("PUT", "routetables")]


# --------------------------------------------------------------------------- issue 13 item 1: Failed resources


def test_a_table_left_failed_is_re_applied(azure_emulator):
    emu = azure_emulator
    args = dict(routes=[node_route(1)], cluster_name="demo")
    emu.fail_next_lro(code="InternalServerError", message="Route table update failed on the host.")
    first = run(emu, task(ignore_errors=True, **args))
    assert "ended Failed" in failed(first, "routes")["msg"]
    table = emu.get_resource(table_id(emu))
    assert table["properties"]["provisioningState"] == "Failed"
    assert sorted(route_map(emu)) == ["node-1"]  # the values are there; the state is not

    checked = ok(run(emu, task(**args), check=True))
    assert checked["changed"] is True and writes(emu) == []
    assert ("route table 'rt-pods' was left provisioningState Failed by an earlier write; check mode: would re-apply "
            "it") in warnings_of(checked)
    fixed = ok(run(emu, task(**args)))
    assert fixed["changed"] is True and writes(emu) == [("PUT", "routetables")]
    assert "re-applying it (one PUT of the table as wanted)" in warnings_of(fixed)
    assert emu.get_resource(table_id(emu))["properties"]["provisioningState"] == "Succeeded"
    assert route_map(emu) == {"node-1": ("10.244.1.0/24", "VirtualAppliance", "10.240.0.5")}
    assert ok(run(emu, task(**args)))["changed"] is False and writes(emu) == []


def test_a_subnet_left_failed_is_re_applied(azure_emulator):
    emu = azure_emulator
    emu.put_resource(table_id(emu), {"location": "westeurope", "properties": {"routes": []}})
    associate(emu, "nodes", TABLE)
    emu.mutate(subnet_id(emu, "nodes"), {"properties": {"provisioningState": "Failed"}})
    assert emu.get_resource(subnet_id(emu, "nodes"))["properties"]["provisioningState"] == "Failed"
    nodes = [{"virtual_network": "vnet-k8s", "name": "nodes"}]
    fixed = ok(run(emu, task(subnets=nodes)))
    assert fixed["changed"] is True
    assert ("subnet vnet-k8s/nodes (resource group rg-k8s) was left provisioningState Failed or Updating by an earlier "
            "write; re-applying it") in warnings_of(fixed)
    assert writes(emu) == [("PUT", "subnets")]
    subnet = emu.get_resource(subnet_id(emu, "nodes"))
    assert subnet["properties"]["provisioningState"] == "Succeeded"
    assert subnet["properties"]["routeTable"]["id"].lower() == table_id(emu).lower()
    assert ok(run(emu, task(subnets=nodes)))["changed"] is False and writes(emu) == []


# --------------------------------------------------------------------------- issue 13 item 10: honest messages


def test_a_dissociation_racing_the_run_is_reported_not_hidden(azure_emulator):
    """state: absent (another run) dissociates the subnet right after this run associated it."""
    emu = azure_emulator
    emu.put_resource(table_id(emu), {"location": "westeurope", "properties": {"routes": []}})
    emu.schedule_mutation(subnet_id(emu, "nodes"), {"properties": {"routeTable": None}}, after_method="PUT",
                          after_path_contains="/subnets/nodes")
    outcome = ok(run(emu, task(subnets=[{"virtual_network": "vnet-k8s", "name": "nodes"}])))
    assert "routeTable" not in emu.get_resource(subnet_id(emu, "nodes"))["properties"]
    assert outcome["route_table"]["subnets"] == []  # what is there, not what was written
    assert ("subnet vnet-k8s/nodes (resource group rg-k8s) was associated with route table 'rt-pods' by this run, but "
            "is no longer associated now (another writer dissociated it); run the task again") in warnings_of(outcome)


def test_a_missing_resource_group_is_named_once(azure_emulator):
    emu = azure_emulator
    result = run(emu, task(ignore_errors=True, resource_group="rg-missing", routes=[node_route(1)]))
    assert failed(result, "routes")["msg"] == (
        "resource group 'rg-missing' was not found in subscription '%s'; set resource_group to the resource group of "
        "the route table (it must exist)" % emu.subscription_id)
    assert writes(emu) == []


def test_a_write_whose_answer_was_lost_is_reported_changed(azure_emulator):
    """The table PUT is applied, then the connection drops: the retry meets 412, the re-read finds the routes."""
    emu = azure_emulator
    emu.put_resource(table_id(emu), {"location": "westeurope", "properties": {"routes": []}})
    emu.clear_log()
    emu.inject_faults(count=1, kind="apply_then_reset", method="PUT", path_contains="/routeTables/" + TABLE)
    book = json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [task(routes=[node_route(1)])]}])
    outcome = ok(run_playbook(book, env=emu.env()))
    assert route_map(emu) == {"node-1": ("10.244.1.0/24", "VirtualAppliance", "10.240.0.5")}
    assert outcome["changed"] is True
    assert "routes/node-1: 10.244.1.0/24 -> VirtualAppliance 10.240.0.5" in outcome["diff"]["after"]
    assert "routes/node-1" not in outcome["diff"]["before"]
    assert ok(run(emu, task(routes=[node_route(1)])))["changed"] is False and writes(emu) == []


def test_polls_failing_after_the_write_was_accepted_say_so(azure_emulator):
    emu = azure_emulator
    emu.set_latency(lro_seconds=30, lro_in_progress_polls=5)
    emu.clear_log()
    emu.inject_faults(count=50, status=500, method="GET", path_contains="/operations/")
    book = json.dumps([{"hosts": "localhost", "gather_facts": False,
                        "tasks": [task(ignore_errors=True, routes=[node_route(1)], max_retries=1)]}])
    outcome = failed(run_playbook(book, env=emu.env()), "routes")
    assert outcome["msg"].lower().startswith("azure accepted the write of route table 'rt-pods'"), outcome["msg"]
    assert ("whether it completed is unknown. Run the task again: it reads the current state and writes only what is "
            "still missing") in outcome["msg"]
    assert "its status polls answered HTTP 500 InternalServerError" in outcome["msg"]
    assert "failed to write" not in outcome["msg"]
    emu.clear_faults()


# --------------------------------------------------------------------------- azure_udr_routes_info: who owns what


def test_info_shows_each_routes_owner_and_the_foreign_routes(azure_emulator):
    """Two node pools of one cluster share the table with a hand-made route: the info module names each owner."""
    emu = azure_emulator
    emu.put_resource(table_id(emu), {"location": "westeurope", "properties": {"routes": [FIREWALL]}})
    pool = dict(cluster_name="demo", cluster_cidr=SCOPE, purge_routes=True)
    applied = run(emu, task(node_pool="a", routes=[node_route(1), node_route(2)], **pool),
                  task(name="pool_b", node_pool="b", routes=[node_route(3)], **pool))
    ok(applied)
    ok(applied, "pool_b")
    emu.clear_log()

    info = {"name": "info", "calico.azure.azure_udr_routes_info": {"resource_group": RG, "name": TABLE}}
    table = ok(run(emu, info), "info")["route_table"]
    assert writes(emu) == []
    assert table["cluster"] == "demo"
    assert table["owners"] == {"demo:a": ["node-1", "node-2"], "demo:b": ["node-3"]}
    assert table["foreign_routes"] == ["default"]
    assert sorted((r["name"], r["owner"]) for r in table["routes"]) == [
        ("default", None), ("node-1", "demo:a"), ("node-2", "demo:a"), ("node-3", "demo:b")]
