# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Side-by-side benchmark of the Azure part of a cluster run (issue 16).

Prints tables (never asserts a time). One stand-in, one injected latency
(100 ms per ARM request, 1 s per long-running operation), N nodes whose VMs are
in ``rg-compute`` and whose VNet is in ``rg-network``. For N = 10 and 100 the
same job is done, interleaved A B A B:

- ``modules``: calico.azure.azure_nic_forwarding, then calico.azure.azure_udr_routes
  with the node IPs it returned (what a user writing the two tasks by hand does);
- ``role``: the calico.azure.udr role as site.yml runs it (the precondition play's
  ``preflight`` entry point, then the role), node source: the inventory;
- ``azcollection``: azure.azcollection as its users write it (azure_rm_routetable,
  a loop of azure_rm_route, azure_rm_subnet and a loop of azure_rm_networkinterface),
  when its virtualenv exists (``make azcollection-venv``), configured for the stand-in
  as its users configure a private cloud (tests/tools/azcollection_venv.py
  ``stand_in_environment``); at N = 100 it runs once (``--azcollection-rounds``: how
  many rounds it joins at every N).

Each row: wall time, CPU time of the ansible processes, ARM reads / writes / LRO
polls / 429 answers from the stand-in's request log, and whether the end state is
exactly right (one route per node with its pod CIDR and next hop, the subnet
associated, forwarding on every NIC). Then an unchanged re-run (``rerun``) and
the physical floor: ``ansible localhost -m ping`` (measured in the same run) plus
what the latency settings make unavoidable: the token, the shortest chain of
reads, one table write with its LRO, one subnet write with its LRO and one wave
of NIC writes with their LROs. ``--scale`` adds N = 400 (Azure's route limit)
through the role. The unchanged role run is also set against the issue's bound
for it: one ``ansible -m ping`` round on all N hosts (same forks and settings)
plus its Azure reads at the injected latency.

Run: ``make bench`` or ``python tests/benchmarks/bench_site.py [--repeat N] [--scale]``.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

TESTS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS_DIR.parent
sys.path[:0] = [str(TESTS_DIR), str(TESTS_DIR / "tools"), str(REPO_ROOT / ".cache" / "collections")]

import azcollection_venv  # noqa: E402
from azure_emulator import Emulator  # noqa: E402
from helpers.ansible_run import BIN_DIR, ansible_env  # noqa: E402

REQUEST_MS = 100
LRO_SECONDS = 1.0
RETRY_AFTER = 1
VM_RG = "rg-compute"
NET_RG = "rg-network"
VNET = "vnet-cluster"
SUBNET = "nodes"
TABLE = "rt-pods"
NODE_NET = ipaddress.ip_network("10.240.0.0/16")
# A /15: room for a /24 per node up to Azure's 400 routes (a /16 holds only 256).
CLUSTER_CIDR = "10.244.0.0/15"
AZCOLLECTION_VENV = azcollection_venv.VENV
AZCOLLECTION_PATH = azcollection_venv.COLLECTIONS


def node_ip(index: int) -> str:
    return str(NODE_NET.network_address + 4 + index)


def pod_cidr(index: int) -> str:
    return str(ipaddress.ip_network(CLUSTER_CIDR).network_address + 256 * index) + "/24"


def node_name(index: int) -> str:
    return "node-%03d" % index


def seed(count: int) -> Dict[str, Any]:
    return {
        "resource_groups": [{"name": VM_RG, "location": "westeurope"}, {"name": NET_RG, "location": "westeurope"}],
        "virtual_networks": [{
            "name": VNET, "resource_group": NET_RG, "address_prefixes": [str(NODE_NET), CLUSTER_CIDR],
            "subnets": [{"name": SUBNET, "address_prefix": str(NODE_NET)}],
        }],
        "virtual_machines": [
            {"name": node_name(i), "resource_group": VM_RG,
             "nics": [{"name": node_name(i) + "-nic",
                       "subnet": {"resource_group": NET_RG, "virtual_network": VNET, "name": SUBNET},
                       "private_ip": node_ip(i), "enable_ip_forwarding": False}]}
            for i in range(count)
        ],
    }


def inventory(tmp: Path, count: int) -> Path:
    hosts = {node_name(i): {"udr_pod_cidr": pod_cidr(i), "ansible_connection": "local"} for i in range(count)}
    group_vars = {
        "calico_azure_resource_group": VM_RG,
        "calico_azure_network_resource_group": NET_RG,
        "calico_azure_vnet_resource_group": NET_RG,
        "calico_azure_location": "westeurope",
        "calico_azure_vnet_name": VNET,
        "calico_azure_subnet_name": SUBNET,
        "calico_azure_route_table_name": TABLE,
        "calico_azure_cluster_cidr": CLUSTER_CIDR,
        "calico_azure_node_source": "inventory",
        # The role's resource groups, for releases that predate the shared network variable.
        "udr_resource_group": NET_RG,
        "udr_vm_resource_group": VM_RG,
    }
    path = tmp / ("inventory-%d.json" % count)
    path.write_text(json.dumps({"all": {"children": {"calico_azure_nodes": {"hosts": hosts, "vars": group_vars}}}}))
    return path


MODULES_PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: IP forwarding on every node NIC
      calico.azure.azure_nic_forwarding:
        resource_group: %(vm_rg)s
        vms: "{{ nodes }}"
      register: forwarding
    - name: One route per node
      calico.azure.azure_udr_routes:
        resource_group: %(net_rg)s
        name: %(table)s
        location: westeurope
        subnets: [{virtual_network: %(vnet)s, name: %(subnet)s, resource_group: %(net_rg)s}]
        routes: "{{ forwarding.nics | map(attribute='vm') | zip(forwarding.nics | map(attribute='private_ip'))
                    | map('calico_bench_route', cidrs) | list }}"
        purge_routes: true
        cluster_cidr: [%(cluster)s]
