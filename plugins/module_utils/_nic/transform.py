# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic of calico.azure.azure_nic_forwarding (no Azure SDK, no Ansible, no threads or clocks).

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
- the per-NIC result record, diff and the aggregated failure message.

The run that drives these over ARM (threads, clock, retries) is in
:mod:`.run`; the ARM adapter in :mod:`.api`.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Protocol, Sequence, Tuple

from ansible_collections.calico.azure.plugins.module_utils._azure.ids import parse_resource_id
from ansible_collections.calico.azure.plugins.module_utils._diff import merged_diff, state_diff

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

# A NIC in one of these states is written again even when it holds the wanted
# values: after a failed operation Azure keeps the values but marks the NIC
# Failed, and its documented remedy is to PUT the resource again; a NIC still
# Updating when read has an operation in flight whose end nobody waits for.
REAPPLIED_STATES = ("Failed", "Updating")


class TargetError(ValueError):
    """A target that cannot be resolved; ``target`` names it for the user."""

    def __init__(self, target: str, reason: str) -> None:
        super().__init__("%s: %s" % (target, reason))
        self.target = target
        self.reason = reason


# --- per-NIC changes -------------------------------------------------------------


class NicChange(Protocol):
    """What a run changes on each NIC: pure functions of the NIC's JSON as read."""

    def converged(self, nic: Mapping[str, Any]) -> bool:
        """Whether the NIC already is as wanted (no write needed)."""

    def body(self, nic: Mapping[str, Any]) -> Dict[str, Any]:
        """The PUT body: the NIC exactly as read with only this change applied."""

    def record(
        self, before: Mapping[str, Any], after: Mapping[str, Any], changed: bool, vm_name: Optional[str]
    ) -> Dict[str, Any]:
        """The per-NIC result; ``after`` is the NIC as Azure answered (or the body sent, in check mode)."""

    def mismatch(self, after: Mapping[str, Any]) -> str:
        """Why ``after`` is not what was wanted, for a NIC Azure accepted the write of."""


def provisioning_state(resource: Mapping[str, Any]) -> str:
    return str((resource.get("properties") or {}).get("provisioningState") or "Succeeded")


class ForwardingChange(object):
    """IP forwarding on or off: the change of calico.azure.azure_nic_forwarding."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = bool(enabled)

    def converged(self, nic: Mapping[str, Any]) -> bool:
        return not needs_change(nic, self.enabled)

    def body(self, nic: Mapping[str, Any]) -> Dict[str, Any]:
        return with_forwarding(nic, self.enabled)

    def record(
        self, before: Mapping[str, Any], after: Mapping[str, Any], changed: bool, vm_name: Optional[str]
    ) -> Dict[str, Any]:
        return nic_record(before, forwarding_of(before), forwarding_of(after), changed, vm_name)

    def mismatch(self, after: Mapping[str, Any]) -> str:
        return "reports %s=%s afterwards" % (FORWARDING_PROPERTY, str(forwarding_of(after)).lower())


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


def option_problem(vms: Sequence[str], nics: Sequence[str], max_parallel: int) -> Optional[str]:
    """What is wrong with a NIC module's target options before anything is read, or None."""
    if not vms and not nics:
        return "Name at least one target: set vms (VM names or ids) or nics (NIC names or ids)."
    if max_parallel < 1:
        return "max_parallel must be 1 or more (got %d)." % max_parallel
    return None


def parse_vm_and_nic_targets(
    vms: Iterable[str], nics: Iterable[str], subscription_id: Optional[str], resource_group: Optional[str],
) -> Tuple[List[ResourceRef], List[ResourceRef], List["Failure"]]:
    """A NIC module's VM and NIC targets, and a failure per one the options cannot name.

    The modules fail on those before touching any NIC: a mistake in the task is never half-applied.
    """
    vm_refs, failures = parse_targets(vms, VM_TYPE, subscription_id, resource_group)
    nic_refs, nic_failures = parse_targets(nics, NIC_TYPE, subscription_id, resource_group)
    return vm_refs, nic_refs, failures + nic_failures


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


def nic_label(record: Mapping[str, Any]) -> str:
    """``NIC <resource group>/<name>`` (``on VM <vm>``): whose lines these are in a merged diff."""
    vm = " on VM %s" % record["vm"] if record.get("vm") else ""
    return "NIC %s/%s%s" % (record["resource_group"], record["name"], vm)


def forwarding_diff(records: Iterable[Mapping[str, Any]]) -> Dict[str, str]:
    """The --diff of a run: the forwarding flag of each NIC that changes (or would, in check mode)."""
    diffs = []
    for record in records:
        if record.get("changed"):
            label = nic_label(record)
            before = {FORWARDING_PROPERTY: record["forwarding_before"]}
            diffs.append((label, state_diff(before, {FORWARDING_PROPERTY: record["forwarding_after"]}, name=label)))
    return merged_diff(diffs, name="network interfaces")


def failure_message(
    failures: Sequence[Failure],
    records: Sequence[Mapping[str, Any]],
    enabled: bool,
    check_mode: bool = False,
    written: bool = True,
) -> str:
    """Why the module failed, naming each failed target, and what did complete.

    ``written=False``: the run stopped before its first write, so it says so
    instead of listing NICs as handled; in check mode nothing is ever
    written, so NICs are what *would* change.
    """
    state = "enable" if enabled else "disable"
    message = "Could not %s IP forwarding on %d target(s): %s." % (
        state,
        len(failures),
        "; ".join(str(f) for f in failures),
    )
    return message + handled_summary(records, check_mode, written)


def handled_summary(records: Sequence[Mapping[str, Any]], check_mode: bool, written: bool) -> str:
    """The tail of a failure message: what happened to the NICs that did not fail."""
    if not written:
        return " Nothing was written: every target is resolved and read before the first write."
    if not records:
        return ""
    changed = [r["name"] for r in records if r.get("changed")]
    if check_mode:
        return " Check mode, nothing was written; of the other %d NIC(s) %s." % (
            len(records),
            "these would change: %s" % ", ".join(changed) if changed else "none would need a change",
        )
    return " The other %d NIC(s) were handled; %s." % (
        len(records),
        "changed: %s" % ", ".join(changed) if changed else "none needed a change",
    )
