# -*- coding: utf-8 -*-
# Copyright: (c) 2026, calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Azure credentials from azure-identity, chosen by ``auth_source``.

FOR INTERNAL COLLECTION USE ONLY: this module util is private to calico.azure
and may change without notice.

Two steps, so the decision is testable without the SDK:

1. :func:`resolve_auth_settings` (pure) merges module options, environment
   variables and a ``~/.azure/credentials`` profile into :class:`AuthSettings`,
   deciding which kind of credential to build;
2. :func:`build_credential` imports azure-identity (lazily) and constructs it.

Precedence, per value: module option, then environment variable (the
azure-identity name first, then the AWX/AAP name), then the profile of the
credentials file. The file is only read for ``auth_source=credential_file``,
or for ``auth_source=auto`` when neither options nor environment name a
client id; the identity (client id, tenant, secret...) then comes from the
file alone, while subscription_id and cloud_environment set in the
environment still win over the file.

``auth_source=auto`` then picks the first complete set: client secret,
certificate, federated token file (workload identity); failing those a
profile of the credentials file; failing that the Azure CLI's login, then
managed identity (``msi_client_id`` selects a user-assigned identity).
"""

from __future__ import annotations

import configparser
import os
import traceback
from typing import Any, Dict, Mapping, Optional, Tuple

from ansible_collections.calico.azure.plugins.module_utils._azure.errors import (
    AzureConfigError,
    AzureSdkMissing,
    pip_name_for_import_error,
)

AUTH_SOURCES = (
    "auto",
    "env",
    "cli",
    "msi",
    "credential_file",
    "service_principal",
    "certificate",
    "workload_identity",
)

# Environment variables per setting, in precedence order: azure-identity's
# names first, then what an AWX/AAP "Microsoft Azure Resource Manager"
# credential injects.
ENV_VARS: Dict[str, Tuple[str, ...]] = {
    "client_id": ("AZURE_CLIENT_ID",),
    "secret": ("AZURE_CLIENT_SECRET", "AZURE_SECRET"),
    "tenant": ("AZURE_TENANT_ID", "AZURE_TENANT"),
    "subscription_id": ("AZURE_SUBSCRIPTION_ID",),
    "certificate_path": ("AZURE_CLIENT_CERTIFICATE_PATH",),
    "certificate_password": ("AZURE_CLIENT_CERTIFICATE_PASSWORD",),
    "federated_token_file": ("AZURE_FEDERATED_TOKEN_FILE",),
    "cloud_environment": ("AZURE_CLOUD_ENVIRONMENT",),
    "authority_host": ("AZURE_AUTHORITY_HOST",),
}
AUTH_SOURCE_ENV = "ANSIBLE_AZURE_AUTH_SOURCE"
PROFILE_ENV = "AZURE_PROFILE"
CA_BUNDLE_ENV = "REQUESTS_CA_BUNDLE"
DEFAULT_CREDENTIALS_FILE = "~/.azure/credentials"

# Keys of a ~/.azure/credentials profile (the format azure.azcollection
# reads), mapped to settings.
FILE_KEYS = {
    "client_id": "client_id",
    "secret": "secret",
    "tenant": "tenant",
    "subscription_id": "subscription_id",
    "cloud_environment": "cloud_environment",
    "certificate_path": "certificate_path",
    "x509_certificate_path": "certificate_path",
    "certificate_password": "certificate_password",
    "federated_token_file": "federated_token_file",
    "msi_client_id": "msi_client_id",
}
SETTING_NAMES = (
    "client_id",
    "secret",
    "tenant",
    "subscription_id",
    "certificate_path",
    "certificate_password",
    "federated_token_file",
    "msi_client_id",
    "cloud_environment",
    "authority_host",
)

# settings that identify who signs in (never mixed between sources)
IDENTITY_SETTINGS = (
    "client_id",
    "secret",
    "tenant",
    "certificate_path",
    "certificate_password",
    "federated_token_file",
    "msi_client_id",
)
# kind of credential -> settings it needs
REQUIRED = {
    "secret": ("client_id", "secret", "tenant"),
    "certificate": ("client_id", "certificate_path", "tenant"),
    "workload_identity": ("client_id", "federated_token_file", "tenant"),
    "msi": (),
    "cli": (),
    "cli_or_msi": (),
}
# auth_source values that force one kind
FORCED_KIND = {
    "service_principal": "secret",
    "certificate": "certificate",
    "workload_identity": "workload_identity",
    "msi": "msi",
    "cli": "cli",
}
# where a user sets each setting, for error messages
OPTION_HELP = {
    "client_id": "option client_id or env AZURE_CLIENT_ID",
    "secret": "option secret or env AZURE_CLIENT_SECRET / AZURE_SECRET",
    "tenant": "option tenant or env AZURE_TENANT_ID / AZURE_TENANT",
    "subscription_id": "option subscription_id or env AZURE_SUBSCRIPTION_ID",
    "certificate_path": "option certificate_path or env AZURE_CLIENT_CERTIFICATE_PATH",
    "federated_token_file": "option federated_token_file or env AZURE_FEDERATED_TOKEN_FILE",
}


class AuthSettings(object):
    """Everything needed to build a credential, and where each value came from."""

    def __init__(self, auth_source: str, kind: str, values: Dict[str, Optional[str]], origins: Dict[str, str]):
        self.auth_source = auth_source
        self.kind = kind
        self.values = values
        self.origins = origins

    def __getattr__(self, name: str) -> Optional[str]:
        values = self.__dict__.get("values", {})
        if name in SETTING_NAMES:
            return values.get(name)
        raise AttributeError(name)

    def describe(self) -> str:
        """Who we authenticate as, for messages (never includes secrets)."""
        if self.kind in ("secret", "certificate", "workload_identity"):
            return "client id '%s' (%s)" % (self.client_id, self.kind.replace("_", " "))
        if self.kind == "msi":
            return "managed identity" + (" '%s'" % self.msi_client_id if self.msi_client_id else "")
        return "the Azure CLI login" if self.kind == "cli" else "the Azure CLI login or managed identity"


def _first_env(env: Mapping[str, str], names: Tuple[str, ...]) -> Tuple[Optional[str], Optional[str]]:
    for name in names:
        value = env.get(name)
        if value:
            return value, name
    return None, None


def read_credentials_profile(path: str, profile: str) -> Dict[str, str]:
    """One section of an INI credentials file, as settings; AzureConfigError if absent."""
    parser = configparser.ConfigParser()
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except OSError as err:
        raise AzureConfigError("Cannot read the Azure credentials file %s: %s" % (path, err.strerror or err))
    except configparser.Error as err:
        raise AzureConfigError("The Azure credentials file %s is not valid INI: %s" % (path, err))
    if not parser.has_section(profile):
        raise AzureConfigError(
            "Profile [%s] not found in %s (profiles there: %s)."
            % (profile, path, ", ".join(parser.sections()) or "none")
        )
    section = parser[profile]
    if section.get("ad_user"):
        raise AzureConfigError(
            "Profile [%s] of %s uses ad_user/password, which calico.azure does not support (Entra ID blocks "
            "password sign-in with MFA). Use a service principal, a certificate or managed identity." % (profile, path)
        )
    result: Dict[str, str] = {}
    for key, value in section.items():
        setting = FILE_KEYS.get(key.lower())
        if setting and value.strip():
            result[setting] = value.strip()
    return result


def _kind_from_values(values: Mapping[str, Optional[str]]) -> Optional[str]:
    for kind in ("secret", "certificate", "workload_identity"):
        secret_like = REQUIRED[kind][1]
        if values.get(secret_like):
            return kind
    return None


def resolve_auth_settings(
    params: Mapping[str, Any],
    env: Optional[Mapping[str, str]] = None,
    *,
    credentials_file: Optional[str] = None,
) -> AuthSettings:
    """Decide which credential to build and with what (pure; reads at most the credentials file).

    ``params`` are the module's options (None = not set); ``env`` defaults to os.environ.
    """
    env = os.environ if env is None else env
    auth_source = params.get("auth_source") or env.get(AUTH_SOURCE_ENV) or "auto"
    if auth_source not in AUTH_SOURCES:
        raise AzureConfigError("auth_source must be one of %s, not %r." % (", ".join(AUTH_SOURCES), auth_source))
    profile = params.get("profile") or env.get(PROFILE_ENV)
    path = os.path.expanduser(credentials_file or DEFAULT_CREDENTIALS_FILE)

    values: Dict[str, Optional[str]] = {}
    origins: Dict[str, str] = {}
    for name in SETTING_NAMES:
        value = params.get(name)
        if value not in (None, ""):
            values[name] = str(value)
            origins[name] = "option %s" % name
    if auth_source != "credential_file":
        for name, env_names in ENV_VARS.items():
            if name not in values:
                value, env_name = _first_env(env, env_names)
                if value:
                    values[name] = value
                    origins[name] = "env %s" % env_name

    if auth_source == "credential_file":
        use_file = True
    elif auth_source == "auto" and not values.get("client_id"):
        use_file = bool(profile) or os.path.isfile(path)
    else:
        use_file = False
    if use_file:
        section = profile or "default"
        # The identity comes whole from the file: no tenant or secret left
        # over in the environment is paired with the file's client id.
        for name in IDENTITY_SETTINGS:
            if origins.get(name, "").startswith("env "):
                del values[name], origins[name]
        for name, value in read_credentials_profile(path, section).items():
            if name not in values:
                values[name] = value
                origins[name] = "profile [%s] of %s" % (section, path)

    if auth_source in FORCED_KIND:
        kind = FORCED_KIND[auth_source]
    else:
        kind = _kind_from_values(values)
        if kind is None:
            if auth_source == "env":
                raise AzureConfigError(
                    "auth_source=env, but the environment holds no complete credential: set AZURE_CLIENT_ID and "
                    "AZURE_TENANT_ID (or AZURE_TENANT) with AZURE_CLIENT_SECRET (or AZURE_SECRET), "
                    "AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE."
                )
            if auth_source == "credential_file":
                raise AzureConfigError(
                    "Profile [%s] of %s holds no client_id with secret, certificate_path or federated_token_file."
                    % (profile or "default", path)
                )
            if values.get("client_id"):
                raise AzureConfigError(
                    "client_id is set (%s) but neither secret, certificate_path nor federated_token_file is. Set one "
                    "of them, or use auth_source=msi with msi_client_id for a user-assigned managed identity."
                    % origins["client_id"]
                )
            kind = "msi" if values.get("msi_client_id") else "cli_or_msi"

    missing = [name for name in REQUIRED[kind] if not values.get(name)]
    if missing:
        raise AzureConfigError(
            "auth_source=%s needs %s; missing: %s."
            % (auth_source, ", ".join(REQUIRED[kind]), "; ".join(OPTION_HELP.get(m, m) for m in missing))
        )
    return AuthSettings(auth_source, kind, values, origins)


def _import_identity():
    try:
        from azure import identity
    except ImportError as err:
        raise AzureSdkMissing(pip_name_for_import_error(err), traceback.format_exc())
    return identity


def credential_kwargs(endpoints, connection_verify: Any) -> Dict[str, Any]:
    """Keyword arguments every Entra ID credential gets: authority and TLS trust.

    With an authority other than Microsoft's (a stand-in, Azure Stack), MSAL's
    instance discovery would call login.microsoftonline.com; it is disabled.
    """
    kwargs: Dict[str, Any] = {"authority": endpoints.authority_host, "connection_verify": connection_verify}
    if endpoints.disable_instance_discovery:
        kwargs["disable_instance_discovery"] = True
    return kwargs


def build_credential(settings: AuthSettings, endpoints, *, connection_verify: Any = True):
    """Construct the azure-identity credential ``settings`` describe (imports the SDK)."""
    identity = _import_identity()
    common = credential_kwargs(endpoints, connection_verify)
    kind = settings.kind
    if kind == "secret":
        return identity.ClientSecretCredential(settings.tenant, settings.client_id, settings.secret, **common)
    if kind == "certificate":
        if not os.path.isfile(settings.certificate_path or ""):
            raise AzureConfigError(
                "certificate_path %s (%s) is not a readable file."
                % (settings.certificate_path, settings.origins.get("certificate_path"))
            )
        password = settings.certificate_password
        try:
            return identity.CertificateCredential(
                settings.tenant,
                settings.client_id,
                certificate_path=settings.certificate_path,
                password=password.encode("utf-8") if password else None,
                **common,
            )
        except ValueError as err:
            # Raised while loading the key: wrong or missing password, not PEM/PKCS12, no private key.
            raise AzureConfigError(
                "Could not load the certificate and private key from %s (%s): %s. Check the file and "
                "certificate_password."
                % (settings.certificate_path, settings.origins.get("certificate_path"), str(err).rstrip("."))
            )
    if kind == "workload_identity":
        if not os.path.isfile(settings.federated_token_file or ""):
            raise AzureConfigError(
                "federated_token_file %s (%s) is not a readable file."
                % (settings.federated_token_file, settings.origins.get("federated_token_file"))
            )
        # The assertion path (AadClient) has no instance discovery to disable.
        common.pop("disable_instance_discovery", None)
        return identity.WorkloadIdentityCredential(
            tenant_id=settings.tenant,
            client_id=settings.client_id,
            token_file_path=settings.federated_token_file,
            **common,
        )
    if kind == "msi":
        return identity.ManagedIdentityCredential(client_id=settings.msi_client_id)
    if kind == "cli":
        return identity.AzureCliCredential(tenant_id=settings.tenant)
    # auto with nothing configured: the user's `az login`, else the VM's identity.
    return identity.ChainedTokenCredential(
        identity.AzureCliCredential(tenant_id=settings.tenant),
        identity.ManagedIdentityCredential(client_id=settings.msi_client_id),
    )


def default_ca_bundle(params: Mapping[str, Any], env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """ca_bundle option, else REQUESTS_CA_BUNDLE (what requests itself would use)."""
    env = os.environ if env is None else env
    return params.get("ca_bundle") or env.get(CA_BUNDLE_ENV) or None


def connection_verify(ca_bundle: Optional[str], validate_certs: bool) -> Any:
    """azure-core's ``connection_verify``: False, a CA file path, or True (system store)."""
    if not validate_certs:
        return False
    if ca_bundle:
        if not os.path.isfile(ca_bundle):
            raise AzureConfigError("ca_bundle %s is not a readable file." % ca_bundle)
        return ca_bundle
    return True
