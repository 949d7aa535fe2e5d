# -*- coding: utf-8 -*-
# Copyright: (c) 2026, calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ArmClient: raw-JSON access to Azure Resource Manager.

FOR INTERNAL COLLECTION USE ONLY: this module util is private to calico.azure
and may change without notice.

Built on azure-mgmt-core's ``ARMPipelineClient`` (the pipeline the generated
azure-mgmt-* clients use) instead of the generated network client: a module
imports ~0.5 s faster, and a GET-modify-PUT of the JSON it read sends back
every property exactly as ARM returned it, including ones newer than any SDK
model.

- ``get`` / ``get_or_none`` / ``list`` (follows ``nextLink``);
- ``put`` with optional ``If-Match`` / ``If-None-Match``, waiting for the
  long-running operation (ARMPolling, which follows ``Retry-After``) and
  returning the final resource JSON including its new etag;
- ``delete`` (LRO; False when the resource was already absent);
- 429, 408, 5xx (``RetryableErrorDueToAnotherOperation`` is a 429) and
  connection failures are retried by azure-core's RetryPolicy with capped
  exponential backoff; a ``Retry-After`` header wins over the backoff;
- every SDK exception and ARM error response becomes an AzureError;
- one instance is safe to share between threads (a ThreadPoolExecutor).

