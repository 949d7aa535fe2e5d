"""One multi-host test world: sshd test hosts plus the Azure stand-in seeded to match them.

Used by the molecule create/destroy playbooks and by ``make demo``::

    python scenario.py up   --run-dir DIR --slot N [--hosts node1,node2,node3] [--resource-group RG]
    python scenario.py down --run-dir DIR

``up`` starts the test hosts (:mod:`testhosts`), writes a stand-in seed with
one resource group, a VNet ``k8s-vnet`` (198.18.0.0/15) with the subnet
``nodes`` (198.18.<slot>.0/24, the hosts' own network) and its NSG, and per
host a VM and a NIC named after the host whose private IP is the host's test
address. It starts ``python -m azure_emulator`` on that seed and writes
``DIR/world.json``:

- ``hosts``: name, address, identity_file... of each test host;
- ``azure``: base_url, ca_file, metadata_url, tenant/subscription/client ids,
  the client secret, the stand-in's pid;
- ``auth``: the options of the collection's Azure modules (for
  ``module_defaults: group/calico.azure.azure``);
- ``names``: the Azure names the inventory needs (resource group, VNet...).

The pod network of the world is 198.19.0.0/16 (inside the VNet's
198.18.0.0/15, outside every subnet), so routes are valid for Azure.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

HERE = Path(__file__).resolve().parent
TESTS_DIR = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(TESTS_DIR))

import testhosts  # noqa: E402

VNET = "k8s-vnet"
VNET_PREFIX = "198.18.0.0/15"
SUBNET = "nodes"
NSG = "nodes-nsg"
ROUTE_TABLE = "k8s-pod-routes"
CLUSTER_CIDR = "198.19.0.0/16"
LOCATION = "westeurope"


def seed_for(hosts: Sequence[dict], slot: int, resource_group: str) -> dict:
    """A seed whose VMs and NICs are the test hosts, by name and private IP."""
    subnet_ref = {"virtual_network": VNET, "name": SUBNET}
    return {
        "resource_groups": [{"name": resource_group, "location": LOCATION}],
        "network_security_groups": [{"name": NSG, "resource_group": resource_group}],
        "virtual_networks": [
            {
                "name": VNET,
                "resource_group": resource_group,
                "address_prefixes": [VNET_PREFIX],
                "subnets": [{"name": SUBNET, "address_prefix": f"198.18.{slot}.0/24", "network_security_group": NSG}],
            }
        ],
        "virtual_machines": [
            {
                "name": host["name"],
                "resource_group": resource_group,
                "nics": [{"name": f"{host['name']}-nic", "subnet": subnet_ref, "private_ip": host["address"]}],
            }
            for host in hosts
        ],
    }


# The pod CIDRs Kubernetes assigned: node1 has the one the molecule host_vars name; the others have none yet
# (the udr scenario allocates and patches them).
CLUSTER_POD_CIDRS = {"node1": "198.19.10.0/24"}


def cluster_seed_for(hosts: Sequence[dict], subscription_id: str, resource_group: str,
                     pod_cidrs: dict | None = None) -> dict:
    """The Kubernetes stand-in's nodes: one per test host, its VM as providerID, its address as InternalIP."""
    pod_cidrs = CLUSTER_POD_CIDRS if pod_cidrs is None else pod_cidrs
    nodes = []
    for host in hosts:
        node = {"name": host["name"],
                "providerID": "azure:///subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s"
                              % (subscription_id, resource_group, host["name"]),
                "addresses": [{"type": "InternalIP", "address": host["address"]}]}
        if host["name"] in pod_cidrs:
            node["podCIDR"] = pod_cidrs[host["name"]]
        nodes.append(node)
    return {"nodes": nodes}


def _start_stand_in(seed_file: Path, info_file: Path, log_file: Path, package: str = "azure_emulator") -> int:
    info_file.unlink(missing_ok=True)
    env = dict(os.environ, PYTHONPATH=str(TESTS_DIR) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", package, "--seed", str(seed_file), "--info-file", str(info_file)]
            + (["--workdir", str(info_file.parent)] if package == "azure_emulator" else []),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(TESTS_DIR),
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while not info_file.exists() or not info_file.read_text().strip():
        if proc.poll() is not None:
            raise RuntimeError(f"the Azure stand-in exited with {proc.returncode}; see {log_file}")
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"the Azure stand-in wrote no {info_file} within 30 s; see {log_file}")
        time.sleep(0.1)
    return proc.pid


