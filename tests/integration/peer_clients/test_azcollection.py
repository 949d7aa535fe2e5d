# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""azure.azcollection, a client nobody here wrote, against the Azure stand-in.

The modules a user of Calico on Azure would otherwise reach for (route table, route, subnet
association, NIC IP forwarding, VM facts) run as users run them: ansible-playbook with the
credential in the environment AWX injects (AZURE_CLIENT_ID, AZURE_SECRET, AZURE_TENANT,
AZURE_SUBSCRIPTION_ID) and REQUESTS_CA_BUNDLE set to the stand-in's CA (cert_validation_mode
stays "validate"). A private cloud is named the way azcollection 3.21 documents it for Azure
Stack: azure-cli-core loads the clouds from ARM_CLOUD_METADATA_URL (the stand-in's cloud
metadata), AZURE_CLOUD_ENVIRONMENT names one by its ARM endpoint, and
AZURE_DISABLE_INSTANCE_DISCOVERY=true keeps MSAL from asking login.microsoftonline.com about an
authority it does not know; SSL_CERT_FILE makes urllib (azure-cli-core's metadata fetch) trust
the stand-in's CA as REQUESTS_CA_BUNDLE does for requests (tests/tools/azcollection_venv.py
``stand_in_environment``). azcollection scopes its token to the ARM endpoint it calls
(``resource_manager + "/.default"``), as for ``https://management.azure.com/.default`` in public
Azure, where the endpoint is one of ARM's audiences. Each goes check -> nothing written -> apply
-> exact end state -> re-run unchanged with no write.

The modules run with the Python of azcollection's own venv (``make azcollection-venv``:
azcollection 3.21.0 from ``ansible`` 14.5.0, Python 3.12; its pinned azure-mgmt-* clash with the
main venv's); the controller is the main venv's ansible-core.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import pytest

from helpers.ansible_run import COLLECTIONS_DIR, run_playbook

REPO_ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO_ROOT / "tests" / "tools"))
import azcollection_venv  # noqa: E402  pylint: disable=wrong-import-position

RG = "rg-k8s"
VNET = "vnet-k8s"
SUBNET = "nodes"
TABLE = "rt-peer"
TASK = "peer"
# A module run that takes longer than this is a hang, not a slow run (the stand-in answers in ms).
RUN_TIMEOUT = 240


@pytest.fixture(scope="module")
def azcollection() -> dict:
    if not azcollection_venv.PYTHON.exists() or not (azcollection_venv.VENV / ".installed").exists():
        pytest.fail("azure.azcollection's venv is missing: run `make azcollection-venv`")
    return {"python": str(azcollection_venv.PYTHON), "collections": str(azcollection_venv.COLLECTIONS)}


def arm_writes(emu) -> list:
    return [r for r in emu.requests() if r["kind"] == "arm" and r["method"] in ("PUT", "PATCH", "POST", "DELETE")]


def run(emu, azcollection, module: str, args: dict, *, check: bool = False) -> dict:
    """One azcollection task against the stand-in; the log then holds exactly this run's requests."""
    emu.clear_log()
    playbook = json.dumps([{
        "name": "azcollection against the stand-in", "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": TASK, module: args}],
    }], indent=2)  # YAML text (JSON is YAML), multi-line so run_playbook takes it as text
    with tempfile.TemporaryDirectory(prefix="azcollection-config-") as config_dir:
        env = azcollection_venv.stand_in_environment(emu, config_dir)
        env["ANSIBLE_COLLECTIONS_PATH"] = os.pathsep.join([azcollection["collections"], str(COLLECTIONS_DIR)])
        result = run_playbook(playbook, env=env, check=check, timeout=RUN_TIMEOUT)
    assert result.data, f"ansible-playbook gave no JSON result:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    task = result.task(TASK)
    assert not task.get("failed"), f"{module} failed: {task.get('msg')}\n{task.get('exception', '')[-2000:]}"
    return task


def converge(emu, azcollection, module: str, args: dict, resource_id: str, *, existed: bool = False) -> dict:
    """check (no write) -> apply -> re-run (unchanged, no write); returns the stored resource."""
    before = emu.get_resource(resource_id)
    assert (before is not None) == existed
    checked = run(emu, azcollection, module, args, check=True)
    assert checked["changed"] is True
    assert arm_writes(emu) == [], "check mode wrote"
    assert emu.get_resource(resource_id) == before
    applied = run(emu, azcollection, module, args)
    assert applied["changed"] is True
    assert arm_writes(emu), "apply wrote nothing"
    after = emu.get_resource(resource_id)
    rerun = run(emu, azcollection, module, args)
    assert rerun["changed"] is False, "a re-run changed something"
    assert arm_writes(emu) == [], "a re-run wrote"
    return after


