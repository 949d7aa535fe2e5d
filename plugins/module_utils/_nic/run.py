# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""NicRun: the NIC write flow over an injected I/O seam (NicApi), for any per-NIC change.

Resolve the targets, read them (grouped lists where cheaper), stop before any
write when one could not be resolved, write with If-Match (re-read and retry
on 412), wait for the operations side by side, collect per-target failures.
What changes on a NIC is a :class:`~.transform.NicChange` (IP forwarding,
secondary IP configurations...). Threads and the clock live here, so the pure
transformations in :mod:`.transform` and :mod:`.ip_configs` need neither.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Protocol, Sequence, Tuple

from ansible_collections.calico.azure.plugins.module_utils._nic.transform import (
    DEFAULT_LIST_THRESHOLD,
    REAPPLIED_STATES,
    Failure,
    ForwardingChange,
    NicChange,
    ResourceRef,
    TargetError,
    _kind,
    group_by_resource_group,
    index_by_id,
    plan_reads,
    provisioning_state,
    vm_nic_refs,
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
    # Errors that leave a write's outcome unknown (no HTTP answer); any
    # expected error with a 5xx status is treated the same way.
    unanswered: Tuple[type, ...] = ()

    def outcome_unknown(self, error: BaseException) -> bool:
        return isinstance(error, self.unanswered) or (getattr(error, "status", None) or 0) >= 500


@dataclass
class NicReadSet:
    """Every target resolved and read, before anything is written."""

    targets: List[Tuple[ResourceRef, Optional[str]]] = field(default_factory=list)  # (NIC, VM it was named through)
    nics: Dict[str, Dict[str, Any]] = field(default_factory=dict)  # by ResourceRef.key
    vms: Dict[str, Dict[str, Any]] = field(default_factory=dict)  # by VM ResourceRef.key
    failures: List[Failure] = field(default_factory=list)

    @property
    def readable(self) -> List[Tuple[ResourceRef, Optional[str]]]:
        return [(ref, vm) for ref, vm in self.targets if ref.key in self.nics]


@dataclass
class NicOutcome:
    records: List[Dict[str, Any]] = field(default_factory=list)
    failures: List[Failure] = field(default_factory=list)
    # What the user should know although nothing failed (a Failed NIC re-applied, a lost answer).
    notes: List[str] = field(default_factory=list)
    # False when the run stopped before its first write (a target could not be resolved or read).
    written: bool = True

    @property
    def changed(self) -> bool:
        return any(r["changed"] for r in self.records)


# The old name: azure_nic_forwarding's results.
ForwardingOutcome = NicOutcome


@dataclass
class _PendingWrite:
    ref: ResourceRef
    nic: Dict[str, Any]
    vm_name: Optional[str]
    operation: WriteOperation
    deadline: float


class NicRun:
    """Apply one per-NIC change (a :class:`NicChange`) to the NICs of the given VMs and to the given NICs.

    Every request -- reads, PUTs and operation polls -- goes through one pool
    of ``max_parallel`` workers, so a run never has more requests in flight
    than that.  A worker is held only for the duration of a request, never for
    a whole long-running operation: the PUTs of all NICs are sent first and
    their operations then finish side by side (one wave), polled as ARM's
    Retry-After says they are worth polling.

    :meth:`run` reads every target first and writes nothing when any of them
    could not be resolved or read, so a typo in one VM name never leaves the
    cluster half changed.  Callers that must check limits across all NICs
    before writing (free addresses in a subnet) call :meth:`read` and
    :meth:`write` themselves, inside ``with run:`` so both share the pool.
    """

    def __init__(
        self,
        api: NicApi,
        errors: ErrorKinds,
        change: Optional[NicChange] = None,
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
        self.change = change
        self.check_mode = check_mode
        self.all_nics = all_nics
        self.max_parallel = max_parallel
        self.list_threshold = list_threshold
        self.max_write_attempts = max(1, max_write_attempts)
        self.operation_timeout = operation_timeout
        self.clock = clock
        self.sleep = sleep
        self._pool: Optional[ThreadPoolExecutor] = None
        self._depth = 0

    # -- the pool, shared by read() and write() --

    def __enter__(self) -> "NicRun":
        if self._depth == 0:
            self._pool = ThreadPoolExecutor(max_workers=self.max_parallel, thread_name_prefix="nic")
        self._depth += 1
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._depth -= 1
        if self._depth == 0 and self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            raise RuntimeError("use the run inside 'with run:'")
        return self._pool

    # -- the whole flow --

    def run(
        self,
        vm_refs: Sequence[ResourceRef],
        nic_refs: Sequence[ResourceRef],
        failures: Iterable[Failure] = (),
    ) -> NicOutcome:
        with self:
            read_set = self.read(vm_refs, nic_refs, failures)
            if read_set.failures:
                return NicOutcome(failures=list(read_set.failures), written=False)
            return self.write(read_set)

    def read(
        self,
        vm_refs: Sequence[ResourceRef],
        nic_refs: Sequence[ResourceRef],
        failures: Iterable[Failure] = (),
    ) -> NicReadSet:
        """Resolve every target and read every NIC; nothing is written."""
        with self:
            read_set = NicReadSet(failures=list(failures))
            read_set.vms = self._read_all(vm_refs, read_set.failures) if vm_refs else {}
            read_set.targets = self._resolve_targets(vm_refs, nic_refs, read_set.vms, read_set.failures)
            read_set.nics = self._read_all([ref for ref, _vm in read_set.targets], read_set.failures)
            return read_set

    def write(self, read_set: NicReadSet, change: Optional[NicChange] = None) -> NicOutcome:
        """Write every readable NIC of ``read_set`` that ``change`` does not find converged."""
        change = change or self.change
        if change is None:
            raise ValueError("a NicRun needs a change to write")
        outcome = NicOutcome(failures=list(read_set.failures))
        records: Dict[str, Dict[str, Any]] = {}
        readable = read_set.readable
        with self:
            starts = [self.pool.submit(self._start, change, ref, read_set.nics[ref.key], vm) for ref, vm in readable]
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
                    record, note = started
                    records[ref.key] = record
                    if note:
                        outcome.notes.append(note)
            # Every write is waited for before reporting, so a failure of one
            # NIC never leaves another's outcome unknown.
            self._wait_all(change, pending, records, outcome.failures)
        for ref, _vm in readable:
            state = provisioning_state(read_set.nics[ref.key])
            converged_as_read = change.converged(read_set.nics[ref.key])
            if ref.key in records and state in REAPPLIED_STATES and converged_as_read and records[ref.key]["changed"]:
                outcome.notes.append(
                    "NIC %s: Azure reported provisioningState %s, so %s re-applied even where it held the wanted "
                    "values (Azure's remedy for a failed update)"
                    % (ref.label, state, "it would be" if self.check_mode else "it was")
                )
        outcome.records = [records[ref.key] for ref, _vm in readable if ref.key in records]
        return outcome

    # -- resolution and reads --

    def _resolve_targets(
        self,
        vm_refs: Sequence[ResourceRef],
        nic_refs: Sequence[ResourceRef],
        vms: Mapping[str, Dict[str, Any]],
        failures: List[Failure],
    ) -> List[Tuple[ResourceRef, Optional[str]]]:
        """Every NIC to handle (deduplicated, in the user's order) and the VM it was named through."""
        targets: "OrderedDict[str, Tuple[ResourceRef, Optional[str]]]" = OrderedDict()
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

    def _read_all(self, refs: Sequence[ResourceRef], failures: List[Failure]) -> Dict[str, Dict[str, Any]]:
        """Read every ref: one list per busy resource group, a GET for the others."""
        plan = plan_reads(refs, self.list_threshold)
        groups = group_by_resource_group(refs)
        found: Dict[str, Dict[str, Any]] = {}
        listings = []
        for subscription_id, resource_group in plan.list_groups:
            key = (subscription_id.lower(), resource_group.lower())
            resource_type = groups[key][0].resource_type
            listings.append(
                (key, self.pool.submit(self.api.list_group, subscription_id, resource_group, resource_type))
            )
        gets = [(ref, self.pool.submit(self.api.get, ref.id)) for ref in plan.single_reads]
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

    def _start(self, change: NicChange, ref: ResourceRef, nic: Dict[str, Any], vm_name: Optional[str]) -> Any:
        """Write one NIC if needed: ``(record, note)`` when finished, a pending write, or a Failure.

        The If-Match etag makes the PUT fail with 412 if anyone wrote the NIC
        since we read it, instead of silently undoing their change; we then
        re-read and retry on their version, a bounded number of times.

        A NIC that Azure left ``Failed`` (or ``Updating``) is written although
        it may hold the wanted values: Azure's remedy for a failed update is
        to PUT the resource again, and a run that reported it converged would
        leave it failed forever.
        """
        attempts = 0
        reread = False
        while True:
            if change.converged(nic) and provisioning_state(nic) not in REAPPLIED_STATES:
                return change.record(nic, nic, False, vm_name), None
            body = change.body(nic)
            if self.check_mode:
                return change.record(nic, body, True, vm_name), None
            if not nic.get("etag") and not reread:
                # A listed NIC without its etag: read it alone, so the write
                # can be conditional (If-Match) and not undo someone's change.
                nic, reread = self.api.get(ref.id), True
                continue
            attempts += 1
            try:
                operation = self.api.begin_put(str(nic.get("id") or ref.id), body, nic.get("etag"))
            except self.errors.precondition_failed as error:
                if getattr(error, "retries", None):
                    # The client sent the PUT more than once: the first may
                    # have been applied and its answer lost, the 412 then
                    # being our own write's new etag.
                    landed = self._landed(change, ref, nic, vm_name)
                    if landed is not None:
                        return landed
                if attempts >= self.max_write_attempts:
                    return Failure(
                        "NIC " + ref.label,
                        "it was changed by someone else before each of %d writes (HTTP 412); run the task again"
                        % attempts,
                    )
                nic = self.api.get(ref.id)
                continue
            except self.errors.expected as error:
                if not self.errors.outcome_unknown(error):
                    raise
                # No usable answer (connection lost, server error after every
                # retry): the write may have been applied all the same.
                landed = self._landed(change, ref, nic, vm_name)
                if landed is not None:
                    return landed
                raise
            return _PendingWrite(ref, nic, vm_name, operation, self.clock() + self.operation_timeout)

    def _landed(
        self, change: NicChange, ref: ResourceRef, before: Dict[str, Any], vm_name: Optional[str]
    ) -> Optional[Tuple[Dict[str, Any], str]]:
        """``(record, note)`` when a re-read shows the write applied although its answer was lost."""
        try:
            current = self.api.get(ref.id)
        except self.errors.expected:
            return None
        if current.get("etag") == before.get("etag") or not change.converged(current):
            return None
        if provisioning_state(current) in REAPPLIED_STATES:
            return None
        note = (
            "NIC %s: the answer to the write was lost; the NIC as read again holds the wanted values, "
            "so it is reported changed" % ref.label
        )
        return change.record(before, current, True, vm_name), note

    def _wait_all(
        self,
        change: NicChange,
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
            polls = [(write, self.pool.submit(write.operation.poll)) for write in due]
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
                # ARM's answer without a NIC: the body we sent is what Azure applied.
                after = final if final.get("properties") else change.body(write.nic)
                records[write.ref.key] = change.record(write.nic, after, True, write.vm_name)
                if not change.converged(after):
                    failures.append(Failure(label, "Azure accepted the write but " + change.mismatch(after)))


class ForwardingRun(NicRun):
    """azure_nic_forwarding's run: :class:`NicRun` with the IP-forwarding change."""

    def __init__(self, api: NicApi, errors: ErrorKinds, enabled: bool = True, **options: Any) -> None:
        super().__init__(api, errors, ForwardingChange(enabled), **options)
        self.enabled = bool(enabled)


def _reason(error: BaseException) -> str:
    return str(error) or type(error).__name__


def _not_found(ref: ResourceRef) -> Failure:
    return Failure(
        "%s %s" % (_kind(ref.resource_type), ref.name),
        "not found in resource group %s of subscription %s; check the name or give its full resource id"
        % (ref.resource_group, ref.subscription_id),
    )
