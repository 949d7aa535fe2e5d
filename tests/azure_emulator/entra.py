"""Entra ID (v2.0 endpoints) as MSAL / azure-identity use it with a custom authority.

Served paths (``{tenant}`` is a tenant id):
- ``GET /{tenant}/v2.0/.well-known/openid-configuration`` (MSAL's tenant discovery)
- ``GET /{tenant}/discovery/v2.0/keys`` (the keys access tokens are signed with)
- ``POST /{tenant}/oauth2/v2.0/token`` (client credentials: secret, certificate
  assertion, federated assertion)
- ``GET /common/discovery/instance`` (instance discovery; MSAL only calls it on
  login.microsoftonline.com, so clients pointed here need
  ``disable_instance_discovery=True``, see README)
- ``GET /msi/token`` (managed identity, the App Service protocol azure-identity uses when
  ``IDENTITY_ENDPOINT`` and ``IDENTITY_HEADER`` are set: the one managed identity endpoint a
  process can be pointed at; IMDS' fixed 169.254.169.254 cannot)

Errors use Entra's body: ``error``, ``error_description`` starting with the
AADSTS code, ``error_codes``, ``timestamp``, ``trace_id``, ``correlation_id``.

The ARM resource answers to two identifiers, as Azure's "Windows Azure Service Management
API" application does (``https://management.core.windows.net/`` and the ARM endpoint
``https://management.azure.com/``, both listed in public Azure's cloud metadata
``authentication.audiences``): the configured audience and the stand-in's own ARM endpoint.
Clients that scope their token to the endpoint they call (azure.azcollection:
``resource_manager + "/.default"``; the Azure SDKs' default ``https://management.azure.com/.default``)
get a token as they would from Entra ID; its ``aud`` is the identifier they asked for.
"""

from __future__ import annotations

import datetime
import hashlib
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from cryptography import x509

from . import jwt_tools
from .arm.errors import ArmError
from .responses import Response

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FEDERATED_AUDIENCE = "api://AzureADTokenExchange"
TOKEN_LIFETIME = 3599


@dataclass
class FederatedCredential:
    issuer: str
    subject: str
    audiences: list[str] = field(default_factory=lambda: [FEDERATED_AUDIENCE])
    public_key: object = None  # None: tokens must be signed by the emulator's own test issuer key


@dataclass
class Principal:
    client_id: str
    tenant_id: str
    secrets: list[str] = field(default_factory=list)
    certificates: list[x509.Certificate] = field(default_factory=list)
    federated: list[FederatedCredential] = field(default_factory=list)
    object_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def certificate_for(self, header: dict) -> x509.Certificate | None:
        # MSAL sends base64url thumbprints with "=" padding; compare without it.
        sha256 = str(header.get("x5t#S256") or "").rstrip("=")
        sha1 = str(header.get("x5t") or "").rstrip("=")
        for cert in self.certificates:
            if sha256 and jwt_tools.b64url(cert.fingerprint(_sha256())) == sha256:
                return cert
            if sha1 and jwt_tools.b64url(cert.fingerprint(_sha1())) == sha1:
                return cert
        return None


def _sha256():
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def _sha1():
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA1()  # noqa: S303 - the x5t header is defined as a SHA-1 thumbprint


class EntraError(Exception):
    def __init__(self, status: int, error: str, code: int, description: str):
        super().__init__(description)
        self.status, self.error, self.code, self.description = status, error, code, description

    def body(self) -> dict:
        trace = str(uuid.uuid4())
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        return {
            "error": self.error,
            "error_description": f"AADSTS{self.code}: {self.description} Trace ID: {trace} Correlation ID: {uuid.uuid4()} Timestamp: {now}",
            "error_codes": [self.code],
            "timestamp": now,
            "trace_id": trace,
            "correlation_id": str(uuid.uuid4()),
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }


