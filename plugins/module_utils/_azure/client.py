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
- ``begin_put``: send a PUT (optional ``If-Match`` / ``If-None-Match``) and
  return an :class:`ArmOperation` that the caller polls one request at a
  time (``poll()`` / ``retry_after``), so a worker pool is never held for a
  whole long-running operation;
- ``put``: ``begin_put`` waited to its end, returning the final resource JSON
  including its new etag;
- ``delete`` (LRO; False when the resource was already absent);
- 429, 408, 5xx (``RetryableErrorDueToAnotherOperation`` is a 429) and
  connection failures are retried by azure-core's RetryPolicy with capped
  exponential backoff; a ``Retry-After`` header wins over the backoff;
- writes (PUT, DELETE) pass a :class:`WriteGate` shared by the client's
  threads: the writes in flight follow ``x-ms-ratelimit-remaining-subscription-writes``,
  and 429 ``SubscriptionRequestsThrottled`` pauses every writer for its
  ``Retry-After``, retried without a count cap until ``throttling_deadline``;
- every SDK exception and ARM error response becomes an AzureError;
- one instance is safe to share between threads (a ThreadPoolExecutor).

The SDK is imported when the first client is built, not when this file is.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
import traceback
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple
from urllib.parse import quote

from ansible_collections.calico.azure.plugins.module_utils._azure.errors import (
    AzureError,
    AzureNotFound,
    AzureSdkMissing,
    AzureThrottled,
    arm_error_details,
    error_from_response,
    map_azure_exception,
    operation_failed,
    pip_name_for_import_error,
)
from ansible_collections.calico.azure.plugins.module_utils._azure.ids import (
    describe,
    parse_resource_id,
    resource_group_id,
)
from ansible_collections.calico.azure.plugins.module_utils._azure.write_gate import (
    WriteGate,
    WriteGateTimeout,
    remaining_writes,
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
# LRO poll interval when ARM sends no Retry-After (azure-core's default too).
DEFAULT_POLLING_INTERVAL = 5
# Connections kept per host; the NIC module runs several workers at once.
DEFAULT_POOL_SIZE = 16
# Seconds a module keeps waiting out write throttling (429 SubscriptionRequestsThrottled)
# before it gives up: the throttling_deadline option.
DEFAULT_THROTTLING_DEADLINE = 900
# Statuses a write is sent again for, a bounded number of times (max_retries);
# throttling (429 SubscriptionRequestsThrottled) is waited out until the deadline instead.
TRANSIENT_WRITE_STATUSES = (408, 429, 500, 502, 503, 504)
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
    }


class _SerializedCredential(object):
    """Lets one thread at a time ask the credential for a token.

    Workers starting together would otherwise each miss the token cache and
    each request a token from Entra ID; serialized, the first fetches and the
    others find it cached.
    """

    def __init__(self, credential: Any, factory: Optional[Callable[[], Any]] = None) -> None:
        self._credential = credential
        self._factory = factory
        self._lock = threading.Lock()
        self._last_token: Optional[str] = None

    def _remember(self, token: Any) -> Any:
        self._last_token = getattr(token, "token", None)
        return token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        with self._lock:
            return self._remember(self._credential.get_token(*scopes, **kwargs))

    def renew(self, rejected_token: str) -> bool:
        """ARM refused ``rejected_token`` as expired: start over with a new credential (its token cache
        still holds the expired token). False when no new credential can be built; True as well when
        another thread already renewed it."""
        with self._lock:
            if self._factory is None:
                return False
            if rejected_token == self._last_token:
                self._credential = self._factory()
                self._last_token = None
            return True


class _SerializedTokenInfoCredential(_SerializedCredential):
    def get_token_info(self, *scopes: str, **kwargs: Any) -> Any:
        with self._lock:
            return self._remember(self._credential.get_token_info(*scopes, **kwargs))


def _renewing_challenge_policy(base: Any) -> Any:
    """ARM's challenge policy that also answers 401 ExpiredAuthenticationToken with a new token, once."""

    class RenewingChallengePolicy(base):  # type: ignore[misc,valid-type]
        def on_challenge(self, request: Any, response: Any) -> bool:
            answer = response.http_response
            if answer.status_code == 401 and _error_code(answer) == "ExpiredAuthenticationToken":
                sent = request.http_request.headers.get("Authorization", "")
                if self._credential.renew(sent.split(" ", 1)[-1]):
                    self.authorize_request(request, *self._scopes)
                    return True
                return False
            return super(RenewingChallengePolicy, self).on_challenge(request, response)

    return RenewingChallengePolicy