"""

ROLE_PLAYBOOK = """
- name: Preconditions (as site.yml's first play)
  hosts: calico_azure_nodes
  gather_facts: false
  tasks:
    - name: Check the route table preconditions against Azure
      ansible.builtin.include_role:
        name: calico.azure.udr
        tasks_from: preflight
      run_once: true
- name: Converge (as site.yml's second play)
  hosts: calico_azure_nodes
  gather_facts: false
  tasks:
    - name: Converge the route table
      ansible.builtin.include_role:
        name: calico.azure.udr
      run_once: true
"""

AZCOLLECTION_PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Route table
      azure.azcollection.azure_rm_routetable:
        resource_group: %(net_rg)s
        name: %(table)s
        location: westeurope
    - name: One route per node
      azure.azcollection.azure_rm_route:
        resource_group: %(net_rg)s
        route_table_name: %(table)s
        name: "{{ item.0 }}"
        address_prefix: "{{ cidrs[item.0] }}"
        next_hop_type: virtual_appliance
        next_hop_ip_address: "{{ item.1 }}"
      loop: "{{ nodes | zip(ips) | list }}"
    - name: Associate the subnet
      azure.azcollection.azure_rm_subnet:
        resource_group: %(net_rg)s
        virtual_network_name: %(vnet)s
        name: %(subnet)s
        address_prefix_cidr: "%(node_net)s"
        route_table: %(table)s
    - name: IP forwarding on every node NIC
      azure.azcollection.azure_rm_networkinterface:
        resource_group: %(vm_rg)s
        name: "{{ item }}-nic"
        virtual_network:
          name: %(vnet)s
          resource_group: %(net_rg)s
        subnet_name: %(subnet)s
        ip_forwarding: true
        create_with_security_group: false
      loop: "{{ nodes }}"
"""

FILTER_PLUGIN = '''
def calico_bench_route(pair, cidrs):
    vm, ip = pair
    return {"name": vm, "address_prefix": cidrs[vm], "next_hop_type": "VirtualAppliance", "next_hop_ip": ip}


class FilterModule(object):
    def filters(self):
        return {"calico_bench_route": calico_bench_route}
'''


def _format(text: str) -> str:
    return text % {"vm_rg": VM_RG, "net_rg": NET_RG, "table": TABLE, "vnet": VNET, "subnet": SUBNET,
                   "cluster": CLUSTER_CIDR, "node_net": NODE_NET}


def _run(cmd: List[str], env: Dict[str, str]) -> Dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800, check=False)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"rc": proc.returncode, "wall": wall, "cpu": cpu, "output": proc.stdout[-3000:] + proc.stderr[-2000:]}


def run_playbook(emu: Emulator, tmp: Path, text: str, count: int, flavour: str) -> Dict[str, Any]:
    playbook = tmp / ("%s.yml" % flavour)
    playbook.write_text(_format(text))
    names = [node_name(i) for i in range(count)]
    extra = {"nodes": names, "cidrs": dict((n, pod_cidr(i)) for i, n in enumerate(names)),
             "ips": [node_ip(i) for i in range(count)]}
    extra_file = tmp / "extra.json"
    extra_file.write_text(json.dumps(extra))
    if flavour == "azcollection":
        # azcollection's modules run in its own venv (its pinned SDKs), driven by the same ansible-playbook.
        config_dir = tmp / "azure-config"
        config_dir.mkdir(exist_ok=True)
        env = ansible_env(azcollection_venv.stand_in_environment(emu, str(config_dir)))
        env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join([str(AZCOLLECTION_PATH), env["ANSIBLE_COLLECTIONS_PATH"]])
    else:
        env = ansible_env(emu.env())
    env["ANSIBLE_FILTER_PLUGINS"] = str(tmp / "filter_plugins")
    env["ANSIBLE_FORKS"] = "10"
    env["ANSIBLE_PIPELINING"] = "true"
    binary = str(BIN_DIR / "ansible-playbook")
    cmd = [binary, str(playbook), "-e", "@%s" % extra_file]
    cmd += ["-i", str(inventory(tmp, count))] if flavour == "role" else ["-i", "localhost,", "-c", "local"]
    return _run(cmd, env)


