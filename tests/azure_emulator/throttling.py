"""ARM's per-subscription request throttling: token buckets for reads and writes.

Defaults are Azure Resource Manager's published per-subscription figures
(https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling):
bucket of 250 reads refilled at 25/s, bucket of 200 writes refilled at 10/s.
Every answer carries the remaining count; an empty bucket answers 429 with an
integer Retry-After, the seconds until a token is back.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

DEFAULT_LIMITS = {"read_bucket": 250, "read_refill_per_s": 25.0, "write_bucket": 200, "write_refill_per_s": 10.0}


@dataclass
class Bucket:
    capacity: float
    refill_per_s: float
    tokens: float
    stamp: float

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.refill_per_s)
        self.stamp = now

    def take(self, now: float) -> tuple[bool, int, int]:
        """(allowed, remaining, retry_after_seconds)."""
        self._refill(now)
        if self.tokens >= 1:
            self.tokens -= 1
            return True, int(self.tokens), 0
        wait = (1 - self.tokens) / self.refill_per_s if self.refill_per_s > 0 else 3600
        return False, 0, max(1, math.ceil(wait))

    def remaining(self, now: float) -> int:
        self._refill(now)
        return int(self.tokens)


class Throttler:
    def __init__(self, **limits) -> None:
        self._lock = threading.Lock()
        self.configure(**{**DEFAULT_LIMITS, **limits})

    def configure(self, read_bucket, read_refill_per_s, write_bucket, write_refill_per_s) -> None:
        with self._lock:
            self.limits = {
                "read_bucket": read_bucket,
                "read_refill_per_s": read_refill_per_s,
                "write_bucket": write_bucket,
                "write_refill_per_s": write_refill_per_s,
            }
            self._buckets: dict[tuple[str, str], Bucket] = {}

    def _bucket(self, subscription: str, kind: str, now: float) -> Bucket:
        bucket_key = (subscription.lower(), kind)
        bucket = self._buckets.get(bucket_key)
        if bucket is None:
            capacity = float(self.limits[f"{kind}_bucket"])
            bucket = Bucket(capacity, float(self.limits[f"{kind}_refill_per_s"]), capacity, now)
            self._buckets[bucket_key] = bucket
        return bucket

    def take(self, subscription: str, is_write: bool) -> tuple[bool, dict, int]:
        """Charge one request; (allowed, headers with remaining counts, retry_after)."""
        now = time.monotonic()
        with self._lock:
            kind = "write" if is_write else "read"
            allowed, remaining, retry_after = self._bucket(subscription, kind, now).take(now)
            other = "read" if is_write else "write"
            headers = {
                f"x-ms-ratelimit-remaining-subscription-{kind}s": str(remaining),
                f"x-ms-ratelimit-remaining-subscription-{other}s": str(self._bucket(subscription, other, now).remaining(now)),
            }
        return allowed, headers, retry_after
