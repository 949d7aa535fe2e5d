"""The module's ArmClient adapter: the NicApi seam over ArmClient's public API.

How an operation is followed is ArmClient's (tests/unit/module_utils/
test_azure_client_operation.py, and against the stand-in in
tests/integration/test_azure_auth_arm_client.py); here: what the adapter asks
the client for, over a fake client with the same public methods.
"""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from ansible_collections.calico.azure.plugins.module_utils._azure.client import ArmOperation
from ansible_collections.calico.azure.plugins.module_utils._azure.errors import (
    AzurePreconditionFailed,
    error_from_response,
)
from ansible_collections.calico.azure.plugins.module_utils._nic.api import ArmNicApi

SUB = "00000000-0000-0000-0000-000000000001"
NIC = "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/nic-1" % SUB


def nic_body(state: str = "Succeeded", forwarding: bool = True) -> Dict[str, Any]:
    return {"id": NIC, "etag": 'W/"2"', "properties": {"provisioningState": state, "enableIPForwarding": forwarding}}


class PublicClient:
    """ArmClient's public read/write methods, recorded; begin_put answers with a scripted operation."""

    def __init__(self, put_status: int = 200, put_headers: Dict[str, str] = None, fail_put: int = 0):
        self.calls: List[tuple] = []
        self.put_status = put_status
        self.put_headers = put_headers or {}
        self.fail_put = fail_put
        self.status_answers = [(200, {}, {"status": "Succeeded"})]

    def get(self, resource_id: str) -> Dict[str, Any]:
        self.calls.append(("get", resource_id))
        return nic_body()

    def list(self, path: str) -> List[Dict[str, Any]]:
        self.calls.append(("list", path))
        return [nic_body()]

    def begin_put(self, resource_id, body, *, if_match=None, if_none_match=None, final_get=True):
        self.calls.append(("begin_put", resource_id, if_match, final_get))
        if self.fail_put:
            raise error_from_response(self.fail_put, {"error": {"code": "PreconditionFailed", "message": "etag"}},
                                      resource_id=resource_id, action="write")

        def fetch(url, ok):
            self.calls.append(("poll", url))
            return self.status_answers.pop(0)

        return ArmOperation("PUT", self.put_status, self.put_headers, nic_body("Updating"), resource_url="u",
                            fetch=fetch, resource_id=resource_id, final_get=final_get)


def test_reads_go_to_get_and_to_the_groups_list():
    client = PublicClient()
    api = ArmNicApi(client)
    assert api.get(NIC) == nic_body()
    assert api.list_group(SUB, "rg", "Microsoft.Network/networkInterfaces") == [nic_body()]
    assert client.calls == [
        ("get", NIC),
        ("list", "/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces" % SUB),
    ]


def test_a_write_is_conditional_and_skips_the_final_read():
    client = PublicClient(put_headers={"Azure-AsyncOperation": "https://arm/operations/1", "Retry-After": "3"})
    write = ArmNicApi(client).begin_put(NIC, nic_body(), 'W/"1"')
    assert client.calls == [("begin_put", NIC, 'W/"1"', False)]
    assert write.retry_after == 3
    final = write.poll()
    assert final["properties"]["enableIPForwarding"] is True, "the NIC as ARM accepted the write"
    assert client.calls[1:] == [("poll", "https://arm/operations/1")], "no final GET of the NIC"


def test_412_on_the_put_is_the_precondition_error_the_run_retries_on():
    client = PublicClient(fail_put=412)
    with pytest.raises(AzurePreconditionFailed):
        ArmNicApi(client).begin_put(NIC, nic_body(), 'W/"old"')


def test_a_412_after_client_retries_says_so_so_the_run_can_re_read():
    """The client re-sent a PUT whose answer was lost: the 412 may be our own first write's new etag."""
    retried = error_from_response(412, {"error": {"code": "PreconditionFailed", "message": "etag"}},
                                  resource_id=NIC, action="write", retries=1)
    first = error_from_response(412, {"error": {"code": "PreconditionFailed", "message": "etag"}},
                                resource_id=NIC, action="write", retries=0)
    assert isinstance(retried, AzurePreconditionFailed) and retried.retries == 1
    assert not first.retries
