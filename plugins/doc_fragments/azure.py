# -*- coding: utf-8 -*-
# Copyright: (c) 2026, calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # Shared authentication, cloud and connection options of every Azure
    # module (plugins/module_utils/_azure/module.py AZURE_COMMON_ARGSPEC).
    DOCUMENTATION = r"""
options:
  auth_source:
    description:
      - Where the credentials come from.
      - V(auto) uses the first complete credential among the options and environment variables (client secret, then
        certificate, then federated token file), then a profile of the credentials file
        C(~/.azure/credentials), then the Azure CLI login, then managed identity.
      - V(env) uses only options and environment variables; V(credential_file) only the profile O(profile) of
        C(~/.azure/credentials) (options still override single values).
      - V(service_principal) needs O(client_id), O(secret) and O(tenant); V(certificate) needs O(client_id),
        O(certificate_path) and O(tenant); V(workload_identity) needs O(client_id), O(federated_token_file) and
        O(tenant) (as set by AKS workload identity).
      - V(msi) uses the managed identity of the Azure VM the module runs on (O(msi_client_id) selects a
        user-assigned one); V(cli) uses the login of the Azure CLI (C(az login)).
      - "Precedence of each value: the module option, then the environment variable (the azure-identity name,
        then the AWX/AAP name, as listed for each option), then the credentials file profile. The file is read only
        for V(credential_file), or for V(auto) when neither options nor environment set a client ID; the identity
        (client ID, tenant, secret, certificate) then comes from the file alone."
      - If not set, the environment variable E(ANSIBLE_AZURE_AUTH_SOURCE) is used, else V(auto).
    type: str
    choices: [auto, env, cli, msi, credential_file, service_principal, certificate, workload_identity]
  profile:
    description:
      - Section of the INI credentials file C(~/.azure/credentials) to read with O(auth_source=credential_file)
        (or O(auth_source=auto)). Keys read there are C(client_id), C(secret), C(tenant), C(subscription_id),
        C(cloud_environment), C(certificate_path), C(certificate_password), C(federated_token_file) and
        C(msi_client_id).
      - If not set, the environment variable E(AZURE_PROFILE) is used, else C(default).
    type: str
  subscription_id:
    description:
      - ID of the Azure subscription the resources live in.
      - If not set, E(AZURE_SUBSCRIPTION_ID) is used, then the credentials file profile, then (for the Azure CLI
        login) the CLI's current subscription.
    type: str
  tenant:
    description:
      - Entra ID (Azure AD) tenant ID of the service principal.
      - If not set, E(AZURE_TENANT_ID) is used, then E(AZURE_TENANT) (AWX/AAP).
    type: str
  client_id:
    description:
      - Application (client) ID of the service principal or workload identity.
      - If not set, E(AZURE_CLIENT_ID) is used.
    type: str
  secret:
    description:
      - Client secret of the service principal.
      - If not set, E(AZURE_CLIENT_SECRET) is used, then E(AZURE_SECRET) (AWX/AAP).
    type: str
  certificate_path:
    description:
      - Path of a PEM or PKCS12 file with the service principal's certificate and private key.
      - If not set, E(AZURE_CLIENT_CERTIFICATE_PATH) is used.
    type: path
  certificate_password:
    description:
      - Password of the private key in O(certificate_path), if it is encrypted.
      - If not set, E(AZURE_CLIENT_CERTIFICATE_PASSWORD) is used.
    type: str
  federated_token_file:
    description:
      - File holding a federated identity token (workload identity, for example on AKS) that is exchanged for an
        Entra ID token.
      - If not set, E(AZURE_FEDERATED_TOKEN_FILE) is used.
    type: path
  msi_client_id:
    description:
      - Client ID of a user-assigned managed identity, for O(auth_source=msi). Without it the VM's system-assigned
        identity is used.
    type: str
  cloud_environment:
    description:
      - The Azure cloud. V(AzureCloud) (also spelled V(AzurePublicCloud)), V(AzureChinaCloud) or
        V(AzureUSGovernment) (also V(AzureUSGovernmentCloud)).
      - Or the URL of an ARM metadata endpoint, for example
        C(https://management.local.azurestack.external/metadata/endpoints?api-version=2015-01-01) for Azure Stack
        Hub; the ARM endpoint, the Entra ID authority and the token audience are read from it.
      - If not set, E(AZURE_CLOUD_ENVIRONMENT) is used, then the credentials file profile, else V(AzureCloud).
      - The environment variable E(AZURE_AUTHORITY_HOST) (azure-identity) overrides the Entra ID authority of the
        cloud.
    type: str
  ca_bundle:
    description:
      - PEM file of the certificate authorities to trust for Entra ID, ARM and the metadata endpoint, instead of
        the system trust store (for TLS-intercepting proxies, Azure Stack Hub, or a local stand-in).
      - If not set, E(REQUESTS_CA_BUNDLE) is used.
    type: path
  validate_certs:
    description:
      - Whether to verify TLS certificates. Only switch off for testing.
      - When V(false), the module warns, naming the endpoint whose certificate is not checked.
    type: bool
    default: true
  max_retries:
    description:
      - How many times a request is retried after a throttling answer (429, including
        C(RetryableErrorDueToAnotherOperation)), a server error (408, 500, 502, 503, 504) or a broken connection.
        Waits follow the server's C(Retry-After), otherwise an exponential backoff capped at 60 seconds.
      - Writes throttled with C(SubscriptionRequestsThrottled) are not bound by this count; see O(throttling_deadline).
    type: int
    default: 6
  throttling_deadline:
    description:
      - Seconds the module keeps waiting out write throttling of the subscription (429
        C(SubscriptionRequestsThrottled)) before it fails. Each throttled write is sent again after the
        C(Retry-After) Azure announced, without a retry count cap, until this many seconds after the module started.
      - While Azure throttles, or its C(x-ms-ratelimit-remaining-subscription-writes) header reports few writes left,
        the module sends fewer writes at once (down to one), and more again as the budget refills.
    type: int
    default: 900
    version_added: 0.2.0
requirements:
  - python >= 3.8
  - azure-identity >= 1.15.0
  - azure-mgmt-core >= 1.4.0
  - azure-core >= 1.29.0
notes:
  - "Credentials can be set once for every Azure module of the collection with
    C(module_defaults: {group/calico.azure.azure: {...}})."
  - An AWX/AAP "Microsoft Azure Resource Manager" credential injects E(AZURE_CLIENT_ID), E(AZURE_SECRET),
    E(AZURE_TENANT), E(AZURE_SUBSCRIPTION_ID) and E(AZURE_CLOUD_ENVIRONMENT); the modules read them as they are.
"""
