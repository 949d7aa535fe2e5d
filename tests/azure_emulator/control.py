"""The control API: the same operations in-process (``Emulator``) and over HTTPS (``ControlClient``).

:class:`ControlApi` defines every operation once, on top of ``_call(name,
**kwargs)``. ``Emulator`` implements ``_call`` by calling the core directly;
``ControlClient`` posts JSON to ``/_emulator/<name>`` on a running stand-in
(``python -m azure_emulator``), which :func:`handle` serves.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from pathlib import Path
from urllib.parse import urlsplit

from .arm.errors import ArmError
from .responses import Response

# Operations served under /_emulator/<name>; each maps to EmulatorCore.<name>(**json body).
OPERATIONS = (
    "counts", "requests", "clear_log", "reset", "inject_faults", "fail_next_lro", "set_latency", "set_page_size",
    "set_rate_limits", "get_resource", "put_resource", "mutate", "delete_resource", "schedule_mutation",
    "federated_token", "pending_mutations", "clear_faults", "set_token_lifetime",
)


class ControlApi:
    """Control operations; subclasses provide ``_call``."""

    def _call(self, name: str, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def counts(self) -> dict:
        """{"reads","writes","lro_polls","token_requests","metadata_requests","by_method","by_type"}."""
        return self._call("counts")

    def requests(self) -> list[dict]:
        """The request log: one dict per request (method, path, kind, resource_type, status, api_version, if_match...)."""
        return self._call("requests")

    def clear_log(self) -> None:
        self._call("clear_log")

    def reset(self, seed=None) -> dict:
        """Forget all state, faults, settings and the log; load ``seed`` (a path, a file name under seeds/,
        a dict; None: the seed the stand-in started with; {}: an empty subscription). Returns the identity."""
        if seed is not None and not isinstance(seed, dict):
            # A file this process can see is sent as an absolute path: the server's cwd may differ.
            seed = str(Path(seed).resolve()) if Path(seed).exists() else str(seed)
        return self._call("reset", seed=seed)

    def inject_faults(self, count: int = 1, status: int | None = 500, kind: str = "status", method: str | None = None,
                      path_contains: str | None = None, retry_after: int | None = None, code: str | None = None,
                      message: str | None = None, remaining_writes: int | None = None) -> None:
        """Fail the next ``count`` matching requests with ``status`` (500/503/...), reset the connection
        (``kind="reset"``), or apply the request and then reset the connection instead of answering
        (``kind="apply_then_reset"``: the write happened, its answer is lost). ``code`` sets the ARM
        error code (``SubscriptionRequestsThrottled`` with 429: ARM's throttling body, Retry-After and
        ``x-ms-ratelimit-remaining-subscription-writes``, ``remaining_writes`` or 0). Without
        ``path_contains`` only ARM requests match."""
        self._call("inject_faults", count=count, status=status, kind=kind, method=method, path_contains=path_contains,
                   retry_after=retry_after, code=code, message=message, remaining_writes=remaining_writes)

    def clear_faults(self) -> int:
        """Drop every pending injected fault and LRO failure; returns how many were left unused."""
        return self._call("clear_faults")

    def set_token_lifetime(self, seconds: int = 3599, announced_seconds: int | None = None) -> None:
        """Access tokens issued from now on expire after ``seconds`` (ARM then answers 401
        ExpiredAuthenticationToken); the token answer announces ``announced_seconds`` (default: the same)."""
        self._call("set_token_lifetime", seconds=seconds, announced_seconds=announced_seconds)

    def fail_next_lro(self, count: int = 1, code: str = "InternalServerError",
                      message: str = "An error occurred while the operation was running.") -> None:
        """The next ``count`` long-running operations end ``Failed`` with this error."""
        self._call("fail_next_lro", count=count, code=code, message=message)

    def set_latency(self, request_ms: float = 0, lro_seconds: float = 0.0, retry_after: int | None = None,
                    lro_in_progress_polls: int | None = None) -> None:
        """Per-request latency, LRO duration, the Retry-After LROs announce, and how many status polls
        answer InProgress at least."""
        self._call("set_latency", request_ms=request_ms, lro_seconds=lro_seconds, retry_after=retry_after,
                   lro_in_progress_polls=lro_in_progress_polls)

    def set_page_size(self, page_size: int) -> None:
        self._call("set_page_size", page_size=page_size)

    def set_rate_limits(self, read_bucket: int = 250, read_refill_per_s: float = 25.0, write_bucket: int = 200,
                        write_refill_per_s: float = 10.0) -> None:
        """Token buckets per subscription (defaults: ARM's published figures). Resets the buckets to full."""
        self._call("set_rate_limits", read_bucket=read_bucket, read_refill_per_s=read_refill_per_s,
                   write_bucket=write_bucket, write_refill_per_s=write_refill_per_s)

    def get_resource(self, resource_id: str) -> dict | None:
        """What ARM answers for a GET of ``resource_id`` (None when absent); no log entry, no throttling."""
        return self._call("get_resource", resource_id=resource_id)

    def put_resource(self, resource_id: str, body: dict, raw: bool = False) -> dict:
        """Out-of-band create/replace (validated like a PUT unless ``raw``); Succeeded at once, new etag."""
        return self._call("put_resource", resource_id=resource_id, body=body, raw=raw)

    def mutate(self, resource_id: str, merge_patch: dict) -> dict:
        """Out-of-band JSON merge patch on the stored document; bumps the etag (another writer)."""
        return self._call("mutate", resource_id=resource_id, merge_patch=merge_patch)

    def delete_resource(self, resource_id: str) -> bool:
        return self._call("delete_resource", resource_id=resource_id)

    def schedule_mutation(self, resource_id: str, merge_patch: dict, after_method: str = "GET",
                          after_path_contains: str | None = None, count: int = 1) -> None:
        """Apply ``merge_patch`` right after the next successful request matching ``after_method`` and
        ``after_path_contains`` (default: a read of the resource, its parent or its list) is answered."""
        self._call("schedule_mutation", resource_id=resource_id, merge_patch=merge_patch, after_method=after_method,
                   after_path_contains=after_path_contains, count=count)

    def pending_mutations(self) -> int:
        return self._call("pending_mutations")

    def federated_token(self, subject: str, issuer: str | None = None, audience: str = "api://AzureADTokenExchange") -> str:
        """A workload-identity token signed by the stand-in's test issuer (write it to AZURE_FEDERATED_TOKEN_FILE)."""
        return self._call("federated_token", subject=subject, issuer=issuer, audience=audience)


def handle(core, pending, body: bytes, info) -> Response:
    """Serve ``/_emulator/<name>``: GET info, or POST a JSON object of keyword arguments."""
    name = pending.path.rstrip("/").split("/")[-1]
    if name == "info" and pending.method == "GET":
        return Response(200, info())
    if name not in OPERATIONS or pending.method not in ("GET", "POST"):
        return Response(404, {"error": f"unknown control operation {pending.method} {name}"})
    try:
        kwargs = json.loads(body) if body else {}
        if not isinstance(kwargs, dict):
            raise TypeError("the request body must be a JSON object of keyword arguments")
        result = getattr(core, name)(**kwargs)
    except (ArmError, ValueError, KeyError, TypeError, FileNotFoundError) as exc:
        return Response(400, {"error": f"{type(exc).__name__}: {exc}"})
    return Response(200, {"result": result})


class ControlError(RuntimeError):
    pass


class ControlClient(ControlApi):
    """Drive a stand-in running in another process: ``ControlClient(base_url, ca_file)``."""

    def __init__(self, base_url: str, ca_file: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.ca_file = ca_file
        parts = urlsplit(self.base_url)
        self._host, self._port = parts.hostname, parts.port or 443
        self._context = ssl.create_default_context(cafile=ca_file)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn: http.client.HTTPSConnection | None = None
        self._info: dict | None = None

    def _request(self, method: str, path: str, payload: bytes | None) -> tuple[int, dict]:
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None:
                    self._conn = http.client.HTTPSConnection(self._host, self._port, context=self._context, timeout=self._timeout)
                try:
                    self._conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
                    response = self._conn.getresponse()
                    data = response.read()
                    return response.status, json.loads(data) if data else {}
                except (ConnectionError, http.client.HTTPException):
                    # A kept-alive connection the server closed: reconnect once.
                    self._conn.close()
                    self._conn = None
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def _call(self, name: str, **kwargs):
        status, data = self._request("POST", f"/_emulator/{name}", json.dumps(kwargs).encode())
        if status != 200:
            raise ControlError(data.get("error", f"HTTP {status}"))
        return data.get("result")

    def reset(self, seed=None) -> dict:
        self._info = None  # the identity may change with the seed
        return super().reset(seed)

    def info(self) -> dict:
        if self._info is None:
            status, data = self._request("GET", "/_emulator/info", None)
            if status != 200:
                raise ControlError(f"HTTP {status} from /_emulator/info")
            self._info = data
        return self._info

    def env(self) -> dict:
        return dict(self.info()["env"])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __getattr__(self, name: str):
        # tenant_id, subscription_id, client_id, client_secret, metadata_url ... from /_emulator/info
        if name.startswith("_"):
            raise AttributeError(name)
        info = self.info()
        if name in info:
            return info[name]
        raise AttributeError(name)
