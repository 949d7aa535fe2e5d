# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic of calico.azure.azure_nic_forwarding (no Azure SDK, no Ansible).

The module's promise is that it changes exactly one property of a network
interface: ``properties.enableIPForwarding``.  Everything here works on the raw
ARM JSON of NICs and VMs as read, so nothing the user did not ask to change
(public IPs, NSGs, load-balancer pools, DNS servers, accelerated networking,
tags, properties newer than any SDK model) can be dropped or reset on the way.

Parts:
- the one-property transformation and the comparison that proves it;
- target resolution: VM names/ids -> their primary NIC (or all NICs), NIC
  names/ids -> NIC references, in any resource group or subscription;
- read planning: one paged list per resource group that holds several of the
  wanted resources instead of one GET each;
- the per-NIC result record, diff lines and the aggregated failure message;
- ForwardingRun, the whole flow over an injected I/O seam (NicApi): resolve,
  read, write with If-Match (re-read and retry on 412), wait for the
  operations, collect per-target failures.
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Protocol, Sequence, Tuple

from ansible_collections.calico.azure.plugins.module_utils._azure_ids import parse_resource_id

FORWARDING_PROPERTY = "enableIPForwarding"
NIC_TYPE = "Microsoft.Network/networkInterfaces"
VM_TYPE = "Microsoft.Compute/virtualMachines"

# ARM rewrites these on every successful PUT, whatever the body said, on the
# NIC and on each embedded ipConfiguration alike; every other part of the NIC
# must come back exactly as it was before the write.
VOLATILE_KEYS: Tuple[str, ...] = ("etag", "provisioningState")

# A paged list costs one read per page (ARM pages hold far more NICs than
# a cluster has nodes), a GET costs one read per resource.  Listing only pays
# off once a resource group holds a few of the wanted resources; with one or
# two a list would be no cheaper and could page through unrelated NICs.
DEFAULT_LIST_THRESHOLD = 3

# How often a NIC is re-read and re-written after a 412 (someone else wrote
# it between our read and our write) before giving up on that NIC.
DEFAULT_MAX_WRITE_ATTEMPTS = 5

# A NIC update normally finishes within seconds; one still running after
# this long is reported as failed rather than waited on forever.
DEFAULT_OPERATION_TIMEOUT = 600.0

# Floor for the wait between polls of one operation, in case ARM sends
# Retry-After: 0 while the operation is still running.
MIN_POLL_INTERVAL = 0.05


