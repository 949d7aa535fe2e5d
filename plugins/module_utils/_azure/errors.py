# -*- coding: utf-8 -*-
# Copyright: (c) 2026, calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One collection error type for everything that can go wrong talking to Azure.

FOR INTERNAL COLLECTION USE ONLY: this module util is private to calico.azure
and may change without notice.

Azure SDK exceptions and ARM error responses are mapped here, once, to
:class:`AzureError` subclasses whose ``message`` says what failed and what to
do. Modules turn them into ``fail_json`` (see ``_azure.module.AzureModule``),
so an expected failure never shows a traceback.

Importing this file costs nothing: the azure-core / azure-identity exception
classes are imported inside :func:`map_azure_exception`, which only runs once
such an exception exists (so the SDK is already loaded).
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, Mapping, Optional

from ansible_collections.calico.azure.plugins.module_utils._azure.ids import describe, parse_resource_id

# Entra ID error codes look like "AADSTS7000215: Invalid client secret provided. ..."
_AADSTS_RE = re.compile(r"(AADSTS\d+)[:\s]+([^\r\n]*)")
_ENTRA_NOISE_RE = re.compile(r"\s*\b(?:Trace ID|Correlation ID|Timestamp):")

# pip names for the Python packages the layer imports (ImportError.name -> pip).
_PIP_NAMES = {
    "azure.identity": "azure-identity",
    "azure.mgmt.core": "azure-mgmt-core",
    "azure.mgmt": "azure-mgmt-core",
    "azure.core": "azure-core",
    "azure": "azure-identity",
    "msal": "azure-identity",
    "requests": "azure-core",
}
REQUIREMENTS = ("azure-identity>=1.15.0,<2.0.0", "azure-mgmt-core>=1.4.0,<2.0.0", "azure-core>=1.29.0,<2.0.0")


class AzureError(Exception):
    """Base of every error the collection reports about Azure.

    ``message`` is the complete, user-facing text; ``status`` the HTTP status
    (if any); ``code`` the ARM / Entra error code (if any).
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        code: Optional[str] = None,
        resource_id: Optional[str] = None,
    ) -> None:
        super(AzureError, self).__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.resource_id = resource_id

    def fail_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments for ``module.fail_json``."""
        result: Dict[str, Any] = {"msg": self.message}
        if self.status is not None:
            result["status"] = self.status
        if self.code is not None:
            result["code"] = self.code
        if self.resource_id is not None:
            result["resource_id"] = self.resource_id
        return result

    def __str__(self) -> str:
        return self.message


class AzureNotFound(AzureError):
    """The resource (or its resource group / parent) does not exist."""


class AzureAuthError(AzureError):
    """Entra ID refused the credential, or ARM refused the token (401/403)."""

    def __init__(self, message: str, *, client_id: Optional[str] = None, reason: Optional[str] = None, **kwargs: Any):
        super(AzureAuthError, self).__init__(message, **kwargs)
        self.client_id = client_id
        self.reason = reason


class AzureThrottled(AzureError):
    """Still 429 after every retry."""

    def __init__(self, message: str, *, retries: Optional[int] = None, **kwargs: Any) -> None:
        super(AzureThrottled, self).__init__(message, **kwargs)
        self.retries = retries


class AzurePreconditionFailed(AzureError):
    """412: the resource changed since its etag was read (If-Match) or exists (If-None-Match: *)."""


class AzureConflict(AzureError):
    """409: the request conflicts with the resource's current state."""


class AzureOperationFailed(AzureError):
    """A long-running operation ended Failed or Canceled."""


class AzureTransportError(AzureError):
    """No HTTP answer: TLS verification failure, refused or reset connection, timeout."""


class AzureBadRequest(AzureError):
    """400: ARM rejected the request body or parameters (code + message say why)."""


class AzureConfigError(AzureError):
    """The module's own settings are incomplete or contradictory (no request was sent)."""


