"""The controls adversarial tests need: clear faults, ARM's throttling answer, a write whose answer is lost,
short-lived tokens, and redacted request bodies in the log."""

from __future__ import annotations

import time

import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.mgmt.network.models import RouteTable


def fetch_token(emu) -> str:
    answer = requests.post(
        f"{emu.base_url}/{emu.tenant_id}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": emu.client_id, "client_secret": emu.client_secret,
              "scope": emu.credential_scopes[0]},
        verify=emu.ca_file, timeout=10)
    answer.raise_for_status()
    return answer.json()["access_token"]


def test_clear_faults_drops_every_pending_fault(arm, azure_emulator):
    azure_emulator.inject_faults(3, status=500)
    azure_emulator.fail_next_lro(2)
    assert azure_emulator.clear_faults() == 5
    assert arm.get(arm.net_path("routeTables")).status_code == 200
    assert arm.put(arm.net_path("routeTables/rt"), {"location": "westeurope"}).status_code == 201
    assert azure_emulator.clear_faults() == 0


def test_throttled_fault_has_arms_body_and_headers(arm, azure_emulator):
    azure_emulator.inject_faults(1, status=429, code="SubscriptionRequestsThrottled", retry_after=3, method="PUT",
                                 remaining_writes=0)
    answer = arm.put(arm.net_path("routeTables/rt"), {"location": "westeurope"})
    assert answer.status_code == 429
    error = answer.json()["error"]
    assert error["code"] == "SubscriptionRequestsThrottled"
    assert f"subscription '{azure_emulator.subscription_id}'" in error["message"]
    assert "try again after '3' seconds" in error["message"]
    assert answer.headers["Retry-After"] == "3"
    assert answer.headers["x-ms-ratelimit-remaining-subscription-writes"] == "0"
    assert azure_emulator.get_resource(arm.net_path("routeTables/rt")) is None  # not applied


def test_apply_then_reset_applies_the_write_and_loses_the_answer(arm, azure_emulator):
    azure_emulator.inject_faults(1, kind="apply_then_reset", method="PUT", path_contains="/routeTables/rt")
    with pytest.raises(requests.ConnectionError):
        arm.put(arm.net_path("routeTables/rt"), {"location": "westeurope", "tags": {"a": "b"}})
    stored = azure_emulator.get_resource(arm.net_path("routeTables/rt"))
    assert stored["tags"] == {"a": "b"}
    entry = [r for r in azure_emulator.requests() if r["kind"] == "arm"][-1]
    assert (entry["method"], entry["status"], entry["fault"]) == ("PUT", 0, "apply_then_reset")


def test_token_lifetime_makes_arm_refuse_an_expired_token(arm, azure_emulator):
    azure_emulator.set_token_lifetime(1, announced_seconds=3599)
    token = fetch_token(azure_emulator)
    arm.session.headers["Authorization"] = f"Bearer {token}"
    assert arm.get(arm.net_path("routeTables")).status_code == 200
    time.sleep(2.1)
    expired = arm.get(arm.net_path("routeTables"))
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "ExpiredAuthenticationToken"
    azure_emulator.set_token_lifetime()
    arm.session.headers["Authorization"] = f"Bearer {fetch_token(azure_emulator)}"
    assert arm.get(arm.net_path("routeTables")).status_code == 200


def test_token_answer_announces_the_configured_lifetime(azure_emulator):
    azure_emulator.set_token_lifetime(120)
    answer = requests.post(
        f"{azure_emulator.base_url}/{azure_emulator.tenant_id}/oauth2/v2.0/token",
        data={"grant_type": "client_credentials", "client_id": azure_emulator.client_id,
              "client_secret": azure_emulator.client_secret, "scope": azure_emulator.credential_scopes[0]},
        verify=azure_emulator.ca_file, timeout=10)
    assert answer.json()["expires_in"] == 120


def test_request_bodies_are_logged_with_credentials_redacted(azure_emulator, network_client):
    network_client.route_tables.begin_create_or_update(
        "rg-k8s", "rt", RouteTable(location="westeurope", tags={"k": "v"})).result()
    log = azure_emulator.requests()
    token = next(r for r in log if r["kind"] == "token")
    assert token["body"]["client_secret"] == "<redacted>"
    assert token["body"]["client_id"] == azure_emulator.client_id
    assert token["body"]["grant_type"] == "client_credentials"
    put = next(r for r in log if r["kind"] == "arm" and r["method"] == "PUT")
    assert put["body"] == {"location": "westeurope", "tags": {"k": "v"}}
    assert azure_emulator.client_secret not in repr(log)
    get = next(r for r in log if r["kind"] == "arm" and r["method"] == "GET")
    assert get["body"] is None


def test_sdk_refused_with_expired_token_surfaces_401(azure_emulator, network_client):
    # The SDK keeps a token it was told lives an hour: ARM's 401 reaches the caller (clients must refresh).
    # 5 s: long enough for the first call to land inside it on a loaded machine.
    azure_emulator.set_token_lifetime(5, announced_seconds=3599)
    list(network_client.route_tables.list("rg-k8s"))
    time.sleep(5.5)
    with pytest.raises(ClientAuthenticationError) as excinfo:
        list(network_client.route_tables.list("rg-k8s"))
    assert "ExpiredAuthenticationToken" in str(excinfo.value)