class TargetError(ValueError):
    """A target that cannot be resolved; ``target`` names it for the user."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__("%s: %s" % (target, reason))
        self.target = target
        self.reason = reason


# --- the one-property transformation -----------------------------------------


def forwarding_of(nic: Mapping[str, Any]) -> bool:
    """IP forwarding as ARM reports it; ARM omits the property when it is off."""
    return bool((nic.get("properties") or {}).get(FORWARDING_PROPERTY, False))


def needs_change(nic: Mapping[str, Any], enabled: bool) -> bool:
    return forwarding_of(nic) != bool(enabled)


def with_forwarding(nic: Mapping[str, Any], enabled: bool) -> Dict[str, Any]:
    """The NIC exactly as read with only ``enableIPForwarding`` set.

    A deep copy, so the caller keeps the original "before" document, and so no
    nested object is shared between the two.  Read-only properties (etag,
    provisioningState, macAddress...) are sent back as read: ARM ignores them
    on PUT, and stripping them would be one more thing that could go wrong.
    """
    body = copy.deepcopy(dict(nic))
    properties = body.get("properties")
    if not isinstance(properties, dict):
        properties = {}
        body["properties"] = properties
    properties[FORWARDING_PROPERTY] = bool(enabled)
    return body


def json_differences(
    before: Any,
    after: Any,
    ignore_keys: Iterable[str] = VOLATILE_KEYS,
    _path: Tuple[str, ...] = (),
) -> List[str]:
    """Paths (``properties.ipConfigurations[1].properties.subnet``) that differ.

    Keys named in ``ignore_keys`` are skipped at any depth.  Lists are compared
    position by position: ARM keeps the order of ipConfigurations, DNS servers
    and pools, and a reorder is a change too.
    """
    ignored = frozenset(ignore_keys)
    if isinstance(before, dict) and isinstance(after, dict):
        found: List[str] = []
        for key in sorted((set(before) | set(after)) - ignored):
            child = _path + (str(key),)
            if key not in before or key not in after:
                found.append(_format_path(child))
            else:
                found.extend(json_differences(before[key], after[key], ignored, child))
        return found
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return [_format_path(_path)]
        found = []
        for index, (left, right) in enumerate(zip(before, after)):
            found.extend(json_differences(left, right, ignored, _path + ("[%d]" % index,)))
        return found
    return [] if before == after else [_format_path(_path)]


def _format_path(path: Sequence[str]) -> str:
    text = ""
    for part in path:
        text += part if part.startswith("[") or not text else "." + part
    return text or "<document>"


# --- facts read from a NIC ------------------------------------------------------


def _address(ip_configuration: Mapping[str, Any]) -> Optional[str]:
    address = (ip_configuration.get("properties") or {}).get("privateIPAddress")
    if not address:
        return None
    # Prefix ipConfigurations report "172.20.2.16/28"; a next hop is an address.
    return str(address).split("/", 1)[0]


def _ip_version(ip_configuration: Mapping[str, Any]) -> str:
    return str((ip_configuration.get("properties") or {}).get("privateIPAddressVersion") or "IPv4")


def private_ips(nic: Mapping[str, Any]) -> Tuple[Optional[str], Optional[str]]:
    """(primary private IPv4, first private IPv6) of a NIC; None when absent.

    The primary ipConfiguration carries the address Azure routes to the VM and
    the one a user-defined route must use as next hop.  An ipConfiguration
    without ``primary`` counts as primary only when it is the NIC's only one.
    """
    configurations = [c for c in (nic.get("properties") or {}).get("ipConfigurations") or [] if isinstance(c, dict)]
    ipv4 = [c for c in configurations if _ip_version(c).lower() == "ipv4"]
    ipv6 = [c for c in configurations if _ip_version(c).lower() == "ipv6"]
    primary = [c for c in ipv4 if (c.get("properties") or {}).get("primary")]
    if not primary and len(configurations) == 1:
        primary = ipv4
    ipv4_address = _address(primary[0]) if primary else None
    ipv6_address = next((a for a in (_address(c) for c in ipv6) if a), None)
    return ipv4_address, ipv6_address


def attached_vm_name(nic: Mapping[str, Any]) -> Optional[str]:
    vm_id = ((nic.get("properties") or {}).get("virtualMachine") or {}).get("id")
    if not vm_id:
        return None
    return str(vm_id).rstrip("/").rsplit("/", 1)[-1]


# --- resource references ----------------------------------------------------------


@dataclass(frozen=True)
class ResourceRef:
    """A VM or NIC by subscription, resource group and name (ARM compares them case-insensitively)."""

    subscription_id: str
    resource_group: str
    resource_type: str
    name: str

    @property
    def id(self) -> str:
        return "/subscriptions/%s/resourceGroups/%s/providers/%s/%s" % (
            self.subscription_id,
            self.resource_group,
            self.resource_type,
            self.name,
        )

    @property
    def key(self) -> str:
        return self.id.lower()

    @property
    def group_key(self) -> Tuple[str, str]:
        return (self.subscription_id.lower(), self.resource_group.lower())

    @property
    def label(self) -> str:
        """How the user recognises it in messages: name and resource group."""
        return "%s (resource group %s)" % (self.name, self.resource_group)


def _kind(resource_type: str) -> str:
    return "VM" if resource_type == VM_TYPE else "NIC"


def ref_from_id(resource_id: str) -> Optional[ResourceRef]:
    """A top-level resource's id as a reference; None for anything else."""
    try:
        parsed = parse_resource_id(str(resource_id))
    except ValueError:
        return None
    if parsed.resource_group is None or parsed.is_collection or len(parsed.names) != 1:
        return None
    return ResourceRef(parsed.subscription, parsed.resource_group, parsed.resource_type, str(parsed.name))