def _is_stand_in(pid: int) -> bool:
    """The pid is (still) a stand-in: a world file left by a killed run may name a reused pid."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"azure_emulator" in cmdline or b"k8s_emulator" in cmdline


def _stop_pid(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _attempt in range(50):
        try:
            # Reap it if it is our child (make demo); otherwise wait for it to vanish.
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            pass
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def up(run_dir: Path, slot: int, hosts: Sequence[str], resource_group: str, cluster_pod_cidrs: dict | None = None) -> dict:
    # A world an interrupted run left: its stand-ins stopped here, its hosts and every file of
    # the run directory by testhosts.up, so the new world starts from nothing.
    down(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state = testhosts.up(run_dir, slot, hosts)
    seed_file = run_dir / "seed.json"
    seed_file.write_text(json.dumps(seed_for(state["hosts"], slot, resource_group), indent=2))
    world = {"hosts": state["hosts"], "run_dir": str(run_dir)}
    world_file = run_dir / "world.json"
    world_file.write_text(json.dumps(world, indent=2))
    pid = _start_stand_in(seed_file, run_dir / "stand-in.json", run_dir / "stand-in.log")
    world["azure"] = {"pid": pid}
    world_file.write_text(json.dumps(world, indent=2))
    info = json.loads((run_dir / "stand-in.json").read_text())
    keys = ("base_url", "ca_file", "metadata_url", "tenant_id", "subscription_id", "client_id", "client_secret")
    world["azure"].update({key: info[key] for key in keys})
    world["auth"] = {
        "subscription_id": info["subscription_id"],
        "tenant": info["tenant_id"],
        "client_id": info["client_id"],
        "secret": info["client_secret"],
        "cloud_environment": info["metadata_url"],
        "ca_bundle": info["ca_file"],
    }
    world["names"] = {
        "resource_group": resource_group,
        "location": LOCATION,
        "vnet_name": VNET,
        "vnet_address_prefixes": [VNET_PREFIX],
        "subnet_name": SUBNET,
        "security_group_name": NSG,
        "route_table_name": ROUTE_TABLE,
        "cluster_cidr": CLUSTER_CIDR,
        "tenant_id": info["tenant_id"],
        "subscription_id": info["subscription_id"],
    }
    world_file.write_text(json.dumps(world, indent=2))
    # The cluster beside it: the Kubernetes API stand-in (tests/k8s_emulator), whose nodes are the test hosts.
    cluster_seed = run_dir / "cluster-seed.json"
    cluster_seed.write_text(json.dumps(
        cluster_seed_for(state["hosts"], info["subscription_id"], resource_group, cluster_pod_cidrs), indent=2))
    k8s_pid = _start_stand_in(cluster_seed, run_dir / "k8s-stand-in.json", run_dir / "k8s-stand-in.log", "k8s_emulator")
    world["kubernetes"] = {"pid": k8s_pid}
    world_file.write_text(json.dumps(world, indent=2))
    k8s_info = json.loads((run_dir / "k8s-stand-in.json").read_text())
    world["kubernetes"].update({"kubeconfig": k8s_info["kubeconfig"], "base_url": k8s_info["base_url"],
                                "ca_file": k8s_info["ca_file"]})
    world_file.write_text(json.dumps(world, indent=2))
    return world


def inventory(world: dict, mode: str = "udr", pod_cidrs: dict | None = None, kubernetes: bool = False) -> dict:
    """A site.yml inventory (the documented layout) for the world's hosts and stand-in."""
    hosts = {}
    for host in world["hosts"]:
        hosts[host["name"]] = dict(testhosts.ansible_host_vars(host))
        if pod_cidrs and host["name"] in pod_cidrs:
            hosts[host["name"]]["udr_pod_cidr"] = pod_cidrs[host["name"]]
    names = world["names"]
    group_vars = {
        "ansible_become": False,
        "calico_azure_networking_mode": mode,
        "calico_azure_auth": world["auth"],
        "cloud_provider_config_aad_client_id": world["azure"]["client_id"],
        "cloud_provider_config_aad_client_secret": world["azure"]["client_secret"],
        "calico_node_systemd_unit": True,
    }
    group_vars.update({"calico_azure_" + key: value for key, value in names.items()})
    if kubernetes:
        # Nodes, pod CIDRs and VMs from the cluster; nodes without a pod CIDR get one, patched in.
        group_vars["calico_azure_kubernetes"] = {"kubeconfig": world["kubernetes"]["kubeconfig"]}
        group_vars["udr_allocate_pod_cidrs"] = True
    return {"calico_azure_nodes": {"hosts": hosts, "vars": group_vars}}


