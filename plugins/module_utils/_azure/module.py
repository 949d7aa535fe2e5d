# -*- coding: utf-8 -*-
# Copyright: (c) 2026, calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""AzureModule: the AnsibleModule every Azure module of calico.azure uses.

FOR INTERNAL COLLECTION USE ONLY: this module util is private to calico.azure
and may change without notice.

Usage::

    from ansible_collections.calico.azure.plugins.module_utils._azure.module import AzureModule

    def main():
        module = AzureModule(
            argument_spec=AzureModule.argument_spec(name=dict(type="str", required=True)),
            supports_check_mode=True,
        )
        with module.azure_errors():          # any AzureError -> fail_json, no traceback
            table = module.arm.get_or_none(route_table_id(module.subscription_id, rg, name))
            ...
        module.exit_json(changed=..., ...)

The shared options are documented in the ``calico.azure.azure`` doc fragment.
``module.arm`` builds the ArmClient (credential, cloud endpoints, TLS trust)
on first use; it raises AzureError, so use it inside ``azure_errors()``.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.calico.azure.plugins.module_utils._azure.auth import (
    AUTH_SOURCE_ENV,
    AUTH_SOURCES,
    PROFILE_ENV,
    AuthSettings,
    build_credential,
    connection_verify,
    default_ca_bundle,
    resolve_auth_settings,
)
from ansible_collections.calico.azure.plugins.module_utils._azure.client import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_THROTTLING_DEADLINE,
    ArmClient,
)
from ansible_collections.calico.azure.plugins.module_utils._azure.cloud import (
    CloudEndpoints,
    is_metadata_url,
    resolve_cloud,
)
from ansible_collections.calico.azure.plugins.module_utils._azure.errors import (
    AzureConfigError,
    AzureError,
    AzureSdkMissing,
)

# Options shared by every Azure module (documented in doc_fragments/azure.py).
# Credentials and cloud settings are resolved from options, environment and
# the credentials file by _azure.auth.resolve_auth_settings, which knows both
# environment naming schemes and their precedence; env_fallback is used only
# for the two settings that choose where credentials come from.
AZURE_COMMON_ARGSPEC: Dict[str, Dict[str, Any]] = dict(
    auth_source=dict(type="str", choices=list(AUTH_SOURCES), fallback=(env_fallback, [AUTH_SOURCE_ENV])),
    profile=dict(type="str", fallback=(env_fallback, [PROFILE_ENV])),
    subscription_id=dict(type="str"),
    tenant=dict(type="str"),
    client_id=dict(type="str"),
    secret=dict(type="str", no_log=True),
    certificate_path=dict(type="path"),
    certificate_password=dict(type="str", no_log=True),
    federated_token_file=dict(type="path"),
    msi_client_id=dict(type="str"),
    cloud_environment=dict(type="str"),
    ca_bundle=dict(type="path"),
    validate_certs=dict(type="bool", default=True),
    max_retries=dict(type="int", default=DEFAULT_MAX_RETRIES),
    throttling_deadline=dict(type="int", default=DEFAULT_THROTTLING_DEADLINE),
)


def build_arm_client(
    settings: AuthSettings,
    endpoints: CloudEndpoints,
    subscription_id: str,
    *,
    ca_bundle: Optional[str],
    validate_certs: bool,
    max_retries: int = DEFAULT_MAX_RETRIES,
    **client_options: Any
) -> ArmClient:
    """Credential + ArmClient sharing one TLS trust setting (Entra ID and ARM alike).

    ``client_options``: further ArmClient keywords (timeouts, pool size, polling interval).
    """
    verify = connection_verify(ca_bundle, validate_certs)
    credential = build_credential(settings, endpoints, connection_verify=verify)
    return ArmClient(
        credential,
        subscription_id,
        endpoints,
        ca_bundle=ca_bundle,
        validate_certs=validate_certs,
        max_retries=max_retries,
        client_id=settings.client_id or settings.msi_client_id,
        tenant=settings.tenant,
        **client_options
    )


def insecure_tls_warning(endpoints: CloudEndpoints, cloud_environment: Optional[str]) -> str:
    """The warning for validate_certs=false, naming every endpoint whose certificate goes unchecked."""
    names = ["%s (Azure Resource Manager)" % endpoints.resource_manager, "%s (Entra ID)" % endpoints.authority_host]
    if cloud_environment and is_metadata_url(cloud_environment):
        names.append("%s (cloud metadata)" % cloud_environment)
    return (
        "validate_certs is false: TLS certificates of %s are not verified, so anyone on the network path can read "
        "the credentials and change Azure's answers. Set validate_certs: true (with ca_bundle for a private CA)."
        % ", ".join(names)
    )