def parse_target(
    value: str,
    resource_type: str,
    subscription_id: Optional[str],
    resource_group: Optional[str],
) -> ResourceRef:
    """A user's VM or NIC target (name or full resource id) as a reference.

    Names resolve in ``resource_group`` of the default subscription; a full id
    may point at any resource group or subscription.
    """
    text = str(value).strip()
    kind = _kind(resource_type)
    if not text:
        raise TargetError(repr(value), "an empty %s name was given" % kind)
    if text.startswith("/"):
        ref = ref_from_id(text)
        if ref is None:
            raise TargetError(
                text,
                "not a %s resource id; expected /subscriptions/<id>/resourceGroups/<group>/providers/%s/<name>"
                % (kind, resource_type),
            )
        if ref.resource_type.lower() != resource_type.lower():
            raise TargetError(text, "is a %s id, not a %s id (%s)" % (ref.resource_type, kind, resource_type))
        return ResourceRef(ref.subscription_id, ref.resource_group, resource_type, ref.name)
    if "/" in text:
        raise TargetError(text, "a %s name cannot contain '/'; give a plain name or a full resource id" % kind)
    if not resource_group:
        raise TargetError(text, "%s names need resource_group; set it or give the full resource id" % kind)
    if not subscription_id:
        raise TargetError(text, "no subscription is known; set subscription_id or give the full resource id")
    return ResourceRef(subscription_id, resource_group, resource_type, text)


def parse_targets(
    values: Iterable[str],
    resource_type: str,
    subscription_id: Optional[str],
    resource_group: Optional[str],
) -> Tuple[List[ResourceRef], List["Failure"]]:
    """Every parseable target (deduplicated, order kept) and a failure per bad one."""
    refs: "OrderedDict[str, ResourceRef]" = OrderedDict()
    failures: List[Failure] = []
    for value in values or ():
        try:
            ref = parse_target(value, resource_type, subscription_id, resource_group)
        except TargetError as error:
            failures.append(Failure(error.target, error.reason))
            continue
        refs.setdefault(ref.key, ref)
    return list(refs.values()), failures


def vm_nic_refs(vm: Mapping[str, Any], all_nics: bool, vm_label: str) -> List[ResourceRef]:
    """The NICs a VM uses: its primary NIC, or every NIC with ``all_nics`` (primary first).

    Azure marks the primary NIC with ``properties.primary`` only when a VM has
    several; a VM with one NIC has no mark and that NIC is the primary.
    """
    references = (((vm.get("properties") or {}).get("networkProfile") or {}).get("networkInterfaces")) or []
    refs: List[Tuple[ResourceRef, bool]] = []
    for reference in references:
        if not isinstance(reference, dict) or not reference.get("id"):
            continue
        ref = ref_from_id(reference["id"])
        if ref is None or ref.resource_type.lower() != NIC_TYPE.lower():
            continue
        primary = bool((reference.get("properties") or {}).get("primary", False))
        refs.append((ResourceRef(ref.subscription_id, ref.resource_group, NIC_TYPE, ref.name), primary))
    if not refs:
        raise TargetError(vm_label, "the VM has no network interface in its networkProfile")
    if all_nics:
        # Primary first: callers that want one address per VM take the first.
        return [ref for ref, primary in refs if primary] + [ref for ref, primary in refs if not primary]
    marked = [ref for ref, primary in refs if primary]
    if marked:
        return marked[:1]
    if len(refs) == 1:
        return [refs[0][0]]
    raise TargetError(
        vm_label,
        "the VM has %d NICs and none is marked primary; set all_nics: true or name the NIC in nics" % len(refs),
    )