def ids(emu) -> dict:
    sub = f"/subscriptions/{emu.subscription_id}/resourceGroups/{RG}/providers/Microsoft.Network"
    return {
        "table": f"{sub}/routeTables/{TABLE}",
        "route": f"{sub}/routeTables/{TABLE}/routes/node-0",
        "subnet": f"{sub}/virtualNetworks/{VNET}/subnets/{SUBNET}",
        "nsg": f"{sub}/networkSecurityGroups/nsg-nodes",
        "nic": f"{sub}/networkInterfaces/node-0-nic",
    }


def seed_table(emu) -> None:
    """The table the route and subnet tests start from, written through the control API: the
    route table module has its own test, and every azcollection run costs its start-up."""
    emu.put_resource(ids(emu)["table"], {"location": "westeurope", "properties": {"disableBgpRoutePropagation": True}})


def test_route_table(azure_emulator, azcollection) -> None:
    table = converge(azure_emulator, azcollection, "azure.azcollection.azure_rm_routetable",
                     {"resource_group": RG, "name": TABLE, "location": "westeurope",
                      "disable_bgp_route_propagation": True}, ids(azure_emulator)["table"])
    assert table["name"] == TABLE and table["location"] == "westeurope"
    assert table["properties"]["disableBgpRoutePropagation"] is True
    assert table["properties"].get("routes", []) == []


def test_route(azure_emulator, azcollection) -> None:
    emu = azure_emulator
    seed_table(emu)
    route = converge(emu, azcollection, "azure.azcollection.azure_rm_route",
                     {"resource_group": RG, "route_table_name": TABLE, "name": "node-0",
                      "address_prefix": "10.244.0.0/24", "next_hop_type": "virtual_appliance",
                      "next_hop_ip_address": "10.240.0.4"}, ids(emu)["route"])
    assert route["properties"]["addressPrefix"] == "10.244.0.0/24"
    assert route["properties"]["nextHopType"] == "VirtualAppliance"
    assert route["properties"]["nextHopIpAddress"] == "10.240.0.4"
    table = emu.get_resource(ids(emu)["table"])
    assert [r["name"] for r in table["properties"]["routes"]] == ["node-0"]


def test_subnet_association(azure_emulator, azcollection) -> None:
    emu = azure_emulator
    seed_table(emu)
    before = emu.get_resource(ids(emu)["subnet"])
    subnet = converge(emu, azcollection, "azure.azcollection.azure_rm_subnet",
                      {"resource_group": RG, "virtual_network_name": VNET, "name": SUBNET,
                       "address_prefix_cidr": "10.240.0.0/16", "security_group": "nsg-nodes",
                       "service_endpoints": [{"service": "Microsoft.Storage"}, {"service": "Microsoft.KeyVault"}],
                       "route_table": TABLE}, ids(emu)["subnet"], existed=True)
    assert subnet["properties"]["routeTable"]["id"].lower() == ids(emu)["table"].lower()
    assert subnet["properties"]["networkSecurityGroup"]["id"].lower() == ids(emu)["nsg"].lower()
    assert subnet["properties"]["addressPrefix"] == before["properties"]["addressPrefix"]
    table = emu.get_resource(ids(emu)["table"])
    assert [s["id"].lower() for s in table["properties"].get("subnets", [])] == [ids(emu)["subnet"].lower()]


def test_nic_ip_forwarding(azure_emulator, azcollection) -> None:
    emu = azure_emulator
    before = emu.get_resource(ids(emu)["nic"])
    config = before["properties"]["ipConfigurations"][0]
    nic = converge(emu, azcollection, "azure.azcollection.azure_rm_networkinterface",
                   {"resource_group": RG, "name": "node-0-nic", "virtual_network": VNET, "subnet_name": SUBNET,
                    "create_with_security_group": False, "enable_ip_forwarding": True,
                    "ip_configurations": [{"name": config["name"], "primary": True,
                                           "private_ip_address": config["properties"]["privateIPAddress"],
                                           "private_ip_allocation_method": "Static"}]},
                   ids(emu)["nic"], existed=True)
    assert nic["properties"]["enableIPForwarding"] is True
    after_config = nic["properties"]["ipConfigurations"][0]["properties"]
    assert after_config["privateIPAddress"] == config["properties"]["privateIPAddress"]
    assert after_config["subnet"]["id"].lower() == ids(emu)["subnet"].lower()
    assert nic["properties"]["virtualMachine"]["id"].lower() == before["properties"]["virtualMachine"]["id"].lower()


def test_virtual_machine_info(azure_emulator, azcollection) -> None:
    emu = azure_emulator
    result = run(emu, azcollection, "azure.azcollection.azure_rm_virtualmachine_info",
                 {"resource_group": RG, "name": "node-0"})
    assert arm_writes(emu) == []
    [vm] = result["vms"]
    assert vm["name"] == "node-0" and vm["resource_group"] == RG
    assert vm["network_interface_names"] == ["node-0-nic"]
    assert vm["power_state"] == "running"