def end_state_exact(emu: Emulator, count: int) -> bool:
    sub = emu.subscription_id
    table = emu.get_resource("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/routeTables/%s"
                             % (sub, NET_RG, TABLE))
    if not table:
        return False
    routes = {r["name"]: (r["properties"]["addressPrefix"], r["properties"].get("nextHopIpAddress"))
              for r in table["properties"].get("routes", [])}
    wanted = {node_name(i): (pod_cidr(i), node_ip(i)) for i in range(count)}
    subnet = emu.get_resource("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/virtualNetworks/%s"
                              "/subnets/%s" % (sub, NET_RG, VNET, SUBNET))
    associated = ((subnet or {}).get("properties", {}).get("routeTable") or {}).get("id", "").lower() == \
        table["id"].lower()
    forwarding = all(
        (emu.get_resource("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/networkInterfaces/%s-nic"
                          % (sub, VM_RG, node_name(i))) or {}).get("properties", {}).get("enableIPForwarding")
        for i in range(count))
    return routes == wanted and associated and forwarding


def measure(emu: Emulator, tmp: Path, flavour: str, count: int, text: str) -> List[Dict[str, Any]]:
    rows = []
    emu.reset(seed(count))
    emu.set_latency(request_ms=REQUEST_MS, lro_seconds=LRO_SECONDS, retry_after=RETRY_AFTER)
    for case in ("first run", "rerun"):
        emu.clear_log()
        outcome = run_playbook(emu, tmp, text, count, flavour)
        log = emu.requests()
        counts = emu.counts()
        rows.append({
            "flavour": flavour, "case": case, "nodes": count, "wall": outcome["wall"], "cpu": outcome["cpu"],
            "reads": counts["reads"], "writes": counts["writes"], "polls": counts["lro_polls"],
            "throttled": sum(1 for entry in log if entry.get("status") == 429),
            "exact": outcome["rc"] == 0 and end_state_exact(emu, count),
            "rc": outcome["rc"], "output": outcome["output"] if outcome["rc"] else "",
        })
    return rows


def ping_time(repeat: int = 3) -> float:
    env = ansible_env({})
    times = []
    for _round in range(repeat):
        outcome = _run([str(BIN_DIR / "ansible"), "localhost", "-c", "local", "-m", "ansible.builtin.ping"], env)
        times.append(outcome["wall"])
    return statistics.median(times)


def ping_all_time(tmp: Path, count: int) -> float:
    """One ``ansible -m ping`` round on all N hosts of the role's inventory, with the runs' settings."""
    env = ansible_env({})
    env["ANSIBLE_FORKS"] = "10"
    env["ANSIBLE_PIPELINING"] = "true"
    outcome = _run([str(BIN_DIR / "ansible"), "calico_azure_nodes", "-i", str(inventory(tmp, count)),
                    "-m", "ansible.builtin.ping"], env)
    return outcome["wall"]


def rerun_yardstick(ping_all: float, reads: int) -> float:
    """The issue's bound for an unchanged run: a ping round on all the hosts plus its Azure reads."""
    return ping_all + reads * REQUEST_MS / 1000.0