# --- read planning ------------------------------------------------------------------


@dataclass
class ReadPlan:
    """Which resource groups to list and which resources to GET one by one."""

    list_groups: List[Tuple[str, str]] = field(default_factory=list)  # (subscription_id, resource_group)
    single_reads: List[ResourceRef] = field(default_factory=list)


def group_by_resource_group(refs: Iterable[ResourceRef]) -> "OrderedDict[Tuple[str, str], List[ResourceRef]]":
    groups: "OrderedDict[Tuple[str, str], List[ResourceRef]]" = OrderedDict()
    for ref in refs:
        groups.setdefault(ref.group_key, []).append(ref)
    return groups


def plan_reads(refs: Iterable[ResourceRef], list_threshold: int = DEFAULT_LIST_THRESHOLD) -> ReadPlan:
    """One list per resource group holding at least ``list_threshold`` wanted resources, GETs for the rest."""
    plan = ReadPlan()
    for members in group_by_resource_group(refs).values():
        if len(members) >= max(1, list_threshold):
            plan.list_groups.append((members[0].subscription_id, members[0].resource_group))
        else:
            plan.single_reads.extend(members)
    return plan


def index_by_id(resources: Iterable[Mapping[str, Any]]) -> Dict[str, Mapping[str, Any]]:
    """Resources by lower-cased id, so a listed group can answer for any of its members."""
    return {str(r["id"]).lower(): r for r in resources if isinstance(r, Mapping) and r.get("id")}


# --- results, diff and failures -----------------------------------------------------


@dataclass
class Failure:
    """One target that could not be handled, and why (said so the user can act on it)."""

    target: str
    reason: str

    def __str__(self) -> str:
        return "%s: %s" % (self.target, self.reason)


def nic_record(
    nic: Mapping[str, Any],
    forwarding_before: bool,
    forwarding_after: bool,
    changed: bool,
    vm_name: Optional[str] = None,
) -> Dict[str, Any]:
    """The per-NIC result the module returns (roles read private_ip as next hop)."""
    ref = ref_from_id(str(nic.get("id", "")))
    ipv4, ipv6 = private_ips(nic)
    return {
        "name": nic.get("name") or (ref.name if ref else None),
        "id": nic.get("id"),
        "resource_group": ref.resource_group if ref else None,
        "vm": attached_vm_name(nic) or vm_name,
        "private_ip": ipv4,
        "private_ipv6": ipv6,
        "forwarding_before": bool(forwarding_before),
        "forwarding_after": bool(forwarding_after),
        "changed": bool(changed),
    }


def diff_line(record: Mapping[str, Any]) -> str:
    vm = " on VM %s" % record["vm"] if record.get("vm") else ""
    return "%s (resource group %s%s): %s %s -> %s" % (
        record["name"],
        record["resource_group"],
        vm,
        FORWARDING_PROPERTY,
        str(bool(record["forwarding_before"])).lower(),
        str(bool(record["forwarding_after"])).lower(),
    )


def diff_text(records: Iterable[Mapping[str, Any]]) -> str:
    """One line per NIC that changes (or would change, in check mode)."""
    return "".join(diff_line(r) + "\n" for r in records if r.get("changed"))


def failure_message(failures: Sequence[Failure], records: Sequence[Mapping[str, Any]], enabled: bool) -> str:
    """Why the module failed, naming each failed target, and what did complete."""
    state = "enable" if enabled else "disable"
    changed = [r["name"] for r in records if r.get("changed")]
    message = "Could not %s IP forwarding on %d target(s): %s." % (
        state,
        len(failures),
        "; ".join(str(f) for f in failures),
    )
    if records:
        message += " The other %d NIC(s) were handled; %s." % (
            len(records),
            "changed: %s" % ", ".join(changed) if changed else "none needed a change",
        )
    return message


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
