"""Benchmark: calico.azure.azure_nic_forwarding on 100 NICs against the Azure stand-in.

Every ARM request is delayed by 100 ms and every long-running operation takes
1 s (announcing ``Retry-After: 1``), so the figures reflect how many requests
run one after another rather than how fast the stand-in is.

Cases:
- one NIC needing the change (the unit the 100-NIC call is compared with);
- 100 NICs in one resource group needing the change, targeted by VM name
  (one list of the group's VMs and one of its NICs replace 200 GETs);
- the same 100 NICs targeted by NIC id;
- a re-run on the 100 NICs, which must write nothing.

Targets (issue 4): the 100-NIC call takes less than 3x the single-NIC call,
at most 100 writes, at most 10 reads plus the LRO polls; the re-run 0 writes.
Wall time is measured twice: the module process alone, and the whole
``ansible-playbook`` run a user waits for. Count targets are deterministic and
make the script exit 1 when missed; time targets are only printed.

Run: ``python tests/benchmarks/bench_nic_forwarding.py [--repeat N]`` (or ``make bench``).
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
from helpers.ansible_run import run_playbook  # noqa: E402

NODES = 100
REQUEST_MS = 100
LRO_SECONDS = 1.0
RETRY_AFTER = 1
MODULE = "ansible_collections.calico.azure.plugins.modules.azure_nic_forwarding"
SUBSCRIPTION = "5ab50000-0000-4000-8000-00000000c0de"


def seed(nodes: int) -> Dict[str, Any]:
    """One resource group with ``nodes`` VMs (a NIC each), and one with a single VM."""
    groups = [("rg-one", 1, "10.1.0.0/16"), ("rg-cluster", nodes, "10.240.0.0/16")]
    document: Dict[str, Any] = {
        "subscription_id": SUBSCRIPTION,
        "resource_groups": [{"name": name, "location": "westeurope"} for name, _count, _prefix in groups],
        "network_security_groups": [{"name": "nsg-nodes", "resource_group": "rg-cluster"}],
        "virtual_networks": [],
        "virtual_machines": [],
    }
    for group, count, prefix in groups:
        document["virtual_networks"].append(
            {"name": "vnet", "resource_group": group, "address_prefixes": [prefix],
             "subnets": [{"name": "nodes", "address_prefix": prefix}]}
        )
        for index in range(count):
            document["virtual_machines"].append(
                {"name": "node-%d" % index, "resource_group": group,
                 "nics": [{"name": "node-%d-nic" % index, "subnet": "vnet/nodes", "enable_ip_forwarding": False,
                           "tags": {"role": "node"}}]}
            )
    return document


def nic_id(group: str, index: int) -> str:
    return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/networkInterfaces/node-%d-nic" % (
        SUBSCRIPTION, group, index)


def run_module(env: Dict[str, str], args: Dict[str, Any]) -> Dict[str, Any]:
    """The module as Ansible runs it (its own process, args file), without the playbook around it."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    run_env = dict(os.environ)
    run_env.update(env)
    run_env["PYTHONPATH"] = str(COLLECTIONS_DIR)
    try:
        proc = subprocess.run([sys.executable, "-m", MODULE, handle.name], env=run_env, capture_output=True,
                              text=True, timeout=600, check=False)
    finally:
        os.unlink(handle.name)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise SystemExit("module output is not JSON:\n%s\n%s" % (proc.stdout, proc.stderr))


def playbook(args: Dict[str, Any]) -> str:
    return "\n".join([
        "- hosts: localhost",
        "  gather_facts: false",
        "  tasks:",
        "    - name: Set IP forwarding",
        "      calico.azure.azure_nic_forwarding: %s" % json.dumps(args),
    ])


def measure(emu: Emulator, case: str, args: Dict[str, Any], via_playbook: bool) -> Dict[str, Any]:
    emu.clear_log()
    started = time.monotonic()
    if via_playbook:
        result = run_playbook(playbook(args), env=emu.env(), json_output=False)
        ok, changed = result.rc == 0, None
        detail = result.stdout[-2000:] if result.rc else ""
    else:
        output = run_module(emu.env(), args)
        ok, changed = not output.get("failed"), output.get("changed")
        detail = output.get("msg", "")
    elapsed = time.monotonic() - started
    counts = emu.counts()
    if not ok:
        raise SystemExit("case %r failed: %s" % (case, detail))
    return {"case": case, "nics": len(args.get("vms") or args.get("nics") or []), "reads": counts["reads"],
            "writes": counts["writes"], "lro_polls": counts["lro_polls"], "seconds": elapsed, "changed": changed}


