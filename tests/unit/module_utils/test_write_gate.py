"""The write gate's rule and its slots, without threads racing or real clocks."""

from __future__ import annotations

import pytest

from ansible_collections.calico.azure.plugins.module_utils._azure.write_gate import (
    LOW_REMAINING_WRITES,
    WriteGate,
    WriteGateTimeout,
    next_limit,
    remaining_writes,
)


@pytest.mark.parametrize("current,remaining,throttled,expected", [
    (10, None, False, 10),      # no header: unchanged
    (10, 5, False, 5),          # low budget: no more in flight than remain
    (10, 0, False, 1),          # empty: one at a time, never zero
    (3, LOW_REMAINING_WRITES + 1, False, 4),  # plenty: grow by one
    (10, 150, False, 10),       # never above the maximum
    (10, 150, True, 1),         # throttled: one at a time
])
def test_next_limit(current, remaining, throttled, expected):
    assert next_limit(current, 10, remaining, throttled) == expected


def test_remaining_writes_reads_the_header_in_any_case():
    assert remaining_writes({"X-Ms-Ratelimit-Remaining-Subscription-Writes": "7"}) == 7
    assert remaining_writes({"x-ms-ratelimit-remaining-subscription-writes": "x"}) is None
    assert remaining_writes({}) is None


class FakeClock(object):
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_throttled_release_pauses_every_writer_until_retry_after():
    clock = FakeClock()
    gate = WriteGate(4, clock=clock)
    gate.acquire(deadline=1000)
    gate.release(remaining=0, throttled=True, wait=5)
    assert (gate.limit, gate.paused_until, gate.throttled_answers) == (1, 105.0, 1)
    with pytest.raises(WriteGateTimeout):
        gate.acquire(deadline=100.0)  # the deadline is before the pause ends
    clock.now = 105.0
    gate.acquire(deadline=1000)
    assert gate.in_flight == 1


def test_limit_caps_slots():
    clock = FakeClock()
    gate = WriteGate(2, clock=clock)
    gate.acquire(1000)
    gate.acquire(1000)
    with pytest.raises(WriteGateTimeout):
        gate.acquire(deadline=clock.now)
    gate.release(remaining=100)
    gate.acquire(1000)
    assert gate.in_flight == 2