# --- long-running operations ----------------------------------------------------

# One GET of an LRO's status URL, Location URL or resource, as ArmOperation
# needs it: (url, statuses that are not errors) -> (status, headers, JSON body).
# ArmClient's implementation raises the mapped AzureError for any other status
# (retries done, counted in the message), like every other request it sends.
Fetch = Callable[[str, Tuple[int, ...]], Tuple[int, Mapping[str, str], Dict[str, Any]]]

_SUCCEEDED = "succeeded"
_FAILED = ("failed", "canceled", "cancelled")


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    """A header by name, whatever its case (azure-core's headers already ignore case)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def retry_after_seconds(headers: Mapping[str, str]) -> Optional[float]:
    """The wait ARM asked for: ``retry-after-ms``, ``x-ms-retry-after-ms`` or ``Retry-After``.

    ``Retry-After`` may be seconds or an HTTP date. None when absent or
    unreadable (the same headers azure-core's own pollers read).
    """
    for name, scale in (("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001), ("Retry-After", 1.0)):
        value = _header(headers, name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            pass
        if scale == 1.0:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                continue
            if when is not None:
                return max(0.0, when.timestamp() - time.time())
    return None


def _error_code(response: Any) -> Optional[str]:
    """The ARM error code of an answer, or None (no JSON body)."""
    return arm_error_details(response.text())[0]


def _provisioning_state(body: Mapping[str, Any]) -> str:
    return str((body.get("properties") or {}).get("provisioningState") or "").lower()


class ArmOperation(object):
    """A write ARM accepted, followed one request per :meth:`poll`.

    Built by :meth:`ArmClient.begin_put` (and by ``delete``) from ARM's answer
    to the write; callers use only ``poll()``, ``retry_after``, ``done`` and
    ``wait()``. ARM's asynchronous-operation contract is followed in the order
    azure-core's ARMPolling follows it:

    - ``Azure-AsyncOperation`` (or ``Operation-Location``): poll that status
      URL until ``status`` is terminal; ``Failed``/``Canceled`` raise
      AzureOperationFailed with ARM's code and message. After ``Succeeded``
      a PUT reads the resource once more (its final state: ARM's
      final-state-via for PUT is the original URI) -- that read is a poll of
      its own, announced with ``retry_after == 0``;
    - otherwise ``Location``: poll it while it answers 202; its final answer
      is the resource (a PUT whose final answer has no body reads the
      resource);
    - otherwise a non-terminal ``provisioningState`` in the body: poll the
      resource itself until the state is terminal (a DELETE until 404);
    - otherwise the write was already complete: ``done`` from the start and
      ``poll()`` returns the answer without a request.

    ``final_get=False`` skips the read after ``Succeeded``: ``poll()`` then
    returns the resource as ARM answered the write itself (new etag included;
    ``provisioningState`` as it was then, so not a final state), or ``{}``
    when that answer had no body. For callers that only need to know the
    write was applied and must not pay one more read per write.

    Why not ARMPolling stepwise: it has no public single-step API
    (``update_status`` leaves the final GET and the Retry-After handling to
    private members), and it always reads the resource after success. The
    rules above are ARMPolling's, in ~100 lines that ArmClient's blocking
    ``put`` and ``delete`` use too, so there is one LRO implementation.

    Not thread-safe: poll one operation from one thread at a time (different
    operations may be polled from different threads).
    """

    def __init__(
        self,
        method: str,
        status: int,
        headers: Mapping[str, str],
        body: Dict[str, Any],
        *,
        resource_url: str,
        fetch: Fetch,
        resource_id: Optional[str] = None,
        action: str = "write",
        polling_interval: float = DEFAULT_POLLING_INTERVAL,
        final_get: bool = True,
    ) -> None:
        self.method = method.upper()
        self.resource_id = resource_id
        self.action = action
        self.resource_url = resource_url
        self.polling_interval = polling_interval
        self._fetch = fetch
        self._accepted: Dict[str, Any] = body
        self._final_get = final_get and self.method in ("PUT", "PATCH")
        self._result: Optional[Dict[str, Any]] = None
        self._error: Optional[AzureError] = None
        self.status_url = _header(headers, "Azure-AsyncOperation") or _header(headers, "Operation-Location")
        self.location_url = _header(headers, "Location")
        if self.status_url:
            self._next = "status"
        elif self.location_url:
            self._next = "location"
        elif status == 202 or _provisioning_state(body) not in ("", _SUCCEEDED):
            self._next = "resource"
        else:
            self._next = "none"
            self._result = body
        if _provisioning_state(body) in _FAILED:
            self._error = operation_failed(body, resource_id=resource_id, action=action)
            raise self._error
        #: Seconds ARM asked to wait before the next poll (the client's
        #: polling interval when it did not say); 0 once done.
        self.retry_after = 0.0 if self.done else self._wait_from(headers)

    @property
    def done(self) -> bool:
        """True once ``poll()`` returns the final JSON without sending anything."""
        return self._result is not None

    def _wait_from(self, headers: Mapping[str, str]) -> float:
        # As in azure-core: a missing (or zero) Retry-After means the client's interval.
        return retry_after_seconds(headers) or float(self.polling_interval)

    def _finish(self, result: Dict[str, Any]) -> Dict[str, Any]:
        self._result = result
        self.retry_after = 0.0
        return result

    def _fail(self, error: AzureError) -> AzureError:
        self._error = error
        return error

    def poll(self) -> Optional[Dict[str, Any]]:
        """Send at most one request; the final resource JSON once done, None while running.

        Raises the client's AzureError subclasses (AzureOperationFailed when
        the operation ended Failed or Canceled); after that, every further
        call raises the same error without sending anything.
        """
        if self._error is not None:
            raise self._error
        if self._result is not None:
            return self._result
        try:
            return self._step()
        except AzureError as error:
            raise self._fail(error)

    def _step(self) -> Optional[Dict[str, Any]]:
        if self._next == "final":
            _status, _headers, body = self._fetch(self.resource_url, (200,))
            return self._finish(body)
        if self._next == "status" and self.status_url:
            _status, headers, body = self._fetch(self.status_url, (200, 201, 202, 204))
            state = str(body.get("status") or "").lower()
            if state == _SUCCEEDED:
                return self._succeeded()
            if state in _FAILED:
                raise operation_failed(body, resource_id=self.resource_id, action=self.action)
            self.retry_after = self._wait_from(headers)
            return None
        if self._next == "location" and self.location_url:
            status, headers, body = self._fetch(self.location_url, (200, 201, 202, 204))
            if status == 202:
                self.location_url = _header(headers, "Location") or self.location_url
                self.retry_after = self._wait_from(headers)
                return None
            if body or self.method not in ("PUT", "PATCH"):
                return self._finish(body)
            return self._succeeded()
        # No status URL: the resource itself says how far the write got.
        ok = (200, 202, 404) if self.method == "DELETE" else (200, 201, 202)
        status, headers, body = self._fetch(self.resource_url, ok)
        if status == 404:
            return self._finish({})
        state = _provisioning_state(body)
        if status != 202 and state in ("", _SUCCEEDED) and self.method != "DELETE":
            return self._finish(body)
        if state in _FAILED:
            raise operation_failed(body, resource_id=self.resource_id, action=self.action)
        self.retry_after = self._wait_from(headers)
        return None

    def _succeeded(self) -> Optional[Dict[str, Any]]:
        if self._final_get:
            # The final read is its own poll, so one poll stays one request.
            self._next = "final"
            self.retry_after = 0.0
            return None
        return self._finish(self._accepted if self.method != "DELETE" else {})

    def wait(self, sleep: Callable[[float], None] = time.sleep) -> Dict[str, Any]:
        """Poll until done and return the final JSON (blocks the calling thread).

        The first poll goes out at once, as azure-core's pollers do (many ARM
        writes finish within a round trip); later ones after ``retry_after``.
        """
        result = self.poll()
        while result is None:
            sleep(self.retry_after)
            result = self.poll()
        return result


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
        throttling_deadline: float = DEFAULT_THROTTLING_DEADLINE,
        credential_factory: Optional[Callable[[], Any]] = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        sdk = _import_sdk()
        self._clock = clock
        self._sleep = sleep
        self.throttling_deadline = float(throttling_deadline)
        # Past this instant a throttled write is no longer waited for.
        self._write_deadline = clock() + self.throttling_deadline
        # Shared by every thread using this client: writes in flight follow ARM's write budget.
        self.write_gate = WriteGate(max(pool_size, 1), clock=clock)
        self.retry_backoff_factor = retry_backoff_factor
        self.retry_backoff_max = retry_backoff_max
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
            shared_credential: Any = _SerializedTokenInfoCredential(credential, credential_factory)
        else:
            shared_credential = _SerializedCredential(credential, credential_factory)
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
            _renewing_challenge_policy(sdk["ARMChallengeAuthenticationPolicy"])(shared_credential, endpoints.scope),
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
            # use; the pipeline response carries the retry history (_check
            # counts the retries from it).
            return self._client.send_request(request, _return_pipeline_response=True)
        except core_exceptions.AzureError as err:
            raise self._map(err, resource_id, action)

    def _send_write(
        self,
        method: str,
        url: str,
        *,
        resource_id: Optional[str],
        action: str,
        body: Any = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> Any:
        """A write through the client's WriteGate.

        Throttling (429 ``SubscriptionRequestsThrottled``) is waited out as ARM asks
        (``Retry-After``), for every writer of this client at once, until the
        throttling deadline; other transient answers are retried ``max_retries``
        times. The pipeline's own status retries are off for writes, so every
        attempt passes the gate and its answer adjusts the writes in flight.
        """
        request_headers = {"Accept": "application/json"}
        if headers:
            request_headers.update(headers)
        core_exceptions = self._sdk["core_exceptions"]
        transient_retries = 0
        throttled_retries = 0
        while True:
            try:
                self.write_gate.acquire(self._write_deadline)
            except WriteGateTimeout:
                raise self._throttling_deadline_error(resource_id, action, throttled_retries)
            remaining: Optional[int] = None
            throttled = False
            wait = 0.0
            try:
                kwargs: Dict[str, Any] = {"headers": dict(request_headers)}
                if body is not None:
                    kwargs["json"] = body
                request = self._sdk["HttpRequest"](method, url, **kwargs)
                pipeline_response = self._client.send_request(
                    request, _return_pipeline_response=True, retry_status=0
                )
                response = pipeline_response.http_response
                remaining = remaining_writes(response.headers)
                status = response.status_code
                if status == 429 and _error_code(response) == "SubscriptionRequestsThrottled":
                    throttled = True
                    wait = retry_after_seconds(response.headers) or 1.0
            except core_exceptions.AzureError as err:
                raise self._map(err, resource_id, action)
            finally:
                self.write_gate.release(remaining, throttled, wait)
            if throttled:
                if self._clock() + wait > self._write_deadline:
                    raise self._throttling_deadline_error(resource_id, action, throttled_retries)
                throttled_retries += 1
                continue  # the gate holds every writer until Retry-After has passed
            if status in TRANSIENT_WRITE_STATUSES and transient_retries < self.max_retries:
                delay = retry_after_seconds(response.headers)
                if delay is None:
                    delay = min(self.retry_backoff_max, self.retry_backoff_factor * (2 ** transient_retries))
                transient_retries += 1
                self._sleep(delay)
                continue
            # The retries of this loop, for the error message (the pipeline's history holds only its own).
            pipeline_response.context["calico_azure_write_retries"] = transient_retries
            return pipeline_response

    def _throttling_deadline_error(self, resource_id: Optional[str], action: str, throttled: int) -> AzureError:
        return AzureThrottled(
            "Azure throttled the subscription's writes (429 SubscriptionRequestsThrottled) and the write to %s "
            "could not be sent within throttling_deadline (%d s; %d throttled answers waited out). Raise "
            "throttling_deadline, or run when fewer writers share the subscription."
            % (describe(resource_id) if resource_id else action, self.throttling_deadline, throttled),
            retries=throttled,
            status=429,
            code="SubscriptionRequestsThrottled",
            resource_id=resource_id,
        )

    def _check(self, pipeline_response: Any, resource_id: Optional[str], action: str, ok: tuple) -> Any:
        response = pipeline_response.http_response
        if response.status_code in ok:
            return response
        history = pipeline_response.context.get("history") or []
        # RetryPolicy also records the final answer when it gives up on it.
        final_recorded = bool(history) and getattr(history[-1], "http_response", None) is response
        retries = len(history) - 1 if final_recorded else len(history)
        retries += pipeline_response.context.get("calico_azure_write_retries", 0)
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

    def _answer(self, response: Any) -> Tuple[int, Mapping[str, str], Dict[str, Any]]:
        status = response.status_code
        # A 202 or 204 says nothing about the resource, whatever body it carries.
        body = self._json(response) if status not in (202, 204) else {}
        return status, response.headers, body

    def _fetcher(self, resource_id: str, action: str) -> Fetch:
        """The GET an ArmOperation polls with, mapped and retried like every request."""

        def fetch(url: str, ok: Tuple[int, ...]) -> Tuple[int, Mapping[str, str], Dict[str, Any]]:
            pipeline_response = self._send("GET", url, resource_id=resource_id, action=action)
            return self._answer(self._check(pipeline_response, resource_id, action, ok))

        return fetch

    def begin_put(
        self,
        resource_id: str,
        body: Dict[str, Any],
        *,
        if_match: Optional[str] = None,
        if_none_match: Optional[str] = None,
        api_version: Optional[str] = None,
        final_get: bool = True,
    ) -> ArmOperation:
        """Send a PUT and return its operation without waiting for it.

        ``if_match``: the etag the caller read (412 -> AzurePreconditionFailed
        if someone wrote in between). ``if_none_match="*"``: create only.
        Errors of the PUT itself (400, 403, 409, 412, throttling after every
        retry...) raise here; errors of the operation raise from ``poll()``.

        The returned :class:`ArmOperation` sends one request per ``poll()``,
        which returns the final resource JSON (with its new etag) once done and
        None while running; wait ``retry_after`` seconds between polls. With
        ``final_get=False`` a successful operation returns the resource as ARM
        answered the PUT instead of reading it once more (see ArmOperation).
        """
        return self.begin_write(
            "PUT", resource_id, body, if_match=if_match, if_none_match=if_none_match, api_version=api_version,
            final_get=final_get,
        )

    def begin_write(
        self,
        method: str,
        path: str,
        body: Dict[str, Any],
        *,
        if_match: Optional[str] = None,
        if_none_match: Optional[str] = None,
        api_version: Optional[str] = None,
        final_get: bool = True,
    ) -> ArmOperation:
        """A PUT or PATCH of a resource or a POST of an action (``.../manualupgrade``), as an operation.

        Every write goes through the WriteGate (see ``_send_write``). Same contract
        as :meth:`begin_put`: errors of the request raise here, errors of the
        operation from ``poll()``. A POST's final answer is the action's result
        (often ``{}``), never a read of the resource.
        """
        action = "write"
        method = method.upper()
        headers: Dict[str, str] = {"Content-Type": "application/json"}
        if if_match:
            headers["If-Match"] = if_match
        if if_none_match:
            headers["If-None-Match"] = if_none_match
        # A PUT answers with the resource (200/201) or an operation (202); a PATCH or POST may also answer 204.
        ok = (200, 201, 202) if method == "PUT" else (200, 201, 202, 204)
        url = self.url(path, api_version)
        pipeline_response = self._send_write(method, url, resource_id=path, action=action, body=body, headers=headers)
        status, response_headers, accepted = self._answer(self._check(pipeline_response, path, action, ok))
        return ArmOperation(
            method,
            status,
            response_headers,
            accepted,
            resource_url=url,
            fetch=self._fetcher(path, action),
            resource_id=path,
            action=action,
            polling_interval=self.polling_interval,
            final_get=final_get,
        )

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

        ``begin_put(...).wait()``: the same requests and errors, blocking.
        """
        operation = self.begin_put(
            resource_id, body, if_match=if_match, if_none_match=if_none_match, api_version=api_version
        )
        return operation.wait()

    def delete(self, resource_id: str, *, if_match: Optional[str] = None, api_version: Optional[str] = None) -> bool:
        """Delete and wait; False if there was nothing to delete (204 or 404)."""
        action = "delete"
        headers = {"If-Match": if_match} if if_match else None
        url = self.url(resource_id, api_version)
        pipeline_response = self._send_write("DELETE", url, resource_id=resource_id, action=action, headers=headers)
        if pipeline_response.http_response.status_code in (204, 404):
            # Already absent (a missing resource group or parent included).
            return False
        status, response_headers, accepted = self._answer(
            self._check(pipeline_response, resource_id, action, (200, 202))
        )
        ArmOperation(
            "DELETE",
            status,
            response_headers,
            accepted,
            resource_url=url,
            fetch=self._fetcher(resource_id, action),
            resource_id=resource_id,
            action=action,
            polling_interval=self.polling_interval,
        ).wait()
        return True

    def close(self) -> None:
        self._client.close()