def cases(emu: Emulator, via_playbook: bool) -> List[Dict[str, Any]]:
    emu.reset(seed(NODES))
    emu.set_latency(request_ms=REQUEST_MS, lro_seconds=LRO_SECONDS, retry_after=RETRY_AFTER)
    by_vm = {"resource_group": "rg-cluster", "vms": ["node-%d" % i for i in range(NODES)]}
    by_id = {"nics": [nic_id("rg-cluster", i) for i in range(NODES)], "enabled": False}
    return [
        measure(emu, "1 NIC (VM name)", {"resource_group": "rg-one", "vms": ["node-0"]}, via_playbook),
        measure(emu, "%d NICs, one group (VM names)" % NODES, by_vm, via_playbook),
        measure(emu, "re-run, nothing to change", by_vm, via_playbook),
        measure(emu, "%d NICs, one group (NIC ids, disable)" % NODES, by_id, via_playbook),
    ]


def median_rows(runs: List[List[Dict[str, Any]]]) -> List[Dict[str, Any]]:
    """Per case: the counts of the first run (they do not vary) and the median wall time."""
    rows = []
    for index, row in enumerate(runs[0]):
        merged = dict(row)
        merged["seconds"] = statistics.median(run[index]["seconds"] for run in runs)
        rows.append(merged)
    return rows


def table(title: str, rows: List[Dict[str, Any]]) -> str:
    header = "| %-38s | %4s | %9s | %10s | %9s | %11s |" % (
        "case", "NICs", "ARM reads", "ARM writes", "LRO polls", "wall time s")
    rule = "|%s|%s|%s|%s|%s|%s|" % ("-" * 40, "-" * 6, "-" * 11, "-" * 12, "-" * 11, "-" * 13)
    lines = [title, "", header, rule]
    for row in rows:
        lines.append("| %-38s | %4d | %9d | %10d | %9d | %11.2f |" % (
            row["case"], row["nics"], row["reads"], row["writes"], row["lro_polls"], row["seconds"]))
    return "\n".join(lines)


def verdicts(rows: List[Dict[str, Any]]) -> List[tuple]:
    """(target, figure, met, deterministic) for each target of the issue."""
    single, many, rerun, by_id = rows
    ratio = many["seconds"] / single["seconds"]
    return [
        ("100 NICs < 3x one NIC", "%.2fx" % ratio, ratio < 3, False),
        ("writes <= 100", str(many["writes"]), many["writes"] <= NODES, True),
        ("reads <= 10 (plus LRO polls)", str(many["reads"]), many["reads"] <= 10, True),
        ("re-run writes 0", str(rerun["writes"]), rerun["writes"] == 0, True),
        ("by-id run writes <= 100, reads <= 10", "%d / %d" % (by_id["writes"], by_id["reads"]),
         by_id["writes"] <= NODES and by_id["reads"] <= 10, True),
    ]


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of every case; wall time is the median (default 1)")
    # run_all.py passes its arguments to every benchmark; ignore other benchmarks' options.
    options, _others = parser.parse_known_args(argv)
    repeat = max(1, options.repeat)
    with Emulator(seed=seed(NODES)) as emu:
        module_rows = median_rows([cases(emu, via_playbook=False) for _run in range(repeat)])
        playbook_rows = median_rows([cases(emu, via_playbook=True) for _run in range(repeat)])
    print("azure_nic_forwarding: %d NICs in one resource group, %d ms per ARM request, %.0f s per LRO "
          "(Retry-After %d), max_parallel 10." % (NODES, REQUEST_MS, LRO_SECONDS, RETRY_AFTER))
    print("Targets: 100 NICs in < 3x the time of 1 NIC, <= 100 writes, <= 10 reads plus LRO polls; re-run 0 writes.")
    print("Wall time: median of %d run(s).\n" % repeat)
    missed = False
    for title, rows in (("Module process (what the task itself costs)", module_rows),
                        ("Whole ansible-playbook run (what a user waits for)", playbook_rows)):
        print(table(title, rows))
        print("")
        for target, figure, met, deterministic in verdicts(rows):
            print("  %-40s %-12s %s" % (target, figure, "met" if met else "MISSED"))
            missed = missed or (deterministic and not met)
        print("")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
