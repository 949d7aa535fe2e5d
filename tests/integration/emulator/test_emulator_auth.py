"""Entra ID and ARM authentication with the real azure-identity credential classes."""

from __future__ import annotations

import datetime

import pytest
import requests
import trustme
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
from azure.identity import CertificateCredential, ClientAssertionCredential, ClientSecretCredential, WorkloadIdentityCredential
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from azure_emulator.seed import SEEDS_DIR


def _self_signed() -> tuple[str, str]:
    """(certificate PEM, private key + certificate PEM) as a user would create for a service principal."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "calico-azure-sp")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return cert_pem, key_pem + cert_pem


REGISTERED_CERT, REGISTERED_KEY_AND_CERT = _self_signed()
UNREGISTERED_KEY_AND_CERT = _self_signed()[1]
FED_ISSUER = "https://oidc.emulator.test/issuer"
FED_SUBJECT = "system:serviceaccount:kube-system:calico-azure"


def _seed_with_credentials() -> dict:
    import yaml

    spec = yaml.safe_load((SEEDS_DIR / "default.yml").read_text())
    spec["service_principal"]["certificates"] = [REGISTERED_CERT]
    spec["service_principal"]["federated_credentials"] = [{"issuer": FED_ISSUER, "subject": FED_SUBJECT}]
    return spec


def _kwargs(emu) -> dict:
    return {"authority": emu.authority, "disable_instance_discovery": True, "connection_verify": emu.ca_file}


def _arm_get_rg(emu, credential):
    from azure.mgmt.network import NetworkManagementClient

    client = NetworkManagementClient(credential, emu.subscription_id, base_url=emu.base_url,
                                     credential_scopes=emu.credential_scopes, connection_verify=emu.ca_file)
    with client:
        return [t.name for t in client.virtual_networks.list("rg-k8s")]


def test_client_secret_credential_gets_a_token_for_arm(azure_emulator):
    credential = ClientSecretCredential(azure_emulator.tenant_id, azure_emulator.client_id, azure_emulator.client_secret, **_kwargs(azure_emulator))
    token = credential.get_token(*azure_emulator.credential_scopes)
    assert token.token.count(".") == 2 and token.expires_on > 0
    assert _arm_get_rg(azure_emulator, credential) == ["vnet-k8s"]
    assert azure_emulator.counts()["token_requests"] == 1


def test_wrong_secret_is_a_clear_authentication_error(azure_emulator):
    credential = ClientSecretCredential(azure_emulator.tenant_id, azure_emulator.client_id, "not-the-secret", **_kwargs(azure_emulator))
    with pytest.raises(ClientAuthenticationError) as excinfo:
        credential.get_token(*azure_emulator.credential_scopes)
    assert "AADSTS7000215" in str(excinfo.value) and "Invalid client secret" in str(excinfo.value)
    answer = [r for r in azure_emulator.requests() if r["kind"] == "token"][-1]
    assert answer["status"] == 401


def test_unknown_client_and_unknown_resource(azure_emulator):
    url = f"{azure_emulator.base_url}/{azure_emulator.tenant_id}/oauth2/v2.0/token"
    form = {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x", "scope": azure_emulator.credential_scopes[0]}
    unknown = requests.post(url, data=form, verify=azure_emulator.ca_file, timeout=10)
    assert unknown.status_code == 400 and unknown.json()["error_codes"] == [700016]
    form.update(client_id=azure_emulator.client_id, client_secret=azure_emulator.client_secret, scope="https://management.azure.com/.default")
    wrong_resource = requests.post(url, data=form, verify=azure_emulator.ca_file, timeout=10)
    assert wrong_resource.json()["error"] == "invalid_resource" and wrong_resource.json()["error_codes"] == [500011]


@pytest.mark.parametrize(("scope", "aud"), [("{base}/.default", "{base}"), ("{base}//.default", "{base}/")])
def test_the_arm_endpoint_is_a_resource_identifier_of_arm(azure_emulator, scope, aud):
    """A token scoped to the ARM endpoint itself, as Entra ID issues for https://management.azure.com/.default.

    Azure's ARM application answers to both audiences public Azure's metadata lists
    (management.core.windows.net/ and management.azure.com/); azure.azcollection and the SDKs'
    default scope ask for the ARM endpoint. Entra takes what precedes the last "/" of the scope
    as the resource and writes it to ``aud`` as asked (hence the SDKs' "//.default" for
    identifiers that end in "/").
    """
    from azure.mgmt.network import NetworkManagementClient

    from azure_emulator import jwt_tools

    base = azure_emulator.base_url
    credential = ClientSecretCredential(azure_emulator.tenant_id, azure_emulator.client_id, azure_emulator.client_secret,
                                        **_kwargs(azure_emulator))
    token = credential.get_token(scope.format(base=base))
    assert jwt_tools.decode_unverified(token.token)[1]["aud"] == aud.format(base=base)
    with NetworkManagementClient(credential, azure_emulator.subscription_id, base_url=f"{base}/",
                                 credential_scopes=[scope.format(base=base)], connection_verify=azure_emulator.ca_file) as client:
        assert [v.name for v in client.virtual_networks.list("rg-k8s")] == ["vnet-k8s"]
    # Only the endpoint itself: a path below it is no identifier of ARM.
    form = {"grant_type": "client_credentials", "client_id": azure_emulator.client_id,
            "client_secret": azure_emulator.client_secret, "scope": f"{base}/other/.default"}
    refused = requests.post(f"{base}/{azure_emulator.tenant_id}/oauth2/v2.0/token", data=form,
                            verify=azure_emulator.ca_file, timeout=10)
    assert refused.status_code == 400 and refused.json()["error_codes"] == [500011]


@pytest.mark.azure_seed(_seed_with_credentials())
def test_certificate_credential(azure_emulator, tmp_path):
    pem = tmp_path / "sp.pem"
    pem.write_text(REGISTERED_KEY_AND_CERT)
    credential = CertificateCredential(azure_emulator.tenant_id, azure_emulator.client_id, str(pem), **_kwargs(azure_emulator))
    assert _arm_get_rg(azure_emulator, credential) == ["vnet-k8s"]


@pytest.mark.azure_seed(_seed_with_credentials())
def test_unregistered_certificate_is_refused(azure_emulator, tmp_path):
    pem = tmp_path / "other.pem"
    pem.write_text(UNREGISTERED_KEY_AND_CERT)
    credential = CertificateCredential(azure_emulator.tenant_id, azure_emulator.client_id, str(pem), **_kwargs(azure_emulator))
    with pytest.raises(ClientAuthenticationError, match="AADSTS700027"):
        credential.get_token(*azure_emulator.credential_scopes)


@pytest.mark.azure_seed(_seed_with_credentials())
def test_workload_identity_token_file(azure_emulator, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(azure_emulator.federated_token(FED_SUBJECT, FED_ISSUER))
    credential = WorkloadIdentityCredential(tenant_id=azure_emulator.tenant_id, client_id=azure_emulator.client_id,
                                            token_file_path=str(token_file), **_kwargs(azure_emulator))
    assert _arm_get_rg(azure_emulator, credential) == ["vnet-k8s"]


@pytest.mark.azure_seed(_seed_with_credentials())
def test_client_assertion_with_unknown_subject_is_refused(azure_emulator):
    assertion = azure_emulator.federated_token("system:serviceaccount:default:intruder", FED_ISSUER)
    credential = ClientAssertionCredential(azure_emulator.tenant_id, azure_emulator.client_id, lambda: assertion, **_kwargs(azure_emulator))
    with pytest.raises(ClientAuthenticationError, match="AADSTS70021"):
        credential.get_token(*azure_emulator.credential_scopes)


def test_untrusted_ca_fails_with_certificate_verification(azure_emulator, tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    credential = ClientSecretCredential(azure_emulator.tenant_id, azure_emulator.client_id, azure_emulator.client_secret,
                                        authority=azure_emulator.authority, disable_instance_discovery=True, connection_verify=str(other_ca),
                                        retry_total=0)
    with pytest.raises((ClientAuthenticationError, ServiceRequestError), match="CERTIFICATE_VERIFY_FAILED"):
        credential.get_token(*azure_emulator.credential_scopes)


def test_arm_refuses_missing_invalid_and_wrong_audience_tokens(azure_emulator, arm):
    path = arm.net_path("routeTables")
    missing = requests.get(arm.url(path), verify=azure_emulator.ca_file, timeout=10)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "AuthenticationFailed"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer authorization_uri=")
    forged = arm.session.headers["Authorization"][:-4] + "AAAA"
    invalid = requests.get(arm.url(path), headers={"Authorization": forged}, verify=azure_emulator.ca_file, timeout=10)
    assert invalid.status_code == 401 and invalid.json()["error"]["code"] == "InvalidAuthenticationToken"
    # A token the stand-in issued, but for another resource: Entra knows only the ARM audience, so mint one directly.
    principal = azure_emulator.core.entra.principals[azure_emulator.client_id.lower()]
    other = azure_emulator.core.entra.issue(principal, "https://vault.azure.net")
    wrong = requests.get(arm.url(path), headers={"Authorization": f"Bearer {other}"}, verify=azure_emulator.ca_file, timeout=10)
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"
    assert arm.get(path).status_code == 200


def test_metadata_endpoint_both_forms(azure_emulator):
    new = requests.get(azure_emulator.metadata_url, verify=azure_emulator.ca_file, timeout=10).json()
    assert isinstance(new, list) and new[0]["resourceManager"] == f"{azure_emulator.base_url}/"
    assert new[0]["authentication"]["loginEndpoint"] == f"{azure_emulator.base_url}/"
    # Public Azure: ["https://management.core.windows.net/", "https://management.azure.com/"].
    audiences = [azure_emulator.audience, f"{azure_emulator.base_url}/"]
    assert new[0]["authentication"]["audiences"] == audiences
    old = requests.get(f"{azure_emulator.base_url}/metadata/endpoints?api-version=2015-01-01", verify=azure_emulator.ca_file, timeout=10).json()
    assert isinstance(old, dict) and old["authentication"]["audiences"] == audiences
    assert set(old) == {"galleryEndpoint", "graphEndpoint", "portalEndpoint", "authentication"}


def test_env_drives_the_sdk_without_explicit_verify(azure_emulator, monkeypatch):
    """REQUESTS_CA_BUNDLE from env() is enough for azure-core's transport to trust the stand-in."""
    env = azure_emulator.env()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", env["REQUESTS_CA_BUNDLE"])
    credential = ClientSecretCredential(env["AZURE_TENANT"], env["AZURE_CLIENT_ID"], env["AZURE_SECRET"],
                                        authority=azure_emulator.authority, disable_instance_discovery=True)
    from azure.mgmt.network import NetworkManagementClient

    with NetworkManagementClient(credential, env["AZURE_SUBSCRIPTION_ID"], base_url=azure_emulator.base_url,
                                 credential_scopes=azure_emulator.credential_scopes) as client:
        assert [v.name for v in client.virtual_networks.list("rg-k8s")] == ["vnet-k8s"]


