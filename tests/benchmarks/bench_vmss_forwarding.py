# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: calico.azure.azure_vmss_forwarding on a Uniform scale set of 100 instances.

Every ARM request is delayed by 100 ms and every long-running operation takes
1 s (``Retry-After: 1``), as in bench_nic_forwarding.py. Cases: 1 instance,
"100 scale-set instances" (Manual policy: one model PATCH + one manualupgrade),
the re-run (0 writes), and 100 instances with an Automatic policy (one PATCH,
no upgrade call). Count targets (deterministic; exit 1 when missed): the
100-instance run makes exactly 2 writes, the re-run 0; reads stay a handful
(the scale set, one paged instance list, one paged NIC list), independent of
the instance count apart from paging.

Then the same 100 instances as Kubernetes nodes (scale-set providerIDs) through
calico.azure.azure_udr_cluster, the udr role's one pass: forwarding (one model
PATCH + one manualupgrade), one route per instance in ONE route-table PUT and
the subnet association: exactly 4 writes, the re-run 0 writes.

Run: ``python tests/benchmarks/bench_vmss_forwarding.py`` (or ``make bench``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_nic_forwarding import REQUEST_MS, LRO_SECONDS, RETRY_AFTER, SUBSCRIPTION, run_module  # noqa: E402
from azure_emulator import Emulator  # noqa: E402

import bench_nic_forwarding  # noqa: E402

INSTANCES = 100
MODULE = "ansible_collections.calico.azure.plugins.modules.azure_vmss_forwarding"
CLUSTER_MODULE = "ansible_collections.calico.azure.plugins.modules.azure_udr_cluster"
SUBNET = {"resource_group": "rg-cluster", "virtual_network": "vnet", "name": "nodes"}


def seed() -> Dict[str, Any]:
    def pool(name, capacity, policy):
        return {"name": name, "resource_group": "rg-cluster", "capacity": capacity, "upgrade_policy": policy,
                "network_interface_configurations": [{"name": "nic", "subnet": "vnet/nodes"}]}

    return {
        "subscription_id": SUBSCRIPTION,
        "resource_groups": [{"name": "rg-cluster", "location": "westeurope"}],
        "virtual_networks": [{"name": "vnet", "resource_group": "rg-cluster", "address_prefixes": ["10.0.0.0/8"],
                              "subnets": [{"name": "nodes", "address_prefix": "10.240.0.0/16"}]}],
        "virtual_machine_scale_sets": [pool("pool-one", 1, "Manual"), pool("pool-big", INSTANCES, "Manual"),
                                       pool("pool-auto", INSTANCES, "Automatic"),
                                       pool("pool-nodes", INSTANCES, "Manual")],
    }


def measure(emu: Emulator, case: str, scale_set: str, count: int) -> Dict[str, Any]:
    emu.clear_log()
    started = time.monotonic()
    output = run_module(emu.env(), {"resource_group": "rg-cluster", "scale_sets": [scale_set]})
    elapsed = time.monotonic() - started
    if output.get("failed"):
        raise SystemExit("case %r failed: %s" % (case, output.get("msg")))
    counts = emu.counts()
    return {"case": case, "nics": count, "reads": counts["reads"], "writes": counts["writes"],
            "lro_polls": counts["lro_polls"], "seconds": elapsed, "changed": output.get("changed")}


def cluster_nodes(scale_set: str, count: int) -> List[Dict[str, Any]]:
    """The scale set's instances as the cluster's Node objects (k8s_info's resources)."""
    group = "/subscriptions/%s/resourceGroups/rg-cluster" % SUBSCRIPTION
    return [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "%s%06d" % (scale_set, i)},
             "spec": {"providerID": "azure://%s/providers/Microsoft.Compute/virtualMachineScaleSets/%s/"
                                    "virtualMachines/%d" % (group, scale_set, i),
                      "podCIDR": "10.244.%d.0/24" % i, "podCIDRs": ["10.244.%d.0/24" % i]},
             "status": {"addresses": []}} for i in range(count)]


