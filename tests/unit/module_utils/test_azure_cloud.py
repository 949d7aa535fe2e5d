"""Cloud resolution: names, aliases and ARM metadata documents -> endpoints."""

import pytest

from ansible_collections.calico.azure.plugins.module_utils._azure import cloud
from ansible_collections.calico.azure.plugins.module_utils._azure.errors import AzureConfigError

# Shape of GET https://management.azure.com/metadata/endpoints?api-version=2022-09-01 (trimmed).
LIST_DOCUMENT = [
    {
        "name": "AzureCloud",
        "resourceManager": "https://management.azure.com/",
        "authentication": {
            "loginEndpoint": "https://login.microsoftonline.com",
            "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD",
        },
    },
    {
        "name": "Stack",
        "resourceManager": "https://arm.local:8443/",
        "authentication": {"loginEndpoint": "https://adfs.local/", "audiences": ["https://arm.local/aud"]},
    },
]
# Azure Stack Hub / 2015-01-01 shape: ARM is the host that served it.
STACK_DOCUMENT = {
    "galleryEndpoint": "https://gallery.local/",
    "graphEndpoint": "https://graph.local/",
    "authentication": {
        "loginEndpoint": "https://login.microsoftonline.com/contoso.onmicrosoft.com/",
        "audiences": ["https://management.contoso.onmicrosoft.com/4de154de-f8a8-4017-af41-df619da68155"],
    },
}


@pytest.mark.parametrize(
    "name, arm, authority",
    [
        (None, "https://management.azure.com/", "https://login.microsoftonline.com/"),
        ("AzureCloud", "https://management.azure.com/", "https://login.microsoftonline.com/"),
        ("azurepubliccloud", "https://management.azure.com/", "https://login.microsoftonline.com/"),
        ("AzureChinaCloud", "https://management.chinacloudapi.cn/", "https://login.chinacloudapi.cn/"),
        ("AzureUSGovernment", "https://management.usgovcloudapi.net/", "https://login.microsoftonline.us/"),
        ("AzureUSGovernmentCloud", "https://management.usgovcloudapi.net/", "https://login.microsoftonline.us/"),
    ],
)
def test_known_clouds_and_aliases(name, arm, authority):
    endpoints = cloud.resolve_cloud(name, fetch=pytest.fail)
    assert endpoints.resource_manager == arm
    assert endpoints.authority_host == authority
    assert not endpoints.disable_instance_discovery


def test_public_scope_is_what_the_mgmt_sdk_requests():
    assert cloud.resolve_cloud("AzureCloud").scope == "https://management.azure.com/.default"


def test_unknown_name_lists_choices():
    with pytest.raises(AzureConfigError) as err:
        cloud.resolve_cloud("AzureGermanCloud")
    assert "Unknown cloud_environment 'AzureGermanCloud'" in err.value.message
    assert "AzureChinaCloud" in err.value.message and "metadata/endpoints" in err.value.message


def test_metadata_url_is_fetched_with_trust_settings():
    calls = []

    def fetch(url, **kwargs):
        calls.append((url, kwargs))
        return LIST_DOCUMENT

    url = "https://arm.local:8443/metadata/endpoints?api-version=2022-09-01"
    endpoints = cloud.resolve_cloud(url, ca_bundle="/ca.pem", validate_certs=True, fetch=fetch)
    assert calls == [(url, {"ca_bundle": "/ca.pem", "validate_certs": True})]
    # the entry whose resourceManager is the host we asked wins over the first
    assert endpoints.name == "Stack"
    assert endpoints.resource_manager == "https://arm.local:8443/"
    assert endpoints.authority_host == "https://adfs.local/"
    assert endpoints.scope == "https://arm.local/aud/.default"
    assert endpoints.disable_instance_discovery


def test_metadata_list_falls_back_to_first_cloud():
    endpoints = cloud.endpoints_from_metadata("https://elsewhere/metadata/endpoints?api-version=1", LIST_DOCUMENT)
    assert endpoints.name == "AzureCloud"
    assert endpoints.scope == "https://management.core.windows.net/.default"
    assert not endpoints.disable_instance_discovery


def test_stack_metadata_uses_serving_host_as_arm():
    url = "https://management.local.azurestack.external/metadata/endpoints?api-version=2015-01-01"
    endpoints = cloud.endpoints_from_metadata(url, STACK_DOCUMENT)
    assert endpoints.resource_manager == "https://management.local.azurestack.external/"
    assert endpoints.authority_host == "https://login.microsoftonline.com/contoso.onmicrosoft.com/"
    assert endpoints.audience == STACK_DOCUMENT["authentication"]["audiences"][0]
    assert endpoints.name == "management.local.azurestack.external"


@pytest.mark.parametrize("document", [{}, [], {"authentication": {"loginEndpoint": "https://l/"}}, "text"])
def test_metadata_without_authentication_is_rejected(document):
    with pytest.raises(AzureConfigError) as err:
        cloud.endpoints_from_metadata("https://x/metadata/endpoints", document)
    assert "https://x/metadata/endpoints" in err.value.message


def test_authority_override():
    endpoints = cloud.resolve_cloud("AzureCloud").with_authority("login.example.test")
    assert endpoints.authority_host == "https://login.example.test/"
    assert endpoints.resource_manager == "https://management.azure.com/"
    assert endpoints.disable_instance_discovery
    assert cloud.resolve_cloud("AzureCloud").with_authority(None) == cloud.AZURE_PUBLIC
