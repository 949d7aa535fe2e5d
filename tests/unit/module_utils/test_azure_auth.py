"""Credential selection: which azure-identity class, with which arguments, from options / env / file.

The real azure-identity classes are built and inspected; nothing is sent anywhere.
"""

# The exact class matters in these tests (a parent class would pass isinstance()).
# pylint: disable=unidiomatic-typecheck

import datetime

import pytest
from azure.identity import (
    AzureCliCredential,
    CertificateCredential,
    ChainedTokenCredential,
    ClientSecretCredential,
    ManagedIdentityCredential,
    WorkloadIdentityCredential,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ansible_collections.calico.azure.plugins.module_utils._azure import auth
from ansible_collections.calico.azure.plugins.module_utils._azure.cloud import AZURE_PUBLIC, CloudEndpoints
from ansible_collections.calico.azure.plugins.module_utils._azure.errors import AzureConfigError

STAND_IN = CloudEndpoints("local", "https://127.0.0.1:8443/", "https://127.0.0.1:8443/", "https://127.0.0.1:8443/")
NO_FILE = "/nonexistent/credentials"


def resolve(params=None, env=None, credentials_file=NO_FILE):
    return auth.resolve_auth_settings(params or {}, env or {}, credentials_file=credentials_file)


def build(settings, endpoints=STAND_IN, verify="/ca.pem"):
    return auth.build_credential(settings, endpoints, connection_verify=verify)


@pytest.fixture(scope="module")
def cert_file(tmp_path_factory):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "calico-azure-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256())
    )
    path = tmp_path_factory.mktemp("cert") / "sp.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.BestAvailableEncryption(b"pw"))
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    return str(path)


@pytest.fixture
def token_file(tmp_path):
    path = tmp_path / "token"
    path.write_text("eyJhbGciOi.fake.jwt")
    return str(path)


@pytest.fixture
def credentials_file(tmp_path):
    path = tmp_path / "credentials"
    path.write_text(
        "[default]\nsubscription_id = sub-file\nclient_id = file-client\nsecret = file-secret\ntenant = file-tenant\n"
        "cloud_environment = AzureChinaCloud\n\n"
        "[prod]\nsubscription_id = sub-prod\nclient_id = prod-client\nsecret = prod-secret\ntenant = prod-tenant\n\n"
        "[legacy]\nad_user = someone@example.com\npassword = pw\n"
    )
    return str(path)


def test_options_select_client_secret_and_win_over_env():
    settings = resolve(
        {"client_id": "opt-client", "secret": "opt-secret", "tenant": "opt-tenant"},
        {"AZURE_CLIENT_ID": "env-client", "AZURE_CLIENT_SECRET": "env-secret", "AZURE_TENANT_ID": "env-tenant",
         "AZURE_SUBSCRIPTION_ID": "env-sub"},
    )
    assert settings.kind == "secret"
    assert (settings.client_id, settings.secret, settings.tenant) == ("opt-client", "opt-secret", "opt-tenant")
    assert settings.subscription_id == "env-sub"
    assert settings.origins["client_id"] == "option client_id"
    assert settings.origins["subscription_id"] == "env AZURE_SUBSCRIPTION_ID"
    credential = build(settings)
    assert type(credential) is ClientSecretCredential
    assert (credential._client_id, credential._tenant_id) == ("opt-client", "opt-tenant")
    assert credential._client_credential == "opt-secret"


def test_azure_identity_env_names():
    settings = resolve(env={"AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s", "AZURE_TENANT_ID": "t"})
    assert settings.kind == "secret" and (settings.secret, settings.tenant) == ("s", "t")
    assert settings.origins["secret"] == "env AZURE_CLIENT_SECRET"


def test_awx_env_names():
    settings = resolve(env={"AZURE_CLIENT_ID": "c", "AZURE_SECRET": "s", "AZURE_TENANT": "t",
                            "AZURE_SUBSCRIPTION_ID": "sub", "AZURE_CLOUD_ENVIRONMENT": "AzureUSGovernmentCloud"})
    assert settings.kind == "secret"
    assert (settings.secret, settings.tenant, settings.subscription_id) == ("s", "t", "sub")
    assert settings.cloud_environment == "AzureUSGovernmentCloud"
    assert settings.origins["tenant"] == "env AZURE_TENANT"


