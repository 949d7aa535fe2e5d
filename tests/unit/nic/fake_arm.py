"""An in-memory stand-in for the NicApi seam of _nic.run.ForwardingRun.

It keeps NICs and VMs as raw JSON with etags, enforces If-Match like ARM
(412 on a stale etag), counts calls, tracks how many calls run at once and
can inject failures per resource, so the run's behaviour is tested without
HTTP, SDK or Ansible.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from typing import Any, Callable, Dict, List, Optional

from ansible_collections.calico.azure.plugins.module_utils._nic.run import ErrorKinds
from ansible_collections.calico.azure.plugins.module_utils._nic.transform import NIC_TYPE, VM_TYPE

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"


class FakeError(Exception):
    """Base of the fake client's errors, like AzureError."""


class FakeNotFound(FakeError):
    pass


class FakePreconditionFailed(FakeError):
    def __init__(self, message: str = "", retries: int = 0) -> None:
        super().__init__(message)
        self.retries = retries


class FakeTransportError(FakeError):
    """No HTTP answer (a reset connection): the write's outcome is unknown."""


class FakeForbidden(FakeError):
    pass


ERRORS = ErrorKinds(
    expected=(FakeError,),
    precondition_failed=FakePreconditionFailed,
    not_found=FakeNotFound,
    unanswered=(FakeTransportError,),
)


def nic_id(name: str, group: str = "rg1", subscription: str = SUBSCRIPTION) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{NIC_TYPE}/{name}"


def vm_id(name: str, group: str = "rg1", subscription: str = SUBSCRIPTION) -> str:
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{VM_TYPE}/{name}"


def make_nic(name: str, group: str = "rg1", ip: str = "10.0.0.4", forwarding: Optional[bool] = False,
             vm: Optional[str] = None, subscription: str = SUBSCRIPTION) -> Dict[str, Any]:
    properties: Dict[str, Any] = {
        "provisioningState": "Succeeded",
        "ipConfigurations": [
            {
                "name": "ipconfig1",
                "properties": {"primary": True, "privateIPAddress": ip, "privateIPAddressVersion": "IPv4"},
            }
        ],
    }
    if forwarding is not None:
        properties["enableIPForwarding"] = forwarding
    if vm:
        properties["virtualMachine"] = {"id": vm_id(vm, group, subscription)}
    return {"name": name, "id": nic_id(name, group, subscription), "location": "westeurope",
            "etag": 'W/"%s"' % uuid.uuid4(), "properties": properties}


def make_vm(name: str, nics: List[str], group: str = "rg1", primary: Optional[str] = None,
            subscription: str = SUBSCRIPTION) -> Dict[str, Any]:
    references = []
    for nic in nics:
        reference: Dict[str, Any] = {"id": nic if nic.startswith("/") else nic_id(nic, group, subscription)}
        if primary is not None:
            reference["properties"] = {"primary": nic == primary}
        references.append(reference)
    return {"name": name, "id": vm_id(name, group, subscription),
            "properties": {"networkProfile": {"networkInterfaces": references}}}


