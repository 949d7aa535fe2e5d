"""ArmOperation: how ArmClient follows a write's long-running operation, one request per poll.

The stand-in (like the Network RP) answers PUTs with Azure-AsyncOperation and
DELETEs with Azure-AsyncOperation + Location; the integration tests cover
those through ArmClient. These cover every shape ARM may answer with, over a
scripted fetch (the one GET an operation sends per poll).
"""

from __future__ import annotations

import email.utils
import time
from typing import Any, Dict, List, Optional, Tuple

import pytest

from ansible_collections.calico.azure.plugins.module_utils._azure.client import (
    ArmOperation,
    retry_after_seconds,
)
from ansible_collections.calico.azure.plugins.module_utils._azure.errors import (
    AzureNotFound,
    AzureOperationFailed,
    error_from_response,
)

NIC = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic-1"
NIC_URL = "https://arm" + NIC + "?api-version=x"
INTERVAL = 5


class ScriptedFetch:
    """Answers an operation's GETs from a script; raises like ArmClient for statuses outside ``ok``."""

    def __init__(self, *answers: Tuple[int, Dict[str, str], Optional[Dict[str, Any]]]):
        self.answers = list(answers)
        self.urls: List[str] = []

    def __call__(self, url: str, ok: Tuple[int, ...]):
        self.urls.append(url)
        status, headers, body = self.answers.pop(0)
        if status not in ok:
            raise error_from_response(status, body, resource_id=NIC, action="write")
        return status, headers, body or {}


def nic_body(state: str = "Succeeded", forwarding: bool = True, etag: str = 'W/"2"') -> Dict[str, Any]:
    return {"id": NIC, "etag": etag, "properties": {"provisioningState": state, "enableIPForwarding": forwarding}}


def operation(status, headers, body, fetch, method="PUT", final_get=True):
    return ArmOperation(method, status, headers, body, resource_url=NIC_URL, fetch=fetch, resource_id=NIC,
                        action="write" if method == "PUT" else "delete", polling_interval=INTERVAL,
                        final_get=final_get)


def test_a_put_answered_succeeded_is_done_without_a_poll():
    fetch = ScriptedFetch()
    write = operation(200, {}, nic_body(), fetch)
    assert write.done and write.retry_after == 0
    assert write.poll() == nic_body()
    assert fetch.urls == []


def test_async_operation_is_polled_with_its_retry_after_then_the_resource_is_read():
    status = "https://arm/operations/1"
    fetch = ScriptedFetch(
        (200, {"Retry-After": "7"}, {"status": "InProgress"}),
        (200, {}, {"status": "Succeeded"}),
        (200, {}, nic_body(etag='W/"3"')),
    )
    write = operation(201, {"Azure-AsyncOperation": status, "Retry-After": "3"}, nic_body("Updating"), fetch)
    assert not write.done and write.retry_after == 3
    assert write.poll() is None and write.retry_after == 7
    assert write.poll() is None and write.retry_after == 0, "the final read is a poll of its own, due at once"
    assert write.poll() == nic_body(etag='W/"3"')
    assert fetch.urls == [status, status, NIC_URL]
    assert write.done and write.poll() == nic_body(etag='W/"3"') and len(fetch.urls) == 3


def test_without_final_get_success_returns_the_accepted_resource():
    fetch = ScriptedFetch((200, {"Retry-After": "1"}, {"status": "InProgress"}), (200, {}, {"status": "Succeeded"}))
    accepted = nic_body("Updating")
    write = operation(200, {"azure-asyncoperation": "https://arm/operations/1"}, accepted, fetch, final_get=False)
    assert write.poll() is None
    assert write.poll() == accepted, "no final GET: the NIC as ARM accepted the write, with its new etag"
    assert fetch.urls == ["https://arm/operations/1"] * 2


def test_a_failed_operation_raises_with_arms_reason_and_keeps_raising():
    fetch = ScriptedFetch(
        (200, {}, {"status": "Failed", "error": {"code": "InternalServerError", "message": "host update failed"}}))
    write = operation(201, {"Azure-AsyncOperation": "https://arm/operations/2"}, nic_body("Updating"), fetch)
    assert write.retry_after == INTERVAL, "no Retry-After: the client's interval"
    with pytest.raises(AzureOperationFailed, match="host update failed") as err:
        write.poll()
    assert err.value.code == "InternalServerError" and err.value.resource_id == NIC
    with pytest.raises(AzureOperationFailed):
        write.poll()
    assert len(fetch.urls) == 1


