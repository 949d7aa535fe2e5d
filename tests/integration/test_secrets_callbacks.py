"""Issue 13 item 4: the Azure secret reaches no callback plugin.

site.yml's Azure plays (preflight, route table, NIC forwarding: the first two plays, read from the file) run
against the stand-in with calico_azure_auth in the inventory, under a callback recording everything each v2_*
hook is given. The secret appears nowhere. The same plays with module_defaults (the documented trade-off) put it
in the task arguments: the recorder sees them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from helpers.ansible_run import REPO_ROOT, run_playbook

from ansible_collections.calico.azure.plugins.module_utils._azure.ids import route_table_id

RG = "rg-k8s-secrets"
CALLBACKS = str(Path(__file__).resolve().parent / "callback_plugins")
NODES = {"node-a": "10.40.0.4", "node-b": "10.40.0.5"}
SEED = {
    "resource_groups": [{"name": RG, "location": "westeurope"}],
    "network_security_groups": [{"name": "nsg-nodes", "resource_group": RG}],
    "virtual_networks": [{"name": "vnet-k8s", "resource_group": RG, "address_prefixes": ["10.40.0.0/16", "10.244.0.0/16"],
                          "subnets": [{"name": "snet-nodes", "address_prefix": "10.40.0.0/24",
                                       "network_security_group": "nsg-nodes"}]}],
    "virtual_machines": [
        {"name": name, "resource_group": RG,
         "nics": [{"name": name + "-nic", "subnet": {"virtual_network": "vnet-k8s", "name": "snet-nodes"},
                   "private_ip": ip}]}
        for name, ip in NODES.items()
    ],
}
pytestmark = pytest.mark.azure_seed(SEED)


def azure_plays(module_defaults: dict | None) -> str:
    plays = yaml.safe_load((REPO_ROOT / "playbooks" / "site.yml").read_text())[:2]
    for play in plays:
        play.pop("module_defaults", None)
        if module_defaults is not None:
            play["module_defaults"] = module_defaults
    return json.dumps(plays, indent=2)


def inventory(tmp_path: Path, emu) -> Path:
    group_vars = {
        "ansible_connection": "local",
        "calico_azure_networking_mode": "udr",
        "calico_azure_auth": {"auth_source": "service_principal", "client_id": emu.client_id,
                              "secret": emu.client_secret, "tenant": emu.tenant_id,
                              "subscription_id": emu.subscription_id, "cloud_environment": emu.metadata_url,
                              "ca_bundle": emu.ca_file},
        "calico_azure_tenant_id": emu.tenant_id,
        "calico_azure_subscription_id": emu.subscription_id,
        "calico_azure_resource_group": RG,
        "calico_azure_location": "westeurope",
        "calico_azure_vnet_name": "vnet-k8s",
        "calico_azure_subnet_name": "snet-nodes",
        "calico_azure_security_group_name": "nsg-nodes",
        "calico_azure_route_table_name": "rt-pods",
        "calico_azure_cluster_cidr": "10.244.0.0/16",
        "cloud_provider_config_aad_client_id": emu.client_id,
        "cloud_provider_config_aad_client_secret": emu.client_secret,
    }
    hosts = {name: {"udr_pod_cidr": "10.244.%d.0/24" % i} for i, name in enumerate(NODES)}
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps({"calico_azure_nodes": {"hosts": hosts, "vars": group_vars}}))
    return path


def run(tmp_path, emu, module_defaults=None):
    record = tmp_path / ("record-%s.jsonl" % ("defaults" if module_defaults else "action"))
    result = run_playbook(azure_plays(module_defaults), inventory=inventory(tmp_path, emu), env={
        "ANSIBLE_CALLBACK_PLUGINS": "%s:%s" % (CALLBACKS, str(REPO_ROOT / "tests" / "helpers" / "callback_plugins")),
        "ANSIBLE_CALLBACKS_ENABLED": "record_everything",
        "RECORD_EVERYTHING_FILE": str(record),
    })
    return result, record.read_text()


def test_the_secret_reaches_no_callback(azure_emulator, tmp_path):
    emu = azure_emulator
    result, recorded = run(tmp_path, emu)
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = emu.get_resource(route_table_id(emu.subscription_id, RG, "rt-pods"))
    assert sorted((r["name"], r["properties"]["addressPrefix"], r["properties"]["nextHopIpAddress"])
                  for r in table["properties"]["routes"]) == [
        ("node-a", "10.244.0.0/24", "10.40.0.4"), ("node-b", "10.244.1.0/24", "10.40.0.5")]
    hooks = {json.loads(line)["hook"] for line in recorded.splitlines()}
    assert {"v2_playbook_on_task_start", "v2_runner_on_ok", "v2_playbook_on_play_start"} <= hooks
    assert emu.client_id in recorded  # the recorder does see the non-secret auth options' neighbours
    assert emu.client_secret not in recorded
    assert emu.client_secret not in result.stdout + result.stderr


def test_module_defaults_still_work_and_show_why_the_action_exists(azure_emulator, tmp_path):
    emu = azure_emulator
    result, recorded = run(tmp_path, emu, module_defaults={"group/calico.azure.azure": "{{ calico_azure_auth }}"})
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert len(emu.get_resource(route_table_id(emu.subscription_id, RG, "rt-pods"))["properties"]["routes"]) == 2
    # The trade-off documented for module_defaults: its values are task arguments, which callbacks receive.
    assert emu.client_secret in recorded