class AzureSdkMissing(AzureError):
    """A Python package of the Azure SDK is not installed where the module runs."""

    def __init__(self, library: str, import_traceback: Optional[str] = None) -> None:
        self.library = library
        self.import_traceback = import_traceback
        self.pip_command = "pip install " + " ".join("'%s'" % r for r in REQUIREMENTS)
        super(AzureSdkMissing, self).__init__(
            "The Python library %s is not installed for the Python that runs this module. Install it with: %s"
            % (library, self.pip_command)
        )


def pip_name_for_import_error(err: ImportError) -> str:
    """Which pip package provides the module an ImportError names."""
    name = getattr(err, "name", None) or ""
    while name:
        if name in _PIP_NAMES:
            return _PIP_NAMES[name]
        name = name.rpartition(".")[0]
    return "azure-identity"


# --- ARM error bodies -----------------------------------------------------------


def arm_error_details(body: Any) -> tuple:
    """(code, message) from an ARM error body, an LRO status body, or raw text."""
    if isinstance(body, (bytes, bytearray)):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str):
        text = body.strip()
        try:
            body = json.loads(text) if text else {}
        except ValueError:
            return None, text[:500] or None
    if not isinstance(body, Mapping):
        return None, None
    error = body.get("error") if isinstance(body.get("error"), Mapping) else body
    code = error.get("code")
    message = error.get("message")
    details = error.get("details")
    # ARM nests the useful reason in details when the top level is generic
    # ("InvalidRequestFormat" / "Cannot parse the request.").
    if isinstance(details, list) and details and isinstance(details[0], Mapping):
        inner_code, inner_message = details[0].get("code"), details[0].get("message")
        if inner_message and inner_message != message:
            message = "%s (%s: %s)" % (message, inner_code, inner_message) if message else inner_message
    return code, message


def _what(resource_id: Optional[str], action: Optional[str]) -> str:
    target = describe(resource_id) if resource_id else "the Azure resource"
    return "%s %s" % (action, target) if action else target


def error_from_response(
    status: int,
    body: Any,
    *,
    resource_id: Optional[str] = None,
    action: Optional[str] = None,
    retries: Optional[int] = None,
    client_id: Optional[str] = None,
) -> AzureError:
    """Map an ARM error response (status + body) to the matching AzureError."""
    code, arm_message = arm_error_details(body)
    reason = "%s: %s" % (code, arm_message) if code and arm_message else (arm_message or code or "no details")
    what = _what(resource_id, action)
    kwargs: Dict[str, Any] = {"status": status, "code": code, "resource_id": resource_id}

    if status == 404:
        if code == "ResourceGroupNotFound" and resource_id:
            parsed = parse_resource_id(resource_id)
            msg = "Resource group '%s' was not found in subscription '%s' (needed for %s)." % (
                parsed.resource_group,
                parsed.subscription,
                describe(resource_id),
            )
        elif resource_id:
            msg = "%s was not found (%s)." % (describe(resource_id), reason)
        else:
            msg = "Not found: %s." % reason
        return AzureNotFound(msg, **kwargs)
    if status in (401, 403):
        if status == 401:
            msg = "Azure Resource Manager rejected the access token while trying to %s (401 %s)." % (what, reason)
        else:
            who = " for client id '%s'" % client_id if client_id else ""
            msg = "Azure denied access%s while trying to %s (403 %s). Grant the identity a role that allows it." % (
                who,
                what,
                reason,
            )
        return AzureAuthError(msg, client_id=client_id, reason=code, **kwargs)
    if status == 412:
        return AzurePreconditionFailed(
            "%s changed since it was read (412 %s). Another writer updated it; run the task again to work from "
            "its current state." % (describe(resource_id) if resource_id else "The resource", reason),
            **kwargs,
        )
    if status == 409:
        return AzureConflict("Conflict while trying to %s (409 %s)." % (what, reason), **kwargs)
    if status == 429:
        after = " after %d retries" % retries if retries is not None else ""
        return AzureThrottled(
            "Azure throttled the request to %s and it still failed%s (429 %s). Retry later, raise max_retries, "
            "or send fewer requests in parallel." % (what, after, reason),
            retries=retries,
            **kwargs,
        )
    if status == 400:
        return AzureBadRequest("Azure rejected the request to %s (400 %s)." % (what, reason), **kwargs)
    after = " after %d retries" % retries if retries else ""
    return AzureError("Azure failed to %s%s (HTTP %s %s)." % (what, after, status, reason), **kwargs)


