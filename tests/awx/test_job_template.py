"""An AWX / AAP job template running site.yml, reproduced with ansible-runner.

The job template: project ``tests/awx/project`` (``site.yml`` imports
``calico.azure.site``; ``collections/requirements.yml`` installs the
collection), the inventory ``playbooks/inventory/example`` imported as AWX
imports it (``ansible-inventory --list --export``) with the hosts pointed at
three SSH test hosts, a Machine credential (the test hosts' key, through
ssh-agent), a "Microsoft Azure Resource Manager" credential (the stand-in's
service principal) and a custom credential type injecting the stand-in's CA
as ``REQUESTS_CA_BUNDLE``. "Show changes" is on and verbosity is 3 (Debug),
the settings most likely to leak a secret.

Two jobs run, each in its own private data directory (see
:mod:`awx.awx_job`): the first converges, the second must change nothing and
write nothing to Azure. The client secret must appear in no job event and in
no file of either private data directory except ansible-runner's own record
of the environment (``artifacts/<job>/command``, 0600, which AWX deletes with
the directory).
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from awx.awx_job import (
    AwxJob,
    BIN_DIR,
    build_private_data_dir,
    file_injector,
    files_containing,
    install_project_collections,
    job_environment,
    run_job,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT_TEMPLATE = Path(__file__).resolve().parent / "project"
EXAMPLE_INVENTORY = REPO_ROOT / "playbooks" / "inventory" / "example"
NODES_GROUP = "calico_azure_nodes"
# Test-host network slot (198.18.<slot>.0/24) of this suite; molecule scenarios use others.
TEST_HOST_SLOT = 61 + int(os.environ.get("CALICO_AZURE_TEST_SLOT_OFFSET", "0"))
# The nodes' subnet: the first /24 of the VNet's first address prefix; Azure gives
# VMs addresses from .4 on (.1-.3 are reserved).
FIRST_NODE_IP = 4

# The job template's own variables (Jinja allowed there) and the survey answers.
JOB_TEMPLATE_VARIABLES = {
    "calico_azure_subscription_id": "{{ lookup('ansible.builtin.env', 'AZURE_SUBSCRIPTION_ID') }}",
    "calico_azure_tenant_id": "{{ lookup('ansible.builtin.env', 'AZURE_TENANT') }}",
    "cloud_provider_config_aad_client_id": "{{ lookup('ansible.builtin.env', 'AZURE_CLIENT_ID') }}",
    "cloud_provider_config_aad_client_secret": "{{ lookup('ansible.builtin.env', 'AZURE_SECRET') }}",
}
SURVEY_ANSWERS = {
    "calico_azure_networking_mode": "udr",
    "udr_route_management": "ansible",
    "calico_azure_cluster_cidr": "10.244.0.0/16",
    "udr_node_mask_size": 24,
}
# Job template: Show changes on, Verbosity 3 (Debug), Privilege escalation on, Machine credential user root.
CMDLINE = ["-u", "root", "--become", "--diff", "-vvv", "--forks=5"]


def _need_test_hosts() -> None:
    if os.geteuid() != 0:
        pytest.skip("the SSH test hosts need root (network and mount namespaces)")
    for tool in ("/usr/sbin/sshd", "/usr/sbin/ip", "/usr/bin/unshare", "/usr/bin/ssh-agent"):
        if not os.path.exists(tool):
            pytest.skip(f"{tool} is missing: run `make system-deps`")


def _example_inventory() -> dict[str, Any]:
    """The example inventory as AWX stores it after an inventory update."""
    proc = subprocess.run(
        [str(BIN_DIR / "ansible-inventory"), "-i", str(EXAMPLE_INVENTORY), "--list", "--export"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0"},
    )
    return json.loads(proc.stdout)


def _azure_layout(inventory: dict[str, Any]) -> dict[str, Any]:
    group_vars = inventory[NODES_GROUP]["vars"]
    return {key: group_vars[key] for key in group_vars if key.startswith("calico_azure_")}


def _node_subnet(azure: dict[str, Any]) -> ipaddress.IPv4Network:
    first = ipaddress.ip_network(azure["calico_azure_vnet_address_prefixes"][0])
    return next(first.subnets(new_prefix=24))


def _seed(inventory: dict[str, Any], client_secret: str) -> dict[str, Any]:
    """The stand-in's subscription: the resource group, VNet, subnet, NSG, VMs and NICs the inventory names."""
    azure = _azure_layout(inventory)
    group = azure["calico_azure_resource_group"]
    hostvars = inventory["_meta"]["hostvars"]
    subnet = _node_subnet(azure)
    vms = []
    for index, host in enumerate(sorted(inventory[NODES_GROUP]["hosts"])):
        vm_name = hostvars.get(host, {}).get("udr_vm_name", host)
        vms.append(
            {
                "name": vm_name,
                "resource_group": group,
                "nics": [
                    {
                        "name": f"{vm_name}-nic",
                        "subnet": f"{azure['calico_azure_vnet_name']}/{azure['calico_azure_subnet_name']}",
                        "private_ip": str(subnet.network_address + FIRST_NODE_IP + index),
                    }
                ],
            }
        )
    return {
        "service_principal": {"client_secret": client_secret},
        "resource_groups": [{"name": group, "location": azure["calico_azure_location"]}],
        "network_security_groups": [{"name": azure["calico_azure_security_group_name"], "resource_group": group}],
        "virtual_networks": [
            {
                "name": azure["calico_azure_vnet_name"],
                "resource_group": group,
                "address_prefixes": list(azure["calico_azure_vnet_address_prefixes"]),
                "subnets": [
                    {
                        "name": azure["calico_azure_subnet_name"],
                        "address_prefix": str(subnet),
                        "network_security_group": azure["calico_azure_security_group_name"],
                    }
                ],
            }
        ],
        "virtual_machines": vms,
    }