def measure_cluster(emu: Emulator, case: str, scale_set: str, count: int) -> Dict[str, Any]:
    emu.clear_log()
    args = {"resource_group": "rg-cluster", "name": "rt-pods", "location": "westeurope", "subnets": [SUBNET],
            "cluster_name": "bench", "cluster_cidr": ["10.244.0.0/16"], "purge_routes": True,
            "kubernetes_nodes": cluster_nodes(scale_set, count), "vm_resource_group": "rg-cluster"}
    bench_nic_forwarding.MODULE = CLUSTER_MODULE
    try:
        started = time.monotonic()
        output = run_module(emu.env(), args)
        elapsed = time.monotonic() - started
    finally:
        bench_nic_forwarding.MODULE = MODULE
    if output.get("failed"):
        raise SystemExit("case %r failed: %s" % (case, output.get("msg")))
    counts = emu.counts()
    return {"case": case, "nics": count, "reads": counts["reads"], "writes": counts["writes"],
            "lro_polls": counts["lro_polls"], "seconds": elapsed, "changed": output.get("changed"),
            "routes": len(output.get("route_table", {}).get("routes", []))}


def main(argv: List[str]) -> int:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_known_args(argv)
    bench_nic_forwarding.MODULE = MODULE  # run_module runs the module named there
    with Emulator(seed=seed(), page_size=50) as emu:
        emu.set_latency(request_ms=REQUEST_MS, lro_seconds=LRO_SECONDS, retry_after=RETRY_AFTER)
        rows = [
            measure(emu, "1 scale-set instance (Manual)", "pool-one", 1),
            measure(emu, "100 scale-set instances", "pool-big", INSTANCES),
            measure(emu, "re-run, nothing to change", "pool-big", INSTANCES),
            measure(emu, "100 instances, Automatic policy", "pool-auto", INSTANCES),
        ]
        cluster_rows = [
            measure_cluster(emu, "100 nodes, forwarding + routes", "pool-nodes", INSTANCES),
            measure_cluster(emu, "re-run, nothing to change", "pool-nodes", INSTANCES),
        ]
    print("azure_vmss_forwarding: Uniform scale sets, %d ms per ARM request, %.0f s per LRO (Retry-After %d), "
          "page size 50." % (REQUEST_MS, LRO_SECONDS, RETRY_AFTER))
    print(bench_nic_forwarding.table("Module process", rows).replace("NICs", "VMs "))
    print("")
    print("azure_udr_cluster: the same 100 instances as Kubernetes nodes (scale-set providerIDs), one route each.")
    print(bench_nic_forwarding.table("Module process", cluster_rows).replace("NICs", "VMs "))
    print("")
    single, many, rerun, auto = rows
    cluster_first, cluster_rerun = cluster_rows
    targets = [
        ("100 instances: writes == 2", str(many["writes"]), many["writes"] == 2),
        ("100 instances: reads <= 6", str(many["reads"]), many["reads"] <= 6),
        ("re-run writes 0", str(rerun["writes"]), rerun["writes"] == 0),
        ("Automatic: writes == 1", str(auto["writes"]), auto["writes"] == 1),
        ("cluster: writes == 4", str(cluster_first["writes"]), cluster_first["writes"] == 4),
        ("cluster: 100 routes", str(cluster_first["routes"]), cluster_first["routes"] == INSTANCES),
        ("cluster re-run: writes 0", str(cluster_rerun["writes"]), cluster_rerun["writes"] == 0),
    ]
    for target, figure, met in targets:
        print("  %-40s %-12s %s" % (target, figure, "met" if met else "MISSED"))
    print("  %-40s %.2fx" % ("100 instances vs 1 instance, wall time", many["seconds"] / single["seconds"]))
    return 0 if all(met for _t, _f, met in targets) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
