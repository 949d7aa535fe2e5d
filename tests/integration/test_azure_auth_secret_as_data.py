"""Issue 13 item 5 for the Azure modules: a secret with {{ }} in calico_azure_auth is sent to Entra ID as written,
directly or through a variable reference; the task arguments never hold it."""

from __future__ import annotations

import json

import pytest

from helpers.ansible_run import run_playbook

SECRET = "Ab{{ 7*6 }}c-templated-looking"
RG = "rg-secret-data"
pytestmark = pytest.mark.azure_seed({
    "service_principal": {"client_secret": SECRET},
    "resource_groups": [{"name": RG, "location": "westeurope"}],
    "route_tables": [{"name": "rt-pods", "resource_group": RG}],
})


def test_secret_with_template_markers_authenticates(azure_emulator):
    emu = azure_emulator
    assert emu.client_secret == SECRET
    auth = {"auth_source": "service_principal", "client_id": emu.client_id, "tenant": emu.tenant_id,
            "subscription_id": emu.subscription_id, "cloud_environment": emu.metadata_url, "ca_bundle": emu.ca_file}
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "direct", "calico.azure.azure_udr_routes_info": {"resource_group": RG, "name": "rt-pods"},
         "vars": {"calico_azure_auth": dict(auth, secret=SECRET)}},
        {"name": "reference", "calico.azure.azure_udr_routes_info": {"resource_group": RG, "name": "rt-pods"},
         "vars": {"calico_azure_auth": dict(auth, secret="{{ vault_azure_secret }}")}},
    ]}]
    result = run_playbook(json.dumps(play, indent=2), extra_vars={"vault_azure_secret": SECRET})
    for name in ("direct", "reference"):
        task = result.task(name)
        assert not task.get("failed"), task
        assert task["invocation"]["module_args"]["secret"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    tokens = [e for e in emu.requests() if e["kind"] == "token"]
    assert [e["status"] for e in tokens] == [200, 200]
    assert SECRET not in result.stdout and "Ab42c" not in result.stdout