class Entra:
    """Tenants, service principals and the tokens they get."""

    def __init__(self, base_url, audiences: list[str]):
        self._base_url = base_url  # callable: the URL is known once the server listens
        self.audiences = list(audiences)
        self.principals: dict[str, Principal] = {}
        self.tenants: set[str] = set()
        self.key = jwt_tools.signing_key("tokens")
        self.kid = hashlib.sha1(str(self.key.public_key().public_numbers().n).encode()).hexdigest()[:27]  # noqa: S324
        # Key of a stand-in external OIDC issuer (think: a Kubernetes service account issuer),
        # so tests can mint federated tokens that verify: see :meth:`federated_token`.
        self.issuer_key = jwt_tools.signing_key("federated-issuer")
        self.test_issuer = "https://oidc.emulator.test/issuer"
        # Managed identities: client id -> principal; the system-assigned one answers requests without a client_id.
        self.managed_identities: dict[str, Principal] = {}
        self.system_identity: Principal | None = None
        self.identity_header = "emulator-identity-header"
        self.token_lifetime = TOKEN_LIFETIME  # exp of issued access tokens, seconds
        self.announced_lifetime: int | None = None  # expires_in answered (None: token_lifetime)

    # ------------------------------------------------------------------ identities
    def clear(self) -> None:
        self.principals.clear()
        self.tenants.clear()
        self.managed_identities.clear()
        self.system_identity = None

    def add_managed_identity(self, principal: Principal, system_assigned: bool) -> None:
        self.tenants.add(principal.tenant_id.lower())
        self.managed_identities[principal.client_id.lower()] = principal
        if system_assigned:
            self.system_identity = principal

    def add_principal(self, principal: Principal) -> None:
        self.tenants.add(principal.tenant_id.lower())
        self.principals[principal.client_id.lower()] = principal

    def federated_token(self, subject: str, issuer: str | None = None, audience: str = FEDERATED_AUDIENCE, lifetime: int = 3600) -> str:
        """A token as a workload-identity issuer would write to AZURE_FEDERATED_TOKEN_FILE."""
        now = int(time.time())
        claims = {"iss": issuer or self.test_issuer, "sub": subject, "aud": audience, "iat": now, "nbf": now, "exp": now + lifetime}
        return jwt_tools.encode(claims, self.issuer_key, {"kid": "emulator-test-issuer"})

    # ------------------------------------------------------------------ HTTP
    def handle(self, method: str, path: str, headers: dict, raw: bytes, query: dict | None = None) -> Response | None:
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] in ("subscriptions", "metadata", "_emulator"):
            return None
        if method == "GET" and path.rstrip("/").lower() == "/msi/token":
            return self.managed_identity_token(headers, query or {})
        tenant = parts[0]
        rest = "/".join(parts[1:]).lower()
        if method == "GET" and tenant.lower() == "common" and rest == "discovery/instance":
            return Response(200, self._instance_discovery())
        if method == "GET" and rest in ("v2.0/.well-known/openid-configuration", ".well-known/openid-configuration"):
            if not self._known_tenant(tenant):
                return Response(400, EntraError(400, "invalid_tenant", 90002, self._tenant_missing(tenant)).body())
            return Response(200, self.openid_configuration(tenant))
        if method == "GET" and rest == "discovery/v2.0/keys":
            return Response(200, {"keys": [jwt_tools.jwk(self.key.public_key(), self.kid)]})
        if method == "POST" and rest == "oauth2/v2.0/token":
            try:
                return Response(200, self.token(tenant, headers, raw), {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"})
            except EntraError as exc:
                return Response(exc.status, exc.body())
        return None

    def resource_identifiers(self) -> list[str]:
        """The identifiers of the ARM resource: the audience(s), then the ARM endpoint itself."""
        identifiers = list(self.audiences)
        if self._base_url() and _norm(self._base_url()) not in {_norm(a) for a in identifiers}:
            identifiers.append(f"{self._base_url()}/")
        return identifiers

    def _is_arm_resource(self, resource: str) -> bool:
        return _norm(resource) in {_norm(a) for a in self.resource_identifiers()}

    def _known_tenant(self, tenant: str) -> bool:
        return tenant.lower() in self.tenants or tenant.lower() in ("organizations", "common")

    @staticmethod
    def _tenant_missing(tenant: str) -> str:
        return (
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the "
            "correct cloud. Check with your subscription administrator, this may happen if there are no active "
            "subscriptions for the tenant."
        )

    def openid_configuration(self, tenant: str) -> dict:
        base = self._base_url()
        return {
            "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{tenant}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "ver", "oid", "azp"],
            "tenant_region_scope": None,
            "cloud_instance_name": "azure-emulator.test",
            "cloud_graph_host_name": "graph.azure-emulator.test",
            "msgraph_host": "graph.azure-emulator.test",
        }

    def _instance_discovery(self) -> dict:
        host = self._base_url().split("://", 1)[1]
        return {
            "tenant_discovery_endpoint": f"{self._base_url()}/common/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        }

    # ------------------------------------------------------------------ token endpoint
    def token(self, tenant: str, headers: dict, raw: bytes) -> dict:
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True).items()}
        if form.get("grant_type") != "client_credentials":
            raise EntraError(400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type '{form.get('grant_type')}'.")
        if tenant.lower() not in self.tenants:
            raise EntraError(400, "invalid_request", 90002, self._tenant_missing(tenant))
        client_id = form.get("client_id", "")
        principal = self.principals.get(client_id.lower())
        if principal is None or principal.tenant_id.lower() != tenant.lower():
            raise EntraError(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if "
                "the application has not been installed by the administrator of the tenant or consented to by any user "
                "in the tenant. You may have sent your authentication request to the wrong tenant.",
            )
        resource = self._resource(form.get("scope", ""), tenant)
        if "client_secret" in form:
            if form["client_secret"] not in principal.secrets:
                raise EntraError(
                    401,
                    "invalid_client",
                    7000215,
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                    f"value, not the client secret ID, for a secret added to app '{client_id}'.",
                )
        elif form.get("client_assertion_type") == ASSERTION_TYPE and form.get("client_assertion"):
            self._check_assertion(principal, form["client_assertion"], tenant)
        else:
            raise EntraError(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            )
        return {
            "token_type": "Bearer",
            "expires_in": self._announced(),
            "ext_expires_in": self._announced(),
            "access_token": self.issue(principal, resource),
        }

    def _announced(self) -> int:
        return self.announced_lifetime if self.announced_lifetime is not None else self.token_lifetime

    def _resource(self, scope: str, tenant: str) -> str:
        scopes = [s for s in scope.split() if s not in ("openid", "profile", "offline_access")]
        defaults = [s for s in scopes if s.endswith("/.default")]
        if len(scopes) != 1 or not defaults:
            raise EntraError(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows must have a scope value "
                "with /.default suffixed to the resource identifier (application ID URI).",
            )
        resource = defaults[0][: -len("/.default")]
        if not self._is_arm_resource(resource):
            raise EntraError(
                400,
                "invalid_resource",
                500011,
                f"The resource principal named {resource} was not found in the tenant named {tenant}. This can happen "
                "if the application has not been installed by the administrator of the tenant or consented to by any "
                "user in the tenant. You might have sent your authentication request to the wrong tenant.",
            )
        return resource

    def _check_assertion(self, principal: Principal, assertion: str, tenant: str) -> None:
        try:
            header, claims, signing_input, signature = jwt_tools.decode_unverified(assertion)
        except jwt_tools.JwtError as exc:
            raise EntraError(400, "invalid_request", 50027, f"JWT token is invalid or malformed: {exc}.") from None
        now = time.time()
        if "x5t" in header or "x5t#S256" in header:
            cert = principal.certificate_for(header)
            thumb = header.get("x5t#S256") or header.get("x5t")
            if cert is None:
                raise EntraError(
                    401,
                    "invalid_client",
                    700027,
                    "The certificate with identifier used to sign the client assertion is not registered on "
                    f"application. [Reason - The key was not found., Thumbprint of key used by client: '{thumb}']",
                )
            try:
                jwt_tools.verify_signature(header, signing_input, signature, cert.public_key())
            except jwt_tools.JwtError:
                raise EntraError(401, "invalid_client", 700027, "Client assertion contains an invalid signature.") from None
            if claims.get("iss") != principal.client_id or claims.get("sub") != principal.client_id:
                raise EntraError(
                    401,
                    "invalid_client",
                    700021,
                    "Client assertion application identifier doesn't match 'client_id' parameter.",
                )
            if not str(claims.get("aud", "")).startswith(self._base_url()):
                raise EntraError(401, "invalid_client", 50027, "Invalid JWT token. The audience of the client assertion is not this token endpoint.")
            if float(claims.get("exp", 0)) < now - 300 or float(claims.get("nbf", 0)) > now + 300:
                raise EntraError(401, "invalid_client", 700024, "Client assertion is not within its valid time range.")
            return
        # A federated token: its issuer/subject/audience must match a federated credential of the app.
        issuer, subject, audience = claims.get("iss"), claims.get("sub"), claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        for fed in principal.federated:
            if fed.issuer == issuer and fed.subject == subject and any(a in fed.audiences for a in audiences):
                key = fed.public_key or self.issuer_key.public_key()
                try:
                    jwt_tools.verify_signature(header, signing_input, signature, key)
                except jwt_tools.JwtError:
                    raise EntraError(401, "invalid_client", 700027, "Client assertion contains an invalid signature.") from None
                if float(claims.get("exp", 0)) < now:
                    raise EntraError(400, "invalid_client", 700024, "Client assertion is not within its valid time range.")
                return
        raise EntraError(
            400,
            "invalid_request",
            70021,
            f"No matching federated identity record found for presented assertion. Assertion Issuer: '{issuer}'. "
            f"Assertion Subject: '{subject}'. Assertion Audience: '{audience}'.",
        )

    # ------------------------------------------------------------------ managed identity
    def managed_identity_token(self, headers: dict, query: dict) -> Response:
        """App Service managed identity protocol (api-version 2019-08-01)."""
        def refuse(status: int, message: str) -> Response:
            return Response(status, {"statusCode": status, "message": message, "correlationId": str(uuid.uuid4())})

        if headers.get("x-identity-header") != self.identity_header:
            return refuse(401, "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.")
        resource = query.get("resource", "")
        if not self._is_arm_resource(resource):
            return refuse(400, f"The resource '{resource}' is not a resource this identity can get tokens for.")
        if any(query.get(k) for k in ("object_id", "mi_res_id", "principal_id")) and not query.get("client_id"):
            return refuse(400, "Only client_id selects a user-assigned identity in the stand-in.")
        if query.get("client_id"):
            principal = self.managed_identities.get(query["client_id"].lower())
            if principal is None:
                return refuse(400, "No managed identity found for specified ClientId/ResourceId/PrincipalId.")
        else:
            principal = self.system_identity
            if principal is None:
                return refuse(400, "No system-assigned managed identity is enabled.")
        return Response(200, {
            "access_token": self.issue(principal, resource),
            "expires_on": str(int(time.time()) + self._announced()),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": principal.client_id,
        })

    # ------------------------------------------------------------------ access tokens
    def issue(self, principal: Principal, resource: str) -> str:
        now = int(time.time())
        claims = {
            "aud": resource,
            "iss": f"{self._base_url()}/{principal.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + self.token_lifetime,
            "appid": principal.client_id,
            "azp": principal.client_id,
            "oid": principal.object_id,
            "sub": principal.object_id,
            "tid": principal.tenant_id,
            "idtyp": "app",
            "ver": "1.0",
        }
        return jwt_tools.encode(claims, self.key, {"kid": self.kid, "x5t": self.kid})

    def validate(self, authorization: str | None) -> dict:
        """Claims of a valid ARM bearer token, or the 401 ARM answers."""
        challenge = f'Bearer authorization_uri="{self._base_url()}/", error="invalid_token"'
        if not authorization:
            raise ArmError(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
                headers={"WWW-Authenticate": f'{challenge}, error_description="The authentication failed because of missing \'Authorization\' header."'},
            )
        scheme, token = (authorization.split(" ", 1) + [""])[:2]
        if scheme.lower() != "bearer" or not token:
            raise ArmError(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                headers={"WWW-Authenticate": challenge},
            )
        try:
            header, claims, signing_input, signature = jwt_tools.decode_unverified(token.strip())
            jwt_tools.verify_signature(header, signing_input, signature, self.key.public_key())
        except jwt_tools.JwtError:
            raise ArmError(
                401,
                "InvalidAuthenticationToken",
                "The access token is invalid.",
                headers={"WWW-Authenticate": f'{challenge}, error_description="The access token is invalid."'},
            ) from None
        if float(claims.get("exp", 0)) < time.time():
            raise ArmError(
                401,
                "ExpiredAuthenticationToken",
                "The access token expiry UTC time is earlier than current UTC time.",
                headers={"WWW-Authenticate": f'{challenge}, error_description="The access token has expired."'},
            )
        if not self._is_arm_resource(str(claims.get("aud", ""))):
            raise ArmError(
                401,
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for wrong audience or resource '{claims.get('aud')}'. It should "
                f"exactly match with one of the allowed audiences {', '.join(repr(a) for a in self.resource_identifiers())}.",
                headers={"WWW-Authenticate": f'{challenge}, error_description="The access token has been obtained for wrong audience."'},
            )
        return claims


def _norm(resource: str) -> str:
    return resource.rstrip("/").lower()