The SDK is imported when the first client is built, not when this file is.
"""

from __future__ import annotations

import json
import threading
import traceback
from typing import Any, Dict, Iterator, List, Optional
from urllib.parse import quote

from ansible_collections.calico.azure.plugins.module_utils._azure_errors import (
    AzureError,
    AzureNotFound,
    AzureSdkMissing,
    error_from_response,
    map_azure_exception,
    pip_name_for_import_error,
)
from ansible_collections.calico.azure.plugins.module_utils._azure_ids import (
    parse_resource_id,
    resource_group_id,
)

# API versions, in one place, keyed by lower-cased resource type; a
# provider's entry covers its types not listed. Bump deliberately: the
# stand-in and the modules' JSON handling are tested against these.
API_VERSIONS: Dict[str, str] = {
    "microsoft.resources/resourcegroups": "2021-04-01",
    "microsoft.resources/subscriptions": "2022-12-01",
    "microsoft.network": "2024-05-01",
    "microsoft.network/routetables": "2024-05-01",
    "microsoft.network/routetables/routes": "2024-05-01",
    "microsoft.network/virtualnetworks": "2024-05-01",
    "microsoft.network/virtualnetworks/subnets": "2024-05-01",
    "microsoft.network/networkinterfaces": "2024-05-01",
    "microsoft.compute": "2024-07-01",
    "microsoft.compute/virtualmachines": "2024-07-01",
}

DEFAULT_MAX_RETRIES = 6
# Cap of the exponential backoff between retries (a server's Retry-After is
# honoured as sent).
DEFAULT_RETRY_BACKOFF_MAX = 60
DEFAULT_RETRY_BACKOFF_FACTOR = 0.8
# LRO poll interval when ARM sends no Retry-After.
DEFAULT_POLLING_INTERVAL = 5
# Connections kept per host; the NIC module runs several workers at once.
DEFAULT_POOL_SIZE = 16
CONNECTION_TIMEOUT = 30
READ_TIMEOUT = 120
USER_AGENT = "calico.azure"


def api_version_for(resource_type: str) -> str:
    """The API version this collection uses for ``resource_type``."""
    key = resource_type.lower()
    if key in API_VERSIONS:
        return API_VERSIONS[key]
    provider = key.split("/", 1)[0]
    if provider in API_VERSIONS:
        return API_VERSIONS[provider]
    raise ValueError("No API version configured for resource type %s (see API_VERSIONS)" % resource_type)


def _import_sdk() -> Dict[str, Any]:
    """Import what the pipeline needs; AzureSdkMissing names the pip package if absent."""
    try:
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry
        from azure.core import exceptions as core_exceptions
        from azure.core.pipeline import policies
        from azure.core.pipeline.transport import RequestsTransport
        from azure.core.rest import HttpRequest
        from azure.mgmt.core import ARMPipelineClient
        from azure.mgmt.core.policies import (
            ARMAutoResourceProviderRegistrationPolicy,
            ARMChallengeAuthenticationPolicy,
        )
        from azure.mgmt.core.polling.arm_polling import ARMPolling
    except ImportError as err:
        raise AzureSdkMissing(pip_name_for_import_error(err), traceback.format_exc())
    return {
        "requests": requests,
        "HTTPAdapter": HTTPAdapter,
        "Retry": Retry,
        "core_exceptions": core_exceptions,
        "policies": policies,
        "RequestsTransport": RequestsTransport,
        "HttpRequest": HttpRequest,
        "ARMPipelineClient": ARMPipelineClient,
        "ARMAutoResourceProviderRegistrationPolicy": ARMAutoResourceProviderRegistrationPolicy,
        "ARMChallengeAuthenticationPolicy": ARMChallengeAuthenticationPolicy,
        "ARMPolling": ARMPolling,
    }


class _SerializedCredential(object):
    """Lets one thread at a time ask the credential for a token.

    Workers starting together would otherwise each miss the token cache and
    each request a token from Entra ID; serialized, the first fetches and the
    others find it cached.
    """

    def __init__(self, credential: Any) -> None:
        self._credential = credential
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        with self._lock:
            return self._credential.get_token(*scopes, **kwargs)


class _SerializedTokenInfoCredential(_SerializedCredential):
    def get_token_info(self, *scopes: str, **kwargs: Any) -> Any:
        with self._lock:
            return self._credential.get_token_info(*scopes, **kwargs)


class ArmClient(object):
    """Raw-JSON ARM client for one subscription of one cloud."""

    def __init__(
        self,
        credential: Any,
        subscription_id: str,
        endpoints: Any,
        *,
        ca_bundle: Optional[str] = None,
        validate_certs: bool = True,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_backoff_max: int = DEFAULT_RETRY_BACKOFF_MAX,
        retry_backoff_factor: float = DEFAULT_RETRY_BACKOFF_FACTOR,
        polling_interval: float = DEFAULT_POLLING_INTERVAL,
        pool_size: int = DEFAULT_POOL_SIZE,
        connection_timeout: float = CONNECTION_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        client_id: Optional[str] = None,
        tenant: Optional[str] = None,
        user_agent: str = USER_AGENT,
    ) -> None:
        sdk = _import_sdk()
        self._sdk = sdk
        self.subscription_id = subscription_id
        self.endpoints = endpoints
        self.ca_bundle = ca_bundle
        self.validate_certs = validate_certs
        self.max_retries = max_retries
        self.polling_interval = polling_interval
        self.client_id = client_id
        self.tenant = tenant
        self._base_url = endpoints.resource_manager.rstrip("/")
        verify: Any = (ca_bundle or True) if validate_certs else False

        # Our own session: a connection pool big enough for parallel workers,
        # and no urllib3-level retries (azure-core's RetryPolicy does them).
        session = sdk["requests"].Session()
        adapter = sdk["HTTPAdapter"](
            pool_connections=4,
            pool_maxsize=max(pool_size, 1),
            max_retries=sdk["Retry"](total=False, redirect=False, raise_on_status=False),
        )
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        transport = sdk["RequestsTransport"](
            session=session,
            session_owner=True,
            connection_verify=verify,
            connection_timeout=connection_timeout,
            read_timeout=read_timeout,
        )
        # Opened once here rather than lazily by the first of several threads.
        transport.open()

        if hasattr(credential, "get_token_info"):
            shared_credential: Any = _SerializedTokenInfoCredential(credential)
        else:
            shared_credential = _SerializedCredential(credential)
        policies = sdk["policies"]
        retry_policy = policies.RetryPolicy(
            retry_total=max_retries,
            retry_connect=max_retries,
            retry_read=max_retries,
            retry_status=max_retries,
            retry_backoff_factor=retry_backoff_factor,
            retry_backoff_max=retry_backoff_max,
            # The default set (408, 429, 500, 502, 503, 504 and 506+) already
            # covers throttling and RetryableErrorDueToAnotherOperation (429);
            # listed so the intent is visible here.
            retry_on_status_codes=[408, 429, 500, 502, 503, 504],
        )
        pipeline_policies = [
            policies.RequestIdPolicy(),
            policies.HeadersPolicy(),
            policies.UserAgentPolicy(user_agent=user_agent),
            policies.ProxyPolicy(),
            policies.ContentDecodePolicy(),
            sdk["ARMAutoResourceProviderRegistrationPolicy"](),
            policies.RedirectPolicy(),
            retry_policy,
            sdk["ARMChallengeAuthenticationPolicy"](shared_credential, endpoints.scope),
            policies.SensitiveHeaderCleanupPolicy(),
        ]
        self._client = sdk["ARMPipelineClient"](
            base_url=self._base_url, policies=pipeline_policies, transport=transport
        )

    # --- plumbing -------------------------------------------------------------

    def url(self, path: str, api_version: Optional[str] = None) -> str:
        """Absolute URL of an ARM path with its api-version."""
        if path.lower().startswith(("https://", "http://")):
            return path
        version = api_version or api_version_for(parse_resource_id(path).resource_type)
        return "%s%s?api-version=%s" % (self._base_url, quote(path, safe="/:@!$&'()*+,;=-._~"), version)

    def _map(self, exc: BaseException, resource_id: Optional[str], action: str) -> AzureError:
        return map_azure_exception(
            exc,
            resource_id=resource_id,
            action=action,
            client_id=self.client_id,
            tenant=self.tenant,
            authority=self.endpoints.authority_host,
            ca_bundle=self.ca_bundle,
            validate_certs=self.validate_certs,
        )

    def _send(
        self,
        method: str,
        url: str,
        *,
        resource_id: Optional[str],
        action: str,
        body: Any = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> Any:
        """One ARM request through the pipeline (retries included) -> PipelineResponse."""
        request_headers = {"Accept": "application/json"}
        if headers:
            request_headers.update(headers)
        kwargs: Dict[str, Any] = {"headers": request_headers}
        if body is not None:
            kwargs["json"] = body
        request = self._sdk["HttpRequest"](method, url, **kwargs)
        core_exceptions = self._sdk["core_exceptions"]
        try:
            # _return_pipeline_response: the form azure-core's own LRO pollers
            # use; the pipeline response carries the retry history and is what
            # ARMPolling starts from.
            return self._client.send_request(request, _return_pipeline_response=True)
        except core_exceptions.AzureError as err:
            raise self._map(err, resource_id, action)

    def _check(self, pipeline_response: Any, resource_id: Optional[str], action: str, ok: tuple) -> Any:
        response = pipeline_response.http_response
        if response.status_code in ok:
            return response
        history = pipeline_response.context.get("history") or []
        # RetryPolicy also records the final answer when it gives up on it.
        final_recorded = bool(history) and getattr(history[-1], "http_response", None) is response
        retries = len(history) - 1 if final_recorded else len(history)
        raise error_from_response(
            response.status_code,
            response.text(),
            resource_id=resource_id,
            action=action,
            retries=retries,
            client_id=self.client_id,
        )

    @staticmethod
    def _json(response: Any) -> Dict[str, Any]:
        text = response.text()
        if not text:
            return {}
        try:
            return json.loads(text)
        except ValueError:
            raise AzureError("Azure answered %s with a body that is not JSON." % response.request.url)

    # --- reads ------------------------------------------------------------------

    def get(self, resource_id: str, api_version: Optional[str] = None) -> Dict[str, Any]:
        """The resource's JSON; AzureNotFound if it does not exist."""
        action = "read"
        pipeline_response = self._send("GET", self.url(resource_id, api_version), resource_id=resource_id, action=action)
        return self._json(self._check(pipeline_response, resource_id, action, (200,)))

    def get_or_none(self, resource_id: str, api_version: Optional[str] = None) -> Optional[Dict[str, Any]]:
        """The resource's JSON, or None if it (or its resource group / parent) does not exist."""
        try:
            return self.get(resource_id, api_version)
        except AzureNotFound:
            return None

    def iter_list(self, path: str, api_version: Optional[str] = None) -> Iterator[Dict[str, Any]]:
        """Items of an ARM collection, page by page (follows nextLink)."""
        action = "list"
        url: Optional[str] = self.url(path, api_version)
        while url:
            pipeline_response = self._send("GET", url, resource_id=path, action=action)
            page = self._json(self._check(pipeline_response, path, action, (200,)))
            yield from page.get("value") or []
            url = page.get("nextLink") or None

    def list(self, path: str, api_version: Optional[str] = None) -> List[Dict[str, Any]]:
        """Every item of an ARM collection, e.g. ``.../providers/Microsoft.Network/networkInterfaces``."""
        return list(self.iter_list(path, api_version))

    def resource_group(self, name: str) -> Dict[str, Any]:
        """The resource group's JSON (location, tags...); AzureNotFound names it if absent."""
        return self.get(resource_group_id(self.subscription_id, name))

    # --- writes -----------------------------------------------------------------

    def _wait(self, pipeline_response: Any, resource_id: str, action: str) -> Any:
        """Follow an LRO to its end (ARMPolling: Azure-AsyncOperation / Location, Retry-After)."""
        core_exceptions = self._sdk["core_exceptions"]
        polling = self._sdk["ARMPolling"](self.polling_interval)
        polling.initialize(self._client, pipeline_response, lambda final: final)
        try:
            polling.run()
        except core_exceptions.AzureError as err:
            raise self._map(err, resource_id, action)
        return polling.resource()

    @staticmethod
    def _lro_pending(response: Any, body: Dict[str, Any]) -> bool:
        headers = response.headers
        if headers.get("Azure-AsyncOperation") or headers.get("Location"):
            return True
        state = (body.get("properties") or {}).get("provisioningState")
        return state not in (None, "Succeeded")

    def put(
        self,
        resource_id: str,
        body: Dict[str, Any],
        *,
        if_match: Optional[str] = None,
        if_none_match: Optional[str] = None,
        api_version: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Create or replace a resource; wait for the LRO; return the final JSON (with its new etag).

        ``if_match``: the etag the caller read (412 -> AzurePreconditionFailed
        if someone wrote in between). ``if_none_match="*"``: create only.
        """
        action = "write"
        headers: Dict[str, str] = {"Content-Type": "application/json"}
        if if_match:
            headers["If-Match"] = if_match
        if if_none_match:
            headers["If-None-Match"] = if_none_match
        url = self.url(resource_id, api_version)
        pipeline_response = self._send("PUT", url, resource_id=resource_id, action=action, body=body, headers=headers)
        response = self._check(pipeline_response, resource_id, action, (200, 201, 202))
        initial = self._json(response) if response.status_code != 202 else {}
        if response.status_code != 202 and not self._lro_pending(response, initial):
            return initial
        final = self._wait(pipeline_response, resource_id, action)
        if final is not None and final.http_response.status_code == 200 and final.http_response.text():
            return self._json(final.http_response)
        # No final body (unusual for PUT): read the resource.
        return self.get(resource_id, api_version)

    def delete(self, resource_id: str, *, if_match: Optional[str] = None, api_version: Optional[str] = None) -> bool:
        """Delete and wait; False if there was nothing to delete (204 or 404)."""
        action = "delete"
        headers = {"If-Match": if_match} if if_match else None
        url = self.url(resource_id, api_version)
        pipeline_response = self._send("DELETE", url, resource_id=resource_id, action=action, headers=headers)
        response = pipeline_response.http_response
        if response.status_code in (204, 404):
            # Already absent (a missing resource group or parent included).
            return False
        self._check(pipeline_response, resource_id, action, (200, 202))
        if response.status_code == 202 or response.headers.get("Azure-AsyncOperation"):
            self._wait(pipeline_response, resource_id, action)
        return True

    def close(self) -> None:
        self._client.close()
