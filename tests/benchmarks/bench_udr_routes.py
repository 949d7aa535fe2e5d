"""Benchmark of calico.azure.azure_udr_routes against the Azure stand-in.

Prints two tables (never asserts a time):

1. ARM cost of converging N routes (N = 1, 50, 400) into an empty route table
   associated with one subnet, then of re-running unchanged. The target: the
   first run costs 1 table write + 1 write per subnet association whatever N
   is (plus LRO polls), the re-run 0 writes and at most 3 reads. Reads and
   writes come from the stand-in's request log.
2. Module start-up: the median wall time of ``ansible localhost -m`` with
   ansible.builtin.ping, and with the route-table modules doing the least they
   can (a read of a missing table): imports, credential and one ARM request.
   The target: at most 0.6 s over the trivial module.

Run: ``make bench`` (all benchmarks) or ``python tests/benchmarks/bench_udr_routes.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS_DIR.parent
sys.path[:0] = [str(TESTS_DIR), str(REPO_ROOT / ".cache" / "collections")]

from azure_emulator import Emulator  # noqa: E402
from helpers.ansible_run import BIN_DIR, ansible_env, run_playbook  # noqa: E402

RG = "rg-bench"
TABLE = "rt-bench"
NODE_IPS = ["10.240.0.%d" % (4 + i) for i in range(3)]
SEED = {
    "resource_groups": [{"name": RG, "location": "westeurope"}],
    "virtual_networks": [
        {
            "name": "vnet-bench",
            "resource_group": RG,
            "address_prefixes": ["10.240.0.0/16", "10.244.0.0/16"],
            "subnets": [{"name": "nodes", "address_prefix": "10.240.0.0/24"}],
        }
    ],
    "virtual_machines": [
        {"name": "node-%d" % i, "resource_group": RG,
         "nics": [{"name": "node-%d-nic" % i, "subnet": "vnet-bench/nodes", "private_ip": ip, "enable_ip_forwarding": True}]}
        for i, ip in enumerate(NODE_IPS)
    ],
}


def routes(count: int) -> list:
    """``count`` node routes: /26 pod CIDRs of 10.244.0.0/16, next hops spread over the node IPs."""
    return [
        {"node": "node-%03d" % i, "address_prefix": "10.244.%d.%d/26" % (i // 4, (i % 4) * 64),
         "next_hop_ip": NODE_IPS[i % len(NODE_IPS)]}
        for i in range(count)
    ]


def env_for(emu) -> dict:
    env = emu.env()
    return env


def converge_playbook(count: int) -> str:
    task = {
        "name": "routes",
        "calico.azure.azure_udr_routes": {
            "resource_group": RG,
            "name": TABLE,
            "cluster_cidr": ["10.244.0.0/16"],
            "purge_routes": True,
            "routes": routes(count),
            "subnets": [{"virtual_network": "vnet-bench", "name": "nodes"}],
        },
    }
    return json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}], indent=1)


def measure_converge(emu, count: int) -> list:
    rows = []
    emu.reset(SEED)
    playbook = converge_playbook(count)
    for label in ("empty table", "unchanged re-run"):
        emu.clear_log()
        started = time.monotonic()
        result = run_playbook(playbook, env=env_for(emu))
        wall = time.monotonic() - started
        outcome = result.task("routes")
        if result.rc != 0 or outcome.get("failed"):
            raise SystemExit("bench_udr_routes: the module failed for N=%d: %s" % (count, outcome.get("msg")))
        counts = emu.counts()
        rows.append((count, label, counts["reads"], counts["writes"], counts["lro_polls"], wall, outcome["changed"]))
    return rows


def adhoc(module: str, args: dict, env: dict) -> float:
    command = [str(BIN_DIR / "ansible"), "localhost", "-c", "local", "-i", "localhost,", "-m", module]
    if args:
        command += ["-a", json.dumps(args)]
    started = time.monotonic()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit("bench_udr_routes: %s failed:\n%s%s" % (module, proc.stdout[-2000:], proc.stderr[-2000:]))
    return wall


def measure_startup(emu, repeat: int) -> list:
    env = ansible_env(emu.env())
    env["ANSIBLE_STDOUT_CALLBACK"] = "default"
    env.pop("ANSIBLE_CALLBACK_PLUGINS", None)
    missing = {"resource_group": RG, "name": "rt-does-not-exist"}
    cases = [
        ("ansible.builtin.ping", {}, "trivial module"),
        ("calico.azure.azure_udr_routes", dict(missing, state="absent"), "imports + credential + 1 GET"),
        ("calico.azure.azure_udr_routes_info", missing, "imports + credential + 1 GET"),
    ]
    adhoc("ansible.builtin.ping", {}, env)  # warm the page cache once, not measured
    samples = {case[0]: [] for case in cases}
    for _round in range(repeat):
        # interleaved, so drift on a busy machine hits every case alike
        for module, args, _what in cases:
            samples[module].append(adhoc(module, args, env))
    baseline = statistics.median(samples["ansible.builtin.ping"])
    rows = []
    for module, _args, what in cases:
        median = statistics.median(samples[module])
        rows.append((module, what, median, median - baseline, min(samples[module]), max(samples[module])))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per module for the start-up table (default 5)")
    parser.add_argument("--sizes", default="1,50,400", help="route counts to converge (default 1,50,400)")
    options = parser.parse_args()
    os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO_ROOT / ".cache" / "collections"))

    with Emulator(seed=SEED, retry_after=0) as emu:
        converge_rows = []
        for count in (int(n) for n in options.sizes.split(",")):
            converge_rows.extend(measure_converge(emu, count))
        emu.reset(SEED)
        startup_rows = measure_startup(emu, options.repeat)

    print()
    print("azure_udr_routes: converging N routes (one subnet association); target: 1 table write + 1 per subnet,")
    print("unchanged re-run 0 writes and <= 3 reads. Wall time is the whole ansible-playbook run.")
    print()
    print("| %5s | %-16s | %9s | %10s | %9s | %11s | %-7s |" % ("N", "run", "ARM reads", "ARM writes", "LRO polls", "wall time s", "changed"))
    print("|%s|%s|%s|%s|%s|%s|%s|" % ("-" * 7, "-" * 18, "-" * 11, "-" * 12, "-" * 11, "-" * 13, "-" * 9))
    for count, label, reads, writes, polls, wall, changed in converge_rows:
        print("| %5d | %-16s | %9d | %10d | %9d | %11.2f | %-7s |" % (count, label, reads, writes, polls, wall, changed))
    print()
    print("Module start-up: median of %d runs of `ansible localhost -m <module>`; target: <= 0.6 s over the trivial module."
          % options.repeat)
    print()
    print("| %-35s | %-29s | %8s | %12s | %6s | %6s |" % ("module", "does", "median s", "over ping s", "min s", "max s"))
    print("|%s|%s|%s|%s|%s|%s|" % ("-" * 37, "-" * 31, "-" * 10, "-" * 14, "-" * 8, "-" * 8))
    for module, what, median, over, low, high in startup_rows:
        print("| %-35s | %-29s | %8.2f | %12.2f | %6.2f | %6.2f |" % (module, what, median, over, low, high))
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
