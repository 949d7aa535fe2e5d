"""cloud_provider_config on the controller host: azure.json's exact content for split resource groups and scale
sets, secrets taken as data, and the file never readable by another user, checked by a concurrent reader."""

from __future__ import annotations

import json
import os
import pwd
import stat
import time
from pathlib import Path

import pytest

from helpers.ansible_run import run_playbook

SECRET = "Ab{{ 7*6 }}c"
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the role writes root-owned files")

BASE_VARS = {
    "calico_azure_tenant_id": "00000000-0000-0000-0000-0000000000aa",
    "calico_azure_subscription_id": "00000000-0000-0000-0000-0000000000bb",
    "calico_azure_resource_group": "rg-compute",
    "calico_azure_network_resource_group": "rg-network",
    "calico_azure_location": "westeurope",
    "calico_azure_vnet_name": "vnet-k8s",
    "calico_azure_subnet_name": "snet-nodes",
    "calico_azure_security_group_name": "nsg-nodes",
    "calico_azure_route_table_name": "rt-pods",
    "cloud_provider_config_aad_client_id": "11111111-2222-3333-4444-555555555555",
    "cloud_provider_config_restart_services": [],
}


@pytest.fixture
def config_dir():
    # Traversable by every user: the reader must fail on the file's mode, not on the directory.
    base = Path("/tmp") / ("calico-azure-cpc-%d" % os.getpid())
    base.mkdir(mode=0o755, exist_ok=True)
    os.chmod(base, 0o755)
    yield base
    for child in base.rglob("*"):
        if child.is_file():
            child.unlink()
    for child in sorted(base.rglob("*"), reverse=True):
        child.rmdir()
    base.rmdir()


def run_role(path: Path, secret_var: str = "cloud_provider_config_aad_client_secret", **variables):
    play = [{"hosts": "localhost", "gather_facts": False, "roles": [{"role": "calico.azure.cloud_provider_config"}]}]
    # Extra vars from a file, like inventory values, are trusted as templates: the secret must not be rendered.
    extra = dict(BASE_VARS, cloud_provider_config_path=str(path), **{secret_var: SECRET}, **variables)
    return run_playbook(json.dumps(play, indent=2), extra_vars=extra)


def test_split_resource_groups_scale_set_and_literal_secret(config_dir):
    path = config_dir / "kubernetes" / "azure.json"
    result = run_role(path, cloud_provider_config_vm_type="vmss", cloud_provider_config_primary_scale_set_name="vmss-pool-a")
    assert result.rc == 0, result.stdout + result.stderr
    assert json.loads(path.read_text()) == {
        "cloud": "AzurePublicCloud",
        "tenantId": BASE_VARS["calico_azure_tenant_id"],
        "subscriptionId": BASE_VARS["calico_azure_subscription_id"],
        "resourceGroup": "rg-compute",
        "location": "westeurope",
        "vnetName": "vnet-k8s",
        "vnetResourceGroup": "rg-network",
        "subnetName": "snet-nodes",
        "securityGroupName": "nsg-nodes",
        "securityGroupResourceGroup": "rg-network",
        "routeTableName": "rt-pods",
        "routeTableResourceGroup": "rg-network",
        "vmType": "vmss",
        "primaryScaleSetName": "vmss-pool-a",
        "useInstanceMetadata": True,
        "loadBalancerSku": "standard",
        "useManagedIdentityExtension": False,
        "aadClientId": BASE_VARS["cloud_provider_config_aad_client_id"],
        "aadClientSecret": SECRET,
        "cloudProviderBackoff": False,
        "cloudProviderRateLimit": False,
    }
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode == 0o600
    assert SECRET not in result.stdout and "Ab42c" not in result.stdout
    again = run_role(path, cloud_provider_config_vm_type="vmss", cloud_provider_config_primary_scale_set_name="vmss-pool-a")
    assert again.rc == 0 and again.changed_count == 0, again.stdout


