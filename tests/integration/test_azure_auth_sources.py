"""Every auth_source that can run here, against the stand-in, with the real azure-identity classes.

Each test resolves settings the way AzureModule does (options, then env, then
credentials file), builds the real credential and ArmClient, and makes one ARM
call over TLS with certificate verification on. The stand-in's request log
shows which token grant was used.
"""

from __future__ import annotations

import datetime
import threading
import time

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ansible_collections.calico.azure.plugins.module_utils._azure.auth import (
    build_credential,
    default_ca_bundle,
    resolve_auth_settings,
)
from ansible_collections.calico.azure.plugins.module_utils._azure.client import ArmClient
from ansible_collections.calico.azure.plugins.module_utils._azure.cloud import resolve_cloud
from ansible_collections.calico.azure.plugins.module_utils._azure.errors import (
    AzureAuthError,
    AzureTransportError,
)
from ansible_collections.calico.azure.plugins.module_utils._azure.module import build_arm_client

CERT_CLIENT_ID = "ce270000-0000-4000-8000-0000000000c1"
WORKLOAD_CLIENT_ID = "f3d00000-0000-4000-8000-0000000000c2"
WORKLOAD_SUBJECT = "system:serviceaccount:kube-system:calico-azure"
CERT_PASSWORD = "cert-pass-1"
NO_FILE = "/nonexistent/azure-credentials"


