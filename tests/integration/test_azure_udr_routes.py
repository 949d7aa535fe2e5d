"""calico.azure.azure_udr_routes and azure_udr_routes_info against the Azure stand-in.

Every test drives the real ansible-playbook (tests/helpers/ansible_run.py) and
counts what reached ARM in the stand-in's request log: check mode writes
nothing, a change is one route-table PUT plus one PUT per subnet to associate,
an unchanged re-run writes nothing and reads at most three times.
"""

from __future__ import annotations

import json
import threading

import pytest

from helpers.ansible_run import run_playbook


RG = "rg-k8s"
TABLE = "rt-pods"
CLUSTER_CIDR = ["10.244.0.0/16", "fd00:10:244::/56"]

SEED = {
    "resource_groups": [{"name": RG, "location": "westeurope"}],
    "network_security_groups": [{"name": "nsg-nodes", "resource_group": RG}],
    "nat_gateways": [{"name": "natgw", "resource_group": RG}],
    "route_tables": [{"name": "rt-other", "resource_group": RG}],
    "virtual_networks": [
        {
            "name": "vnet-k8s",
            "resource_group": RG,
            "address_prefixes": ["10.240.0.0/16", "10.244.0.0/16", "fd00:10::/32"],
            "subnets": [
                {
                    "name": "nodes",
                    "address_prefix": "10.240.0.0/24",
                    "network_security_group": "nsg-nodes",
                    "nat_gateway": "natgw",
                    "service_endpoints": ["Microsoft.Storage", "Microsoft.KeyVault"],
                },
                {
                    "name": "aci",
                    "address_prefix": "10.240.2.0/24",
                    "delegations": ["Microsoft.ContainerInstance/containerGroups"],
                },
                {"name": "gw", "address_prefix": "10.240.1.0/24", "route_table": "rt-other"},
            ],
        }
    ],
    "virtual_machines": [
        {"name": "node-%d" % i, "resource_group": RG,
         "nics": [{"name": "node-%d-nic" % i, "subnet": "vnet-k8s/nodes", "private_ip": "10.240.0.%d" % (4 + i),
                   "enable_ip_forwarding": i != 0}]}
        for i in range(3)
    ],
}
pytestmark = pytest.mark.azure_seed(SEED)

NODE_ROUTES = [
    {"node": "node-0", "address_prefix": "10.244.0.0/24", "next_hop_ip": "10.240.0.4"},
    {"node": "node-0", "address_prefix": "fd00:10:244::/64", "next_hop_ip": "fd00:10:240::4"},
    {"node": "node-1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.240.0.5"},
    {"node": "node-2", "address_prefix": "10.244.2.0/24", "next_hop_ip": "10.240.0.6"},
]
# cloud-provider-azure's dual-stack names: <node>____<cidr without ':', '.', '/'>
NODE_ROUTE_NAMES = ["node-0____102440024", "node-0____fd001024464", "node-1____102441024", "node-2____102442024"]
SUBNETS = [{"virtual_network": "vnet-k8s", "name": "nodes"}, {"virtual_network": "vnet-k8s", "name": "aci"}]


# --------------------------------------------------------------------------- helpers


def env_for(emu) -> dict:
    env = emu.env()
    return env


def rid(emu, *type_names: str) -> str:
    path = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network" % (emu.subscription_id, RG)
    return "/".join([path] + list(type_names))


def table_id(emu, name: str = TABLE) -> str:
    return rid(emu, "routeTables", name)


def subnet_id(emu, name: str) -> str:
    return rid(emu, "virtualNetworks", "vnet-k8s", "subnets", name)


def routes_task(task_name: str = "routes", ignore_errors: bool = False, check_mode: bool | None = None, **args) -> dict:
    task = {"name": task_name, "calico.azure.azure_udr_routes": dict({"resource_group": RG, "name": TABLE}, **args)}
    if ignore_errors:
        task["ignore_errors"] = True
    if check_mode is not None:
        task["check_mode"] = check_mode
    return task


def playbook(*tasks: dict) -> str:
    # JSON is YAML; indent so the helper sees playbook text, not a path.
    return json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": list(tasks)}], indent=1)


