# -*- coding: utf-8 -*-
# Copyright: (c) 2026, calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Azure clouds: a name or a metadata URL -> the endpoints a module talks to.

FOR INTERNAL COLLECTION USE ONLY: this module util is private to calico.azure
and may change without notice.

``cloud_environment`` is one of the well-known clouds (``AzureCloud``,
``AzureChinaCloud``, ``AzureUSGovernment`` and the ``AzurePublicCloud`` /
``AzureUSGovernmentCloud`` spellings that azure.json and AWX use), or the URL
of an ARM metadata endpoint (``https://<arm>/metadata/endpoints?api-version=...``,
the discovery Azure Stack Hub and the local stand-in serve). From that come
the ARM endpoint, the Entra ID authority and the token audience.

No SDK import: the metadata document is fetched with Ansible's open_url,
honouring the CA bundle / validate_certs settings.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Mapping, Optional
from urllib.parse import urlsplit

from ansible_collections.calico.azure.plugins.module_utils._azure.errors import (
    AzureConfigError,
    AzureError,
    is_tls_failure,
    transport_error,
)

# Answers of the metadata endpoint that say "try again", as for every ARM request.
TRANSIENT_STATUSES = (408, 429, 500, 502, 503, 504)
METADATA_RETRIES = 4
METADATA_BACKOFF_MAX = 8.0

# Authorities where Entra ID's instance discovery works; for any other
# authority (a stand-in, Azure Stack) MSAL must not try to reach
# login.microsoftonline.com to "discover" it.
KNOWN_AUTHORITY_HOSTS = frozenset(("login.microsoftonline.com", "login.chinacloudapi.cn", "login.microsoftonline.us"))


class CloudEndpoints(object):
    """Where ARM and Entra ID live for one cloud, and which audience tokens need."""

    __slots__ = ("name", "resource_manager", "authority_host", "audience")

    def __init__(self, name: str, resource_manager: str, authority_host: str, audience: str) -> None:
        self.name = name
        self.resource_manager = _with_slash(resource_manager)
        self.authority_host = _with_slash(authority_host)
        self.audience = audience

    @property
    def scope(self) -> str:
        """OAuth2 scope for ARM tokens (``<audience>/.default``)."""
        return _with_slash(self.audience) + ".default"

    @property
    def disable_instance_discovery(self) -> bool:
        host = (urlsplit(self.authority_host).hostname or "").lower()
        return host not in KNOWN_AUTHORITY_HOSTS

    def with_authority(self, authority_host: Optional[str]) -> "CloudEndpoints":
        """A copy using another Entra ID authority (AZURE_AUTHORITY_HOST)."""
        if not authority_host:
            return self
        if "://" not in authority_host:
            authority_host = "https://" + authority_host
        return CloudEndpoints(self.name, self.resource_manager, authority_host, self.audience)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CloudEndpoints):
            return NotImplemented
        return all(getattr(self, a) == getattr(other, a) for a in self.__slots__)

    def __repr__(self) -> str:
        return "CloudEndpoints(name=%r, resource_manager=%r, authority_host=%r, audience=%r)" % (
            self.name,
            self.resource_manager,
            self.authority_host,
            self.audience,
        )


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


AZURE_PUBLIC = CloudEndpoints(
    "AzureCloud",
    "https://management.azure.com/",
    "https://login.microsoftonline.com/",
    # azure-mgmt-* clients ask for https://management.azure.com/.default; Entra
    # accepts it as ARM's audience in the public cloud.
    "https://management.azure.com/",
)
AZURE_CHINA = CloudEndpoints(
    "AzureChinaCloud",
    "https://management.chinacloudapi.cn/",
    "https://login.chinacloudapi.cn/",
    "https://management.chinacloudapi.cn/",
)
AZURE_US_GOVERNMENT = CloudEndpoints(
    "AzureUSGovernment",
    "https://management.usgovcloudapi.net/",
    "https://login.microsoftonline.us/",
    "https://management.usgovcloudapi.net/",
)

# Lower-cased names, including the spellings azure.json (cloud-provider-azure)
# and AWX/AAP use.
KNOWN_CLOUDS = {
    "azurecloud": AZURE_PUBLIC,
    "azurepubliccloud": AZURE_PUBLIC,
    "public": AZURE_PUBLIC,
    "azurechinacloud": AZURE_CHINA,
    "azureusgovernment": AZURE_US_GOVERNMENT,
    "azureusgovernmentcloud": AZURE_US_GOVERNMENT,
}


def is_metadata_url(value: str) -> bool:
    return value.lower().startswith(("https://", "http://"))


