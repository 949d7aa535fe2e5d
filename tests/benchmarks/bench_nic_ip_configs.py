# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: calico.azure.azure_nic_ip_configs, 100 NICs x 30 pod addresses, against the Azure stand-in.

Every ARM request is delayed by 100 ms and every long-running operation takes
1 s (``Retry-After: 1``), as in bench_nic_forwarding.py, so the figures show
how many requests run one after another.

Cases: 1 NIC x 30 addresses (the unit), 100 NICs x 30 addresses in one
resource group (by VM name), the re-run (0 writes), and check mode (0 writes).
Count targets (deterministic, exit 1 when missed): one write per NIC, the
re-run and check mode 0 writes. Time target (printed only): 100 NICs in less
than 3x the time of 1 NIC.

Run: ``python tests/benchmarks/bench_nic_ip_configs.py [--repeat N]`` (or ``make bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

TESTS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS_DIR.parent
COLLECTIONS_DIR = REPO_ROOT / ".cache" / "collections"
sys.path.insert(0, str(TESTS_DIR))

from azure_emulator import Emulator  # noqa: E402

NODES = 100
PODS = 30
REQUEST_MS = 100
LRO_SECONDS = 1.0
RETRY_AFTER = 1
MODULE = "ansible_collections.calico.azure.plugins.modules.azure_nic_ip_configs"
SUBSCRIPTION = "5ab50000-0000-4000-8000-00000000c0de"


def seed(nodes: int) -> Dict[str, Any]:
    groups = [("rg-one", 1), ("rg-cluster", nodes)]
    document: Dict[str, Any] = {
        "subscription_id": SUBSCRIPTION,
        "resource_groups": [{"name": name, "location": "westeurope"} for name, _count in groups],
        "virtual_networks": [],
        "virtual_machines": [],
    }
    for group, count in groups:
        document["virtual_networks"].append(
            {"name": "vnet", "resource_group": group, "address_prefixes": ["10.240.0.0/16"],
             "subnets": [{"name": "nodes", "address_prefix": "10.240.0.0/16"}]}
        )
        for index in range(count):
            document["virtual_machines"].append(
                {"name": "node-%d" % index, "resource_group": group,
                 "nics": [{"name": "node-%d-nic" % index, "subnet": "vnet/nodes", "tags": {"role": "node"}}]}
            )
    return document


def run_module(env: Dict[str, str], args: Dict[str, Any]) -> Dict[str, Any]:
    """The module as Ansible runs it (its own process, args file), without the playbook around it."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    run_env = dict(os.environ)
    run_env.update(env)
    run_env["PYTHONPATH"] = str(COLLECTIONS_DIR)
    try:
        proc = subprocess.run([sys.executable, "-m", MODULE, handle.name], env=run_env, capture_output=True,
                              text=True, timeout=900, check=False)
    finally:
        os.unlink(handle.name)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise SystemExit("module output is not JSON:\n%s\n%s" % (proc.stdout, proc.stderr))


def measure(emu: Emulator, case: str, nics: int, args: Dict[str, Any]) -> Dict[str, Any]:
    emu.clear_log()
    started = time.monotonic()
    output = run_module(emu.env(), args)
    elapsed = time.monotonic() - started
    if output.get("failed"):
        raise SystemExit("case %r failed: %s" % (case, output.get("msg")))
    counts = emu.counts()
    addresses = sum(len(n["addresses"]) for n in output["nics"])
    return {"case": case, "nics": nics, "reads": counts["reads"], "writes": counts["writes"],
            "lro_polls": counts["lro_polls"], "addresses": addresses, "seconds": elapsed,
            "changed": output["changed"]}


def cases(emu: Emulator) -> List[Dict[str, Any]]:
    emu.reset(seed(NODES))
    emu.set_latency(request_ms=REQUEST_MS, lro_seconds=LRO_SECONDS, retry_after=RETRY_AFTER)
    many = {"resource_group": "rg-cluster", "vms": ["node-%d" % i for i in range(NODES)], "count": PODS}
    return [
        measure(emu, "1 NIC x %d addresses" % PODS, 1, {"resource_group": "rg-one", "vms": ["node-0"], "count": PODS}),
        measure(emu, "%d NICs x %d addresses" % (NODES, PODS), NODES, many),
        measure(emu, "re-run, nothing to change", NODES, many),
        measure(emu, "check mode, nothing to change", NODES, dict(many, _ansible_check_mode=True)),
    ]


def table(rows: List[Dict[str, Any]]) -> str:
    header = "| %-32s | %4s | %9s | %10s | %9s | %9s | %11s |" % (
        "case", "NICs", "ARM reads", "ARM writes", "LRO polls", "addresses", "wall time s")
    rule = "|%s|%s|%s|%s|%s|%s|%s|" % ("-" * 34, "-" * 6, "-" * 11, "-" * 12, "-" * 11, "-" * 11, "-" * 13)
    lines = [header, rule]
    for row in rows:
        lines.append("| %-32s | %4d | %9d | %10d | %9d | %9d | %11.2f |" % (
            row["case"], row["nics"], row["reads"], row["writes"], row["lro_polls"], row["addresses"], row["seconds"]))
    return "\n".join(lines)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of every case; wall time is the median (default 1)")
    options, _others = parser.parse_known_args(argv)
    repeat = max(1, options.repeat)
    with Emulator(seed=seed(NODES)) as emu:
        runs = [cases(emu) for _run in range(repeat)]
    rows = []
    for index, row in enumerate(runs[0]):
        merged = dict(row)
        merged["seconds"] = statistics.median(run[index]["seconds"] for run in runs)
        rows.append(merged)
    single, many, rerun, checked = rows
    print("azure_nic_ip_configs: %d NICs x %d secondary IP configurations in one resource group, %d ms per ARM "
          "request, %.0f s per LRO (Retry-After %d), max_parallel 10. Module process; wall time: median of %d run(s).\n"
          % (NODES, PODS, REQUEST_MS, LRO_SECONDS, RETRY_AFTER, repeat))
    print(table(rows))
    print("")
    ratio = many["seconds"] / single["seconds"]
    verdicts = [
        ("100 NICs < 3x one NIC", "%.2fx" % ratio, ratio < 3, False),
        ("one write per NIC", str(many["writes"]), many["writes"] == NODES, True),
        ("every address assigned", str(many["addresses"]), many["addresses"] == NODES * PODS, True),
        ("re-run writes 0", str(rerun["writes"]), rerun["writes"] == 0, True),
        ("check mode writes 0", str(checked["writes"]), checked["writes"] == 0, True),
    ]
    missed = False
    for target, figure, met, deterministic in verdicts:
        print("  %-40s %-12s %s" % (target, figure, "met" if met else "MISSED"))
        missed = missed or (deterministic and not met)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
