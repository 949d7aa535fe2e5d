"""Throttling, injected faults and latency, as the SDK's retry policy meets them."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import HttpResponseError, ServiceResponseError
from azure.mgmt.network.models import RouteTable


def test_every_arm_answer_carries_remaining_counts(arm):
    read = arm.get(arm.net_path("routeTables"))
    write = arm.put(arm.net_path("routeTables/rt"), {"location": "westeurope"})
    assert int(read.headers["x-ms-ratelimit-remaining-subscription-reads"]) == 249
    assert int(write.headers["x-ms-ratelimit-remaining-subscription-writes"]) == 199
    assert int(write.headers["x-ms-ratelimit-remaining-subscription-reads"]) >= 248


def test_empty_read_bucket_answers_429_with_integer_retry_after(arm, azure_emulator):
    azure_emulator.set_rate_limits(read_bucket=2, read_refill_per_s=0.5, write_bucket=200, write_refill_per_s=10)
    path = arm.net_path("routeTables")
    assert [arm.get(path).status_code for attempt in range(2)] == [200, 200]
    throttled = arm.get(path)
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "SubscriptionRequestsThrottled"
    assert throttled.headers["Retry-After"] == "2"
    assert throttled.headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
    # Writes have their own bucket.
    assert arm.put(arm.net_path("routeTables/rt"), {"location": "westeurope"}).status_code == 201


def test_sdk_waits_out_throttling(azure_emulator, network_client):
    azure_emulator.set_rate_limits(read_bucket=1, read_refill_per_s=1, write_bucket=200, write_refill_per_s=10)
    network_client.virtual_networks.get("rg-k8s", "vnet-k8s")
    started = time.monotonic()
    network_client.virtual_networks.get("rg-k8s", "vnet-k8s")
    waited = time.monotonic() - started
    statuses = [r["status"] for r in azure_emulator.requests() if r["kind"] == "arm"]
    assert statuses == [200, 429, 200]
    assert waited >= 0.9  # Retry-After: 1 was honoured


def test_injected_500_and_503_are_retried_by_the_sdk(azure_emulator, network_client):
    azure_emulator.inject_faults(1, status=500, method="PUT")
    azure_emulator.inject_faults(1, status=503, method="GET", path_contains="/routeTables/rt")
    table = network_client.route_tables.begin_create_or_update("rg-k8s", "rt", RouteTable(location="westeurope")).result()
    assert table.provisioning_state == "Succeeded"
    log = [(r["method"], r["status"], r["fault"]) for r in azure_emulator.requests() if r["kind"] == "arm"]
    assert log == [("PUT", 500, "500"), ("PUT", 201, None), ("GET", 503, "503"), ("GET", 200, None)]


def test_connection_reset_is_retried(azure_emulator, network_client):
    azure_emulator.inject_faults(1, kind="reset", method="GET")
    assert network_client.virtual_networks.get("rg-k8s", "vnet-k8s").name == "vnet-k8s"
    log = [(r["status"], r["fault"]) for r in azure_emulator.requests() if r["kind"] == "arm"]
    assert log == [(0, "reset"), (200, None)]


def test_faults_beyond_the_retry_budget_surface(azure_emulator, network_client):
    azure_emulator.inject_faults(10, kind="reset", method="GET")
    with pytest.raises(ServiceResponseError):
        network_client.virtual_networks.get("rg-k8s", "vnet-k8s", retry_total=1)


def test_persistent_500_surfaces_as_http_error(azure_emulator, network_client):
    azure_emulator.inject_faults(5, status=500)
    with pytest.raises(HttpResponseError) as excinfo:
        network_client.virtual_networks.get("rg-k8s", "vnet-k8s", retry_total=1)
    assert excinfo.value.status_code == 500


def test_latency_is_added_per_request(arm, azure_emulator):
    azure_emulator.set_latency(request_ms=150)
    started = time.monotonic()
    arm.get(arm.net_path("routeTables"))
    assert time.monotonic() - started >= 0.15
    assert azure_emulator.requests()[-1]["duration_ms"] >= 150


def test_token_requests_are_not_faulted_without_a_path_filter(azure_emulator, credential):
    azure_emulator.inject_faults(1, status=500)
    assert credential.get_token(*azure_emulator.credential_scopes).token
    azure_emulator.inject_faults(1, status=500, path_contains="/oauth2/v2.0/token")
    fresh = type(credential)(azure_emulator.tenant_id, azure_emulator.client_id, azure_emulator.client_secret,
                             authority=azure_emulator.authority, disable_instance_discovery=True,
                             connection_verify=azure_emulator.ca_file)
    assert fresh.get_token(*azure_emulator.credential_scopes).token  # azure-identity retried the 500
    statuses = [r["status"] for r in azure_emulator.requests() if r["kind"] == "token"]
    assert statuses == [200, 500, 200]


def test_a_bug_in_the_stand_in_answers_500_instead_of_hanging(arm, azure_emulator, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("simulated defect")

    monkeypatch.setattr(azure_emulator.core.engine, "handle", broken)
    answer = arm.get(arm.net_path("routeTables"))
    assert answer.status_code == 500
    assert answer.json()["error"] == {"code": "EmulatorBug", "message": "RuntimeError: simulated defect"}