def endpoints_from_metadata(url: str, document: Any) -> CloudEndpoints:
    """Read ARM's metadata document.

    Two shapes exist: the Azure Stack / 2015-01-01 object
    (``{"authentication": {"loginEndpoint", "audiences"}, ...}``, ARM being the
    host that served it) and the 2019-05-01+ list of clouds
    (``[{"name", "resourceManager", "authentication": {...}}, ...]``).
    """
    cloud: Any = document
    if isinstance(document, list):
        if not document:
            raise AzureConfigError("The cloud metadata at %s lists no cloud." % url)
        origin = _origin(url)
        cloud = document[0]
        # Prefer the entry for the ARM endpoint we asked.
        for entry in document:
            if isinstance(entry, Mapping) and _with_slash(str(entry.get("resourceManager", ""))).lower() == origin:
                cloud = entry
                break
    if not isinstance(cloud, Mapping):
        raise AzureConfigError("The cloud metadata at %s is not an ARM metadata document." % url)
    auth = cloud.get("authentication")
    if not isinstance(auth, Mapping) or not auth.get("loginEndpoint"):
        raise AzureConfigError(
            "The cloud metadata at %s has no authentication.loginEndpoint; is it an ARM metadata endpoint "
            "(https://<arm>/metadata/endpoints?api-version=...)?" % url
        )
    audiences = auth.get("audiences") or []
    if not isinstance(audiences, list) or not audiences:
        raise AzureConfigError("The cloud metadata at %s has no authentication.audiences." % url)
    resource_manager = cloud.get("resourceManager") or _origin(url)
    name = cloud.get("name") or urlsplit(url).netloc
    return CloudEndpoints(str(name), str(resource_manager), str(auth["loginEndpoint"]), str(audiences[0]))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return ("%s://%s/" % (parts.scheme, parts.netloc)).lower()


def _retry_wait(err: Any, attempt: int) -> float:
    """Seconds before the next metadata request: the server's Retry-After, else a capped backoff."""
    headers = getattr(err, "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    try:
        if value is not None:
            return min(max(0.0, float(value)), 60.0)
    except ValueError:
        pass
    return min(METADATA_BACKOFF_MAX, 0.5 * (2 ** attempt))


def fetch_json(
    url: str,
    *,
    ca_bundle: Optional[str] = None,
    validate_certs: bool = True,
    timeout: float = 30,
    retries: int = METADATA_RETRIES,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """GET a JSON document with the same trust settings as the ARM pipeline.

    Transient answers (408, 429, 5xx) and broken connections are retried
    ``retries`` times, like every ARM request; a TLS verification failure is not.
    """
    # Loaded only when a metadata URL is used.
    from urllib.error import HTTPError, URLError

    from ansible.module_utils.urls import open_url

    attempt = 0
    while True:
        try:
            response = open_url(
                url,
                headers={"Accept": "application/json"},
                timeout=timeout,
                validate_certs=validate_certs,
                ca_path=ca_bundle if validate_certs else None,
                follow_redirects="safe",
            )
            try:
                payload = response.read()
            finally:
                response.close()
            break
        except HTTPError as err:
            if err.code in TRANSIENT_STATUSES and attempt < retries:
                sleep(_retry_wait(err, attempt))
                attempt += 1
                continue
            if err.code in TRANSIENT_STATUSES:
                raise AzureError(
                    "Could not read the cloud metadata at %s: HTTP %s %s after %d retries. The endpoint is "
                    "unavailable; run again later." % (url, err.code, err.reason, attempt),
                    status=err.code,
                )
            raise AzureError(
                "Could not read the cloud metadata at %s: HTTP %s %s. Check cloud_environment." % (url, err.code, err.reason),
                status=err.code,
            )
        except (URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            cause = reason if isinstance(reason, BaseException) else err
            # A broken connection is retried twice at most: a wrong host should fail fast.
            if attempt < min(retries, 2) and not is_tls_failure(cause):
                sleep(_retry_wait(None, attempt))
                attempt += 1
                continue
            raise transport_error(
                cause,
                url=url,
                ca_bundle=ca_bundle,
                validate_certs=validate_certs,
            )
    try:
        return json.loads(payload.decode("utf-8"))
    except ValueError:
        raise AzureConfigError("The cloud metadata at %s is not JSON. Check cloud_environment." % url)


def resolve_cloud(
    cloud_environment: Optional[str],
    *,
    ca_bundle: Optional[str] = None,
    validate_certs: bool = True,
    fetch: Optional[Callable[..., Any]] = None,
) -> CloudEndpoints:
    """``AzureCloud`` (default), another known name, or a metadata URL -> endpoints."""
    value = (cloud_environment or "AzureCloud").strip()
    if is_metadata_url(value):
        getter = fetch or fetch_json
        document = getter(value, ca_bundle=ca_bundle, validate_certs=validate_certs)
        return endpoints_from_metadata(value, document)
    try:
        return KNOWN_CLOUDS[value.lower()]
    except KeyError:
        raise AzureConfigError(
            "Unknown cloud_environment %r: use AzureCloud, AzureChinaCloud, AzureUSGovernment (or AzurePublicCloud, "
            "AzureUSGovernmentCloud), or the URL of an ARM metadata endpoint "
            "(https://<arm>/metadata/endpoints?api-version=2022-09-01)." % value
        )