def run(emu, *tasks: dict, check: bool = False, diff: bool = False, clear: bool = True):
    if clear:
        emu.clear_log()
    return run_playbook(playbook(*tasks), env=env_for(emu), check=check, diff=diff)


def arm_writes(emu) -> list:
    return [r for r in emu.requests() if r["kind"] == "arm" and r["method"] in ("PUT", "PATCH", "DELETE", "POST")]


def is_path_of(request: dict, resource_type: str) -> bool:
    """By path, since requests answered by an injected fault carry no resource_type in the log."""
    parts = request["path"].rstrip("/").split("/")
    return len(parts) >= 2 and parts[-2].lower() == resource_type.lower()


def table_puts(emu) -> list:
    return [r for r in arm_writes(emu) if r["method"] == "PUT" and is_path_of(r, "routeTables")]


def route_map(table: dict) -> dict:
    return {
        r["name"]: (r["properties"]["addressPrefix"], r["properties"]["nextHopType"], r["properties"].get("nextHopIpAddress"))
        for r in table["properties"]["routes"]
    }


def assert_ok(result, task: str = "routes") -> dict:
    outcome = result.task(task)
    assert result.rc == 0 and not outcome.get("failed"), outcome.get("msg") or result.stdout[-2000:] + result.stderr[-2000:]
    return outcome


def assert_no_traceback(outcome: dict) -> None:
    """An expected failure is fail_json: no module traceback, no stderr from a crash."""
    assert "Traceback" not in str(outcome.get("exception", "")) and "module_stderr" not in outcome, outcome


# --------------------------------------------------------------------------- check -> apply -> re-run -> diff


