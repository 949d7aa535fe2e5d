"""Clients for testing the stand-in itself: the real SDK, and a raw HTTPS session for protocol details."""

from __future__ import annotations

import pytest
import requests


class RawArm:
    """requests against the stand-in with a valid bearer token: status codes and headers as sent."""

    def __init__(self, emu, token: str) -> None:
        self.emu = emu
        self.session = requests.Session()
        self.session.verify = emu.ca_file
        self.session.headers["Authorization"] = f"Bearer {token}"

    def url(self, path: str, api_version: str = "2024-05-01") -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.emu.base_url}{path}{sep}api-version={api_version}" if "api-version" not in path else f"{self.emu.base_url}{path}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        # verify per request: requests lets REQUESTS_CA_BUNDLE from the environment override session.verify.
        kwargs.setdefault("verify", self.emu.ca_file)
        return self.session.request(method, self.url(path, kwargs.pop("api_version", "2024-05-01")), **kwargs)

    def get_url(self, url: str) -> requests.Response:
        return self.session.get(url, verify=self.emu.ca_file)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, json=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def rg_path(self, rg: str = "rg-k8s") -> str:
        return f"/subscriptions/{self.emu.subscription_id}/resourceGroups/{rg}"

    def net_path(self, type_and_name: str, rg: str = "rg-k8s") -> str:
        return f"{self.rg_path(rg)}/providers/Microsoft.Network/{type_and_name}"


def fetch_token(emu) -> str:
    response = requests.post(
        f"{emu.base_url}/{emu.tenant_id}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": emu.client_id, "client_secret": emu.client_secret,
              "scope": emu.credential_scopes[0]},
        verify=emu.ca_file,
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["access_token"]


@pytest.fixture
def arm(azure_emulator) -> RawArm:
    raw = RawArm(azure_emulator, fetch_token(azure_emulator))
    yield raw
    raw.session.close()


@pytest.fixture
def credential(azure_emulator):
    from azure.identity import ClientSecretCredential

    return ClientSecretCredential(
        azure_emulator.tenant_id,
        azure_emulator.client_id,
        azure_emulator.client_secret,
        authority=azure_emulator.authority,
        disable_instance_discovery=True,
        connection_verify=azure_emulator.ca_file,
    )


def _sdk_client(client_class, emulator, credential):
    """A generated azure-mgmt client pointed at the stand-in, as a user would point it at Azure Stack."""
    return client_class(
        credential,
        emulator.subscription_id,
        base_url=emulator.base_url,
        credential_scopes=emulator.credential_scopes,
        connection_verify=emulator.ca_file,
    )


@pytest.fixture
def network_client(azure_emulator, credential):
    from azure.mgmt.network import NetworkManagementClient

    client = _sdk_client(NetworkManagementClient, azure_emulator, credential)
    yield client
    client.close()


@pytest.fixture
def compute_client(azure_emulator, credential):
    from azure.mgmt.compute import ComputeManagementClient

    client = _sdk_client(ComputeManagementClient, azure_emulator, credential)
    yield client
    client.close()
