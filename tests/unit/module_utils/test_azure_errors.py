"""Error mapping: real azure-core / azure-identity exceptions and ARM bodies -> AzureError subclasses."""

# The exact class matters in these tests (a parent class would pass isinstance()).
# pylint: disable=unidiomatic-typecheck

import json
import ssl

import pytest
from azure.core import exceptions as core
from azure.identity import AuthenticationRequiredError, CredentialUnavailableError

from ansible_collections.calico.azure.plugins.module_utils._azure import errors
from ansible_collections.calico.azure.plugins.module_utils._azure.ids import route_table_id

SUB = "00000000-0000-0000-0000-000000000001"
RT = route_table_id(SUB, "rg1", "rt1")


class FakeResponse(object):
    """The slice of azure.core.rest.HttpResponse that HttpResponseError reads."""

    def __init__(self, status, body, headers=None):
        self.status_code = status
        self.reason = "reason"
        self._body = body if isinstance(body, str) else json.dumps(body)
        self.headers = headers or {}
        self.request = None
        self.content_type = "application/json"

    def text(self, encoding=None):
        return self._body

    def body(self):
        return self._body.encode()


def arm_error(code, message):
    return {"error": {"code": code, "message": message}}


def http_error(status, body, cls=core.HttpResponseError):
    return cls(response=FakeResponse(status, body))


def test_not_found_names_resource_and_group():
    err = errors.map_azure_exception(
        http_error(404, arm_error("ResourceNotFound", "The Resource was not found."), core.ResourceNotFoundError),
        resource_id=RT,
        action="read",
    )
    assert type(err) is errors.AzureNotFound
    assert err.status == 404 and err.code == "ResourceNotFound"
    assert "Route table 'rt1' in resource group 'rg1' was not found" in err.message


def test_missing_resource_group_is_named_as_such():
    err = errors.error_from_response(404, arm_error("ResourceGroupNotFound", "Resource group 'rg1' could not be found."),
                                     resource_id=RT)
    assert type(err) is errors.AzureNotFound
    assert err.message.startswith(f"Resource group 'rg1' was not found in subscription '{SUB}'")


def test_entra_rejection_names_client_and_aadsts_reason():
    exc = core.ClientAuthenticationError(
        message="ClientSecretCredential.get_token failed: Authentication failed: AADSTS7000215: Invalid client secret "
        "provided. Ensure the secret being sent in the request is the client secret value.\nTrace ID: 1234"
    )
    err = errors.map_azure_exception(exc, client_id="app-1", tenant="tenant-1", authority="https://login.example/")
    assert type(err) is errors.AzureAuthError
    assert err.client_id == "app-1" and err.code == "AADSTS7000215"
    assert err.message == (
        "Authentication failed for client id 'app-1' in tenant 'tenant-1' at https://login.example/: "
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the "
        "client secret value."
    )
    assert "Trace ID" not in err.message


@pytest.mark.parametrize("cls", [CredentialUnavailableError, AuthenticationRequiredError])
def test_identity_unavailable_is_auth_error(cls):
    exc = cls(message="Azure CLI not found on path") if cls is CredentialUnavailableError else cls(
        scopes=["x/.default"], message="interactive authentication is required")
    err = errors.map_azure_exception(exc)
    assert type(err) is errors.AzureAuthError
    assert err.message.startswith("No Azure credential available for the configured identity")


def test_arm_401_and_403_are_auth_errors_with_arm_codes():
    e401 = errors.map_azure_exception(
        http_error(401, arm_error("InvalidAuthenticationToken", "The access token is invalid."),
                   core.ClientAuthenticationError),
        resource_id=RT, action="read")
    assert type(e401) is errors.AzureAuthError and e401.status == 401 and e401.code == "InvalidAuthenticationToken"
    assert "rejected the access token while trying to read Route table 'rt1'" in e401.message
    e403 = errors.error_from_response(403, arm_error("AuthorizationFailed", "no permission"), resource_id=RT,
                                      action="write", client_id="app-1")
    assert type(e403) is errors.AzureAuthError
    assert "client id 'app-1'" in e403.message and "AuthorizationFailed: no permission" in e403.message


def test_412_is_precondition_failed():
    err = errors.map_azure_exception(
        http_error(412, arm_error("PreconditionFailed", "The etag does not match."), core.ResourceModifiedError),
        resource_id=RT, action="write")
    assert type(err) is errors.AzurePreconditionFailed and err.status == 412
    assert err.message.startswith("Route table 'rt1' in resource group 'rg1' changed since it was read")


def test_429_after_retries_is_throttled_with_count():
    err = errors.error_from_response(
        429, arm_error("RetryableErrorDueToAnotherOperation", "Operation is in progress on the table."),
        resource_id=RT, action="write", retries=6)
    assert type(err) is errors.AzureThrottled and err.retries == 6
    assert "still failed after 6 retries (429 RetryableErrorDueToAnotherOperation" in err.message