def _self_signed_cert(password: bytes):
    """(PEM of encrypted key + certificate, PEM of the certificate): the service principal's credential."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "calico-azure-sp")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(password)
    )
    return key_pem + cert_pem, cert_pem.decode()


# Generated at import so the seed (a marker argument) can register the certificate.
CLIENT_PEM, CERT_PEM = _self_signed_cert(CERT_PASSWORD.encode())
SEED = {
    "resource_groups": [{"name": "auth-rg", "location": "westeurope"}],
    "service_principals": [
        {"client_id": CERT_CLIENT_ID, "certificates": [CERT_PEM]},
        {
            "client_id": WORKLOAD_CLIENT_ID,
            "federated_credentials": [{"issuer": "https://oidc.emulator.test/issuer", "subject": WORKLOAD_SUBJECT}],
        },
    ],
}
pytestmark = pytest.mark.azure_seed(SEED)


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    base = tmp_path_factory.mktemp("auth")
    cert_path = base / "sp-cert.pem"
    cert_path.write_bytes(CLIENT_PEM)
    other_ca = base / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    return {"dir": base, "cert_path": str(cert_path), "other_ca": str(other_ca)}


@pytest.fixture
def emu(azure_emulator):
    """The shared stand-in, reset to SEED with an empty request log."""
    return azure_emulator


def connect(params=None, env=None, **client_kwargs) -> ArmClient:
    """What AzureModule.arm does, from explicit params and env (no process environment)."""
    params = dict(params or {})
    env = dict(env or {})
    settings = resolve_auth_settings(params, env, credentials_file=NO_FILE)
    ca_bundle = default_ca_bundle(params, env)
    validate_certs = params.get("validate_certs", True)
    endpoints = resolve_cloud(settings.cloud_environment, ca_bundle=ca_bundle, validate_certs=validate_certs)
    endpoints = endpoints.with_authority(settings.authority_host)
    return build_arm_client(
        settings, endpoints, settings.subscription_id, ca_bundle=ca_bundle, validate_certs=validate_certs,
        **client_kwargs
    )


def resource_group_names(client: ArmClient) -> list:
    return [rg["name"] for rg in client.list("/subscriptions/%s/resourceGroups" % client.subscription_id)]


def single_token_request(emu) -> dict:
    tokens = [e for e in emu.requests() if e["kind"] == "token"]
    assert len(tokens) == 1, tokens
    assert tokens[0]["status"] == 200
    return tokens[0]


def test_awx_environment_names_with_metadata_url(emu):
    env = emu.env("awx")
    assert "AZURE_SECRET" in env and "AZURE_CLIENT_SECRET" not in env
    client = connect(env=env)
    assert resource_group_names(client) == ["auth-rg"]
    single_token_request(emu)
    metadata = [e for e in emu.requests() if e["kind"] == "metadata"]
    assert metadata and metadata[0]["path"] == "/metadata/endpoints"


def test_azure_identity_environment_names_with_authority_host(emu):
    env = emu.env("azure_identity")
    assert "AZURE_CLIENT_SECRET" in env and "AZURE_SECRET" not in env
    client = connect(env=env)
    assert resource_group_names(client) == ["auth-rg"]
    single_token_request(emu)


def test_options_with_ca_bundle_option_and_old_metadata_shape(emu):
    # No REQUESTS_CA_BUNDLE: the CA comes from the ca_bundle option; the
    # Azure Stack style metadata document (api-version 2015-01-01) names no ARM
    # endpoint, so the metadata host is ARM.
    params = {
        "auth_source": "service_principal",
        "client_id": emu.client_id,
        "secret": emu.client_secret,
        "tenant": emu.tenant_id,
        "subscription_id": emu.subscription_id,
        "cloud_environment": "%s/metadata/endpoints?api-version=2015-01-01" % emu.base_url,
        "ca_bundle": emu.ca_file,
    }
    client = connect(params)
    assert client.endpoints.resource_manager == emu.base_url + "/"
    assert resource_group_names(client) == ["auth-rg"]


def test_certificate_credential(emu, material):
    params = {
        "auth_source": "certificate",
        "client_id": CERT_CLIENT_ID,
        "tenant": emu.tenant_id,
        "certificate_path": material["cert_path"],
        "certificate_password": CERT_PASSWORD,
        "subscription_id": emu.subscription_id,
        "cloud_environment": emu.metadata_url,
        "ca_bundle": emu.ca_file,
    }
    assert resource_group_names(connect(params)) == ["auth-rg"]
    single_token_request(emu)


def test_certificate_from_azure_identity_env_names(emu, material):
    env = {
        "AZURE_CLIENT_ID": CERT_CLIENT_ID,
        "AZURE_TENANT_ID": emu.tenant_id,
        "AZURE_CLIENT_CERTIFICATE_PATH": material["cert_path"],
        "AZURE_CLIENT_CERTIFICATE_PASSWORD": CERT_PASSWORD,
        "AZURE_SUBSCRIPTION_ID": emu.subscription_id,
        "AZURE_CLOUD_ENVIRONMENT": emu.metadata_url,
        "REQUESTS_CA_BUNDLE": emu.ca_file,
    }
    assert resource_group_names(connect(env=env)) == ["auth-rg"]


def test_certificate_not_registered_for_the_app_is_refused(emu, material):
    # The default service principal has only a secret: its client id with this
    # certificate must fail at Entra, with Entra's reason.
    params = {
        "auth_source": "certificate",
        "client_id": emu.client_id,
        "tenant": emu.tenant_id,
        "certificate_path": material["cert_path"],
        "certificate_password": CERT_PASSWORD,
        "subscription_id": emu.subscription_id,
        "cloud_environment": emu.metadata_url,
        "ca_bundle": emu.ca_file,
    }
    with pytest.raises(AzureAuthError) as err:
        resource_group_names(connect(params))
    expected = "Authentication failed for client id '%s' in tenant '%s' at %s/: AADSTS" % (
        emu.client_id, emu.tenant_id, emu.base_url)
    assert err.value.message.startswith(expected)


def test_workload_identity_token_file(emu, material):
    token_file = material["dir"] / "federated-token"
    token_file.write_text(emu.federated_token(WORKLOAD_SUBJECT))
    env = {
        "AZURE_CLIENT_ID": WORKLOAD_CLIENT_ID,
        "AZURE_TENANT_ID": emu.tenant_id,
        "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
        "AZURE_SUBSCRIPTION_ID": emu.subscription_id,
        "AZURE_CLOUD_ENVIRONMENT": emu.metadata_url,
        "REQUESTS_CA_BUNDLE": emu.ca_file,
    }
    client = connect(env=env)
    assert resource_group_names(client) == ["auth-rg"]
    single_token_request(emu)


def test_workload_identity_with_wrong_subject_is_refused(emu, material):
    token_file = material["dir"] / "other-token"
    token_file.write_text(emu.federated_token("system:serviceaccount:default:someone-else"))
    params = {
        "auth_source": "workload_identity",
        "client_id": WORKLOAD_CLIENT_ID,
        "tenant": emu.tenant_id,
        "federated_token_file": str(token_file),
        "subscription_id": emu.subscription_id,
        "cloud_environment": emu.metadata_url,
        "ca_bundle": emu.ca_file,
    }
    with pytest.raises(AzureAuthError) as err:
        resource_group_names(connect(params))
    assert "client id '%s'" % WORKLOAD_CLIENT_ID in err.value.message
    assert "AADSTS" in err.value.message


def test_wrong_secret_fails_with_client_id_and_entra_reason(emu):
    env = dict(emu.env("awx"), AZURE_SECRET="not-the-secret")
    client = connect(env=env)
    with pytest.raises(AzureAuthError) as err:
        resource_group_names(client)
    message = err.value.message
    assert message.startswith(
        "Authentication failed for client id '%s' in tenant '%s' at %s/: AADSTS7000215: Invalid client secret"
        % (emu.client_id, emu.tenant_id, emu.base_url)
    )
    assert err.value.code == "AADSTS7000215"
    assert "not-the-secret" not in message and "Traceback" not in message
    # Entra refused: no ARM request was sent.
    assert emu.counts()["reads"] == 0


def test_untrusted_ca_fails_at_metadata_with_the_bundle_named(emu, material):
    env = dict(emu.env("awx"), REQUESTS_CA_BUNDLE=material["other_ca"])
    with pytest.raises(AzureTransportError) as err:
        connect(env=env)
    assert err.value.message == (
        "TLS certificate verification failed talking to %s: the server's certificate is not signed by a CA in "
        "the CA bundle %s. Set ca_bundle (or the REQUESTS_CA_BUNDLE environment variable) to the PEM file of the CA "
        "that signed it." % (emu.metadata_url, material["other_ca"])
    )


def test_ca_bundle_reaches_the_credential_transport(emu, material):
    # Endpoints known and ARM trusted, but Entra ID is reached with another CA:
    # the token request itself must fail verification.
    settings = resolve_auth_settings({}, emu.env("awx"), credentials_file=NO_FILE)
    endpoints = resolve_cloud(emu.metadata_url, ca_bundle=emu.ca_file)
    credential = build_credential(settings, endpoints, connection_verify=material["other_ca"])
    client = ArmClient(credential, emu.subscription_id, endpoints, ca_bundle=emu.ca_file, client_id=settings.client_id,
                       tenant=settings.tenant, max_retries=0)
    with pytest.raises(AzureTransportError) as err:
        resource_group_names(client)
    assert err.value.message.startswith("TLS certificate verification failed talking to %s/" % emu.base_url)
    assert emu.counts()["token_requests"] == 0


def test_ca_bundle_reaches_the_arm_pipeline(emu, material):
    settings = resolve_auth_settings({}, emu.env("awx"), credentials_file=NO_FILE)
    endpoints = resolve_cloud(emu.metadata_url, ca_bundle=emu.ca_file)
    credential = build_credential(settings, endpoints, connection_verify=emu.ca_file)
    client = ArmClient(credential, emu.subscription_id, endpoints, ca_bundle=material["other_ca"], max_retries=0)
    with pytest.raises(AzureTransportError) as err:
        resource_group_names(client)
    assert "not signed by a CA in the CA bundle %s" % material["other_ca"] in err.value.message
    assert emu.counts()["reads"] == 0


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_validate_certs_false_needs_no_ca(emu):
    env = {k: v for k, v in emu.env("awx").items() if k != "REQUESTS_CA_BUNDLE"}
    client = connect({"validate_certs": False}, env)
    assert resource_group_names(client) == ["auth-rg"]


def test_token_is_requested_once_for_parallel_workers(emu):
    from concurrent.futures import ThreadPoolExecutor

    client = connect(env=emu.env("awx"))
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: resource_group_names(client), range(16)))
    assert results == [["auth-rg"]] * 16
    counts = emu.counts()
    assert counts["token_requests"] == 1
    assert counts["reads"] == 16


class _AppServiceIdentityEndpoint(object):
    """An App Service managed identity endpoint (IDENTITY_ENDPOINT / IDENTITY_HEADER) on 127.0.0.1.

    ManagedIdentityCredential talks to it exactly as on App Service; the token
    it hands out comes from the stand-in's Entra ID (client credentials of the
    seeded principal), so ARM accepts it.
    """

    HEADER = "identity-header-for-tests"

    def __init__(self, emu):
        import http.server
        import json as json_module
        import ssl
        import urllib.parse
        import urllib.request

        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                outer.requests.append({"query": query, "header": self.headers.get("X-IDENTITY-HEADER")})
                if self.headers.get("X-IDENTITY-HEADER") != outer.HEADER:
                    self.send_response(401)
                    self.end_headers()
                    return
                resource = query["resource"]
                form = urllib.parse.urlencode({
                    "grant_type": "client_credentials", "client_id": emu.client_id,
                    "client_secret": emu.client_secret,
                    "scope": resource + (".default" if resource.endswith("/") else "/.default"),
                }).encode()
                context = ssl.create_default_context(cafile=emu.ca_file)
                url = "%s/%s/oauth2/v2.0/token" % (emu.base_url, emu.tenant_id)
                with urllib.request.urlopen(url, data=form, context=context) as answer:
                    token = json_module.load(answer)
                body = json_module.dumps({
                    "access_token": token["access_token"], "token_type": "Bearer", "resource": resource,
                    "expires_on": str(int(time.time()) + int(token["expires_in"])),
                    "client_id": query.get("client_id", emu.client_id),
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/msi/token" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def test_managed_identity_user_assigned(emu, monkeypatch):
    with _AppServiceIdentityEndpoint(emu) as endpoint:
        monkeypatch.setenv("IDENTITY_ENDPOINT", endpoint.url)
        monkeypatch.setenv("IDENTITY_HEADER", endpoint.HEADER)
        params = {
            "auth_source": "msi",
            "msi_client_id": "0b1d0000-0000-4000-8000-00000000ca11",
            "subscription_id": emu.subscription_id,
            "cloud_environment": emu.metadata_url,
            "ca_bundle": emu.ca_file,
        }
        client = connect(params)
        assert resource_group_names(client) == ["auth-rg"]
    assert len(endpoint.requests) == 1
    query = endpoint.requests[0]["query"]
    assert query["client_id"] == "0b1d0000-0000-4000-8000-00000000ca11"
    assert query["resource"].rstrip("/") == emu.audience.rstrip("/")
