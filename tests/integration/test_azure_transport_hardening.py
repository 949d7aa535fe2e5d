"""Issue 13 items 6 and 9 through Ansible: validate_certs=false warns naming the endpoints, and one transient
answer of the cloud metadata endpoint is retried like any other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.ansible_run import run_playbook

LIBRARY = str(Path(__file__).resolve().parent / "library")
RG = "transport-rg"
pytestmark = pytest.mark.azure_seed({"resource_groups": [{"name": RG, "location": "northeurope"}]})


def run(tasks, env):
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    result = run_playbook(json.dumps(play, indent=2), env=dict(env, ANSIBLE_LIBRARY=LIBRARY))
    assert result.data, result.stdout + result.stderr
    return result


def probe(name, args=None, environment=None):
    return {"name": name, "azure_layer_probe": dict(args or {}), "environment": environment or {}, "ignore_errors": True}


def test_one_503_of_the_metadata_endpoint_is_retried(azure_emulator):
    emu = azure_emulator
    emu.inject_faults(1, status=503, path_contains="/metadata/endpoints")
    result = run([probe("whoami", environment=emu.env("awx"))], {})
    task = result.task("whoami")
    assert not task.get("failed"), task
    assert [rg["name"] for rg in task["resources"]] == [RG]
    metadata = [(e["status"], e["fault"]) for e in emu.requests() if e["kind"] == "metadata"]
    assert metadata == [(503, "503"), (200, None)]


def test_metadata_endpoint_down_after_retries_says_so_without_blaming_cloud_environment(azure_emulator):
    emu = azure_emulator
    emu.inject_faults(20, status=503, path_contains="/metadata/endpoints", retry_after=0)
    task = run([probe("whoami", environment=emu.env("awx"))], {}).task("whoami")
    assert task["failed"]
    assert task["msg"] == ("Could not read the cloud metadata at %s: HTTP 503 Service Unavailable after 4 retries. "
                           "The endpoint is unavailable; run again later." % emu.metadata_url)
    assert len([e for e in emu.requests() if e["kind"] == "metadata"]) == 5
    assert emu.counts()["writes"] == 0


def test_validate_certs_false_warns_naming_the_endpoints(azure_emulator):
    emu = azure_emulator
    env = emu.env("awx")
    env.pop("REQUESTS_CA_BUNDLE", None)
    result = run([probe("insecure", {"validate_certs": False}, environment=env),
                  probe("verified", environment=emu.env("awx"))], {})
    insecure = result.task("insecure")
    assert not insecure.get("failed"), insecure
    assert insecure["warnings"] == [
        "validate_certs is false: TLS certificates of %s/ (Azure Resource Manager), %s/ (Entra ID), %s (cloud "
        "metadata) are not verified, so anyone on the network path can read the credentials and change Azure's "
        "answers. Set validate_certs: true (with ca_bundle for a private CA)." % (emu.base_url, emu.base_url, emu.metadata_url)]
    assert not result.task("verified").get("warnings")