def test_a_canceled_operation_is_a_failed_one():
    fetch = ScriptedFetch((200, {}, {"status": "Canceled"}))
    write = operation(201, {"Azure-AsyncOperation": "https://arm/operations/2"}, nic_body("Updating"), fetch)
    with pytest.raises(AzureOperationFailed, match="ended Canceled"):
        write.poll()


def test_location_polling_returns_the_final_resource():
    fetch = ScriptedFetch(
        (202, {"Retry-After": "2", "Location": "https://arm/operationResults/3b"}, None),
        (200, {}, nic_body()),
    )
    write = operation(202, {"Location": "https://arm/operationResults/3", "Retry-After": "1"}, {}, fetch)
    assert write.retry_after == 1
    assert write.poll() is None and write.retry_after == 2
    assert write.poll() == nic_body()
    assert fetch.urls == ["https://arm/operationResults/3", "https://arm/operationResults/3b"]


def test_location_done_without_a_body_reads_the_resource_for_a_put():
    fetch = ScriptedFetch((204, {}, None), (200, {}, nic_body()))
    write = operation(202, {"Location": "https://arm/operationResults/4"}, {}, fetch)
    assert write.poll() is None
    assert write.poll() == nic_body()
    assert fetch.urls[1] == NIC_URL


def test_a_failing_location_poll_raises_the_mapped_error():
    fetch = ScriptedFetch((404, {}, {"error": {"code": "NotFound", "message": "gone"}}))
    write = operation(202, {"Location": "https://arm/operationResults/5"}, {}, fetch)
    with pytest.raises(AzureNotFound):
        write.poll()


def test_a_non_terminal_state_without_status_url_reads_the_resource():
    fetch = ScriptedFetch((200, {}, nic_body("Updating")), (200, {}, nic_body("Succeeded")))
    write = operation(200, {}, nic_body("Updating"), fetch)
    assert not write.done
    assert write.poll() is None
    assert write.poll() == nic_body("Succeeded")
    assert fetch.urls == [NIC_URL, NIC_URL]


def test_a_resource_that_ends_failed_raises():
    fetch = ScriptedFetch((200, {}, nic_body("Failed")))
    write = operation(201, {}, nic_body("Creating"), fetch)
    with pytest.raises(AzureOperationFailed, match="ended Failed"):
        write.poll()


def test_a_delete_is_polled_until_the_operation_succeeded_without_a_final_read():
    fetch = ScriptedFetch((200, {}, {"status": "InProgress"}), (200, {}, {"status": "Succeeded"}))
    delete = operation(202, {"Azure-AsyncOperation": "https://arm/operations/6",
                             "Location": "https://arm/operationResults/6"}, {}, fetch, method="DELETE")
    assert delete.poll() is None
    assert delete.poll() == {}
    assert fetch.urls == ["https://arm/operations/6"] * 2, "Azure-AsyncOperation wins over Location"


def test_a_delete_without_status_url_waits_for_404():
    fetch = ScriptedFetch((200, {}, nic_body("Deleting")), (404, {}, {"error": {"code": "NotFound"}}))
    delete = operation(202, {}, {}, fetch, method="DELETE")
    assert delete.poll() is None
    assert delete.poll() == {}


def test_wait_polls_at_once_then_sleeps_what_arm_asked():
    fetch = ScriptedFetch(
        (200, {"Retry-After": "4"}, {"status": "InProgress"}),
        (200, {}, {"status": "Succeeded"}),
        (200, {}, nic_body()),
    )
    slept: List[float] = []
    write = operation(201, {"Azure-AsyncOperation": "https://arm/operations/7", "Retry-After": "1"},
                      nic_body("Updating"), fetch)
    assert write.wait(sleep=slept.append) == nic_body()
    assert slept == [4, 0]


@pytest.mark.parametrize("headers, expected", [
    ({"Retry-After": "3"}, 3.0),
    ({"retry-after": "0.5"}, 0.5),
    ({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5),
    ({"x-ms-retry-after-ms": "200"}, 0.2),
    ({"Retry-After": "soon"}, None),
    ({}, None),
])
def test_retry_after_headers(headers, expected):
    assert retry_after_seconds(headers) == expected


def test_retry_after_as_http_date():
    in_ten = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 8 <= retry_after_seconds({"Retry-After": in_ten}) <= 10


def test_a_zero_retry_after_means_the_clients_interval():
    fetch = ScriptedFetch((200, {"Retry-After": "0"}, {"status": "InProgress"}))
    write = operation(201, {"Azure-AsyncOperation": "https://arm/operations/8", "Retry-After": "0"},
                      nic_body("Updating"), fetch)
    assert write.retry_after == INTERVAL
    assert write.poll() is None and write.retry_after == INTERVAL