def test_availability_set_with_standard_vms(config_dir):
    path = config_dir / "azure.json"
    result = run_role(path, cloud_provider_config_primary_availability_set_name="avset-nodes")
    assert result.rc == 0, result.stdout + result.stderr
    document = json.loads(path.read_text())
    assert (document["vmType"], document["primaryAvailabilitySetName"]) == ("standard", "avset-nodes")
    assert "primaryScaleSetName" not in document


@pytest.mark.parametrize("variables,message", [
    ({"cloud_provider_config_primary_scale_set_name": "vmss-a"},
     "cloud_provider_config_primary_scale_set_name is set, but cloud_provider_config_vm_type is standard"),
    ({"cloud_provider_config_vm_type": "vmssflex", "cloud_provider_config_primary_availability_set_name": "av"},
     "cloud_provider_config_primary_availability_set_name is set, but cloud_provider_config_vm_type is vmssflex"),
    ({"cloud_provider_config_vm_type": "vmsss"}, "cloud_provider_config_vm_type"),
])
def test_vm_type_settings_are_validated_before_writing(config_dir, variables, message):
    path = config_dir / "azure.json"
    result = run_role(path, **variables)
    assert result.rc != 0
    assert message in result.stdout
    assert not path.exists()


def _reader(path: Path, secret: str, deadline: float, report: Path) -> None:
    """Child process: become nobody and poll the file until SIGTERM (or the deadline); write what was seen."""
    import signal

    nobody = pwd.getpwnam("nobody")
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)
    seen_modes, reads_with_secret, polls = set(), 0, 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    while time.monotonic() < deadline and not stop:
        polls += 1
        time.sleep(0.0002)  # fast enough for a window of a millisecond, without starving the run on 2 cores
        try:
            st = os.stat(path)
        except OSError:
            continue
        if st.st_size:
            seen_modes.add(stat.S_IMODE(st.st_mode))
        try:
            with open(path) as handle:
                if secret in handle.read():
                    reads_with_secret += 1
        except OSError:
            pass
    report.write_text(json.dumps({"modes": sorted(seen_modes), "reads_with_secret": reads_with_secret, "polls": polls}))


def test_a_concurrent_unprivileged_reader_never_reads_the_secret(config_dir):
    """Issue 13 item 3: five first creations (one run) with a reader polling as nobody all along."""
    path = config_dir / "azure.json"
    report = config_dir / "reports" / "reader.json"
    report.parent.mkdir(mode=0o777)
    os.chmod(report.parent, 0o777)
    creation = config_dir / "creation.yml"
    creation.write_text(json.dumps([
        {"name": "Remove the config", "ansible.builtin.file": {"path": str(path), "state": "absent"}},
        {"name": "Create it", "ansible.builtin.include_role": {"name": "calico.azure.cloud_provider_config"}},
        {"name": "Record it", "ansible.builtin.stat": {"path": str(path)}, "register": "created"},
        {"name": "Keep its mode", "ansible.builtin.set_fact": {
            "modes": "{{ (modes | default([])) + [created.stat.mode] }}"}},
    ]))
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Five first creations", "ansible.builtin.include_tasks": str(creation), "loop": [1, 2, 3, 4, 5]},
        {"name": "Modes", "ansible.builtin.debug": {"var": "modes"}},
    ]}]
    extra = dict(BASE_VARS, cloud_provider_config_path=str(path), cloud_provider_config_aad_client_secret=SECRET)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            _reader(path, SECRET, time.monotonic() + 300, report)
        finally:
            os._exit(0)
    try:
        result = run_playbook(json.dumps(play, indent=2), extra_vars=extra)
    finally:
        os.kill(pid, 15)
        os.waitpid(pid, 0)
    assert result.rc == 0, result.stdout + result.stderr
    assert result.task("Modes")["modes"] == ["0600"] * 5
    assert json.loads(path.read_text())["aadClientSecret"] == SECRET
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    seen = json.loads(report.read_text())
    assert seen["polls"] > 100
    assert seen["reads_with_secret"] == 0 and set(seen["modes"]) <= {0o600}, seen
