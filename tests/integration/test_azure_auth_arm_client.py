"""ArmClient against the stand-in: LROs, etags, errors, retries, paging, threads.

Counts come from the stand-in's request log (ArmClient counts nothing itself).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.calico.azure.plugins.module_utils._azure.auth import resolve_auth_settings
from ansible_collections.calico.azure.plugins.module_utils._azure.cloud import resolve_cloud
from ansible_collections.calico.azure.plugins.module_utils._azure.errors import (
    AzureBadRequest,
    AzureNotFound,
    AzureOperationFailed,
    AzurePreconditionFailed,
    AzureThrottled,
)
from ansible_collections.calico.azure.plugins.module_utils._azure.ids import (
    resource_group_id,
    route_id,
    route_table_id,
)
from ansible_collections.calico.azure.plugins.module_utils._azure.module import build_arm_client

RG = "layer-rg"
SEED = {
    "resource_groups": [{"name": RG, "location": "westeurope"}],
    "route_tables": [
        {"name": "rt-existing", "resource_group": RG,
         "routes": [{"name": "node-a", "address_prefix": "10.244.0.0/24", "next_hop_ip": "10.0.0.4"}]},
    ]
    + [{"name": "rt-page-%d" % i, "resource_group": RG} for i in range(4)],
}
pytestmark = pytest.mark.azure_seed(SEED)


def client_for(emu, **kwargs):
    settings = resolve_auth_settings({}, emu.env(), credentials_file="/nonexistent")
    endpoints = resolve_cloud(emu.metadata_url, ca_bundle=emu.ca_file)
    return build_arm_client(settings, endpoints, emu.subscription_id, ca_bundle=emu.ca_file, validate_certs=True,
                            **kwargs)


@pytest.fixture
def emu(azure_emulator):
    return azure_emulator


@pytest.fixture
def arm(emu):
    client = client_for(emu)
    emu.clear_log()
    return client


def table_body(*routes, tags=None):
    body = {"location": "westeurope", "properties": {"routes": [
        {"name": name, "properties": {"addressPrefix": prefix, "nextHopType": "VirtualAppliance",
                                      "nextHopIpAddress": hop}}
        for name, prefix, hop in routes]}}
    if tags:
        body["tags"] = tags
    return body


def arm_entries(emu, method=None):
    return [e for e in emu.requests() if e["kind"] in ("arm", "lro_poll") and (method is None or e["method"] == method)]


def test_put_follows_the_lro_and_returns_the_final_resource(emu, arm):
    emu.set_latency(lro_in_progress_polls=2)
    rt = route_table_id(emu.subscription_id, RG, "rt-new")
    result = arm.put(rt, table_body(("node-b", "10.244.1.0/24", "10.0.0.5")))
    assert result["properties"]["provisioningState"] == "Succeeded"
    assert result["properties"]["routes"][0]["name"] == "node-b"
    assert result["etag"] == emu.get_resource(rt)["etag"]
    # PUT (201, Updating) -> status InProgress, InProgress, Succeeded -> final GET of the table
    assert [(e["method"], e["kind"], e["status"]) for e in arm_entries(emu)] == [
        ("PUT", "arm", 201), ("GET", "lro_poll", 200), ("GET", "lro_poll", 200), ("GET", "lro_poll", 200),
        ("GET", "arm", 200),
    ]


def poll_until_done(operation, polls=10):
    """Poll without sleeping (the stand-in's operations here finish by poll count, not time)."""
    for _poll in range(polls):
        result = operation.poll()
        if result is not None:
            return result
    raise AssertionError("operation still running after %d polls" % polls)


def test_begin_put_polls_one_request_at_a_time_and_returns_the_new_etag(emu, arm):
    emu.set_latency(lro_in_progress_polls=1, retry_after=2)
    rt = route_table_id(emu.subscription_id, RG, "rt-existing")
    current = arm.get(rt)
    emu.clear_log()
    current["tags"] = {"owner": "calico"}
    operation = arm.begin_put(rt, current, if_match=current["etag"])
    assert not operation.done and operation.retry_after == 2
    assert [(e["method"], e["kind"]) for e in arm_entries(emu)] == [("PUT", "arm")], "begin_put waits for nothing"
    assert operation.poll() is None, "InProgress"
    assert operation.retry_after == 2, "the status answer's Retry-After"
    assert len(arm_entries(emu)) == 2, "one poll, one request"
    result = poll_until_done(operation)
    assert result["properties"]["provisioningState"] == "Succeeded"
    assert result["tags"] == {"owner": "calico"}
    assert result["etag"] == emu.get_resource(rt)["etag"] != current["etag"]
    # PUT -> status InProgress -> status Succeeded -> final GET of the table, one request per poll
    assert [(e["method"], e["kind"], e["status"]) for e in arm_entries(emu)] == [
        ("PUT", "arm", 200), ("GET", "lro_poll", 200), ("GET", "lro_poll", 200), ("GET", "arm", 200),
    ]
    assert operation.done and operation.poll() == result and len(arm_entries(emu)) == 4


def test_begin_put_without_final_get_returns_the_accepted_resource(emu, arm):
    rt = route_table_id(emu.subscription_id, RG, "rt-accepted")
    operation = arm.begin_put(rt, table_body(("node-b", "10.244.1.0/24", "10.0.0.5")), final_get=False)
    result = poll_until_done(operation)
    assert result["etag"] == emu.get_resource(rt)["etag"]
    assert result["properties"]["routes"][0]["name"] == "node-b"
    assert [(e["method"], e["kind"]) for e in arm_entries(emu)] == [("PUT", "arm"), ("GET", "lro_poll")]


def test_begin_put_of_a_failed_operation_raises_operation_failed(emu, arm):
    emu.fail_next_lro(code="InternalServerError", message="Allocation failed in the stand-in.")
    rt = route_table_id(emu.subscription_id, RG, "rt-doomed-async")
    operation = arm.begin_put(rt, table_body())
    with pytest.raises(AzureOperationFailed) as err:
        poll_until_done(operation)
    assert err.value.code == "InternalServerError"
    assert err.value.message == (
        "The Azure operation to write Route table 'rt-doomed-async' in resource group '%s' ended Failed "
        "(InternalServerError: Allocation failed in the stand-in.)." % RG)
    polls = len(arm_entries(emu))
    with pytest.raises(AzureOperationFailed):
        operation.poll()
    assert len(arm_entries(emu)) == polls, "a failed operation is not polled again"


def test_begin_put_with_a_stale_etag_is_precondition_failed_before_any_poll(emu, arm):
    rt = route_table_id(emu.subscription_id, RG, "rt-existing")
    stale = arm.get(rt)
    emu.mutate(rt, {"tags": {"someone": "else"}})
    emu.clear_log()
    stale["tags"] = {"owner": "calico"}
    with pytest.raises(AzurePreconditionFailed) as err:
        arm.begin_put(rt, stale, if_match=stale["etag"])
    assert err.value.status == 412
    assert [(e["method"], e["status"]) for e in arm_entries(emu)] == [("PUT", 412)]
    assert emu.get_resource(rt)["tags"] == {"someone": "else"}


def test_put_with_current_etag_sends_if_match_and_gets_a_new_etag(emu, arm):
    rt = route_table_id(emu.subscription_id, RG, "rt-existing")
    current = arm.get(rt)
    current["tags"] = {"owner": "calico"}
    updated = arm.put(rt, current, if_match=current["etag"])
    assert updated["tags"] == {"owner": "calico"}
    assert updated["etag"] != current["etag"]
    put = arm_entries(emu, "PUT")
    assert len(put) == 1 and put[0]["if_match"] == current["etag"]


def test_stale_etag_is_precondition_failed_and_nothing_changes(emu, arm):
    rt = route_table_id(emu.subscription_id, RG, "rt-existing")
    stale = arm.get(rt)
    emu.mutate(rt, {"tags": {"someone": "else"}})
    stale["tags"] = {"owner": "calico"}
    with pytest.raises(AzurePreconditionFailed) as err:
        arm.put(rt, stale, if_match=stale["etag"])
    assert err.value.status == 412
    assert err.value.message.startswith(
        "Route table 'rt-existing' in resource group '%s' changed since it was read (412 " % RG)
    assert emu.get_resource(rt)["tags"] == {"someone": "else"}


def test_if_none_match_star_refuses_to_overwrite(emu, arm):
    rt = route_table_id(emu.subscription_id, RG, "rt-existing")
    with pytest.raises(AzurePreconditionFailed):
        arm.put(rt, table_body(), if_none_match="*")
    created = arm.put(route_table_id(emu.subscription_id, RG, "rt-fresh"), table_body(), if_none_match="*")
    assert created["name"] == "rt-fresh"


def test_missing_resources_are_named(emu, arm):
    missing = route_table_id(emu.subscription_id, RG, "rt-missing")
    with pytest.raises(AzureNotFound) as err:
        arm.get(missing)
    assert err.value.message.startswith("Route table 'rt-missing' in resource group '%s' was not found (" % RG)
    assert arm.get_or_none(missing) is None
    in_missing_group = route_table_id(emu.subscription_id, "no-such-rg", "rt")
    with pytest.raises(AzureNotFound) as err:
        arm.get(in_missing_group)
    assert err.value.message.startswith(
        "Resource group 'no-such-rg' was not found in subscription '%s'" % emu.subscription_id)
    assert arm.get_or_none(in_missing_group) is None
    with pytest.raises(AzureNotFound) as err:
        arm.resource_group("no-such-rg")
    assert "Resource group 'no-such-rg'" in err.value.message
    assert arm.resource_group(RG)["location"] == "westeurope"


def test_list_follows_next_link(emu, arm):
    emu.set_page_size(2)
    path = resource_group_id(emu.subscription_id, RG) + "/providers/Microsoft.Network/routeTables"
    names = sorted(t["name"] for t in arm.list(path))
    assert names == ["rt-existing", "rt-page-0", "rt-page-1", "rt-page-2", "rt-page-3"]
    assert len(arm_entries(emu, "GET")) == 3


def test_delete_waits_and_reports_absence(emu, arm):
    rt = route_table_id(emu.subscription_id, RG, "rt-page-0")
    assert arm.delete(rt) is True
    assert emu.get_resource(rt) is None
    statuses = [(e["method"], e["status"]) for e in arm_entries(emu)]
    assert statuses[0] == ("DELETE", 202) and ("GET", 200) in statuses[1:]
    emu.clear_log()
    assert arm.delete(rt) is False
    assert [(e["method"], e["status"]) for e in arm_entries(emu)] == [("DELETE", 204)]


def test_child_route_put_and_delete(emu, arm):
    route = route_id(emu.subscription_id, RG, "rt-existing", "node-c")
    body = {"properties": {"addressPrefix": "10.244.2.0/24", "nextHopType": "VirtualAppliance",
                           "nextHopIpAddress": "10.0.0.6"}}
    assert arm.put(route, body)["properties"]["nextHopIpAddress"] == "10.0.0.6"
    table = arm.get(route_table_id(emu.subscription_id, RG, "rt-existing"))
    assert sorted(r["name"] for r in table["properties"]["routes"]) == ["node-a", "node-c"]
    assert arm.delete(route) is True


def test_bad_request_keeps_arm_code_and_message(emu, arm):
    rt = route_table_id(emu.subscription_id, RG, "rt-bad")
    with pytest.raises(AzureBadRequest) as err:
        arm.put(rt, table_body(("r1", "10.244.0.0/24", "10.0.0.4"), ("r2", "10.244.0.0/24", "10.0.0.5")))
    assert err.value.status == 400 and err.value.code
    assert err.value.message.startswith("Azure rejected the request to write Route table 'rt-bad'")
    assert "(400 %s: " % err.value.code in err.value.message


def test_failed_lro_reports_arm_code_and_message(emu, arm):
    emu.fail_next_lro(code="InternalServerError", message="Allocation failed in the stand-in.")
    rt = route_table_id(emu.subscription_id, RG, "rt-doomed")
    with pytest.raises(AzureOperationFailed) as err:
        arm.put(rt, table_body())
    assert err.value.code == "InternalServerError"
    assert err.value.message == (
        "The Azure operation to write Route table 'rt-doomed' in resource group '%s' ended Failed "
        "(InternalServerError: Allocation failed in the stand-in.)." % RG)


def test_429_with_retry_after_is_retried_after_the_wait(emu, arm):
    emu.inject_faults(count=1, status=429, method="PUT", retry_after=1)
    rt = route_table_id(emu.subscription_id, RG, "rt-throttled")
    assert arm.put(rt, table_body())["name"] == "rt-throttled"
    puts = arm_entries(emu, "PUT")
    assert [e["status"] for e in puts] == [429, 201]
    # the retry came after the server's Retry-After, not immediately
    assert puts[1]["time"] - puts[0]["time"] >= 0.9


def test_transient_500_on_get_is_retried(emu, arm):
    emu.inject_faults(count=2, status=500, method="GET")
    assert arm.get(route_table_id(emu.subscription_id, RG, "rt-existing"))["name"] == "rt-existing"
    assert [e["status"] for e in arm_entries(emu, "GET")] == [500, 500, 200]


def test_503_on_delete_is_retried(emu, arm):
    emu.inject_faults(count=1, status=503, method="DELETE")
    assert arm.delete(route_table_id(emu.subscription_id, RG, "rt-page-1")) is True
    assert [e["status"] for e in arm_entries(emu, "DELETE")] == [503, 202]


def test_connection_reset_on_put_is_retried(emu, arm):
    emu.inject_faults(count=1, kind="reset", status=None, method="PUT")
    rt = route_table_id(emu.subscription_id, RG, "rt-reset")
    assert arm.put(rt, table_body())["name"] == "rt-reset"
    assert [(e["status"], e["fault"]) for e in arm_entries(emu, "PUT")] == [(0, "reset"), (201, None)]
    assert emu.get_resource(rt) is not None


def test_throttled_after_every_retry(emu):
    arm = client_for(emu, max_retries=2)
    emu.clear_log()
    emu.inject_faults(count=10, status=429, method="GET", retry_after=0)
    with pytest.raises(AzureThrottled) as err:
        arm.get(route_table_id(emu.subscription_id, RG, "rt-existing"))
    assert err.value.retries == 2 and err.value.status == 429
    assert "still failed after 2 retries (429 TooManyRequests" in err.value.message
    assert len(arm_entries(emu, "GET")) == 3


def test_concurrent_write_to_a_busy_table_is_retried(emu, arm):
    """NRP's RetryableErrorDueToAnotherOperation (429) while the table's earlier write runs."""
    # 2 s of table operation leave a wide margin for the second write to land
    # inside it even on a loaded machine.
    emu.set_latency(lro_seconds=2.0, retry_after=1)
    table = route_table_id(emu.subscription_id, RG, "rt-existing")
    route = route_id(emu.subscription_id, RG, "rt-existing", "node-z")

    def table_put_accepted():
        return any(e["method"] == "PUT" and e["status"] in (200, 201) and e["path"].lower() == table.lower()
                   for e in emu.requests())

    def update_table():
        body = arm.get(table)
        body["tags"] = {"writer": "one"}
        return arm.put(table, body)

    with ThreadPoolExecutor(max_workers=1) as pool:
        table_future = pool.submit(update_table)
        deadline = time.monotonic() + 10
        while not table_put_accepted() and time.monotonic() < deadline:
            time.sleep(0.01)
        # The table's operation is now running: this write must first be
        # refused, then succeed on retry after Retry-After.
        added = arm.put(route, {"properties": {"addressPrefix": "10.244.9.0/24", "nextHopType": "VirtualAppliance",
                                               "nextHopIpAddress": "10.0.0.9"}})
        assert table_future.result(timeout=60)["tags"] == {"writer": "one"}
    assert added["name"] == "node-z"
    route_puts = [e for e in arm_entries(emu, "PUT") if e["path"].lower().endswith("/routes/node-z")]
    statuses = [e["status"] for e in route_puts]
    assert statuses[0] == 429 and set(statuses[1:-1]) <= {429} and statuses[-1] == 201, statuses
    assert route_puts[0]["fault"] is None  # the Network RP's own refusal, not an injected fault
    assert all(b["time"] - a["time"] >= 0.9 for a, b in zip(route_puts, route_puts[1:]))


def test_one_client_serves_a_thread_pool(emu, arm):
    ids = [route_table_id(emu.subscription_id, RG, "rt-par-%d" % i) for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda rid: arm.put(rid, table_body()), ids))
    assert [r["name"] for r in results] == ["rt-par-%d" % i for i in range(8)]
    counts = emu.counts()
    assert counts["by_method"]["PUT"] == 8
    assert counts["token_requests"] == 1


def test_busy_table_without_retries_is_throttled_with_nrp_code(emu):
    arm = client_for(emu, max_retries=0)
    emu.set_latency(lro_seconds=2.0, retry_after=1)
    table = route_table_id(emu.subscription_id, RG, "rt-existing")
    body = arm.get(table)
    emu.clear_log()
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(arm.put, table, body)
        deadline = time.monotonic() + 10
        while not any(e["method"] == "PUT" for e in emu.requests()) and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(AzureThrottled) as err:
            arm.put(route_id(emu.subscription_id, RG, "rt-existing", "node-y"),
                    {"properties": {"addressPrefix": "10.244.8.0/24", "nextHopType": "VirtualAppliance",
                                    "nextHopIpAddress": "10.0.0.8"}})
        running.result(timeout=60)
    assert err.value.code == "RetryableErrorDueToAnotherOperation"
    assert err.value.retries == 0
    assert "Route 'node-y' of route table 'rt-existing'" in err.value.message