def test_azure_identity_names_win_over_awx_names():
    settings = resolve(env={"AZURE_CLIENT_ID": "c", "AZURE_SECRET": "awx", "AZURE_CLIENT_SECRET": "identity",
                            "AZURE_TENANT": "awx-t", "AZURE_TENANT_ID": "identity-t"})
    assert (settings.secret, settings.tenant) == ("identity", "identity-t")


def test_certificate_from_env_with_password(cert_file):
    settings = resolve(env={"AZURE_CLIENT_ID": "c", "AZURE_TENANT_ID": "t",
                            "AZURE_CLIENT_CERTIFICATE_PATH": cert_file, "AZURE_CLIENT_CERTIFICATE_PASSWORD": "pw"})
    assert settings.kind == "certificate"
    credential = build(settings)
    assert type(credential) is CertificateCredential
    assert credential._client_id == "c"
    assert credential._client_credential["thumbprint"]


def test_certificate_with_wrong_password_is_reported_by_sdk(cert_file):
    settings = resolve({"auth_source": "certificate", "client_id": "c", "tenant": "t", "certificate_path": cert_file,
                        "certificate_password": "wrong"})
    with pytest.raises(AzureConfigError) as err:
        build(settings)
    assert err.value.message.startswith(
        "Could not load the certificate and private key from %s (option certificate_path): " % cert_file)
    assert err.value.message.endswith("Check the file and certificate_password.")


def test_missing_certificate_file_is_config_error():
    settings = resolve({"auth_source": "certificate", "client_id": "c", "tenant": "t",
                        "certificate_path": "/nope.pem"})
    with pytest.raises(AzureConfigError) as err:
        build(settings)
    assert err.value.message == "certificate_path /nope.pem (option certificate_path) is not a readable file."


def test_workload_identity_from_federated_token_file(token_file):
    settings = resolve(env={"AZURE_CLIENT_ID": "c", "AZURE_TENANT_ID": "t", "AZURE_FEDERATED_TOKEN_FILE": token_file})
    assert settings.kind == "workload_identity"
    credential = build(settings)
    assert type(credential) is WorkloadIdentityCredential
    assert credential._token_file_path == token_file
    assert credential._client._authority == "https://127.0.0.1:8443"
    assert credential._client._pipeline._transport.connection_config.verify == "/ca.pem"


def test_secret_wins_over_certificate_and_token_file(cert_file, token_file):
    settings = resolve({"client_id": "c", "tenant": "t", "secret": "s", "certificate_path": cert_file,
                        "federated_token_file": token_file})
    assert settings.kind == "secret"
    settings = resolve({"client_id": "c", "tenant": "t", "certificate_path": cert_file,
                        "federated_token_file": token_file})
    assert settings.kind == "certificate"


def test_custom_authority_disables_instance_discovery_and_carries_ca_bundle():
    credential = build(resolve({"client_id": "c", "secret": "s", "tenant": "t"}))
    assert credential._authority == "https://127.0.0.1:8443"
    assert credential._instance_discovery is False
    assert credential._client._pipeline._transport.connection_config.verify == "/ca.pem"
    public = build(resolve({"client_id": "c", "secret": "s", "tenant": "t"}), AZURE_PUBLIC, True)
    assert public._authority == "https://login.microsoftonline.com"
    assert public._instance_discovery is None  # MSAL's default: discovery on for Microsoft's authorities


def test_nothing_configured_falls_back_to_cli_then_msi():
    settings = resolve()
    assert settings.kind == "cli_or_msi"
    credential = build(settings)
    assert type(credential) is ChainedTokenCredential
    assert [type(c) for c in credential.credentials] == [AzureCliCredential, ManagedIdentityCredential]


def test_msi_with_user_assigned_identity():
    settings = resolve({"auth_source": "msi", "msi_client_id": "uami-1"},
                       env={"AZURE_CLIENT_ID": "c", "AZURE_SECRET": "s", "AZURE_TENANT": "t"})
    assert settings.kind == "msi"
    credential = build(settings)
    assert type(credential) is ManagedIdentityCredential
    assert settings.describe() == "managed identity 'uami-1'"
    # auto picks msi too when only msi_client_id is given
    assert resolve({"msi_client_id": "uami-1"}).kind == "msi"


def test_cli_source():
    credential = build(resolve({"auth_source": "cli", "tenant": "t"}))
    assert type(credential) is AzureCliCredential and credential.tenant_id == "t"


