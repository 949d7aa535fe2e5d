# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The per-node plays of site.yml against N real SSH hosts, beside the same number of trivial tasks (issue 16).

Prints a table (never asserts a time). N test hosts (default 30): sshd in network
namespaces (tests/molecule_support/testhosts.py), all in one slot. Every run uses
the repository's ``ansible.cfg`` (the settings docs/user-guide.md recommends:
forks, pipelining, SSH multiplexing, no implicit fact gathering), so the node
plays and the baseline run with the same settings.

Per round (``--repeat``), interleaved:

- ``node plays, first run``: site.yml's node-side work, taken from
  playbooks/site.yml itself (its calico_node / cloud_provider_config checks of the
  precondition play, and the play that runs the roles on every node), on hosts
  without any of the files (env format, systemd unit, udr mode);
- ``trivial x k``: as many ``ansible.builtin.ping`` tasks per host as the node
  plays ran on each host (k: tasks that reached the host), same play settings;
- ``node plays, re-run``: the same, unchanged, and its trivial x k;
- ``ansible -m ping``: one ping round on all hosts (the issue's yardstick).

Columns: wall time, tasks per host that ran (any task not skipped), tasks per
host that reached the host, SSH round trips per host (every ssh/sftp/scp
process the connection plugin started, counted by a wrapper), and the ratio to
the trivial run with the same k (target: 2x) and to one ping round.

Run: ``make bench`` or ``python tests/benchmarks/bench_node_plays.py [--hosts N] [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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

import testhosts  # noqa: E402  pylint: disable=wrong-import-position
from helpers.ansible_run import BIN_DIR, ansible_env  # noqa: E402  pylint: disable=wrong-import-position

SITE = REPO_ROOT / "playbooks" / "site.yml"
ANSIBLE_CFG = REPO_ROOT / "ansible.cfg"
SLOT = 9 + int(os.environ.get("CALICO_AZURE_TEST_SLOT_OFFSET", "0"))
NODE_ROLES = ("calico.azure.calico_node", "calico.azure.cloud_provider_config")
# Actions that run on the controller only: they never reach the host.
CONTROLLER_ACTIONS = {
    "assert", "ansible.builtin.assert", "set_fact", "ansible.builtin.set_fact", "debug", "ansible.builtin.debug",
    "include_tasks", "ansible.builtin.include_tasks", "include_role", "ansible.builtin.include_role",
    "import_tasks", "ansible.builtin.import_tasks", "validate_argument_spec", "ansible.builtin.validate_argument_spec",
    "meta", "ansible.builtin.meta", "fail", "ansible.builtin.fail",
}
# What the node plays leave on a host; removed (untimed) before every first run.
NODE_FILES = ["/etc/calico", "/etc/kubernetes/azure.json", "/etc/systemd/system/calico-node.service",
              "/run/fake-systemctl/calico-node.service.json", "/var/log/fake-systemctl.log"]
SSH_WRAPPER = """#!/bin/sh
# One line per process the ssh connection plugin starts: one round trip.
echo "$(basename "$0")" >> %(log)s
exec %(real)s "$@"
"""


def _uses_node_role(entry: Dict[str, Any]) -> bool:
    for key in ("ansible.builtin.include_role", "include_role", "ansible.builtin.import_role", "import_role"):
        if key in entry and entry[key].get("name") in NODE_ROLES:
            return True
    return False


def node_plays() -> List[Dict[str, Any]]:
    """site.yml's node-side work, as site.yml has it: the node role checks of its
    precondition play and the play(s) that run the node roles."""
    plays = []
    for play in yaml.safe_load(SITE.read_text()):
        roles = [r.get("role") if isinstance(r, dict) else r for r in play.get("roles", [])]
        if any(role in NODE_ROLES for role in roles):
            plays.append(play)
            continue
        tasks = [task for task in play.get("tasks", []) if _uses_node_role(task)]
        if tasks:
            plays.append(dict(play, tasks=tasks))
    if not plays:
        raise SystemExit("bench_node_plays: no play of %s runs %s" % (SITE, ", ".join(NODE_ROLES)))
    return plays


def trivial_play(template: Dict[str, Any], count: int) -> List[Dict[str, Any]]:
    """count ping tasks per host, with the node play's keywords (hosts, become, facts)."""
    keep = {key: template[key] for key in ("hosts", "gather_facts", "become") if key in template}
    tasks = [{"name": "Trivial task %d" % (i + 1), "ansible.builtin.ping": {}} for i in range(count)]
    return [dict(keep, name="Trivial tasks", tasks=tasks)]


def inventory(state: Dict[str, Any]) -> Dict[str, Any]:
    hosts = {host["name"]: testhosts.ansible_host_vars(host) for host in state["hosts"]}
    group_vars = {
        # The hosts log in as root; no sudo there.
        "ansible_become": False,
        "calico_azure_networking_mode": "udr",
        "calico_azure_tenant_id": "00000000-0000-0000-0000-0000000000aa",
        "calico_azure_subscription_id": "00000000-0000-0000-0000-0000000000bb",
        "calico_azure_resource_group": "k8s-cluster",
        "calico_azure_location": "westeurope",
        "calico_azure_vnet_name": "k8s-vnet",
        "calico_azure_subnet_name": "nodes",
        "calico_azure_security_group_name": "nodes-nsg",
        "calico_azure_route_table_name": "k8s-pod-routes",
        "calico_azure_cluster_cidr": "198.19.0.0/16",
        "cloud_provider_config_aad_client_id": "11111111-2222-3333-4444-555555555555",
        "cloud_provider_config_aad_client_secret": "bench-secret-not-real",
        "calico_node_systemd_unit": True,
    }
    return {"all": {"children": {"calico_azure_nodes": {"hosts": hosts, "vars": group_vars}}}}


class Runner:
    def __init__(self, tmp: Path, state: Dict[str, Any]):
        self.tmp = tmp
        self.count = len(state["hosts"])
        self.inventory = tmp / "inventory.yml"
        self.inventory.write_text(yaml.safe_dump(inventory(state)))
        self.ssh_log = tmp / "ssh-calls.log"
        wrappers = tmp / "bin"
        wrappers.mkdir()
        self.env = ansible_env({"ANSIBLE_CONFIG": str(ANSIBLE_CFG)})
        for tool, variable in (("ssh", "ANSIBLE_SSH_EXECUTABLE"), ("sftp", "ANSIBLE_SFTP_EXECUTABLE"),
                               ("scp", "ANSIBLE_SCP_EXECUTABLE")):
            real = shutil.which(tool)
            if real:
                wrapper = wrappers / tool
                wrapper.write_text(SSH_WRAPPER % {"log": self.ssh_log, "real": real})
                wrapper.chmod(0o755)
                self.env[variable] = str(wrapper)

    def _round_trips(self) -> int:
        return len(self.ssh_log.read_text().splitlines()) if self.ssh_log.exists() else 0

    def run(self, cmd: List[str]) -> Dict[str, Any]:
        if self.ssh_log.exists():
            self.ssh_log.unlink()
        started = time.monotonic()
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=3600, check=False)
        wall = time.monotonic() - started
        data: Dict[str, Any] = {}
        start = proc.stdout.find("{")
        if start != -1:
            try:
                data = json.loads(proc.stdout[start:])
            except json.JSONDecodeError:
                data = {}
        return {"rc": proc.returncode, "wall": wall, "data": data, "round_trips": self._round_trips() / self.count,
                "output": "" if proc.returncode == 0 else proc.stdout[-4000:] + proc.stderr[-2000:]}

    def playbook(self, name: str, plays: List[Dict[str, Any]]) -> Dict[str, Any]:
        path = self.tmp / ("%s.yml" % name)
        path.write_text(yaml.safe_dump(plays, sort_keys=False))
        outcome = self.run([str(BIN_DIR / "ansible-playbook"), "-i", str(self.inventory), str(path)])
        outcome.update(task_counts(outcome["data"], self.count))
        return outcome

    def ping_round(self) -> Dict[str, Any]:
        outcome = self.run([str(BIN_DIR / "ansible"), "-i", str(self.inventory), "calico_azure_nodes",
                            "-m", "ansible.builtin.ping", "-o"])
        outcome.update({"ran": 1.0, "on_host": 1.0, "changed": 0})
        return outcome

    def remove_node_files(self) -> None:
        outcome = self.run([str(BIN_DIR / "ansible"), "-i", str(self.inventory), "calico_azure_nodes",
                            "-m", "ansible.builtin.shell", "-a", "rm -rf " + " ".join(NODE_FILES)])
        if outcome["rc"]:
            raise SystemExit("bench_node_plays: could not reset the hosts:\n" + outcome["output"])


def task_counts(data: Dict[str, Any], count: int) -> Dict[str, Any]:
    """Per host: tasks that ran (not skipped), and those of them that reached the host."""
    ran = on_host = changed = 0
    for play in data.get("plays", []):
        for task in play.get("tasks", []):
            for result in task["hosts"].values():
                if result.get("skipped"):
                    continue
                ran += 1
                changed += 1 if result.get("changed") else 0
                # Tasks delegated to the control node (manifest format) are not in this configuration.
                if result.get("action") not in CONTROLLER_ACTIONS:
                    on_host += 1
    # A run_once task reports one result for every host: counted per host, as it reports.
    return {"ran": ran / count, "on_host": on_host / count, "changed": changed}


def table(rows: List[Dict[str, Any]], ping: float) -> str:
    header = "| %-26s | %7s | %9s | %10s | %11s | %9s | %8s |" % (
        "case", "wall s", "tasks/host", "host tasks", "round trips", "x trivial", "x ping")
    lines = [header, "|" + "|".join("-" * len(cell) for cell in header.split("|")[1:-1]) + "|"]
    for row in rows:
        ratio = "%.2fx" % (row["wall"] / row["trivial"]) if row.get("trivial") else "-"
        lines.append("| %-26s | %7.2f | %9.1f | %10.1f | %11.1f | %9s | %7.2fx |" % (
            row["case"], row["wall"], row["ran"], row["on_host"], row["round_trips"], ratio, row["wall"] / ping))
    return "\n".join(lines)


def measure(runner: Runner, plays: List[Dict[str, Any]], rows: List[Dict[str, Any]]) -> List[str]:
    failures = []
    runner.remove_node_files()
    for case in ("first run", "re-run"):
        nodes = runner.playbook("node-plays", plays)
        if nodes["rc"]:
            failures.append("node plays, %s:\n%s" % (case, nodes["output"]))
            return failures
        host_tasks = max(1, int(round(nodes["on_host"])))
        trivial = runner.playbook("trivial-%d" % host_tasks, trivial_play(plays[-1], host_tasks))
        if trivial["rc"]:
            failures.append("trivial x %d:\n%s" % (host_tasks, trivial["output"]))
            return failures
        rows.append(dict(nodes, case="node plays, %s" % case, trivial=trivial["wall"]))
        rows.append(dict(trivial, case="trivial x %d (%s)" % (host_tasks, case)))
    rows.append(dict(runner.ping_round(), case="ansible -m ping"))
    return failures


def _cfg_settings(dump: str) -> Dict[str, Any]:
    """The settings ansible.cfg changes, from ``ansible-config dump --only-changed -t all --format json``."""
    try:
        data = json.loads(dump)
    except ValueError:
        return {}
    found: Dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, prefix)
        elif isinstance(node, dict) and "name" in node and "value" in node:
            if str(node.get("origin", "")).endswith("ansible.cfg"):
                found[prefix + node["name"]] = node["value"]
        elif isinstance(node, dict):
            for key, value in node.items():
                # Plugin settings sit under their plugin's name (ssh: pipelining, ssh_args).
                walk(value, prefix if key.endswith("_PLUGINS") else prefix + key + ".")

    walk(data, "")
    return found


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=30, help="SSH test hosts (default 30)")
    parser.add_argument("--repeat", type=int, default=1, help="interleaved rounds (default 1)")
    options, _others = parser.parse_known_args(argv)
    if os.geteuid() != 0 or not shutil.which("ip") or not os.path.exists(testhosts.SSHD):
        print("bench_node_plays: not measured (SSH test hosts need root, ip netns and sshd: make system-deps)")
        return 0
    plays = node_plays()
    rows: List[Dict[str, Any]] = []
    failures: List[str] = []
    with tempfile.TemporaryDirectory(prefix="calico-azure-bench-nodes-") as tmp_name:
        tmp = Path(tmp_name)
        run_dir = tmp / "hosts"
        try:
            started = time.monotonic()
            state = testhosts.up(run_dir, SLOT, ["node%02d" % (i + 1) for i in range(options.hosts)])
            print("%d SSH test hosts up in %.1f s (slot %d)" % (options.hosts, time.monotonic() - started, SLOT))
            runner = Runner(tmp, state)
            for _round in range(max(1, options.repeat)):
                failures += measure(runner, plays, rows)
                if failures:
                    break
        finally:
            testhosts.down(run_dir)
    settings = subprocess.run([str(BIN_DIR / "ansible-config"), "dump", "--only-changed", "-t", "all", "--format", "json"],
                              env=dict(os.environ, ANSIBLE_CONFIG=str(ANSIBLE_CFG)), capture_output=True,
                              text=True, check=False).stdout
    print("Per-node plays of site.yml (calico_node + cloud_provider_config, env format, systemd unit, udr mode) on "
          "%d SSH test hosts; settings from %s:" % (options.hosts, ANSIBLE_CFG.relative_to(REPO_ROOT)))
    for name, value in sorted(_cfg_settings(settings).items()):
        print("    %s = %s" % (name, value))
    print("")
    if rows:
        pings = [r["wall"] for r in rows if r["case"] == "ansible -m ping"]
        print(table(rows, statistics.median(pings) if pings else 1.0))
        print("")
        for case in ("first run", "re-run"):
            mine = [r for r in rows if r["case"] == "node plays, %s" % case]
            if mine:
                print("node plays, %s: %.2fx the trivial tasks (median of %d; target 2x)"
                      % (case, statistics.median(r["wall"] / r["trivial"] for r in mine), len(mine)))
    for failure in failures:
        print("\n" + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