class FakeArm:
    def __init__(self, resources: List[Dict[str, Any]] = (), latency: float = 0.0) -> None:
        self.resources: Dict[str, Dict[str, Any]] = {}
        for resource in resources:
            self.add(resource)
        self.latency = latency
        self.retry_after = 0.0
        self.lro_polls_needed = 1
        self.calls: List[tuple] = []
        self.put_bodies: List[Dict[str, Any]] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        # resource id (lower) -> exception to raise on that operation
        self.fail_get: Dict[str, Exception] = {}
        self.fail_put: Dict[str, Exception] = {}
        self.fail_lro: Dict[str, Exception] = {}
        self.fail_list: Dict[tuple, Exception] = {}
        # resource id (lower) -> callables run just before a PUT is checked
        self.before_put: Dict[str, List[Callable[[], None]]] = {}
        # resource ids (lower) whose next PUT is applied and its answer then lost
        self.lose_answer: set = set()

    def add(self, resource: Dict[str, Any]) -> None:
        self.resources[resource["id"].lower()] = copy.deepcopy(resource)

    def stored(self, resource_id: str) -> Dict[str, Any]:
        return copy.deepcopy(self.resources[resource_id.lower()])

    def outside_write(self, resource_id: str, change: Callable[[Dict[str, Any]], None]) -> None:
        """Someone else writes the resource: content changes and so does the etag."""
        resource = self.resources[resource_id.lower()]
        change(resource)
        resource["etag"] = 'W/"%s"' % uuid.uuid4()

    def count(self, operation: str) -> int:
        return sum(1 for call in self.calls if call[0] == operation)

    def _enter(self, *call: Any) -> None:
        with self.lock:
            self.calls.append(call)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        if self.latency:
            time.sleep(self.latency)

    def _leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    # -- the NicApi seam --

    def get(self, resource_id: str) -> Dict[str, Any]:
        self._enter("get", resource_id)
        try:
            if resource_id.lower() in self.fail_get:
                raise self.fail_get[resource_id.lower()]
            if resource_id.lower() not in self.resources:
                raise FakeNotFound(f"The resource {resource_id} was not found (HTTP 404).")
            return self.stored(resource_id)
        finally:
            self._leave()

    def list_group(self, subscription_id: str, resource_group: str, resource_type: str) -> List[Dict[str, Any]]:
        self._enter("list", subscription_id, resource_group, resource_type)
        try:
            key = (subscription_id.lower(), resource_group.lower(), resource_type)
            if key in self.fail_list:
                raise self.fail_list[key]
            prefix = f"/subscriptions/{subscription_id}/resourcegroups/{resource_group}/providers/{resource_type}/".lower()
            return [copy.deepcopy(r) for k, r in self.resources.items() if k.startswith(prefix)]
        finally:
            self._leave()

    def begin_put(self, resource_id: str, body: Dict[str, Any], if_match: Optional[str]) -> "FakeOperation":
        self._enter("put", resource_id, if_match)
        try:
            key = resource_id.lower()
            for hook in self.before_put.pop(key, []):
                hook()
            if key in self.fail_put:
                raise self.fail_put[key]
            current = self.resources.get(key)
            if current is None:
                raise FakeNotFound(f"The resource {resource_id} was not found (HTTP 404).")
            if if_match is not None and if_match != current.get("etag"):
                raise FakePreconditionFailed(f"PreconditionFailed: etag {if_match} does not match (HTTP 412).")
            self.put_bodies.append(copy.deepcopy(body))
            stored = copy.deepcopy(body)
            stored["etag"] = 'W/"%s"' % uuid.uuid4()
            stored.setdefault("properties", {})["provisioningState"] = "Succeeded"
            self.resources[key] = stored
            if key in self.lose_answer:
                self.lose_answer.discard(key)
                raise FakeTransportError("Connection reset by peer after the request was sent.")
        finally:
            self._leave()
        return FakeOperation(self, resource_id, stored, self.fail_lro.get(key), self.lro_polls_needed)


class FakeOperation:
    """A PUT's long-running operation that finishes after ``polls_needed`` polls."""

    def __init__(self, arm: FakeArm, resource_id: str, stored: Dict[str, Any], error: Optional[Exception],
                 polls_needed: int) -> None:
        self.arm = arm
        self.resource_id = resource_id
        self.stored = stored
        self.error = error
        self.polls_left = polls_needed
        self.retry_after = arm.retry_after

    def poll(self) -> Optional[Dict[str, Any]]:
        self.arm._enter("poll", self.resource_id)
        try:
            self.polls_left -= 1
            if self.polls_left > 0:
                return None
            if self.error is not None:
                raise self.error
            return copy.deepcopy(self.stored)
        finally:
            self.arm._leave()