def down(run_dir: Path) -> None:
    """Stop the stand-in and every test host of the world; safe to call twice or after a failed up."""
    world_file = run_dir / "world.json"
    if world_file.exists():
        world = json.loads(world_file.read_text())
        for stand_in in ("kubernetes", "azure"):
            pid = (world.get(stand_in) or {}).get("pid")
            if pid and _is_stand_in(int(pid)):
                _stop_pid(int(pid))
        world_file.unlink()
    testhosts.down(run_dir)


def control(run_dir: Path):
    """A ControlClient for the world's stand-in."""
    from azure_emulator.control import ControlClient

    azure = json.loads((run_dir / "world.json").read_text())["azure"]
    return ControlClient(azure["base_url"], azure["ca_file"])


def resource_ids(world: dict) -> dict:
    names = world["names"]
    group = f"/subscriptions/{names['subscription_id']}/resourceGroups/{names['resource_group']}/providers/Microsoft.Network"
    return {
        "route_table": f"{group}/routeTables/{names['route_table_name']}",
        "subnet": f"{group}/virtualNetworks/{names['vnet_name']}/subnets/{names['subnet_name']}",
        "nics": [f"{group}/networkInterfaces/{host['name']}-nic" for host in world["hosts"]],
    }


def snapshot(run_dir: Path) -> dict:
    """The stand-in's request counts and the resources site.yml manages, in one call.

    Control reads are not ARM requests: they never show in the counts.
    """
    world = json.loads((run_dir / "world.json").read_text())
    ids = resource_ids(world)
    client = control(run_dir)
    try:
        return {
            "counts": client.counts(),
            "route_table": client.get_resource(ids["route_table"]),
            "subnet": client.get_resource(ids["subnet"]),
            "nics": [client.get_resource(nic) for nic in ids["nics"]],
        }
    finally:
        client.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up_p = sub.add_parser("up")
    up_p.add_argument("--run-dir", type=Path, required=True)
    up_p.add_argument("--slot", type=int, required=True)
    up_p.add_argument("--hosts", default="node1,node2,node3")
    up_p.add_argument("--resource-group", default="k8s-cluster")
    down_p = sub.add_parser("down")
    down_p.add_argument("--run-dir", type=Path, required=True)
    snap = sub.add_parser("snapshot", help="print request counts, route table, subnet and NICs as JSON")
    snap.add_argument("--run-dir", type=Path, required=True)
    ctl = sub.add_parser("control", help="call a control operation of the stand-in and print its JSON result")
    ctl.add_argument("--run-dir", type=Path, required=True)
    ctl.add_argument("operation")
    ctl.add_argument("kwargs", nargs="?", default="{}", help="JSON object of keyword arguments")
    args = parser.parse_args(argv)
    if args.command == "up":
        try:
            world = up(args.run_dir, args.slot, [h for h in args.hosts.split(",") if h], args.resource_group)
        except (RuntimeError, testhosts.TestHostError) as exc:
            down(args.run_dir)
            print(f"scenario: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(world, indent=2))
    elif args.command == "down":
        down(args.run_dir)
    elif args.command == "snapshot":
        print(json.dumps(snapshot(args.run_dir)))
    else:
        client = control(args.run_dir)
        try:
            print(json.dumps(getattr(client, args.operation)(**json.loads(args.kwargs))))
        finally:
            client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
