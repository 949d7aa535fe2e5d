"""Injected failures and scheduled outside writes, matched against requests."""

from __future__ import annotations

from dataclasses import dataclass

from .arm.ids import key


@dataclass
class FaultRule:
    remaining: int
    status: int | None = 500  # None with kind="reset"
    kind: str = "status"  # status | reset
    method: str | None = None
    path_contains: str | None = None
    retry_after: int | None = None

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

    def error_body(self) -> dict:
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