def _awx_inventory(inventory: dict[str, Any], test_hosts: list[dict[str, Any]]) -> dict[str, Any]:
    """The imported inventory, edited as docs/awx.md says, with the nodes at the test hosts."""
    inventory = json.loads(json.dumps(inventory))
    group_vars = inventory[NODES_GROUP]["vars"]
    # docs/awx.md: the Machine credential gives the user, the job template the cloud provider's secret.
    group_vars.pop("ansible_user", None)
    group_vars.pop("cloud_provider_config_aad_client_secret", None)
    group_vars["calico_azure_auth"] = {"auth_source": "env"}
    by_name = {host["name"]: host for host in test_hosts}
    hostvars = inventory.setdefault("_meta", {}).setdefault("hostvars", {})
    for name in inventory[NODES_GROUP]["hosts"]:
        host = by_name[name]
        hostvars.setdefault(name, {}).update(
            {
                "ansible_host": host["address"],
                "ansible_port": host["port"],
                "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                "ansible_python_interpreter": "/usr/bin/python3",
            }
        )
    return inventory


@dataclass
class JobTemplateRun:
    first: AwxJob
    second: AwxJob
    first_counts: dict[str, Any]
    second_counts: dict[str, Any]
    secret: str
    hosts: list[dict[str, Any]]
    route_table: dict[str, Any] | None
    nics: list[dict[str, Any]]
    timings: dict[str, float]


