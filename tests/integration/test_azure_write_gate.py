"""ArmClient's write gate against the stand-in's throttling: 429 SubscriptionRequestsThrottled is waited out
(no retry count cap) within throttling_deadline, and writes in flight follow the remaining-writes header."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.calico.azure.plugins.module_utils._azure.auth import resolve_auth_settings
from ansible_collections.calico.azure.plugins.module_utils._azure.cloud import resolve_cloud
from ansible_collections.calico.azure.plugins.module_utils._azure.errors import AzureThrottled
from ansible_collections.calico.azure.plugins.module_utils._azure.ids import route_table_id
from ansible_collections.calico.azure.plugins.module_utils._azure.module import build_arm_client

RG = "gate-rg"
pytestmark = pytest.mark.azure_seed({"resource_groups": [{"name": RG, "location": "westeurope"}]})


def client_for(emu, **kwargs):
    settings = resolve_auth_settings({}, emu.env(), credentials_file="/nonexistent")
    endpoints = resolve_cloud(emu.metadata_url, ca_bundle=emu.ca_file)
    return build_arm_client(settings, endpoints, emu.subscription_id, ca_bundle=emu.ca_file, validate_certs=True,
                            **kwargs)


def puts(emu):
    return [e for e in emu.requests() if e["kind"] == "arm" and e["method"] == "PUT"]


def test_throttled_write_is_retried_beyond_max_retries_until_it_succeeds(azure_emulator):
    emu = azure_emulator
    arm = client_for(emu, max_retries=1)
    emu.inject_faults(4, status=429, code="SubscriptionRequestsThrottled", retry_after=1, method="PUT")
    started = time.monotonic()
    table = arm.put(route_table_id(emu.subscription_id, RG, "rt"), {"location": "westeurope"})
    assert table["properties"]["provisioningState"] == "Succeeded"
    assert [e["status"] for e in puts(emu)] == [429, 429, 429, 429, 201]
    assert time.monotonic() - started >= 3.9  # Retry-After: 1 honoured four times
    assert arm.write_gate.throttled_answers == 4


def test_throttling_past_the_deadline_fails_naming_the_option(azure_emulator):
    emu = azure_emulator
    arm = client_for(emu, throttling_deadline=2)
    emu.inject_faults(50, status=429, code="SubscriptionRequestsThrottled", retry_after=1, method="PUT")
    rt = route_table_id(emu.subscription_id, RG, "rt")
    with pytest.raises(AzureThrottled) as err:
        arm.put(rt, {"location": "westeurope"})
    assert "throttling_deadline (2 s" in err.value.message
    assert err.value.code == "SubscriptionRequestsThrottled"
    assert 2 <= len(puts(emu)) <= 4
    assert emu.get_resource(rt) is None


def test_other_429_keeps_its_retry_cap(azure_emulator):
    emu = azure_emulator
    arm = client_for(emu, max_retries=2)
    emu.inject_faults(10, status=429, code="RetryableErrorDueToAnotherOperation", retry_after=0, method="PUT")
    with pytest.raises(AzureThrottled):
        arm.put(route_table_id(emu.subscription_id, RG, "rt"), {"location": "westeurope"})
    assert len(puts(emu)) == 3


def test_transient_500_on_a_write_is_retried(azure_emulator):
    emu = azure_emulator
    arm = client_for(emu, retry_backoff_factor=0.01)
    emu.inject_faults(2, status=503, method="PUT")
    arm.put(route_table_id(emu.subscription_id, RG, "rt"), {"location": "westeurope"})
    assert [e["status"] for e in puts(emu)] == [503, 503, 201]


def test_sixty_parallel_writes_through_a_bucket_of_five_all_succeed(azure_emulator):
    """Issue 13 item 7: bucket 5 refilled 2/s, 10 writers: today 13-17 of 60 failed."""
    emu = azure_emulator
    arm = client_for(emu, pool_size=10)
    emu.set_rate_limits(write_bucket=5, write_refill_per_s=2.0)
    ids = [route_table_id(emu.subscription_id, RG, "rt-%02d" % i) for i in range(30)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(lambda rid: arm.put(rid, {"location": "westeurope", "tags": {"n": rid[-2:]}}), ids))
    assert [r["tags"]["n"] for r in results] == [rid[-2:] for rid in ids]
    for rid in ids:
        assert emu.get_resource(rid)["properties"]["provisioningState"] == "Succeeded"
    statuses = [e["status"] for e in puts(emu)]
    assert statuses.count(201) == 30
    # The gate backs off instead of hammering: fewer throttled answers than writes (each one pauses every writer).
    assert statuses.count(429) < len(ids), statuses
