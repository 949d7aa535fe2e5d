"""The module's ArmClient adapter: how a NIC PUT's long-running operation is followed.

The integration tests cover the Azure-AsyncOperation path the stand-in (and
the Network RP) answers with; these cover the other shapes ARM may answer a
PUT with, over a fake client that scripts the HTTP answers.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

import pytest

from ansible_collections.calico.azure.plugins.module_utils._azure_errors import (
    AzureOperationFailed,
    AzurePreconditionFailed,
    error_from_response,
)
from ansible_collections.calico.azure.plugins.modules.azure_nic_forwarding import ArmNicApi

NIC = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic-1"


class Answer:
    def __init__(self, status: int, body: Optional[Dict[str, Any]] = None, headers: Optional[Dict[str, str]] = None):
        self.status_code = status
        self.headers = headers or {}
        self._text = json.dumps(body) if body is not None else ""

    def text(self) -> str:
        return self._text


class Pipeline:
    def __init__(self, answer: Answer):
        self.http_response = answer


class ScriptedClient:
    """Answers requests from a script, records them, checks statuses like ArmClient._check."""

    polling_interval = 5

    def __init__(self, answers: List[Answer]):
        self.answers = list(answers)
        self.sent: List[tuple] = []

    def url(self, path: str) -> str:
        return "https://arm" + path + "?api-version=x"

    def _send(self, method, url, *, resource_id, action, body=None, headers=None):
        self.sent.append((method, url, (headers or {}).get("If-Match")))
        return Pipeline(self.answers.pop(0))

    def _check(self, pipeline_response, resource_id, action, ok):
        response = pipeline_response.http_response
        if response.status_code in ok:
            return response
        raise error_from_response(response.status_code, response.text(), resource_id=resource_id, action=action)

    @staticmethod
    def _json(response):
        return json.loads(response.text()) if response.text() else {}


def nic_body(state: str = "Succeeded", forwarding: bool = True) -> Dict[str, Any]:
    return {"id": NIC, "properties": {"provisioningState": state, "enableIPForwarding": forwarding}}


def test_a_put_answered_succeeded_needs_no_poll():
    client = ScriptedClient([Answer(200, nic_body())])
    write = ArmNicApi(client).begin_put(NIC, nic_body(), 'W/"1"')
    assert write.retry_after == 0
    assert write.poll() == nic_body()
    assert client.sent == [("PUT", "https://arm" + NIC + "?api-version=x", 'W/"1"')]


def test_async_operation_is_polled_with_its_retry_after_until_succeeded():
    status = "https://arm/operations/1"
    client = ScriptedClient([
        Answer(200, nic_body("Updating"), {"Azure-AsyncOperation": status, "Retry-After": "3"}),
        Answer(200, {"status": "InProgress"}, {"Retry-After": "7"}),
        Answer(200, {"status": "Succeeded"}),
    ])
    write = ArmNicApi(client).begin_put(NIC, nic_body("Updating"), 'W/"1"')
    assert write.retry_after == 3
    assert write.poll() is None and write.retry_after == 7
    assert write.poll() == {}, "no final GET: success means the body sent is applied"
    assert [s[0] for s in client.sent] == ["PUT", "GET", "GET"] and client.sent[1][1] == status


def test_a_failed_operation_raises_with_arms_reason():
    client = ScriptedClient([
        Answer(201, nic_body("Updating"), {"Azure-AsyncOperation": "https://arm/operations/2"}),
        Answer(200, {"status": "Failed", "error": {"code": "InternalServerError", "message": "host update failed"}}),
    ])
    write = ArmNicApi(client).begin_put(NIC, nic_body("Updating"), None)
    assert write.retry_after == ScriptedClient.polling_interval, "no Retry-After: the client's interval"
    with pytest.raises(AzureOperationFailed, match="host update failed"):
        write.poll()


def test_location_polling_returns_the_final_resource():
    client = ScriptedClient([
        Answer(202, None, {"Location": "https://arm/operationResults/3", "Retry-After": "1"}),
        Answer(202, None, {"Retry-After": "2"}),
        Answer(200, nic_body()),
    ])
    write = ArmNicApi(client).begin_put(NIC, nic_body(), None)
    assert write.poll() is None and write.retry_after == 2
    assert write.poll() == nic_body()


def test_a_non_terminal_state_without_status_url_reads_the_nic():
    client = ScriptedClient([
        Answer(200, nic_body("Updating")),
        Answer(200, nic_body("Updating")),
        Answer(200, nic_body("Succeeded")),
    ])
    write = ArmNicApi(client).begin_put(NIC, nic_body("Updating"), None)
    assert write.poll() is None
    assert write.poll() == nic_body("Succeeded")
    assert client.sent[1][1] == client.url(NIC)


def test_412_on_the_put_is_the_precondition_error_the_run_retries_on():
    client = ScriptedClient([Answer(412, {"error": {"code": "PreconditionFailed", "message": "etag mismatch"}})])
    with pytest.raises(AzurePreconditionFailed):
        ArmNicApi(client).begin_put(NIC, nic_body(), 'W/"old"')