def test_check_apply_rerun_and_diff(azure_emulator):
    emu = azure_emulator
    args = dict(
        routes=NODE_ROUTES,
        dual_stack_route_names=True,
        cluster_cidr=CLUSTER_CIDR,
        purge_routes=True,
        subnets=SUBNETS,
        tags={"cluster": "demo"},
    )
    nodes_before = emu.get_resource(subnet_id(emu, "nodes"))
    aci_before = emu.get_resource(subnet_id(emu, "aci"))

    # check mode: exact prediction, no write at all
    info_task = {"name": "info", "calico.azure.azure_udr_routes_info": {"resource_group": RG, "name": TABLE}}
    checked_run = run(emu, routes_task(**args), info_task, check=True, diff=True)
    checked = assert_ok(checked_run)
    assert assert_ok(checked_run, "info")["exists"] is False
    assert checked["changed"] is True
    assert (checked["routes_added"], checked["routes_changed"], checked["routes_removed"]) == (4, 0, 0)
    assert arm_writes(emu) == []
    assert emu.get_resource(table_id(emu)) is None
    assert "routes/node-0____fd001024464: fd00:10:244::/64 -> VirtualAppliance fd00:10:240::4" in checked["diff"]["after"]
    assert "subnets/rg-k8s/vnet-k8s/aci: associated" in checked["diff"]["after"]
    assert (checked["diff"]["before"], checked["diff"]["before_header"], checked["diff"]["after_header"]) == (
        "", "route table %s (absent)" % TABLE, "route table %s" % TABLE)

    # apply: one table PUT (all routes) + one PUT per subnet; then the info module reads it back
    applied_run = run(emu, routes_task(**args), info_task)
    applied = assert_ok(applied_run)
    assert applied["changed"] is True
    assert len(table_puts(emu)) == 1
    assert sorted(r["resource_id"].rsplit("/", 1)[-1] for r in arm_writes(emu) if "subnets" in r["resource_id"]) == ["aci", "nodes"]
    assert len(arm_writes(emu)) == 3
    assert table_puts(emu)[0]["if_none_match"] == "*"  # a table created concurrently is never overwritten
    subnet_puts = [r for r in arm_writes(emu) if is_path_of(r, "subnets")]
    assert all(r["if_match"] and r["if_match"].startswith('W/"') for r in subnet_puts)  # each as read, If-Match

    table = emu.get_resource(table_id(emu))
    assert route_map(table) == {
        "node-0____102440024": ("10.244.0.0/24", "VirtualAppliance", "10.240.0.4"),
        "node-0____fd001024464": ("fd00:10:244::/64", "VirtualAppliance", "fd00:10:240::4"),
        "node-1____102441024": ("10.244.1.0/24", "VirtualAppliance", "10.240.0.5"),
        "node-2____102442024": ("10.244.2.0/24", "VirtualAppliance", "10.240.0.6"),
    }
    assert table["location"] == "westeurope"  # the resource group's
    assert table["tags"] == {"cluster": "demo"}

    # subnets: routeTable set, everything else exactly as before (NSG, NAT gateway, service endpoints, delegations)
    for before, name in ((nodes_before, "nodes"), (aci_before, "aci")):
        after = emu.get_resource(subnet_id(emu, name))
        assert after["properties"]["routeTable"]["id"].lower() == table_id(emu).lower()
        unchanged = {k: v for k, v in after["properties"].items() if k not in ("routeTable", "provisioningState")}
        expected = {k: v for k, v in before["properties"].items() if k not in ("routeTable", "provisioningState")}
        assert unchanged == expected
    nodes_after = emu.get_resource(subnet_id(emu, "nodes"))["properties"]
    assert nodes_after["networkSecurityGroup"]["id"].endswith("/nsg-nodes")
    assert [e["service"] for e in nodes_after["serviceEndpoints"]] == ["Microsoft.Storage", "Microsoft.KeyVault"]
    assert nodes_after["natGateway"]["id"].endswith("/natgw")
    assert emu.get_resource(subnet_id(emu, "aci"))["properties"]["delegations"]

    # returned table: id, the etag a later If-Match needs, routes, subnets
    assert applied["route_table"]["etag"] == table["etag"]
    assert applied["route_table"]["id"].lower() == table_id(emu).lower()
    assert sorted(r["name"] for r in applied["route_table"]["routes"]) == NODE_ROUTE_NAMES
    assert sorted(s.rsplit("/", 1)[-1] for s in applied["route_table"]["subnets"]) == ["aci", "nodes"]
    # node-0's NIC forwards nothing yet: warned by name; node-1 and node-2 forward
    warnings = " ".join(applied.get("warnings", []))
    assert "NIC 'node-0-nic' (10.240.0.4)" in warnings and "node-1-nic" not in warnings

    info = assert_ok(applied_run, "info")
    assert info["exists"] is True and info["route_table"]["etag"] == table["etag"]
    assert {r["name"]: r["node"] for r in info["route_table"]["routes"]}["node-0____fd001024464"] == "node-0"

    # unchanged re-run: nothing written, at most 3 reads (table, VNet, NIC list)
    rerun = assert_ok(run(emu, routes_task(**args)))
    assert rerun["changed"] is False
    assert (rerun["routes_added"], rerun["routes_changed"], rerun["routes_removed"]) == (0, 0, 0)
    counts = emu.counts()
    assert counts["writes"] == 0
    assert counts["reads"] <= 3, emu.requests()

    # diff mode: one line per route added / changed; check mode so nothing is written
    moved = [dict(r) for r in NODE_ROUTES]
    moved[2]["next_hop_ip"] = "10.240.0.15"
    moved.append({"node": "node-3", "address_prefix": "10.244.3.0/24", "next_hop_ip": "10.240.0.7"})
    moved_args = dict(args)
    moved_args["routes"] = moved
    diffed = assert_ok(run(emu, routes_task(**moved_args), check=True, diff=True))
    assert (diffed["routes_added"], diffed["routes_changed"], diffed["routes_removed"]) == (1, 1, 0)
    before_lines = set(diffed["diff"]["before"].splitlines())
    after_lines = set(diffed["diff"]["after"].splitlines())
    assert before_lines - after_lines == {"routes/node-1____102441024: 10.244.1.0/24 -> VirtualAppliance 10.240.0.5"}
    assert after_lines - before_lines == {
        "routes/node-1____102441024: 10.244.1.0/24 -> VirtualAppliance 10.240.0.15",
        "routes/node-3____102443024: 10.244.3.0/24 -> VirtualAppliance 10.240.0.7",
    }
    assert "subnets/rg-k8s/vnet-k8s/nodes: associated" in after_lines
    assert arm_writes(emu) == []


