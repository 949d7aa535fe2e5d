"""Injected failures and scheduled outside writes, matched against requests."""

from __future__ import annotations

from dataclasses import dataclass

from .arm.ids import key


@dataclass
class FaultRule:
    remaining: int
    status: int | None = 500  # None with kind="reset"
    kind: str = "status"  # status | reset | apply_then_reset
    method: str | None = None
    path_contains: str | None = None
    retry_after: int | None = None
    code: str | None = None  # the ARM error code of the answer (default: the status's usual one)
    message: str | None = None
    remaining_writes: int | None = None  # x-ms-ratelimit-remaining-subscription-writes on the answer

    def matches(self, method: str, path: str, is_arm: bool) -> bool:
        if self.remaining <= 0:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        if self.path_contains is None:
            # Without a path filter only ARM requests fail: a token request failing first would
            # turn every ARM fault test into an authentication test.
            return is_arm
        return self.path_contains.lower() in path.lower()

    def headers(self, subscription: str | None) -> dict:
        """Headers of the injected answer: Retry-After, and for a throttling answer ARM's remaining count."""
        headers = {}
        if self.retry_after is not None:
            headers["Retry-After"] = str(int(self.retry_after))
        if self.remaining_writes is not None:
            headers["x-ms-ratelimit-remaining-subscription-writes"] = str(int(self.remaining_writes))
        elif self.code == "SubscriptionRequestsThrottled":
            headers["x-ms-ratelimit-remaining-subscription-writes"] = "0"
        if self.code == "SubscriptionRequestsThrottled" and "Retry-After" not in headers:
            headers["Retry-After"] = "1"
        return headers

    def error_body(self, subscription: str | None = None) -> dict:
        if self.code == "SubscriptionRequestsThrottled":
            wait = int(self.retry_after) if self.retry_after is not None else 1
            # ARM's own wording for an exhausted subscription write bucket.
            message = self.message or (
                f"Number of 'write' requests for subscription '{subscription or '-'}' actor '-' exceeded. Please try "
                f"again after '{wait}' seconds after the additional tokens are available. Refer to "
                "https://aka.ms/arm-throttling for additional information.")
            return {"error": {"code": self.code, "message": message}}
        if self.code:
            return {"error": {"code": self.code, "message": self.message or f"Injected fault {self.code}."}}
        if self.status == 503:
            return {"error": {"code": "ServiceUnavailable", "message": "The service is temporarily unavailable. Please retry."}}
        if self.status == 429:
            return {"error": {"code": "TooManyRequests", "message": "Too many requests. Please retry."}}
        return {"error": {"code": "InternalServerError", "message": "Encountered internal server error. Please try again."}}


@dataclass
class ScheduledMutation:
    resource_id: str
    merge_patch: dict
    after_method: str = "GET"
    after_path_contains: str | None = None
    remaining: int = 1

    def matches(self, method: str, path: str, status: int) -> bool:
        if self.remaining <= 0 or status >= 400 or method.upper() != self.after_method.upper():
            return False
        if self.after_path_contains is not None:
            return self.after_path_contains.lower() in path.lower()
        # Default: any read of the resource itself, of its parent, or of a list holding it.
        target, requested = key(self.resource_id), key(path)
        return target == requested or target.startswith(requested + "/")
