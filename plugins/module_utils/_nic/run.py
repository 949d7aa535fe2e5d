# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ForwardingRun: the NIC write flow over an injected I/O seam (NicApi).

Resolve the targets, read them (grouped lists where cheaper), write with
If-Match (re-read and retry on 412), wait for the operations side by side,
collect per-target failures. Threads and the clock live here, so the pure
transformation in :mod:`.transform` needs neither.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Protocol, Sequence, Tuple

from ansible_collections.calico.azure.plugins.module_utils._nic.transform import (
    DEFAULT_LIST_THRESHOLD,
    FORWARDING_PROPERTY,
    Failure,
    ResourceRef,
    TargetError,
    _kind,
    forwarding_of,
    group_by_resource_group,
    index_by_id,
    nic_record,
    plan_reads,
    vm_nic_refs,
    with_forwarding,
)

# How often a NIC is re-read and re-written after a 412 (someone else wrote
# it between our read and our write) before giving up on that NIC.
DEFAULT_MAX_WRITE_ATTEMPTS = 5

# A NIC update normally finishes within seconds; one still running after
# this long is reported as failed rather than waited on forever.
DEFAULT_OPERATION_TIMEOUT = 600.0

# Floor for the wait between polls of one operation, in case ARM sends
# Retry-After: 0 while the operation is still running.
MIN_POLL_INTERVAL = 0.05


# --- the run: resolve, read, write, aggregate --------------------------------------
#
# The I/O is injected (``NicApi``) so the whole flow -- resolution, grouped
# reads, the If-Match/412 loop, waiting on the writes, partial failure -- is
# unit-tested with a fake and driven in production by the module's thin
# ArmClient adapter.


class WriteOperation(Protocol):
    """A PUT that ARM accepted and may still be applying (a long-running operation)."""

    # Seconds to wait before the next poll is worth sending (ARM's Retry-After).
    retry_after: float

    def poll(self) -> Optional[Dict[str, Any]]:
        """At most one request: the NIC once finished, None while running.

        The NIC as ARM reports it after the write or as ARM accepted the
        write; ``{}`` when ARM's answer carried no NIC (the write's body is
        then what Azure applied). Raises one of the client's errors when the
        operation failed.
        """


class NicApi(Protocol):
    """The ARM operations a run needs, over raw JSON."""

    def get(self, resource_id: str) -> Dict[str, Any]:
        """GET one resource."""

    def list_group(self, subscription_id: str, resource_group: str, resource_type: str) -> List[Dict[str, Any]]:
        """Every resource of a type in a resource group (all pages)."""

    def begin_put(self, resource_id: str, body: Dict[str, Any], if_match: Optional[str]) -> WriteOperation:
        """Send the PUT (``If-Match: if_match``) and return without waiting for its operation."""


@dataclass(frozen=True)
class ErrorKinds:
    """The client's exception types, passed in so this module imports no SDK.

    ``expected`` errors become per-target failures; anything else is a bug
    and propagates.
    """

    expected: Tuple[type, ...]
    precondition_failed: type
    not_found: type


@dataclass
class ForwardingOutcome:
    records: List[Dict[str, Any]] = field(default_factory=list)
    failures: List[Failure] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(r["changed"] for r in self.records)


@dataclass
class _PendingWrite:
    ref: ResourceRef
    nic: Dict[str, Any]
    vm_name: Optional[str]
    forwarding_before: bool
    operation: WriteOperation
    deadline: float