def operation_failed(body: Any, *, resource_id: Optional[str] = None, action: Optional[str] = None) -> AzureError:
    """The LRO status URL said Failed/Canceled: report ARM's code and message."""
    code, message = arm_error_details(body)
    status_word = "Failed"
    if isinstance(body, Mapping) and body.get("status"):
        status_word = str(body["status"])
    reason = "%s: %s" % (code, message) if code else (message or "no error details")
    return AzureOperationFailed(
        "The Azure operation to %s ended %s (%s)." % (_what(resource_id, action), status_word, reason),
        code=code,
        resource_id=resource_id,
    )


# --- exceptions raised by azure-core / azure-identity ---------------------------


def _entra_reason(text: str) -> tuple:
    match = _AADSTS_RE.search(text or "")
    if match:
        # Entra appends "Trace ID: ... Correlation ID: ... Timestamp: ..."
        # (on the same line once azure-identity has flattened it): noise here.
        reason = _ENTRA_NOISE_RE.split(match.group(2))[0].strip()
        return match.group(1), "%s: %s" % (match.group(1), reason)
    first_line = (text or "").strip().splitlines()[0] if (text or "").strip() else "no details"
    return None, first_line


def _chain_attempts(text: str) -> list:
    """The per-credential reasons of a ChainedTokenCredential failure ("Attempted credentials: ...")."""
    if "Attempted credentials:" not in text:
        return []
    tail = text.split("Attempted credentials:", 1)[1]
    attempts = []
    for line in tail.splitlines():
        line = line.strip()
        if not line or line.startswith("To mitigate"):
            continue
        attempts.append(_entra_reason(line)[1] if "AADSTS" in line else line)
    return attempts


def _is_tls_failure(exc: BaseException) -> bool:
    import ssl

    seen = set()
    current: Optional[BaseException] = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return True
        text = str(current)
        if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text or "SSLError" in text:
            return True
        inner = getattr(current, "inner_exception", None) or getattr(current, "exc_value", None)
        current = inner or current.__cause__ or current.__context__
    return False