def test_auth_source_from_env_variable():
    settings = resolve(env={"ANSIBLE_AZURE_AUTH_SOURCE": "cli", "AZURE_CLIENT_ID": "c", "AZURE_SECRET": "s",
                            "AZURE_TENANT": "t"})
    assert (settings.auth_source, settings.kind) == ("cli", "cli")
    # the option wins over the env variable
    assert resolve({"auth_source": "env"}, {"ANSIBLE_AZURE_AUTH_SOURCE": "cli", "AZURE_CLIENT_ID": "c",
                                            "AZURE_SECRET": "s", "AZURE_TENANT": "t"}).kind == "secret"


def test_credential_file_default_profile(credentials_file):
    settings = resolve({"auth_source": "credential_file"},
                       env={"AZURE_CLIENT_ID": "env-client", "AZURE_SECRET": "env-secret"},
                       credentials_file=credentials_file)
    assert settings.kind == "secret"
    assert (settings.client_id, settings.secret, settings.tenant, settings.subscription_id) == (
        "file-client", "file-secret", "file-tenant", "sub-file")
    assert settings.cloud_environment == "AzureChinaCloud"
    assert settings.origins["secret"] == "profile [default] of %s" % credentials_file


def test_credential_file_named_profile_and_option_override(credentials_file):
    settings = resolve({"auth_source": "credential_file", "profile": "prod", "subscription_id": "opt-sub"},
                       credentials_file=credentials_file)
    assert (settings.client_id, settings.subscription_id) == ("prod-client", "opt-sub")


def test_auto_reads_file_only_without_client_id_and_keeps_identity_whole(credentials_file):
    # env names no client id: the identity comes from the file, not a mix with env tenant/secret
    settings = resolve(env={"AZURE_TENANT": "env-tenant", "AZURE_SUBSCRIPTION_ID": "env-sub"},
                       credentials_file=credentials_file)
    assert (settings.client_id, settings.tenant) == ("file-client", "file-tenant")
    assert settings.subscription_id == "env-sub"  # subscription from env still wins
    # with a client id in env, the file is not read at all
    settings = resolve(env={"AZURE_CLIENT_ID": "c", "AZURE_SECRET": "s", "AZURE_TENANT": "t"},
                       credentials_file=credentials_file)
    assert (settings.client_id, settings.subscription_id, settings.cloud_environment) == ("c", None, None)


def test_missing_profile_lists_profiles(credentials_file):
    with pytest.raises(AzureConfigError) as err:
        resolve({"auth_source": "credential_file", "profile": "staging"}, credentials_file=credentials_file)
    assert err.value.message == "Profile [staging] not found in %s (profiles there: default, prod, legacy)." % (
        credentials_file)


def test_password_profiles_are_refused(credentials_file):
    with pytest.raises(AzureConfigError) as err:
        resolve({"auth_source": "credential_file", "profile": "legacy"}, credentials_file=credentials_file)
    assert "uses ad_user/password, which calico.azure does not support" in err.value.message


def test_env_source_without_credentials_says_what_to_set():
    with pytest.raises(AzureConfigError) as err:
        resolve({"auth_source": "env"}, {"AZURE_SUBSCRIPTION_ID": "s"})
    assert err.value.message.startswith("auth_source=env, but the environment holds no complete credential")
    assert "AZURE_CLIENT_SECRET (or AZURE_SECRET)" in err.value.message


def test_service_principal_names_missing_values_and_where_to_set_them():
    with pytest.raises(AzureConfigError) as err:
        resolve({"auth_source": "service_principal", "client_id": "c"})
    assert err.value.message == (
        "auth_source=service_principal needs client_id, secret, tenant; missing: option secret or env "
        "AZURE_CLIENT_SECRET / AZURE_SECRET; option tenant or env AZURE_TENANT_ID / AZURE_TENANT."
    )


def test_client_id_alone_is_not_guessed_as_managed_identity():
    with pytest.raises(AzureConfigError) as err:
        resolve(env={"AZURE_CLIENT_ID": "c", "AZURE_TENANT_ID": "t"})
    assert "client_id is set (env AZURE_CLIENT_ID) but neither secret" in err.value.message


def test_ca_bundle_and_verify():
    assert auth.default_ca_bundle({}, {"REQUESTS_CA_BUNDLE": "/env-ca.pem"}) == "/env-ca.pem"
    assert auth.default_ca_bundle({"ca_bundle": "/opt.pem"}, {"REQUESTS_CA_BUNDLE": "/env-ca.pem"}) == "/opt.pem"
    assert auth.connection_verify(None, True) is True
    assert auth.connection_verify("/whatever", False) is False
    with pytest.raises(AzureConfigError):
        auth.connection_verify("/no/such/ca.pem", True)
