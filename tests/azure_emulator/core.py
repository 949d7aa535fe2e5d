"""The stand-in's state and request pipeline, shared by the in-process API and the HTTP server.

Every request goes through :meth:`EmulatorCore.process`: control API, latency,
fault injection, Entra / metadata / ARM dispatch (bearer token check and
throttling for ARM), then the request log. State changes happen under one lock,
so the threaded server behaves like one consistent ARM.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from . import metadata, seed as seeds
from .arm import compute, network, vmss
from .arm.direct import delete_direct, mutate_direct, write_direct
from .arm.engine import ArmEngine
from .arm.errors import ArmError
from .arm.ids import parse
from .arm.lro import OperationTable
from .entra import TOKEN_LIFETIME, Entra
from .redaction import redacted_body
from .faults import FaultRule, ScheduledMutation
from .responses import Response
from .store import Store
from .throttling import DEFAULT_LIMITS, Throttler

WRITE_METHODS = ("PUT", "PATCH", "DELETE", "POST")


@dataclass
class Settings:
    retry_after: int = 1  # seconds, integer: azure-core fails on anything else
    lro_seconds: float = 0.0
    lro_in_progress_polls: int = 0
    request_ms: float = 0.0
    page_size: int = 50


class EmulatorCore:
    def __init__(self, seed=None, retry_after: int = 1, page_size: int = 50) -> None:
        self.lock = threading.RLock()
        self.base_url = ""
        self.defaults = Settings(retry_after=retry_after, page_size=page_size)
        self.settings = copy.copy(self.defaults)
        self.store = Store()
        self.ops = OperationTable()
        kinds = {**network.KINDS, **compute.KINDS, **vmss.KINDS}
        self.engine = ArmEngine(self.store, self.ops, self.settings, kinds, lambda: self.base_url)
        self.audiences = ["https://management.azure-emulator.test/"]
        self.entra = Entra(lambda: self.base_url, self.audiences)
        self.throttler = Throttler()
        self.faults: list[FaultRule] = []
        self.mutations: list[ScheduledMutation] = []
        self.armed: list[ScheduledMutation] = []
        self.log: list[dict] = []
        self.identity: dict = {}
        self.initial_seed = seed
        self.reset(seed)

    # ------------------------------------------------------------------ state
    def reset(self, seed=None) -> dict:
        """Forget everything and load ``seed`` (path or dict; None: the seed the stand-in started with,
        ``{}``: an empty subscription); settings, faults and the log back to their start values."""
        with self.lock:
            if seed is None:
                seed = self.initial_seed
            spec = seeds.load(seed)
            base = Path(seed).resolve().parent if isinstance(seed, (str, Path)) else None
            self.store.clear()
            self.ops.clear()
            self.entra.clear()
            self.entra.token_lifetime, self.entra.announced_lifetime = TOKEN_LIFETIME, None
            self.engine.subscriptions.clear()
            self.engine.lro_failures.clear()
            self.faults.clear()
            self.mutations.clear()
            self.armed.clear()
            self.log.clear()
            new_settings = copy.copy(self.defaults)
            for name, value in (spec.get("settings") or {}).items():
                setattr(new_settings, name, value)
            self.settings.__dict__.update(new_settings.__dict__)
            self.throttler.configure(**DEFAULT_LIMITS)
            self.identity = seeds.apply(self.engine, self.entra, spec, base)
            return dict(self.identity)

    # ------------------------------------------------------------------ control operations
    def counts(self) -> dict:
        with self.lock:
            result = {"reads": 0, "writes": 0, "lro_polls": 0, "token_requests": 0, "metadata_requests": 0, "by_method": {}, "by_type": {}}
            for entry in self.log:
                kind = entry["kind"]
                if kind == "lro_poll":
                    result["lro_polls"] += 1
                elif kind == "token":
                    result["token_requests"] += 1
                elif kind in ("metadata", "openid"):
                    result["metadata_requests"] += 1
                elif kind == "arm":
                    if entry["method"] in WRITE_METHODS:
                        result["writes"] += 1
                    else:
                        result["reads"] += 1
                    result["by_method"][entry["method"]] = result["by_method"].get(entry["method"], 0) + 1
                    rtype = entry.get("resource_type") or "unknown"
                    result["by_type"][rtype] = result["by_type"].get(rtype, 0) + 1
            return result

    def requests(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(self.log)

    def clear_log(self) -> None:
        with self.lock:
            self.log.clear()

    def inject_faults(self, count: int = 1, status: int | None = 500, kind: str = "status", method: str | None = None,
                      path_contains: str | None = None, retry_after: int | None = None, code: str | None = None,
                      message: str | None = None, remaining_writes: int | None = None) -> None:
        if kind not in ("status", "reset", "apply_then_reset"):
            raise ValueError("kind must be 'status', 'reset' or 'apply_then_reset'")
        with self.lock:
            self.faults.append(FaultRule(int(count), status, kind, method, path_contains, retry_after, code, message,
                                         remaining_writes))

    def clear_faults(self) -> int:
        """Drop every pending injected fault and LRO failure; returns how many fault answers were left."""
        with self.lock:
            left = sum(rule.remaining for rule in self.faults) + len(self.engine.lro_failures)
            self.faults.clear()
            self.engine.lro_failures.clear()
            return left

    def set_token_lifetime(self, seconds: int = TOKEN_LIFETIME, announced_seconds: int | None = None) -> None:
        """Access tokens issued from now on expire after ``seconds``; the token answer announces
        ``announced_seconds`` (default: the same), so a client can be made to hold a token ARM refuses."""
        with self.lock:
            self.entra.token_lifetime = int(seconds)
            self.entra.announced_lifetime = int(announced_seconds) if announced_seconds is not None else None

    def fail_next_lro(self, count: int = 1, code: str = "InternalServerError",
                      message: str = "An error occurred while the operation was running.") -> None:
        with self.lock:
            self.engine.lro_failures.extend([{"code": code, "message": message}] * int(count))

    def set_latency(self, request_ms: float = 0, lro_seconds: float = 0.0, retry_after: int | None = None,
                    lro_in_progress_polls: int | None = None) -> None:
        with self.lock:
            self.settings.request_ms = float(request_ms)
            self.settings.lro_seconds = float(lro_seconds)
            if retry_after is not None:
                self.settings.retry_after = int(retry_after)
            if lro_in_progress_polls is not None:
                self.settings.lro_in_progress_polls = int(lro_in_progress_polls)

    def set_page_size(self, page_size: int) -> None:
        with self.lock:
            self.settings.page_size = int(page_size)

    def set_rate_limits(self, read_bucket: int = DEFAULT_LIMITS["read_bucket"], read_refill_per_s: float = DEFAULT_LIMITS["read_refill_per_s"],
                        write_bucket: int = DEFAULT_LIMITS["write_bucket"], write_refill_per_s: float = DEFAULT_LIMITS["write_refill_per_s"]) -> None:
        self.throttler.configure(read_bucket, read_refill_per_s, write_bucket, write_refill_per_s)

    def get_resource(self, resource_id: str) -> dict | None:
        with self.lock:
            self.apply_armed_mutations()  # an answered request's outside write comes first
            self.ops.settle()
            return self.engine.render_id(resource_id)

    def put_resource(self, resource_id: str, body: dict, raw: bool = False) -> dict:
        with self.lock:
            self.apply_armed_mutations()  # an answered request's outside write comes first
            return write_direct(self.engine, resource_id, body, raw=raw)

    def mutate(self, resource_id: str, merge_patch: dict) -> dict:
        with self.lock:
            self.apply_armed_mutations()  # an answered request's outside write comes first
            return mutate_direct(self.engine, resource_id, merge_patch)

    def delete_resource(self, resource_id: str) -> bool:
        with self.lock:
            self.apply_armed_mutations()  # an answered request's outside write comes first
            return delete_direct(self.engine, resource_id)

    def schedule_mutation(self, resource_id: str, merge_patch: dict, after_method: str = "GET",
                          after_path_contains: str | None = None, count: int = 1) -> None:
        with self.lock:
            self.mutations.append(ScheduledMutation(resource_id, merge_patch, after_method, after_path_contains, int(count)))

    def federated_token(self, subject: str, issuer: str | None = None, audience: str = "api://AzureADTokenExchange") -> str:
        return self.entra.federated_token(subject, issuer, audience)

    def pending_mutations(self) -> int:
        with self.lock:
            return sum(m.remaining for m in self.mutations)

    # ------------------------------------------------------------------ request pipeline
    def process(self, method: str, target: str, headers: dict) -> "Pending":
        """First half of a request: classify it and decide on injected faults."""
        self.apply_armed_mutations()
        split = urlsplit(target)
        path = unquote(split.path)
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        return Pending(self, method.upper(), path, query, headers, time.monotonic())

    def arm_mutations(self, entry: dict) -> None:
        """Mark the scheduled mutations this (answered, not yet sent) request triggers."""
        with self.lock:
            for mutation in self.mutations:
                if mutation.matches(entry["method"], entry["path"], entry["status"]):
                    mutation.remaining -= 1
                    self.armed.append(mutation)
            self.mutations = [m for m in self.mutations if m.remaining > 0]

    def apply_armed_mutations(self) -> None:
        """Apply armed mutations: right after the answer is sent, and at the latest before the next
        request is processed (a client may send it on another connection, i.e. another thread)."""
        with self.lock:
            armed, self.armed = self.armed, []
            for mutation in armed:
                mutate_direct(self.engine, mutation.resource_id, mutation.merge_patch)


class Pending:
    """One request in flight through :class:`EmulatorCore`."""

    def __init__(self, core: EmulatorCore, method: str, path: str, query: dict, headers: dict, started: float) -> None:
        self.core, self.method, self.path, self.query, self.headers, self.started = core, method, path, query, headers, started
        lowered = path.lower()
        if lowered.startswith("/_emulator/"):
            self.area = "control"
        elif lowered.startswith("/metadata/endpoints"):
            self.area = "metadata"
        elif lowered.startswith("/subscriptions"):
            self.area = "arm"
        else:
            self.area = "entra"
        # The log kind of this request whatever answers it (a fault, a reset, or the handler).
        self.kind = {"arm": "arm", "control": "control", "metadata": "metadata"}.get(self.area) or (
            "token" if lowered.rstrip("/").endswith(("/oauth2/v2.0/token", "/msi/token")) else "openid"
        )
        if self.area == "arm" and parse(path).kind == "operation":
            self.kind = "lro_poll"
        self.fault: FaultRule | None = None
        self.body: bytes = b""  # the request body, set by the server once read (logged redacted)

    def take_fault(self) -> FaultRule | None:
        if self.area == "control":
            return None
        with self.core.lock:
            for rule in self.core.faults:
                if rule.matches(self.method, self.path, self.area == "arm"):
                    rule.remaining -= 1
                    self.fault = rule
                    break
            self.core.faults = [r for r in self.core.faults if r.remaining > 0]
        return self.fault

    def respond(self, body: bytes) -> Response:
        core = self.core
        if self.area == "metadata":
            version = self.query.get("api-version", "")
            return Response(200, metadata.endpoints(version, core.base_url, core.entra.resource_identifiers()))
        if self.area == "entra":
            with core.lock:
                response = core.entra.handle(self.method, self.path, self.headers, body, self.query)
            return response or Response(404, {"error": "not_found", "error_description": f"No such endpoint: {self.method} {self.path}"})
        return self._arm(body)

    def _arm(self, body: bytes) -> Response:
        core = self.core
        arm_path = parse(self.path)
        extra = {"x-ms-request-id": str(uuid.uuid4()), "x-ms-correlation-request-id": str(uuid.uuid4())}
        try:
            with core.lock:
                claims = core.entra.validate(self.headers.get("authorization"))
                sub = core.engine.subscriptions.get((arm_path.subscription or "").lower())
                if sub and sub["tenantId"].lower() != str(claims.get("tid", "")).lower():
                    raise ArmError(
                        401,
                        "InvalidAuthenticationTokenTenant",
                        f"The access token is from the wrong issuer '{claims.get('iss')}'. It must match the tenant "
                        f"associated with this subscription. Please use the authority (URL) "
                        f"'{core.base_url}/{sub['tenantId']}' to get the token.",
                    )
            is_write = self.method in WRITE_METHODS
            allowed, rate_headers, wait = core.throttler.take(arm_path.subscription or "-", is_write)
            extra.update(rate_headers)
            if not allowed:
                kind = "write" if is_write else "read"
                raise ArmError(
                    429,
                    "SubscriptionRequestsThrottled",
                    f"Number of '{kind}' requests for subscription '{arm_path.subscription}' actor '{claims.get('oid')}' "
                    f"exceeded. Please try again after '{wait}' seconds after the additional tokens are available. "
                    "Refer to https://aka.ms/arm-throttling for additional information.",
                    headers={"Retry-After": str(wait)},
                )
            with core.lock:
                response = core.engine.handle(self.method, self.path, self.query, self.headers, body)
        except ArmError as exc:
            response = Response(exc.status, exc.body(), dict(exc.headers))
            response.resource_type = arm_path.full_type or None
        response.headers.update(extra)
        return response

    def log(self, response: Response | None, status: int, fault: str | None = None) -> dict:
        arm_path = parse(self.path) if self.area == "arm" else None
        entry = {
            "time": time.time(),
            "method": self.method,
            "path": self.path,
            "query": dict(self.query),
            "kind": self.kind,
            "resource_type": (response.resource_type if response is not None else None) or (arm_path.full_type if arm_path else None) or None,
            "resource_id": response.resource_id if response is not None else None,
            "status": status,
            "api_version": self.query.get("api-version"),
            "if_match": self.headers.get("if-match"),
            "if_none_match": self.headers.get("if-none-match"),
            "duration_ms": round((time.monotonic() - self.started) * 1000, 3),
            "fault": fault,
            "body": redacted_body(self.body, self.headers.get("content-type", "")),
        }
        if self.area != "control":
            with self.core.lock:
                self.core.log.append(entry)
        return entry
