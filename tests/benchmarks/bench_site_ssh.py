# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The whole of playbooks/site.yml against N real SSH hosts and the Azure stand-in (issue 16).

Prints a table (never asserts a time). The world is the molecule scenarios' own
(tests/molecule_support/scenario.py): N test hosts (default 30; sshd in network
namespaces) whose VMs and NICs the Azure stand-in serves by name and private IP,
the documented site.yml inventory (udr mode, inventory node source, pod CIDRs
allocated from the cluster CIDR), and the repository's ``ansible.cfg`` (the
settings docs/user-guide.md recommends). The stand-in delays every ARM request
by 100 ms and every long-running operation by 1 s, as bench_site.py does.

Rows: the first run (every precondition, the route table with N routes in one
write, forwarding on N NICs, calico-node and azure.json on every host), the
unchanged re-run, and one ``ansible -m ping`` round on the same hosts. Columns:
wall time, ARM reads / writes / LRO polls, whether the end state is exactly
right (one route per host to its own address, forwarding on every NIC), and the
ratio to the ping round; the re-run is also set against the issue's bound for
it: the ping round plus its Azure reads at the injected latency.

Run: ``make bench`` or ``python tests/benchmarks/bench_site_ssh.py [--hosts N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List

import yaml

TESTS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS_DIR.parent
sys.path[:0] = [str(TESTS_DIR), str(TESTS_DIR / "molecule_support")]

import scenario  # noqa: E402  pylint: disable=wrong-import-position
import testhosts  # noqa: E402  pylint: disable=wrong-import-position
from helpers.ansible_run import BIN_DIR, ansible_env  # noqa: E402  pylint: disable=wrong-import-position

SITE = REPO_ROOT / "playbooks" / "site.yml"
ANSIBLE_CFG = REPO_ROOT / "ansible.cfg"
# Its own slot: bench_node_plays.py has 9; the test suites' slots are below.
SLOT = 10 + int(os.environ.get("CALICO_AZURE_TEST_SLOT_OFFSET", "0"))
REQUEST_MS = 100
LRO_SECONDS = 1.0
RETRY_AFTER = 1


def run(cmd: List[str], env: Dict[str, str]) -> Dict[str, Any]:
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600, check=False)
    return {"rc": proc.returncode, "wall": time.monotonic() - started,
            "output": "" if proc.returncode == 0 else proc.stdout[-4000:] + proc.stderr[-2000:]}


def end_state_exact(run_dir: Path, world: Dict[str, Any]) -> bool:
    """One route per host, to the host's own address; forwarding on every host's NIC; the subnet associated."""
    snap = scenario.snapshot(run_dir)
    table = snap["route_table"]
    if not table:
        return False
    hops = sorted(route["properties"].get("nextHopIpAddress") for route in table["properties"].get("routes", []))
    forwarding = all(nic and nic["properties"].get("enableIPForwarding") for nic in snap["nics"])
    associated = bool(((snap["subnet"] or {}).get("properties") or {}).get("routeTable"))
    return hops == sorted(host["address"] for host in world["hosts"]) and forwarding and associated


def measure(run_dir: Path, world: Dict[str, Any], inventory: Path, env: Dict[str, str]) -> List[Dict[str, Any]]:
    client = scenario.control(run_dir)
    rows = []
    try:
        client.set_latency(request_ms=REQUEST_MS, lro_seconds=LRO_SECONDS, retry_after=RETRY_AFTER)
        for case in ("site.yml, first run", "site.yml, re-run"):
            client.clear_log()
            outcome = run([str(BIN_DIR / "ansible-playbook"), "-i", str(inventory), str(SITE)], env)
            counts = client.counts()
            rows.append(dict(outcome, case=case, reads=counts["reads"], writes=counts["writes"],
                             polls=counts["lro_polls"], exact=outcome["rc"] == 0 and end_state_exact(run_dir, world)))
            if outcome["rc"]:
                break
    finally:
        client.close()
    ping = run([str(BIN_DIR / "ansible"), "-i", str(inventory), "calico_azure_nodes", "-m", "ansible.builtin.ping",
                "-o"], env)
    rows.append(dict(ping, case="ansible -m ping", reads=0, writes=0, polls=0, exact=ping["rc"] == 0))
    return rows


def table(rows: List[Dict[str, Any]], ping: float) -> str:
    header = "| %-20s | %7s | %5s | %6s | %5s | %5s | %7s |" % (
        "case", "wall s", "reads", "writes", "polls", "exact", "x ping")
    lines = [header, "|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|"]
    for row in rows:
        lines.append("| %-20s | %7.2f | %5d | %6d | %5d | %-5s | %6.2fx |" % (
            row["case"], row["wall"], row["reads"], row["writes"], row["polls"], "yes" if row["exact"] else "NO",
            row["wall"] / ping))
    return "\n".join(lines)


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=30, help="SSH test hosts (default 30)")
    options, _others = parser.parse_known_args(argv)
    if os.geteuid() != 0 or not shutil.which("ip") or not os.path.exists(testhosts.SSHD):
        print("bench_site_ssh: not measured (SSH test hosts need root, ip netns and sshd: make system-deps)")
        return 0
    with tempfile.TemporaryDirectory(prefix="calico-azure-bench-site-") as tmp_name:
        tmp = Path(tmp_name)
        run_dir = tmp / "world"
        try:
            started = time.monotonic()
            world = scenario.up(run_dir, SLOT, ["node%02d" % (i + 1) for i in range(options.hosts)], "k8s-cluster")
            print("%d SSH test hosts and the stand-ins up in %.1f s (slot %d)"
                  % (options.hosts, time.monotonic() - started, SLOT))
            inventory = tmp / "inventory.yml"
            inventory.write_text(yaml.safe_dump(scenario.inventory(world)))
            env = ansible_env({"ANSIBLE_CONFIG": str(ANSIBLE_CFG)})
            env.update(json.loads(os.environ.get("BENCH_EXTRA_ENV", "{}")))
            rows = measure(run_dir, world, inventory, env)
        finally:
            scenario.down(run_dir)
    ping = rows[-1]["wall"]
    settings = (options.hosts, REQUEST_MS, LRO_SECONDS, RETRY_AFTER, ANSIBLE_CFG.relative_to(REPO_ROOT))
    print("playbooks/site.yml (udr mode, inventory node source) on %d SSH test hosts, %d ms per ARM request, "
          "%.0f s per LRO (Retry-After %d); settings from %s." % settings)
    print("")
    print(table(rows, ping))
    print("")
    by_case = {row["case"]: row for row in rows}
    rerun = by_case.get("site.yml, re-run")
    if rerun and rerun["rc"] == 0:
        bound = ping + rerun["reads"] * REQUEST_MS / 1000.0
        print("unchanged site.yml: %.2f s = %.2fx (ansible -m ping on the %d hosts %.2f s + %d reads; target 2x), "
              "%d writes" % (rerun["wall"], rerun["wall"] / bound, options.hosts, ping, rerun["reads"],
                             rerun["writes"]))
    failed = [row for row in rows if row["rc"]]
    for row in failed:
        print("\n%s failed:\n%s" % (row["case"], row["output"]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
