"""AzureModule: shared argspec, secrets, failure output, lazy settings (no network)."""

import contextlib
import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.calico.azure.plugins.module_utils._azure import module as _azure_module
from ansible_collections.calico.azure.plugins.module_utils._azure.errors import (
    AzureNotFound,
    AzureSdkMissing,
)
from ansible_collections.calico.azure.plugins.module_utils._azure.module import AzureModule


@pytest.fixture
def make_module():
    """Build an AzureModule from args; the args stay patched in until the test ends (exit_json needs them)."""
    with contextlib.ExitStack() as stack:

        def make(args, **module_specific):
            stack.enter_context(patch_module_args(args))
            return AzureModule(argument_spec=AzureModule.argument_spec(**module_specific), supports_check_mode=True)

        yield make


def exit_result(capsys, func):
    with pytest.raises(SystemExit):
        func()
    return json.loads(capsys.readouterr().out)


def test_argument_spec_merges_and_guards_shared_names():
    spec = AzureModule.argument_spec(name=dict(type="str", required=True))
    assert spec["name"] == {"type": "str", "required": True}
    assert {"auth_source", "subscription_id", "secret", "cloud_environment", "ca_bundle", "validate_certs"} <= set(spec)
    with pytest.raises(ValueError) as err:
        AzureModule.argument_spec(tenant=dict(type="str"))
    assert "tenant" in str(err.value)
    # each call returns its own copy: a module changing its spec cannot leak into another
    spec["secret"]["no_log"] = False
    assert AzureModule.argument_spec()["secret"]["no_log"] is True


def test_only_real_secrets_are_no_log():
    spec = AzureModule.argument_spec()
    assert sorted(k for k, v in spec.items() if v.get("no_log")) == ["certificate_password", "secret"]


def test_auth_source_env_fallback_is_validated(monkeypatch, make_module):
    monkeypatch.setenv("ANSIBLE_AZURE_AUTH_SOURCE", "cli")
    assert make_module({}).params["auth_source"] == "cli"


def test_secret_from_environment_is_masked_in_output(monkeypatch, capsys, make_module):
    monkeypatch.setenv("AZURE_CLIENT_ID", "app-1")
    monkeypatch.setenv("AZURE_SECRET", "s3cr3t-from-env")
    monkeypatch.setenv("AZURE_TENANT", "t")
    module = make_module({})
    assert module.auth_settings.kind == "secret"
    result = exit_result(capsys, lambda: module.exit_json(echo="the secret is s3cr3t-from-env"))
    assert "s3cr3t-from-env" not in json.dumps(result)


def test_azure_errors_context_fails_with_message_status_and_code(capsys, make_module):
    module = make_module({})
    rid = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/routeTables/rt"

    def body():
        with module.azure_errors(extra="kept"):
            raise AzureNotFound("Route table 'rt' was not found.", status=404, code="ResourceNotFound",
                                resource_id=rid)

    result = exit_result(capsys, body)
    assert result["failed"] is True
    assert result["msg"] == "Route table 'rt' was not found."
    assert (result["status"], result["code"], result["resource_id"], result["extra"]) == (
        404, "ResourceNotFound", rid, "kept")


def test_missing_sdk_uses_missing_required_lib(capsys, make_module):
    module = make_module({})
    result = exit_result(capsys, lambda: module.fail_azure(AzureSdkMissing("azure-mgmt-core", "Traceback ...")))
    assert result["msg"].startswith("Failed to import the required Python library (azure-mgmt-core)")
    assert result["msg"].endswith(
        "Install it with: pip install 'azure-identity>=1.15.0,<2.0.0' 'azure-mgmt-core>=1.4.0,<2.0.0' "
        "'azure-core>=1.29.0,<2.0.0'")


def test_subscription_is_required_with_a_clear_message(monkeypatch, capsys, make_module):
    for name in ("AZURE_SUBSCRIPTION_ID", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_TENANT"):
        monkeypatch.delenv(name, raising=False)
    module = make_module({"client_id": "c", "secret": "a-long-secret", "tenant": "t"})

    def body():
        with module.azure_errors():
            return module.subscription_id

    result = exit_result(capsys, body)
    assert result["msg"].startswith("subscription_id is required: set the subscription_id option or "
                                    "AZURE_SUBSCRIPTION_ID")


def test_arm_is_built_once_with_resolved_settings(monkeypatch, make_module):
    built = []

    def fake_build(settings, endpoints, subscription_id, **kwargs):
        built.append((settings.kind, endpoints.name, subscription_id, kwargs))
        return object()

    monkeypatch.setattr(_azure_module, "build_arm_client", fake_build)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    module = make_module({"client_id": "c", "secret": "s", "tenant": "t", "subscription_id": "sub",
                          "cloud_environment": "AzureChinaCloud", "max_retries": 2, "validate_certs": False})
    first = module.arm
    assert module.arm is first
    assert built == [("secret", "AzureChinaCloud", "sub",
                      {"ca_bundle": None, "validate_certs": False, "max_retries": 2, "throttling_deadline": 900})]