# --------------------------------------------------------------------------- purge scope


def test_purge_only_inside_cluster_cidr(azure_emulator):
    emu = azure_emulator
    emu.put_resource(table_id(emu), {
        "location": "westeurope",
        "properties": {"routes": [
            {"name": "default", "properties": {"addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.240.1.4"}},
            {"name": "peer", "properties": {"addressPrefix": "192.168.0.0/16", "nextHopType": "VirtualNetworkGateway"}},
            {"name": "node-9", "properties": {"addressPrefix": "10.244.9.0/24", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.240.0.9"}},
            {"name": "node-1", "properties": {"addressPrefix": "10.244.1.0/24", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.240.0.5"}},
        ]},
    })
    wanted = [{"name": "node-1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.240.0.5"}]
    etag_read = emu.get_resource(table_id(emu))["etag"]

    scope = ["10.244.0.0/16"]
    result = run(
        emu,
        # without purge_routes nothing unlisted goes
        routes_task(task_name="no purge", routes=wanted, cluster_cidr=scope),
        routes_task(task_name="purge", routes=wanted, cluster_cidr=scope, purge_routes=True),
    )
    assert assert_ok(result, "no purge")["changed"] is False
    purged = assert_ok(result, "purge")
    assert (purged["changed"], purged["routes_removed"]) == (True, 1)
    assert len(arm_writes(emu)) == 1 and len(table_puts(emu)) == 1
    assert table_puts(emu)[0]["if_match"] == etag_read
    # the default route and the peer's route (outside cluster_cidr) survive
    assert sorted(route_map(emu.get_resource(table_id(emu)))) == ["default", "node-1", "peer"]


# --------------------------------------------------------------------------- concurrency


def test_outside_write_between_read_and_write_is_merged_not_lost(azure_emulator):
    """Another writer adds a route right after the module read the table: 412, re-read, re-merge."""
    emu = azure_emulator
    emu.put_resource(table_id(emu), {"location": "westeurope", "properties": {"routes": []}})
    outside = {"name": "node-7", "properties": {"addressPrefix": "10.244.7.0/24", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.240.0.7"}}
    emu.schedule_mutation(table_id(emu), {"properties": {"routes": [outside]}}, after_method="GET",
                          after_path_contains="/routeTables/" + TABLE)
    result = assert_ok(run(emu, routes_task(routes=NODE_ROUTES[:1], cluster_cidr=["10.244.0.0/16"])))
    assert result["attempts"] == 2
    statuses = [r["status"] for r in table_puts(emu)]
    assert statuses[0] == 412 and statuses[-1] in (200, 201) and len(statuses) == 2
    assert sorted(route_map(emu.get_resource(table_id(emu)))) == ["node-0", "node-7"]


def test_two_runs_started_together_both_land(azure_emulator):
    emu = azure_emulator
    emu.put_resource(table_id(emu), {"location": "westeurope", "properties": {"routes": []}})
    # Slow requests and a long LRO make the two runs' read-to-write windows overlap.
    emu.set_latency(request_ms=300, lro_seconds=1.5, retry_after=1)
    emu.clear_log()
    first = [{"name": "node-a", "address_prefix": "10.244.10.0/24", "next_hop_ip": "10.240.0.4"}]
    second = [{"name": "node-b", "address_prefix": "10.244.11.0/24", "next_hop_ip": "10.240.0.5"}]
    results = {}

    def one(key, routes):
        results[key] = run_playbook(playbook(routes_task(routes=routes)), env=env_for(emu))

    threads = [threading.Thread(target=one, args=("a", first)), threading.Thread(target=one, args=("b", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    outcomes = [assert_ok(results[k]) for k in ("a", "b")]
    assert all(o["changed"] for o in outcomes)
    assert sorted(route_map(emu.get_resource(table_id(emu)))) == ["node-a", "node-b"]
    accepted = [r for r in table_puts(emu) if r["status"] in (200, 201)]
    assert len(accepted) == 2
    # Whichever lost the race saw 412 (or waited out the other's LRO) and merged, never overwrote.
    lost = [r["status"] for r in table_puts(emu) if r["status"] == 412]
    assert sum(o["attempts"] for o in outcomes) == 2 + len(lost)


# --------------------------------------------------------------------------- scale


def _many_routes(count: int) -> list:
    # /26 blocks of 10.244.0.0/16: room for 1024 nodes
    return [
        {"node": "node-%03d" % i, "address_prefix": "10.244.%d.%d/26" % (i // 4, (i % 4) * 64), "next_hop_ip": "10.240.0.4"}
        for i in range(count)
    ]


def test_400_routes_in_one_write(azure_emulator):
    emu = azure_emulator
    done = assert_ok(run(emu, routes_task(routes=_many_routes(400), cluster_cidr=["10.244.0.0/16"])))
    assert done["routes_added"] == 400
    assert len(arm_writes(emu)) == 1 and len(table_puts(emu)) == 1
    assert len(emu.get_resource(table_id(emu))["properties"]["routes"]) == 400


# --------------------------------------------------------------------------- faults


def test_throttling_and_transient_error_are_retried(azure_emulator):
    emu = azure_emulator
    emu.clear_log()
    emu.inject_faults(count=1, status=429, retry_after=1, method="PUT", path_contains="/routeTables/")
    emu.inject_faults(count=1, status=500, method="GET", path_contains="/virtualNetworks/")
    result = run(emu, routes_task(routes=NODE_ROUTES[:1], subnets=SUBNETS[:1]), clear=False)
    outcome = assert_ok(result)
    assert outcome["changed"] is True
    puts = [r["status"] for r in table_puts(emu)]
    assert puts[0] == 429 and puts[-1] in (200, 201) and len(puts) == 2
    vnet_reads = [r["status"] for r in emu.requests() if r["method"] == "GET" and is_path_of(r, "virtualNetworks")]
    assert vnet_reads[:2] == [500, 200]
    assert sorted(route_map(emu.get_resource(table_id(emu)))) == ["node-0"]


def test_failed_lro_is_a_clear_error(azure_emulator):
    emu = azure_emulator
    emu.fail_next_lro(code="InternalServerError", message="Route table update failed on the host.")
    result = run(emu, routes_task(routes=NODE_ROUTES[:1]))
    outcome = result.task("routes")
    assert outcome.get("failed") is True
    assert "Route table 'rt-pods'" in outcome["msg"] and "ended Failed" in outcome["msg"]
    assert "InternalServerError" in outcome["msg"] and "Route table update failed on the host." in outcome["msg"]
    assert_no_traceback(outcome)


# --------------------------------------------------------------------------- validation: nothing written


VALIDATION_CASES = [
    (
        "host bits",
        dict(routes=[{"name": "node-1", "address_prefix": "10.244.1.5/24", "next_hop_ip": "10.240.0.5"}]),
        ["route 'node-1': address_prefix '10.244.1.5/24' has host bits set; use '10.244.1.0/24'"],
    ),
    (
        "duplicate names",
        dict(routes=[{"name": "node-1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.240.0.5"},
                     {"name": "Node-1", "address_prefix": "10.244.2.0/24", "next_hop_ip": "10.240.0.6"}]),
        ["routes 'node-1' (10.244.1.0/24) and 'Node-1' (10.244.2.0/24) have the same name"],
    ),
    (
        "duplicate prefixes",
        dict(routes=[{"name": "node-1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.240.0.5"},
                     {"name": "node-2", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.240.0.6"}]),
        ["routes 'node-1' and 'node-2' have the same address_prefix 10.244.1.0/24"],
    ),
    (
        "pod CIDR outside the VNet",
        dict(routes=[{"name": "node-1", "address_prefix": "10.50.1.0/24", "next_hop_ip": "10.240.0.5"}], subnets=SUBNETS[:1]),
        ["route 'node-1': pod CIDR 10.50.1.0/24 is outside the address space of VNet 'vnet-k8s' "
         "(10.240.0.0/16, 10.244.0.0/16, fd00:10::/32)"],
    ),
    (
        "pod CIDR overlapping a subnet",
        dict(routes=[{"name": "node-1", "address_prefix": "10.240.0.128/25", "next_hop_ip": "10.240.0.5"}], subnets=SUBNETS[:1]),
        ["route 'node-1': pod CIDR 10.240.0.128/25 overlaps subnet 'nodes' (10.240.0.0/24) of VNet 'vnet-k8s'"],
    ),
    (
        "pod CIDRs overlapping each other",
        dict(routes=[{"name": "node-1", "address_prefix": "10.244.0.0/23", "next_hop_ip": "10.240.0.5"},
                     {"name": "node-2", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.240.0.6"}], subnets=SUBNETS[:1]),
        ["route 'node-2' (10.244.1.0/24) overlaps route 'node-1' (10.244.0.0/23)"],
    ),
    (
        "next hop outside the VNet",
        dict(routes=[{"name": "node-1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.9.0.5"}], subnets=SUBNETS[:1]),
        ["route 'node-1': next_hop_ip 10.9.0.5 is outside the address space of VNet 'vnet-k8s'"],
    ),
    (
        "next hop not an address",
        dict(routes=[{"name": "node-1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.240.0.999"}]),
        ["route 'node-1': next_hop_ip '10.240.0.999' is not a valid IP address"],
    ),
    (
        "route name",
        dict(routes=[{"name": "node 1", "address_prefix": "10.244.1.0/24", "next_hop_ip": "10.240.0.5"}]),
        ["route name 'node 1' is not a valid Azure name"],
    ),
    (
        "table name",
        dict(name="rt-pods-", routes=[]),
        ["route table name 'rt-pods-' is not a valid Azure name"],
    ),
    (
        "subnet of another table",
        dict(routes=[], subnets=[{"virtual_network": "vnet-k8s", "name": "gw"}]),
        ["subnet vnet-k8s/gw (resource group rg-k8s) is associated with another route table",
         "set force_subnet_association: true"],
    ),
    (
        # issue 12: forcing needs the old table's name too, so nothing moves by accident
        "forced without the old table's name",
        dict(routes=[], subnets=[{"virtual_network": "vnet-k8s", "name": "gw"}], force_subnet_association=True),
        ["subnet vnet-k8s/gw (resource group rg-k8s) is associated with another route table, 'rt-other' (resource group rg-k8s)",
         "force_subnet_association also needs replace_subnet_route_table: rt-other"],
    ),
    (
        "cluster_cidr covering everything",
        dict(routes=[], cluster_cidr=["0.0.0.0/0"], purge_routes=True),
        ["cluster_cidr '0.0.0.0/0' covers every address"],
    ),
    (
        "prefix of a route kept in the table",
        dict(routes=[{"name": "node-7", "address_prefix": "10.244.7.0/24", "next_hop_ip": "10.240.0.5"}]),
        ["route 'node-7' (10.244.7.0/24) has the same address prefix as route 'legacy-7' already in route table 'rt-pods'"],
    ),
    (
        "401 routes",
        dict(routes=_many_routes(401), cluster_cidr=["10.244.0.0/16"]),
        ["routes lists 401 routes but Azure allows at most 400 routes per route table", "Azure CNI", "overlay"],
    ),
    (
        "every problem at once",
        dict(routes=[{"name": "a", "address_prefix": "10.244.1.1/24", "next_hop_ip": "10.240.0.5"},
                     {"name": "b", "address_prefix": "10.244.2.0/24"}]),
        ["route 'a': address_prefix '10.244.1.1/24' has host bits set; use '10.244.1.0/24'",
         "route 'b': next_hop_ip is required with next_hop_type VirtualAppliance"],
    ),
]


def test_validation_errors_write_nothing(azure_emulator):
    emu = azure_emulator
    emu.put_resource(table_id(emu), {"location": "westeurope", "properties": {"routes": [
        {"name": "legacy-7", "properties": {"addressPrefix": "10.244.7.0/24", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.240.0.7"}},
    ]}})
    table_before = emu.get_resource(table_id(emu))
    gw_before = emu.get_resource(subnet_id(emu, "gw"))
    tasks = [routes_task(task_name=label, ignore_errors=True, **args) for label, args, _fragments in VALIDATION_CASES]
    # forcing the association is the way out: predicted, not written (check mode)
    tasks.append(routes_task(task_name="forced", check_mode=True, routes=[], force_subnet_association=True,
                             replace_subnet_route_table="rt-other",
                             subnets=[{"virtual_network": "vnet-k8s", "name": "gw"}]))
    result = run(emu, *tasks)
    for label, _args, fragments in VALIDATION_CASES:
        outcome = result.task(label)
        assert outcome.get("failed") is True, (label, outcome)
        for fragment in fragments:
            assert fragment in outcome["msg"], (label, outcome["msg"])
        assert_no_traceback(outcome)
    assert len(result.task("every problem at once")["errors"]) == 2
    forced = assert_ok(result, "forced")
    assert forced["changed"] is True and [s.rsplit("/", 1)[-1] for s in forced["subnets_associated"]] == ["gw"]
    assert arm_writes(emu) == []
    assert emu.get_resource(subnet_id(emu, "gw")) == gw_before
    assert emu.get_resource(table_id(emu)) == table_before


# --------------------------------------------------------------------------- state: absent


def test_absent_dissociates_then_deletes(azure_emulator):
    """The cluster's table (tagged, every route recorded as the cluster's) goes, with its associations.

    Changed by issue 12: absent needs cluster_name and deletes only such a table (see test_azure_udr_ownership.py).
    """
    emu = azure_emulator
    emu.put_resource(table_id(emu), {"location": "westeurope",
                                     "tags": {"calico-azure-cluster": "demo", "calico-azure-routes.demo": "node-0"},
                                     "properties": {"routes": [
                                         {"name": "node-0", "properties": {
                                             "addressPrefix": "10.244.0.0/24", "nextHopType": "VirtualAppliance",
                                             "nextHopIpAddress": "10.240.0.4"}},
                                     ]}})
    nodes_subnet = emu.get_resource(subnet_id(emu, "nodes"))
    emu.put_resource(subnet_id(emu, "nodes"), dict(nodes_subnet, properties=dict(nodes_subnet["properties"], routeTable={"id": table_id(emu)})))
    nodes_before = emu.get_resource(subnet_id(emu, "nodes"))

    checked = assert_ok(run(emu, routes_task(state="absent", cluster_name="demo"), check=True, diff=True))
    assert checked["changed"] is True and checked["routes_removed"] == 1
    assert "routes/node-0: 10.244.0.0/24 -> VirtualAppliance 10.240.0.4" in checked["diff"]["before"]
    assert checked["diff"]["after"] == "" and checked["diff"]["after_header"] == "route table %s (absent)" % TABLE
    assert arm_writes(emu) == [] and emu.get_resource(table_id(emu)) is not None

    removed = assert_ok(run(emu, routes_task(state="absent", cluster_name="demo")))
    assert removed["changed"] is True
    assert [s.rsplit("/", 1)[-1] for s in removed["subnets_dissociated"]] == ["nodes"]
    assert [(r["method"], r["resource_type"]) for r in arm_writes(emu)] == [
        ("PUT", "Microsoft.Network/virtualNetworks/subnets"),
        ("DELETE", "Microsoft.Network/routeTables"),
    ]
    assert emu.get_resource(table_id(emu)) is None
    nodes_after = emu.get_resource(subnet_id(emu, "nodes"))
    assert "routeTable" not in nodes_after["properties"]
    assert {k: v for k, v in nodes_after["properties"].items() if k not in ("routeTable", "provisioningState")} == {
        k: v for k, v in nodes_before["properties"].items() if k not in ("routeTable", "provisioningState")
    }
    # the other table's association was not touched
    assert emu.get_resource(subnet_id(emu, "gw"))["properties"]["routeTable"]["id"].endswith("/rt-other")

    again = assert_ok(run(emu, routes_task(state="absent", cluster_name="demo")))
    assert again["changed"] is False and arm_writes(emu) == []