@pytest.mark.azure_seed({"managed_identity": {"user_assigned": [{"client_id": "7e570000-0000-4000-8000-0000000000a1"}]}})
def test_managed_identity_credential_system_and_user_assigned(azure_emulator, monkeypatch):
    from azure.identity import ManagedIdentityCredential

    for name, value in azure_emulator.env("managed_identity").items():
        monkeypatch.setenv(name, value)
    system = ManagedIdentityCredential()
    assert _arm_get_rg_or_empty(azure_emulator, system) == []
    user = ManagedIdentityCredential(client_id="7e570000-0000-4000-8000-0000000000a1")
    assert user.get_token(*azure_emulator.credential_scopes).token
    with pytest.raises(ClientAuthenticationError):
        ManagedIdentityCredential(client_id="00000000-0000-4000-8000-000000000bad").get_token(*azure_emulator.credential_scopes)
    monkeypatch.setenv("IDENTITY_HEADER", "wrong")
    with pytest.raises(ClientAuthenticationError):
        ManagedIdentityCredential().get_token(*azure_emulator.credential_scopes)
    assert [r["status"] for r in azure_emulator.requests() if r["kind"] == "token"] == [200, 200, 400, 401]


def _arm_get_rg_or_empty(emu, credential):
    from azure.mgmt.network import NetworkManagementClient

    with NetworkManagementClient(credential, emu.subscription_id, base_url=emu.base_url, credential_scopes=emu.credential_scopes) as client:
        return [t.name for t in client.route_tables.list_all()]
