"""The client layer through Ansible: a test-only module built on AzureModule, run by ansible-playbook.

tests/integration/library/azure_layer_probe.py is as thin as a real module;
these tests check what a user sees: the shared options, both env naming
schemes, a credentials file profile, secrets kept out of the output, clear
failure messages without tracebacks, check mode without writes, and the
missing-SDK message.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trustme

from helpers.ansible_run import run_playbook

from ansible_collections.calico.azure.plugins.module_utils._azure.ids import route_table_id

LIBRARY = str(Path(__file__).resolve().parent / "library")
RG = "probe-rg"
SEED = {"resource_groups": [{"name": RG, "location": "northeurope"}]}
pytestmark = pytest.mark.azure_seed(SEED)


def playbook(tasks: list) -> str:
    # indented: run_playbook takes one-line text for a path
    return json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], indent=2)


def probe_task(name: str, args: dict | None = None, environment: dict | None = None, **extra) -> dict:
    task = {"name": name, "azure_layer_probe": dict(args or {}), "ignore_errors": True}
    if environment is not None:
        task["environment"] = environment
    task.update(extra)
    return task


def run(tasks: list, **kwargs):
    env = dict(ANSIBLE_LIBRARY=LIBRARY)
    env.update(kwargs.pop("env", {}))
    result = run_playbook(playbook(tasks), env=env, **kwargs)
    assert result.data, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory):
    path = tmp_path_factory.mktemp("ca") / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


def test_credentials_sources_and_failures_as_users_see_them(azure_emulator, other_ca, tmp_path):
    emu = azure_emulator
    awx = emu.env("awx")
    home = tmp_path / "home"
    (home / ".azure").mkdir(parents=True)
    (home / ".azure" / "credentials").write_text(
        "[default]\nclient_id = nobody\nsecret = nothing\ntenant = %s\n\n"
        "[emulator]\nclient_id = %s\nsecret = %s\ntenant = %s\nsubscription_id = %s\ncloud_environment = %s\n"
        % (emu.tenant_id, emu.client_id, emu.client_secret, emu.tenant_id, emu.subscription_id, emu.metadata_url)
    )
    options = {
        "auth_source": "service_principal",
        "client_id": emu.client_id,
        "secret": emu.client_secret,
        "tenant": emu.tenant_id,
        "subscription_id": emu.subscription_id,
        "cloud_environment": emu.metadata_url,
        "ca_bundle": emu.ca_file,
    }
    result = run([
        probe_task("awx names", environment=awx),
        probe_task("azure-identity names", environment=emu.env("azure_identity")),
        probe_task("options only", options, environment={}),
        probe_task("credentials file profile", {"auth_source": "credential_file", "profile": "emulator"},
                   environment={"HOME": str(home), "REQUESTS_CA_BUNDLE": emu.ca_file}),
        probe_task("wrong secret", environment=dict(awx, AZURE_SECRET="definitely-wrong-secret")),
        probe_task("untrusted CA", environment=dict(awx, REQUESTS_CA_BUNDLE=other_ca)),
        probe_task("env source without credentials", {"auth_source": "env"},
                   environment={"AZURE_SUBSCRIPTION_ID": emu.subscription_id}),
        probe_task("missing resource", {"operation": "get",
                                        "resource_id": route_table_id(emu.subscription_id, RG, "nope")},
                   environment=awx),
    ])

    for name, origin in (("awx names", "env AZURE_SECRET"), ("azure-identity names", "env AZURE_CLIENT_SECRET"),
                         ("options only", "option secret")):
        task = result.task(name)
        assert not task.get("failed"), task
        assert [rg["name"] for rg in task["resources"]] == [RG]
        assert task["auth"]["kind"] == "secret" and task["auth"]["origins"]["secret"] == origin
        assert task["endpoints"]["name"] == "AzureEmulator"
    options_task = result.task("options only")
    assert options_task["invocation"]["module_args"]["secret"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert options_task["invocation"]["module_args"]["client_id"] == emu.client_id  # not secret, not hidden

    profile = result.task("credentials file profile")
    assert not profile.get("failed"), profile
    assert profile["auth"]["origins"]["client_id"] == "profile [emulator] of %s/.azure/credentials" % home

    wrong = result.task("wrong secret")
    assert wrong["failed"]
    assert wrong["msg"].startswith(
        "Authentication failed for client id '%s' in tenant '%s' at %s/: AADSTS7000215: Invalid client secret"
        % (emu.client_id, emu.tenant_id, emu.base_url))
    assert wrong["code"] == "AADSTS7000215"
    # ansible-core shows tracebacks only when asked to (ANSIBLE_DISPLAY_TRACEBACK)
    assert "Traceback" not in json.dumps(wrong) and "Traceback" not in result.stdout

    untrusted = result.task("untrusted CA")
    assert untrusted["failed"]
    assert untrusted["msg"].startswith("TLS certificate verification failed talking to %s" % emu.metadata_url)
    assert "the CA bundle %s" % other_ca in untrusted["msg"]

    no_creds = result.task("env source without credentials")
    assert no_creds["failed"]
    assert no_creds["msg"].startswith("auth_source=env, but the environment holds no complete credential")

    missing = result.task("missing resource")
    assert missing["failed"] and missing["status"] == 404 and missing["code"] == "ResourceNotFound"
    assert missing["msg"].startswith("Route table 'nope' in resource group '%s' was not found" % RG)

    assert "definitely-wrong-secret" not in result.stdout
    assert emu.counts()["writes"] == 0


def test_check_mode_writes_nothing_then_apply_then_delete(azure_emulator):
    emu = azure_emulator
    rt = route_table_id(emu.subscription_id, RG, "probe-rt")
    body = {"location": "northeurope", "tags": {"by": "probe"}, "properties": {"routes": []}}
    put = probe_task("put", {"operation": "put", "resource_id": rt, "body": body}, ignore_errors=False)
    delete = probe_task("delete", {"operation": "delete", "resource_id": rt}, ignore_errors=False)
    env = emu.env("awx")

    emu.clear_log()
    checked = run([put], env=env, check=True)
    assert checked.task("put")["changed"] is True
    assert emu.counts()["writes"] == 0 and emu.get_resource(rt) is None

    applied = run([put], env=env)
    task = applied.task("put")
    assert task["changed"] is True
    assert task["resource"]["properties"]["provisioningState"] == "Succeeded"
    assert task["resource"]["etag"] == emu.get_resource(rt)["etag"]
    assert emu.counts()["writes"] == 1

    emu.clear_log()
    assert run([delete], env=env, check=True).task("delete")["changed"] is True
    assert emu.counts()["writes"] == 0 and emu.get_resource(rt) is not None
    assert run([delete], env=env).task("delete")["changed"] is True
    assert emu.get_resource(rt) is None
    emu.clear_log()
    assert run([delete], env=env).task("delete")["changed"] is False
    assert emu.counts()["writes"] == 0


def test_missing_sdk_names_the_package_and_pip_command(azure_emulator):
    system_python = Path("/usr/bin/python3")
    if not system_python.exists():
        pytest.skip("needs a Python without the Azure SDK at /usr/bin/python3")
    result = run([probe_task("no sdk", environment=azure_emulator.env("awx"))],
                 env={"ANSIBLE_PYTHON_INTERPRETER": str(system_python)})
    task = result.task("no sdk")
    assert task["failed"]
    assert "Failed to import the required Python library (azure-identity)" in task["msg"]
    assert "Install it with: pip install 'azure-identity>=1.15.0,<2.0.0' 'azure-mgmt-core>=1.4.0,<2.0.0'" in task["msg"]
    assert azure_emulator.counts()["token_requests"] == 0


# A stand-in for the Azure CLI: `az account get-access-token` answers with a
# token the stand-in's Entra ID issues (client credentials of the seeded
# service principal), `az account show` with the subscription. Everything
# around it is real: AzureCliCredential runs it as a subprocess and parses
# its JSON, AzureModule asks it for the subscription.
FAKE_AZ = r'''#!{python}
import json, os, ssl, sys, time, urllib.parse, urllib.request

args = sys.argv[1:]
if args[:2] == ["account", "show"]:
    print(os.environ["FAKE_AZ_SUBSCRIPTION"])
    sys.exit(0)
if args[:2] != ["account", "get-access-token"]:
    sys.exit("fake az: unsupported " + " ".join(args))
resource = args[args.index("--resource") + 1]
scope = resource + (".default" if resource.endswith("/") else "/.default")
form = urllib.parse.urlencode({{
    "grant_type": "client_credentials", "client_id": os.environ["FAKE_AZ_CLIENT_ID"],
    "client_secret": os.environ["FAKE_AZ_SECRET"], "scope": scope}}).encode()
context = ssl.create_default_context(cafile=os.environ["FAKE_AZ_CA"])
with urllib.request.urlopen(os.environ["FAKE_AZ_TOKEN_URL"], data=form, context=context) as answer:
    token = json.load(answer)
with open(os.environ["FAKE_AZ_CALLS"], "a") as calls:
    calls.write(" ".join(args) + "\n")
print(json.dumps({{"accessToken": token["access_token"], "expires_on": int(time.time()) + int(token["expires_in"]),
                  "subscription": os.environ["FAKE_AZ_SUBSCRIPTION"], "tenant": os.environ["FAKE_AZ_TENANT"],
                  "tokenType": "Bearer"}}))
'''


def test_cli_login_through_az(azure_emulator, tmp_path):
    import os
    import sys

    emu = azure_emulator
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    az = bin_dir / "az"
    az.write_text(FAKE_AZ.format(python=sys.executable))
    az.chmod(0o755)
    calls = tmp_path / "az-calls.log"
    environment = {
        "PATH": "%s:%s" % (bin_dir, os.environ.get("PATH", "")),
        "FAKE_AZ_TOKEN_URL": "%s/%s/oauth2/v2.0/token" % (emu.base_url, emu.tenant_id),
        "FAKE_AZ_CLIENT_ID": emu.client_id,
        "FAKE_AZ_SECRET": emu.client_secret,
        "FAKE_AZ_TENANT": emu.tenant_id,
        "FAKE_AZ_SUBSCRIPTION": emu.subscription_id,
        "FAKE_AZ_CA": emu.ca_file,
        "FAKE_AZ_CALLS": str(calls),
        "AZURE_CLOUD_ENVIRONMENT": emu.metadata_url,
        "REQUESTS_CA_BUNDLE": emu.ca_file,
    }
    result = run([probe_task("cli", {"auth_source": "cli"}, environment=environment),
                  probe_task("auto falls back to cli", {}, environment=environment)])
    for name, kind in (("cli", "cli"), ("auto falls back to cli", "cli_or_msi")):
        task = result.task(name)
        assert not task.get("failed"), task
        assert task["auth"]["kind"] == kind
        # no subscription_id anywhere: it came from `az account show`
        assert task["auth"]["subscription_id"] == emu.subscription_id
        assert task["auth"]["origins"]["subscription_id"] == "az account show"
        assert [rg["name"] for rg in task["resources"]] == [RG]
    assert calls.read_text().splitlines() == [
        # azure-identity asks for the audience without the scope's "/.default"
        "account get-access-token --output json --resource %s" % emu.audience.rstrip("/"),
    ] * 2
