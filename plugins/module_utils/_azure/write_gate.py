# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""How many ARM writes one client keeps in flight, from what ARM says about the write budget.

FOR INTERNAL COLLECTION USE ONLY: this module util is private to calico.azure
and may change without notice.

ARM charges writes against a per-subscription token bucket and reports what is
left in ``x-ms-ratelimit-remaining-subscription-writes``; an empty bucket answers
429 ``SubscriptionRequestsThrottled`` with ``Retry-After``. :func:`next_limit` is the
pure rule (how many writes may be in flight after an answer); :class:`WriteGate`
applies it to every thread of one ArmClient: a slot per write, and after a
throttled answer no write starts until the announced wait has passed.
"""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional

# Remaining writes at or below which the gate stops adding writes in flight.
LOW_REMAINING_WRITES = 20


def next_limit(current: int, maximum: int, remaining: Optional[int], throttled: bool) -> int:
    """Writes allowed in flight after one answer.

    Throttled: one at a time. Remaining count known: never more in flight than
    the bucket still holds (at least one); with plenty left, grow by one per
    answer back to ``maximum``. Unknown (no header): unchanged.
    """
    if throttled:
        return 1
    if remaining is None:
        return current
    if remaining <= LOW_REMAINING_WRITES:
        return max(1, min(current, remaining))
    return min(maximum, current + 1)


def remaining_writes(headers) -> Optional[int]:
    """``x-ms-ratelimit-remaining-subscription-writes`` as an int, or None."""
    for name, value in (headers or {}).items():
        if name.lower() == "x-ms-ratelimit-remaining-subscription-writes":
            try:
                return int(value)
            except (TypeError, ValueError):
                return None
    return None


class WriteGateTimeout(Exception):
    """The deadline passed while a write waited for the gate."""


class WriteGate(object):
    """Slots for writes in flight, shared by the threads of one ArmClient."""

    def __init__(self, maximum: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.maximum = max(1, int(maximum))
        self.limit = self.maximum
        self.in_flight = 0
        self.paused_until = 0.0
        self.throttled_answers = 0
        self._clock = clock
        self._cond = threading.Condition()

    def acquire(self, deadline: float) -> None:
        """Wait for a free slot and for any throttling pause to end; WriteGateTimeout past ``deadline``."""
        with self._cond:
            while True:
                now = self._clock()
                if self.in_flight < self.limit and now >= self.paused_until:
                    self.in_flight += 1
                    return
                if now >= deadline:
                    raise WriteGateTimeout()
                wake = min(deadline, self.paused_until) if now < self.paused_until else deadline
                self._cond.wait(max(0.01, min(wake - now, 1.0)))

    def release(self, remaining: Optional[int], throttled: bool = False, wait: float = 0.0) -> None:
        """Give the slot back with what the answer said; a throttled answer pauses every writer ``wait`` s."""
        with self._cond:
            self.in_flight -= 1
            self.limit = next_limit(self.limit, self.maximum, remaining, throttled)
            if throttled:
                self.throttled_answers += 1
                self.paused_until = max(self.paused_until, self._clock() + max(wait, 0.0))
            self._cond.notify_all()