def is_tls_failure(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it wraps) is a TLS failure: never worth retrying."""
    return _is_tls_failure(exc)


def transport_error(
    exc: BaseException,
    *,
    url: Optional[str] = None,
    ca_bundle: Optional[str] = None,
    validate_certs: bool = True,
    action: Optional[str] = None,
    resource_id: Optional[str] = None,
) -> AzureTransportError:
    where = url or "Azure"
    if validate_certs and _is_tls_failure(exc):
        trust = "the CA bundle %s" % ca_bundle if ca_bundle else "the system trust store"
        msg = (
            "TLS certificate verification failed talking to %s: the server's certificate is not signed by a CA in %s. "
            "Set ca_bundle (or the REQUESTS_CA_BUNDLE environment variable) to the PEM file of the CA that signed it."
            % (where, trust)
        )
        return AzureTransportError(msg, code="CertificateVerifyFailed", resource_id=resource_id)
    first_line = (str(exc).strip().splitlines() or ["no details"])[0]
    msg = "Could not reach %s%s: %s" % (where, " to %s" % _what(resource_id, action) if action else "", first_line)
    return AzureTransportError(msg, resource_id=resource_id)


def map_azure_exception(
    exc: BaseException,
    *,
    resource_id: Optional[str] = None,
    action: Optional[str] = None,
    client_id: Optional[str] = None,
    tenant: Optional[str] = None,
    authority: Optional[str] = None,
    ca_bundle: Optional[str] = None,
    validate_certs: bool = True,
    retries: Optional[int] = None,
) -> AzureError:
    """Map one azure-core / azure-identity exception to an AzureError.

    This is the single place where SDK exception types are known. Anything it
    does not recognise becomes a plain AzureError with the SDK's first line.
    """
    if isinstance(exc, AzureError):
        return exc
    # The SDK is necessarily loaded when one of its exceptions exists.
    from azure.core import exceptions as core_exc

    identity_unavailable: tuple = ()
    try:
        from azure.identity import AuthenticationRequiredError, CredentialUnavailableError

        identity_unavailable = (CredentialUnavailableError, AuthenticationRequiredError)
    except ImportError:  # azure-core without azure-identity: nothing to match
        pass

    who = "client id '%s'" % client_id if client_id else "the configured identity"
    at = ""
    if tenant:
        at += " in tenant '%s'" % tenant
    if authority:
        at += " at %s" % authority

    if identity_unavailable and isinstance(exc, identity_unavailable):
        code, reason = _entra_reason(str(exc))
        return AzureAuthError(
            "No Azure credential available for %s%s: %s" % (who, at, reason),
            client_id=client_id,
            reason=code,
            code=code or "CredentialUnavailable",
        )

    response = getattr(exc, "response", None)
    status = getattr(exc, "status_code", None) or getattr(response, "status_code", None)

    arm_refused_token = response is not None and status in (401, 403)
    if isinstance(exc, core_exc.ClientAuthenticationError) and not arm_refused_token:
        # Raised by azure-identity when Entra ID refuses the credential (bad
        # secret, unknown client...) or cannot be reached.
        if _is_tls_failure(exc):
            return transport_error(exc, url=authority, ca_bundle=ca_bundle, validate_certs=validate_certs)
        attempts = _chain_attempts(str(exc))
        if attempts:
            # auth_source=auto with nothing configured: the CLI and managed identity both failed.
            return AzureAuthError(
                "No Azure credential worked for %s%s (tried %s). Set client_id, secret and tenant (or "
                "AZURE_CLIENT_ID, AZURE_CLIENT_SECRET / AZURE_SECRET, AZURE_TENANT_ID / AZURE_TENANT), use a profile "
                "of ~/.azure/credentials, log in with az login, or run where a managed identity is available."
                % (who, at, "; ".join(attempts)),
                client_id=client_id,
                code="CredentialUnavailable",
            )
        code, reason = _entra_reason(str(exc))
        return AzureAuthError(
            "Authentication failed for %s%s: %s" % (who, at, reason),
            client_id=client_id,
            reason=code,
            code=code,
            status=status,
        )

    if isinstance(exc, (core_exc.ServiceRequestError, core_exc.ServiceResponseError)):
        url = None
        request = getattr(response, "request", None)
        if request is not None:
            url = getattr(request, "url", None)
        return transport_error(
            exc, url=url, ca_bundle=ca_bundle, validate_certs=validate_certs, action=action, resource_id=resource_id
        )

    if isinstance(exc, core_exc.HttpResponseError) and status:
        body: Any = None
        if response is not None:
            try:
                body = response.text()
            except (AttributeError, TypeError, ValueError, core_exc.ResponseNotReadError):
                body = None
        parsed_body: Any = body
        try:
            parsed_body = json.loads(body) if body else None
        except ValueError:
            pass
        if isinstance(parsed_body, Mapping) and str(parsed_body.get("status", "")).lower() in ("failed", "canceled"):
            return operation_failed(parsed_body, resource_id=resource_id, action=action)
        if parsed_body is None:
            error = getattr(exc, "error", None)
            parsed_body = {"code": getattr(error, "code", None), "message": getattr(error, "message", None) or str(exc)}
        return error_from_response(
            int(status), parsed_body, resource_id=resource_id, action=action, retries=retries, client_id=client_id
        )

    first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return AzureError("Azure call failed while trying to %s: %s" % (_what(resource_id, action), first_line))