class ForwardingRun:
    """Set IP forwarding on the NICs of the given VMs and on the given NICs.

    Every request -- reads, PUTs and operation polls -- goes through one pool
    of ``max_parallel`` workers, so a run never has more requests in flight
    than that.  A worker is held only for the duration of a request, never for
    a whole long-running operation: the PUTs of all NICs are sent first and
    their operations then finish side by side, polled as ARM's Retry-After
    says they are worth polling.
    """

    def __init__(
        self,
        api: NicApi,
        errors: ErrorKinds,
        enabled: bool = True,
        check_mode: bool = False,
        all_nics: bool = False,
        max_parallel: int = 10,
        list_threshold: int = DEFAULT_LIST_THRESHOLD,
        max_write_attempts: int = DEFAULT_MAX_WRITE_ATTEMPTS,
        operation_timeout: float = DEFAULT_OPERATION_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_parallel < 1:
            raise ValueError("max_parallel must be at least 1")
        self.api = api
        self.errors = errors
        self.enabled = bool(enabled)
        self.check_mode = check_mode
        self.all_nics = all_nics
        self.max_parallel = max_parallel
        self.list_threshold = list_threshold
        self.max_write_attempts = max(1, max_write_attempts)
        self.operation_timeout = operation_timeout
        self.clock = clock
        self.sleep = sleep

    def run(
        self,
        vm_refs: Sequence[ResourceRef],
        nic_refs: Sequence[ResourceRef],
        failures: Iterable[Failure] = (),
    ) -> ForwardingOutcome:
        outcome = ForwardingOutcome(failures=list(failures))
        records: Dict[str, Dict[str, Any]] = {}
        with ThreadPoolExecutor(max_workers=self.max_parallel, thread_name_prefix="nic") as pool:
            targets = self._resolve_targets(pool, vm_refs, nic_refs, outcome.failures)
            nics = self._read_all(pool, [ref for ref, _vm in targets], outcome.failures)
            readable = [(ref, vm) for ref, vm in targets if ref.key in nics]
            starts = [pool.submit(self._start, ref, nics[ref.key], vm) for ref, vm in readable]
            pending: List[_PendingWrite] = []
            for (ref, _vm), start in zip(readable, starts):
                try:
                    started = start.result()
                except self.errors.expected as error:
                    outcome.failures.append(Failure("NIC " + ref.label, _reason(error)))
                    continue
                if isinstance(started, Failure):
                    outcome.failures.append(started)
                elif isinstance(started, _PendingWrite):
                    pending.append(started)
                else:
                    records[ref.key] = started
            # Every write is waited for before reporting, so a failure of one
            # NIC never leaves another's outcome unknown.
            self._wait_all(pool, pending, records, outcome.failures)
        outcome.records = [records[ref.key] for ref, _vm in readable if ref.key in records]
        return outcome

    # -- resolution and reads --

    def _resolve_targets(
        self,
        pool: ThreadPoolExecutor,
        vm_refs: Sequence[ResourceRef],
        nic_refs: Sequence[ResourceRef],
        failures: List[Failure],
    ) -> List[Tuple[ResourceRef, Optional[str]]]:
        """Every NIC to handle (deduplicated, in the user's order) and the VM it was named through."""
        targets: "OrderedDict[str, Tuple[ResourceRef, Optional[str]]]" = OrderedDict()
        vms = self._read_all(pool, vm_refs, failures) if vm_refs else {}
        for vm_ref in vm_refs:
            vm = vms.get(vm_ref.key)
            if vm is None:
                continue
            try:
                refs = vm_nic_refs(vm, self.all_nics, "VM " + vm_ref.label)
            except TargetError as error:
                failures.append(Failure(error.target, error.reason))
                continue
            for ref in refs:
                targets.setdefault(ref.key, (ref, vm_ref.name))
        for ref in nic_refs:
            targets.setdefault(ref.key, (ref, None))
        return list(targets.values())

    def _read_all(
        self, pool: ThreadPoolExecutor, refs: Sequence[ResourceRef], failures: List[Failure]
    ) -> Dict[str, Dict[str, Any]]:
        """Read every ref: one list per busy resource group, a GET for the others."""
        plan = plan_reads(refs, self.list_threshold)
        groups = group_by_resource_group(refs)
        found: Dict[str, Dict[str, Any]] = {}
        listings = []
        for subscription_id, resource_group in plan.list_groups:
            key = (subscription_id.lower(), resource_group.lower())
            resource_type = groups[key][0].resource_type
            listings.append((key, pool.submit(self.api.list_group, subscription_id, resource_group, resource_type)))
        gets = [(ref, pool.submit(self.api.get, ref.id)) for ref in plan.single_reads]
        for key, listing in listings:
            try:
                by_id = index_by_id(listing.result())
            except self.errors.expected as error:
                for ref in groups[key]:
                    failures.append(Failure(_kind(ref.resource_type) + " " + ref.label, _reason(error)))
                continue
            for ref in groups[key]:
                if ref.key in by_id:
                    found[ref.key] = dict(by_id[ref.key])
                else:
                    failures.append(_not_found(ref))
        for ref, get in gets:
            try:
                found[ref.key] = get.result()
            except self.errors.not_found:
                failures.append(_not_found(ref))
            except self.errors.expected as error:
                failures.append(Failure(_kind(ref.resource_type) + " " + ref.label, _reason(error)))
        return found

    # -- writes --

    def _start(self, ref: ResourceRef, nic: Dict[str, Any], vm_name: Optional[str]) -> Any:
        """Write one NIC if needed: a finished record, a pending write, or a Failure.

        The If-Match etag makes the PUT fail with 412 if anyone wrote the NIC
        since we read it, instead of silently undoing their change; we then
        re-read and retry on their version, a bounded number of times.
        """
        attempts = 0
        reread = False
        while True:
            current = forwarding_of(nic)
            if current == self.enabled:
                return nic_record(nic, current, current, False, vm_name)
            if self.check_mode:
                return nic_record(nic, current, self.enabled, True, vm_name)
            if not nic.get("etag") and not reread:
                # A listed NIC without its etag: read it alone, so the write
                # can be conditional (If-Match) and not undo someone's change.
                nic, reread = self.api.get(ref.id), True
                continue
            attempts += 1
            try:
                operation = self.api.begin_put(
                    str(nic.get("id") or ref.id), with_forwarding(nic, self.enabled), nic.get("etag")
                )
            except self.errors.precondition_failed:
                if attempts >= self.max_write_attempts:
                    return Failure(
                        "NIC " + ref.label,
                        "it was changed by someone else before each of %d writes (HTTP 412); run the task again"
                        % attempts,
                    )
                nic = self.api.get(ref.id)
                continue
            return _PendingWrite(ref, nic, vm_name, current, operation, self.clock() + self.operation_timeout)

    def _wait_all(
        self,
        pool: ThreadPoolExecutor,
        pending: List[_PendingWrite],
        records: Dict[str, Dict[str, Any]],
        failures: List[Failure],
    ) -> None:
        """Poll every write until it finished, each no sooner than its Retry-After."""
        queue = [(self.clock() + max(0.0, write.operation.retry_after), write) for write in pending]
        while queue:
            now = self.clock()
            due = [write for when, write in queue if when <= now]
            if not due:
                self.sleep(max(MIN_POLL_INTERVAL, min(when for when, _write in queue) - now))
                continue
            queue = [(when, write) for when, write in queue if when > now]
            polls = [(write, pool.submit(write.operation.poll)) for write in due]
            for write, poll in polls:
                label = "NIC " + write.ref.label
                try:
                    final = poll.result()
                except self.errors.expected as error:
                    failures.append(Failure(label, _reason(error)))
                    continue
                if final is None:
                    if self.clock() >= write.deadline:
                        failures.append(
                            Failure(
                                label,
                                "the write was still running after %d seconds; check the NIC in Azure and run "
                                "the task again" % self.operation_timeout,
                            )
                        )
                    else:
                        retry = max(MIN_POLL_INTERVAL, write.operation.retry_after)
                        queue.append((self.clock() + retry, write))
                    continue
                self._finish(write, final, records, failures)

    def _finish(
        self,
        write: _PendingWrite,
        final: Mapping[str, Any],
        records: Dict[str, Dict[str, Any]],
        failures: List[Failure],
    ) -> None:
        after = forwarding_of(final) if final.get("properties") else self.enabled
        records[write.ref.key] = nic_record(write.nic, write.forwarding_before, after, True, write.vm_name)
        if after != self.enabled:
            failures.append(
                Failure(
                    "NIC " + write.ref.label,
                    "Azure accepted the write but reports %s=%s afterwards" % (FORWARDING_PROPERTY, str(after).lower()),
                )
            )


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__


def _not_found(ref: ResourceRef) -> Failure:
    return Failure(
        "%s %s" % (_kind(ref.resource_type), ref.name),
        "not found in resource group %s of subscription %s; check the name or give its full resource id"
        % (ref.resource_group, ref.subscription_id),
    )