def test_400_and_409_keep_arm_code_and_message():
    bad = errors.map_azure_exception(
        http_error(400, arm_error("RouteConflict", "Routes cannot have the same AddressPrefix.")),
        resource_id=RT, action="write")
    assert type(bad) is errors.AzureBadRequest and bad.code == "RouteConflict"
    assert bad.message == ("Azure rejected the request to write Route table 'rt1' in resource group 'rg1' "
                           "(400 RouteConflict: Routes cannot have the same AddressPrefix.).")
    conflict = errors.map_azure_exception(http_error(409, arm_error("InUseSubnetCannotBeDeleted", "in use"),
                                                     core.ResourceExistsError))
    assert type(conflict) is errors.AzureConflict and conflict.code == "InUseSubnetCannotBeDeleted"


def test_nested_details_are_surfaced():
    code, message = errors.arm_error_details(
        {"error": {"code": "InvalidRequestFormat", "message": "Cannot parse the request.",
                   "details": [{"code": "InvalidJson", "message": "Unexpected token at line 3."}]}})
    assert code == "InvalidRequestFormat"
    assert message == "Cannot parse the request. (InvalidJson: Unexpected token at line 3.)"


def test_failed_lro_is_operation_failed_with_arm_reason():
    body = {"status": "Failed", "error": {"code": "InternalServerError", "message": "Something broke."}}
    err = errors.map_azure_exception(http_error(200, body), resource_id=RT, action="write")
    assert type(err) is errors.AzureOperationFailed and err.code == "InternalServerError"
    assert err.message == ("The Azure operation to write Route table 'rt1' in resource group 'rg1' ended Failed "
                           "(InternalServerError: Something broke.).")


def test_tls_failure_names_ca_bundle_to_set():
    inner = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    exc = core.ServiceRequestError("<urllib3 error>", error=inner)
    err = errors.map_azure_exception(exc, ca_bundle="/etc/other-ca.pem")
    assert type(err) is errors.AzureTransportError and err.code == "CertificateVerifyFailed"
    assert "not signed by a CA in the CA bundle /etc/other-ca.pem" in err.message
    assert "Set ca_bundle (or the REQUESTS_CA_BUNDLE environment variable)" in err.message


def test_tls_failure_while_authenticating_is_transport_not_auth():
    inner = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc = core.ClientAuthenticationError(message="Authentication failed: connection error")
    exc.__cause__ = core.ServiceRequestError("ssl", error=inner)
    err = errors.map_azure_exception(exc, authority="https://127.0.0.1:1/")
    assert type(err) is errors.AzureTransportError
    assert "talking to https://127.0.0.1:1/" in err.message and "the system trust store" in err.message


def test_connection_reset_is_transport_error_without_tls_advice():
    exc = core.ServiceResponseError("Connection aborted: ConnectionResetError(104, 'Connection reset by peer')")
    err = errors.map_azure_exception(exc, resource_id=RT, action="write")
    assert type(err) is errors.AzureTransportError
    assert "Connection reset by peer" in err.message and "ca_bundle" not in err.message


def test_unknown_status_keeps_status_and_code():
    err = errors.error_from_response(503, "upstream down", resource_id=RT, action="read", retries=6)
    assert type(err) is errors.AzureError and err.status == 503
    assert err.message == ("Azure failed to read Route table 'rt1' in resource group 'rg1' after 6 retries "
                           "(HTTP 503 upstream down).")
    assert err.fail_kwargs() == {"msg": err.message, "status": 503, "resource_id": RT}


def test_sdk_missing_names_pip_package_and_command():
    try:
        import azure.not_a_package  # noqa: F401
    except ImportError as exc:
        exc.name = "azure.mgmt.core"
        assert errors.pip_name_for_import_error(exc) == "azure-mgmt-core"
    err = errors.AzureSdkMissing("azure-identity")
    assert "pip install 'azure-identity>=1.15.0,<2.0.0'" in err.message


def test_chained_credential_failure_lists_every_attempt_and_what_to_set():
    exc = core.ClientAuthenticationError(message=(
        "ChainedTokenCredential failed to retrieve a token from the included credentials.\n"
        "Attempted credentials:\n\tAzureCliCredential: Azure CLI not found on path\n"
        "\tManagedIdentityCredential: ManagedIdentityCredential authentication unavailable, no response from the "
        "IMDS endpoint.\nTo mitigate this issue, please refer to the troubleshooting guidelines here at "
        "https://aka.ms/azsdk/python/identity/defaultazurecredential/troubleshoot."))
    err = errors.map_azure_exception(exc)
    assert type(err) is errors.AzureAuthError and err.code == "CredentialUnavailable"
    assert err.message.startswith(
        "No Azure credential worked for the configured identity (tried AzureCliCredential: Azure CLI not found on "
        "path; ManagedIdentityCredential: ManagedIdentityCredential authentication unavailable, no response from "
        "the IMDS endpoint.). Set client_id, secret and tenant")
    assert "troubleshoot" not in err.message