class AzureModule(AnsibleModule):
    """AnsibleModule with the shared Azure options, a lazy ArmClient and AzureError handling."""

    @classmethod
    def argument_spec(cls, **module_specific: Any) -> Dict[str, Any]:
        """The shared Azure options merged with the module's own.

        (On an instance, ``module.argument_spec`` is AnsibleModule's dict as usual.)
        """
        spec = copy.deepcopy(AZURE_COMMON_ARGSPEC)
        overlap = set(spec) & set(module_specific)
        if overlap:
            raise ValueError("options %s are shared Azure options; do not redefine them" % ", ".join(sorted(overlap)))
        spec.update(module_specific)
        return spec

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super(AzureModule, self).__init__(*args, **kwargs)
        # azure-identity logs a WARNING for every failed token request; the
        # failure reaches the user as fail_json, so keep the SDK's loggers from
        # falling back to printing on stderr.
        logging.getLogger("azure").addHandler(logging.NullHandler())
        self._arm: Optional[ArmClient] = None
        self._arm_lock = threading.Lock()
        self._auth_settings: Optional[AuthSettings] = None
        self._endpoints: Optional[CloudEndpoints] = None

    # --- settings ---------------------------------------------------------------

    @property
    def auth_settings(self) -> AuthSettings:
        """Resolved credential settings (option > env > credentials file)."""
        if self._auth_settings is None:
            settings = resolve_auth_settings(self.params, os.environ)
            # Secrets read from the environment or a file are as secret as
            # the no_log options: keep them out of any output.
            for name in ("secret", "certificate_password"):
                value = settings.values.get(name)
                if value:
                    self.no_log_values.add(value)
            self._auth_settings = settings
        return self._auth_settings

    @property
    def ca_bundle(self) -> Optional[str]:
        return default_ca_bundle(self.params, os.environ)

    @property
    def endpoints(self) -> CloudEndpoints:
        """ARM endpoint, authority and audience of the configured cloud."""
        if self._endpoints is None:
            settings = self.auth_settings
            endpoints = resolve_cloud(
                settings.cloud_environment,
                ca_bundle=self.ca_bundle,
                validate_certs=self.params["validate_certs"],
            )
            self._endpoints = endpoints.with_authority(settings.authority_host)
            if not self.params["validate_certs"]:
                self.warn(insecure_tls_warning(self._endpoints, settings.cloud_environment))
        return self._endpoints

    @property
    def subscription_id(self) -> str:
        settings = self.auth_settings
        if settings.subscription_id:
            return settings.subscription_id
        if settings.kind in ("cli", "cli_or_msi"):
            from_cli = self._subscription_from_cli()
            if from_cli:
                settings.values["subscription_id"] = from_cli
                settings.origins["subscription_id"] = "az account show"
                return from_cli
        raise AzureConfigError(
            "subscription_id is required: set the subscription_id option or AZURE_SUBSCRIPTION_ID "
            "(or subscription_id in the credentials file profile)."
        )

    def _subscription_from_cli(self) -> Optional[str]:
        """The Azure CLI's current subscription (``az account show``), if az is installed and logged in."""
        az = self.get_bin_path("az")
        if not az:
            return None
        rc, out, _err = self.run_command([az, "account", "show", "--query", "id", "--output", "tsv"])
        value = out.strip() if rc == 0 else ""
        return value or None

    # --- the client ---------------------------------------------------------------

    @property
    def arm(self) -> ArmClient:
        """The ArmClient, built on first use (thread-safe). Raises AzureError."""
        if self._arm is None:
            with self._arm_lock:
                if self._arm is None:
                    self._arm = self._build_arm()
        return self._arm

    def _build_arm(self) -> ArmClient:
        return build_arm_client(
            self.auth_settings,
            self.endpoints,
            self.subscription_id,
            ca_bundle=self.ca_bundle,
            validate_certs=self.params["validate_certs"],
            max_retries=self.params["max_retries"],
            throttling_deadline=self.params["throttling_deadline"],
        )

    # --- failures -------------------------------------------------------------------

    def fail_azure(self, err: AzureError, **kwargs: Any) -> None:
        """fail_json with the error's message, plus ``status`` / ``code`` when known."""
        if isinstance(err, AzureSdkMissing):
            self.fail_json(
                msg="%s %s" % (missing_required_lib(err.library), "Install it with: %s" % err.pip_command),
                exception=err.import_traceback,
                **kwargs
            )
        result = err.fail_kwargs()
        result.update(kwargs)
        self.fail_json(**result)

    @contextmanager
    def azure_errors(self, **fail_kwargs: Any) -> Iterator[None]:
        """Turn any AzureError raised in the block into fail_json (extra keys: ``fail_kwargs``)."""
        try:
            yield
        except AzureError as err:
            self.fail_azure(err, **fail_kwargs)
