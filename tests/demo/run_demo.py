"""`make demo`: playbooks/site.yml against the Azure and Kubernetes stand-ins and three local test hosts.

The nodes come from the cluster (the Kubernetes stand-in): node-a and node-b
have the pod CIDRs Kubernetes assigned, node-c has none yet, so the udr role
allocates one and patches it into node-c's spec.podCIDR before writing routes.

Starts the world of tests/molecule_support/scenario.py (three sshd test hosts in
their own network and mount namespaces, and the Azure stand-in seeded with a
VNet, a subnet and one VM + NIC per host), writes an inventory in the layout
site.yml documents, runs site.yml, prints what changed, the route table, the
NICs' forwarding flags and each host's rendered files; runs site.yml a second
time and shows that nothing changed and Azure saw no write; stops everything.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "molecule_support"))

import yaml  # noqa: E402

import scenario  # noqa: E402
from helpers.ansible_run import run_playbook  # noqa: E402

SLOT = int(os.environ.get("DEMO_SLOT", "20")) + int(os.environ.get("CALICO_AZURE_TEST_SLOT_OFFSET", "0"))
# node-a and node-b have pod CIDRs from Kubernetes; node-c gets one allocated and patched in.
HOSTS = ["node-a", "node-b", "node-c"]
CLUSTER_POD_CIDRS = {"node-a": "198.19.42.0/24", "node-b": "198.19.7.0/24"}
FILES = ["/etc/calico/calico.env", "/etc/systemd/system/calico-node.service", "/etc/kubernetes/azure.json"]


def heading(text: str) -> None:
    print(f"\n=== {text} " + "=" * max(0, 70 - len(text)))


def changed_tasks(result) -> list[str]:
    lines = []
    for task in result.tasks():
        hosts = sorted(h for h, r in task["hosts"].items() if r.get("changed"))
        if hosts:
            lines.append(f"  changed  {task['task']['name']}  [{', '.join(hosts)}]")
    return lines


def run_site(inventory: Path, label: str, control) -> None:
    control.clear_log()
    started = time.monotonic()
    result = run_playbook(REPO / "playbooks" / "site.yml", inventory=inventory,
                          env={"ANSIBLE_PIPELINING": "1", "ANSIBLE_HOST_KEY_CHECKING": "0"})
    elapsed = time.monotonic() - started
    heading(f"{label}: ansible-playbook playbooks/site.yml ({elapsed:.1f} s)")
    if result.rc != 0:
        print(result.stdout[-4000:], result.stderr[-4000:], sep="\n")
        raise SystemExit(f"site.yml failed with rc={result.rc}")
    print("\n".join(changed_tasks(result)) or "  nothing changed")
    for host, stats in sorted(result.stats().items()):
        print(f"  {host:10} ok={stats.get('ok', 0):<3} changed={stats.get('changed', 0):<3} failed={stats.get('failures', 0)}")
    counts = control.counts()
    print(f"  Azure (stand-in request log): {counts['reads']} ARM reads, {counts['writes']} ARM writes")


def show_azure(run_dir: Path, world: dict) -> None:
    snap = scenario.snapshot(run_dir)
    table = snap["route_table"]
    heading(f"route table {world['names']['route_table_name']}")
    if table is None:
        print("  (absent)")
    else:
        for route in sorted(table["properties"]["routes"], key=lambda r: r["name"]):
            p = route["properties"]
            print(f"  {route['name']:8} {p['addressPrefix']:16} -> {p['nextHopType']} {p.get('nextHopIpAddress', '')}")
        for subnet in table["properties"].get("subnets", []):
            print(f"  associated with subnet {subnet['id'].split('/virtualNetworks/')[1]}")
    heading("NIC IP forwarding")
    for nic in snap["nics"]:
        ip = nic["properties"]["ipConfigurations"][0]["properties"].get("privateIPAddress")
        print(f"  {nic['name']:12} {ip:14} enableIPForwarding={nic['properties'].get('enableIPForwarding', False)}")


def show_nodes(world: dict, label: str) -> None:
    from k8s_emulator.control import ControlClient

    k8s = ControlClient(world["kubernetes"]["base_url"], world["kubernetes"]["ca_file"])
    heading(f"Kubernetes nodes ({label})")
    for node in sorted(k8s.list_objects("Node", "v1"), key=lambda n: n["metadata"]["name"]):
        spec = node.get("spec") or {}
        print(f"  {node['metadata']['name']:8} podCIDRs={spec.get('podCIDRs') or '(none)'}  "
              f"providerID=...{spec.get('providerID', '')[-40:]}")


def show_files(world: dict) -> None:
    secret = world["azure"]["client_secret"]
    for host in world["hosts"]:
        for path in FILES:
            cmd = ["ssh", "-i", host["identity_file"], "-o", "StrictHostKeyChecking=no", "-o",
                   "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", f"root@{host['address']}",
                   f"stat -c '%a %U:%G' {path} && cat {path}"]
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=True)
            mode, _newline, content = out.stdout.partition("\n")
            heading(f"{host['name']}:{path} (mode {mode})")
            # The demo's secret is the stand-in's, but a demo should not teach printing secrets.
            print(content.replace(secret, "*** (hidden by the demo)").rstrip())


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="calico-azure-demo-") as tmp:
        run_dir = Path(tmp)
        try:
            heading("starting the Azure stand-in and three test hosts (sshd in network namespaces)")
            world = scenario.up(run_dir, SLOT, HOSTS, "k8s-demo", CLUSTER_POD_CIDRS)
            for host in world["hosts"]:
                print(f"  {host['name']:8} {host['address']}  (VM {host['name']}, NIC {host['name']}-nic)")
            print(f"  Azure stand-in: {world['azure']['base_url']}")
            inventory = run_dir / "inventory.yml"
            print(f"  Kubernetes stand-in: {world['kubernetes']['base_url']}")
            inventory.write_text(yaml.safe_dump(scenario.inventory(world, "udr", kubernetes=True)))
            control = scenario.control(run_dir)
            try:
                show_nodes(world, "before: node-c has no pod CIDR")
                run_site(inventory, "first run", control)
                show_nodes(world, "after: node-c patched")
                show_azure(run_dir, world)
                show_files(world)
                run_site(inventory, "second run (should change nothing)", control)
            finally:
                control.close()
        finally:
            heading("stopping the stand-in and the test hosts")
            scenario.down(run_dir)
            print("  done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