@pytest.fixture(scope="module")
def job_template_run(tmp_path_factory) -> JobTemplateRun:
    _need_test_hosts()
    from azure_emulator import Emulator  # the stand-in; imported here so collection works without it

    sys.path.insert(0, str(REPO_ROOT / "tests" / "molecule_support"))
    import testhosts

    timings: dict[str, float] = {}
    work = tmp_path_factory.mktemp("awx")
    secret = "awx-" + secrets.token_urlsafe(24)

    # The project update: the collection tarball (Galaxy's stand-in) installed from requirements.yml.
    started = time.monotonic()
    dist = work / "dist"
    subprocess.run(
        [str(BIN_DIR / "ansible-galaxy"), "collection", "build", "--output-path", str(dist), str(REPO_ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    tarball = next(dist.glob("calico-azure-*.tar.gz"))
    project = work / "project"
    shutil.copytree(PROJECT_TEMPLATE, project)
    requirements = yaml.safe_load((project / "collections" / "requirements.yml").read_text())
    # calico.azure depends on kubernetes.core (galaxy.yml): AWX resolves it from Galaxy, which is not
    # reachable here, so the copy `make` extracted from the ansible package is given as its source.
    kubernetes_core = REPO_ROOT / ".cache" / "collections" / "ansible_collections" / "kubernetes" / "core"
    requirements["collections"] = [{"name": str(tarball), "type": "file"},
                                   {"name": str(kubernetes_core), "type": "dir"}]
    (project / "collections" / "requirements.yml").write_text(yaml.safe_dump(requirements))
    collections = work / "project_update" / "requirements_collections"
    install_project_collections(project, collections)
    timings["project update (build + install)"] = time.monotonic() - started

    inventory = _example_inventory()
    run_dir = work / "hosts"
    node_names = sorted(inventory[NODES_GROUP]["hosts"])
    started = time.monotonic()
    try:
        state = testhosts.up(run_dir, TEST_HOST_SLOT, node_names)
        timings["test hosts up"] = time.monotonic() - started
        ssh_key = (run_dir / "id_ed25519").read_text()
        awx_inventory = _awx_inventory(inventory, state["hosts"])
        with Emulator(seed=_seed(inventory, secret)) as emu:
            assert emu.client_secret == secret

            def credential_env(private_data_dir: Path) -> dict[str, str]:
                # "Microsoft Azure Resource Manager" (azure_rm injector) + the CA bundle custom type.
                ca_file = file_injector(private_data_dir, Path(emu.ca_file).read_text())
                return {
                    "AZURE_SUBSCRIPTION_ID": emu.subscription_id,
                    "AZURE_CLIENT_ID": emu.client_id,
                    "AZURE_TENANT": emu.tenant_id,
                    "AZURE_SECRET": emu.client_secret,
                    "AZURE_CLOUD_ENVIRONMENT": emu.metadata_url,
                    "REQUESTS_CA_BUNDLE": str(ca_file),
                }

            def launch(job_id: int) -> AwxJob:
                private_data_dir = build_private_data_dir(
                    work,
                    job_id=job_id,
                    project=project,
                    collections=collections,
                    inventory=awx_inventory,
                    extra_vars={**JOB_TEMPLATE_VARIABLES, **SURVEY_ANSWERS},
                    cmdline=CMDLINE,
                )
                env = job_environment(private_data_dir, job_id, credential_env(private_data_dir))
                return run_job(job_id, private_data_dir, envvars=env, ssh_key=ssh_key)

            emu.clear_log()
            started = time.monotonic()
            first = launch(101)
            timings["job 1 (converge)"] = time.monotonic() - started
            first_counts = emu.counts()

            emu.clear_log()
            started = time.monotonic()
            second = launch(102)
            timings["job 2 (re-run)"] = time.monotonic() - started
            second_counts = emu.counts()

            azure = _azure_layout(inventory)
            base = f"/subscriptions/{emu.subscription_id}/resourceGroups/{azure['calico_azure_resource_group']}"
            route_table = emu.get_resource(
                f"{base}/providers/Microsoft.Network/routeTables/{azure['calico_azure_route_table_name']}"
            )
            nics = [
                emu.get_resource(f"{base}/providers/Microsoft.Network/networkInterfaces/{name}-nic")
                for name in node_names
            ]
    finally:
        testhosts.down(run_dir)
    print("\nAWX job template timings (s): " + ", ".join(f"{k}: {v:.1f}" for k, v in timings.items()))
    return JobTemplateRun(first, second, first_counts, second_counts, secret, state["hosts"], route_table, nics, timings)


def _explain(job: AwxJob) -> str:
    return f"status {job.status}, rc {job.rc}; failures: {job.failures()}\n{job.stdout[-6000:]}"


def test_the_first_job_converges_azure_and_every_node(job_template_run: JobTemplateRun):
    job = job_template_run.first
    assert job.status == "successful" and job.rc == 0, _explain(job)
    assert job_template_run.first_counts["writes"] > 0
    changed = job.stats()["changed"]
    assert set(changed) == {host["name"] for host in job_template_run.hosts}, job.changed_tasks()

    routes = {r["name"]: r["properties"] for r in job_template_run.route_table["properties"]["routes"]}
    assert sorted(routes) == sorted(host["name"] for host in job_template_run.hosts)
    assert {p["nextHopType"] for p in routes.values()} == {"VirtualAppliance"}
    nic_ips = {
        nic["name"].removesuffix("-nic"): nic["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"]
        for nic in job_template_run.nics
    }
    assert {name: p["nextHopIpAddress"] for name, p in routes.items()} == nic_ips
    assert [nic["properties"]["enableIPForwarding"] for nic in job_template_run.nics] == [True] * len(job_template_run.nics)

    for host in job_template_run.hosts:
        etc = Path(host["etc_upper"])
        assert "CALICO_NETWORKING_BACKEND=none" in (etc / "calico" / "calico.env").read_text()
        azure_json = etc / "kubernetes" / "azure.json"
        assert stat.S_IMODE(azure_json.stat().st_mode) == 0o600
        config = json.loads(azure_json.read_text())
        # The secret belongs in azure.json: that is what the cloud provider reads.
        assert config["aadClientSecret"] == job_template_run.secret
        assert config["routeTableName"] == job_template_run.route_table["name"]


def test_the_second_job_changes_nothing_and_writes_nothing(job_template_run: JobTemplateRun):
    job = job_template_run.second
    assert job.status == "successful" and job.rc == 0, _explain(job)
    assert job.changed_tasks() == []
    assert set(job.stats()["changed"].values()) <= {0}
    assert job_template_run.second_counts["writes"] == 0, job_template_run.second_counts


def test_the_secret_is_in_no_job_event(job_template_run: JobTemplateRun):
    for job in (job_template_run.first, job_template_run.second):
        assert job.events, "no job events were received"
        leaking = [e.get("event") for e in job.events if job_template_run.secret in json.dumps(e)]
        assert leaking == [], f"job {job.job_id}: the client secret is in events {leaking}"
        assert job_template_run.secret not in job.stdout


def test_the_secret_is_only_in_runners_environment_record(job_template_run: JobTemplateRun):
    for job in (job_template_run.first, job_template_run.second):
        found = files_containing(job.private_data_dir, job_template_run.secret)
        assert found == [job.artifacts_dir / "command"], found
        assert stat.S_IMODE(found[0].stat().st_mode) == 0o600


def test_the_environment_is_never_written_to_env_files(job_template_run: JobTemplateRun):
    for job in (job_template_run.first, job_template_run.second):
        env_dir = job.private_data_dir / "env"
        assert not (env_dir / "envvars").exists()
        assert not (env_dir / "passwords").exists()
        for path in env_dir.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        # the status that carries the environment is the one AWX masks before saving it as job_env
        carrying = [s["status"] for s in job.statuses if job_template_run.secret in json.dumps(s)]
        assert carrying == ["starting"]