def floor(ping: float, count: int) -> float:
    """The least a first run can take at these latency settings.

    One process start (the measured ping), the token, the shortest read chain
    (route table, subnet, one NIC list page per 50 NICs), then three writes that
    cannot overlap with their reads (table, subnet association, the NIC wave),
    each with one LRO.
    """
    pages = max(1, -(-count // 50))
    requests = 1 + 2 + pages
    latency = REQUEST_MS / 1000.0
    return ping + requests * latency + 3 * (latency + LRO_SECONDS)


def table(rows: List[Dict[str, Any]], ping: float) -> str:
    header = "| %-12s | %-9s | %5s | %7s | %7s | %5s | %6s | %5s | %4s | %5s | %8s |" % (
        "flavour", "case", "nodes", "wall s", "CPU s", "reads", "writes", "polls", "429s", "exact", "x floor")
    lines = [header, "|" + "|".join("-" * (len(cell) + 0) for cell in header.split("|")[1:-1]) + "|"]
    for row in rows:
        ratio = row["wall"] / floor(ping, row["nodes"]) if row["case"] == "first run" else None
        lines.append("| %-12s | %-9s | %5d | %7.2f | %7.2f | %5d | %6d | %5d | %4d | %-5s | %8s |" % (
            row["flavour"], row["case"], row["nodes"], row["wall"], row["cpu"], row["reads"], row["writes"],
            row["polls"], row["throttled"], "yes" if row["exact"] else "NO",
            "%.2fx" % ratio if ratio is not None else "-"))
    return "\n".join(lines)


def azcollection_rounds(count: int, options: argparse.Namespace) -> int:
    if options.azcollection_rounds is not None:
        return options.azcollection_rounds
    return 1 if count >= 100 else max(1, options.repeat)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="A B rounds per N (default 1)")
    parser.add_argument("--scale", action="store_true", help="also N = 400 through the role")
    parser.add_argument("--sizes", default="10,100", help="comma-separated N (default 10,100)")
    parser.add_argument("--only", default="", help="comma-separated flavours to measure (default: all)")
    parser.add_argument("--azcollection-rounds", type=int, default=None,
                        help="rounds azcollection joins at each N (default: every round below N = 100, one at 100+)")
    options, _others = parser.parse_known_args(argv)
    sizes = [int(n) for n in options.sizes.split(",") if n]
    have_azcollection = (AZCOLLECTION_VENV / ".installed").exists()
    flavours = [("modules", MODULES_PLAYBOOK), ("role", ROLE_PLAYBOOK)]
    if have_azcollection:
        flavours.append(("azcollection", AZCOLLECTION_PLAYBOOK))
    if options.only:
        flavours = [(name, text) for name, text in flavours if name in options.only.split(",")]
    rows: List[Dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="calico-azure-bench-") as tmp_name, Emulator(seed=seed(1)) as emu:
        tmp = Path(tmp_name)
        (tmp / "filter_plugins").mkdir()
        (tmp / "filter_plugins" / "bench.py").write_text(FILTER_PLUGIN)
        ping = ping_time()
        for count in sizes:
            for round_ in range(max(1, options.repeat)):
                # Interleaved A B A B: a machine that slows down mid-run slows every flavour alike.
                for flavour, text in flavours:
                    if flavour == "azcollection" and round_ >= azcollection_rounds(count, options):
                        continue
                    for row in measure(emu, tmp, flavour, count, text):
                        rows.append(row)
                        # A long run (azcollection at N = 100) shows each row as it lands.
                        print("measured: %(flavour)s %(case)s N=%(nodes)d %(wall).1f s, %(writes)d writes"
                              % row, file=sys.stderr, flush=True)
        if options.scale:
            rows.extend(measure(emu, tmp, "role", 400, ROLE_PLAYBOOK))
        ping_all = {count: ping_all_time(tmp, count) for count in sorted({r["nodes"] for r in rows})}
    print("Azure part of a cluster run: %d ms per ARM request, %.0f s per LRO (Retry-After %d); VMs in %s, "
          "VNet and route table in %s." % (REQUEST_MS, LRO_SECONDS, RETRY_AFTER, VM_RG, NET_RG))
    print("ansible localhost -m ping: %.2f s (median of 3). Floor at N: ping + token + reads + 3 x (write + LRO)."
          % ping)
    if not have_azcollection:
        print("azure.azcollection: not measured (no %s; make azcollection-venv)" % AZCOLLECTION_VENV)
    print("")
    print(table(rows, ping))
    print("")
    for count in sizes:
        by = dict(((r["flavour"], r["case"]), r) for r in rows if r["nodes"] == count)
        modules, role = by.get(("modules", "first run")), by.get(("role", "first run"))
        if modules and role:
            print("N=%d: role / modules = %.2fx (target 1.3x); role / floor = %.2fx (target 1.5x)"
                  % (count, role["wall"] / modules["wall"], role["wall"] / floor(ping, count)))
        azc = by.get(("azcollection", "first run"))
        if azc and modules:
            print("N=%d: azcollection / modules = %.2fx, end state exact: %s"
                  % (count, azc["wall"] / modules["wall"], "yes" if azc["exact"] else "NO"))
    for row in rows:
        if row["flavour"] == "role" and row["case"] == "rerun":
            bound = rerun_yardstick(ping_all[row["nodes"]], row["reads"])
            print("N=%d: unchanged role run %.2f s = %.2fx (ansible -m ping on the %d hosts %.2f s + %d reads) "
                  "(target 2x), %d writes"
                  % (row["nodes"], row["wall"], row["wall"] / bound, row["nodes"], ping_all[row["nodes"]],
                     row["reads"], row["writes"]))
    failed = [r for r in rows if r["rc"] and r["flavour"] != "azcollection"]
    for row in failed:
        print("\n%s %s N=%d failed:\n%s" % (row["flavour"], row["case"], row["nodes"], row["output"]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
