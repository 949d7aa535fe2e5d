# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic of calico.azure.azure_nic_ip_configs: K secondary IP configurations per node NIC.

With the Azure CNI plug-ins (azure-vnet with azure-vnet-ipam) every pod gets
a VNet address that Azure assigned to its node's NIC as a secondary IP
configuration.  This module plans, per NIC, which configurations to add (and,
only when asked, remove) so the NIC holds ``count`` of them, and builds the
PUT body: the NIC exactly as read with only ``ipConfigurations`` changed --
the primary configuration and every other configuration stay as read, and so
do the NIC's public IP, NSG, pools, ASGs, DNS, accelerated networking and tags.

Names are stable and predictable (``ipconfig-pod-01`` ... ``-NN``): a re-run
finds its own configurations by name, fills gaps first, and never renames.
No SDK, Ansible, threads or clocks here; the run is :mod:`.run`.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.calico.azure.plugins.module_utils._azure.ids import same_id
from ansible_collections.calico.azure.plugins.module_utils._diff import merged_diff, state_diff
from ansible_collections.calico.azure.plugins.module_utils._nic.transform import (
    attached_vm_name,
    nic_label,
    private_ips,
    ref_from_id,
)

DEFAULT_NAME_PREFIX = "ipconfig-pod-"
DYNAMIC = "(dynamic)"  # an address Azure has not picked yet (check mode)

# Azure's networking limits: 256 private IP addresses per network interface
# and 256 per virtual machine, whatever the VM size (the per-size tables list
# NICs per size, not addresses).  One of each NIC's configurations is its
# primary one, so a NIC carries at most 255 pod addresses.
MAX_IP_CONFIGURATIONS_PER_NIC = 256
MAX_PRIVATE_IPS_PER_VM = 256

# Azure reserves the first four addresses of every subnet and, for IPv4, the last.
RESERVED_PER_SUBNET = 5

SURPLUS_CHOICES = ("fail", "keep", "remove")

_IP_CONFIGURATION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,78}[A-Za-z0-9_]$|^[A-Za-z0-9]$")


def configurations(nic: Mapping[str, Any]) -> List[Dict[str, Any]]:
    return [c for c in (nic.get("properties") or {}).get("ipConfigurations") or [] if isinstance(c, dict)]


def managed_name(prefix: str, index: int) -> str:
    return "%s%02d" % (prefix, index)


def managed_index(prefix: str, name: str) -> Optional[int]:
    """The number of one of this module's configurations (``ipconfig-pod-07`` -> 7), None for any other."""
    match = re.match(r"^%s(\d+)$" % re.escape(prefix), str(name or ""), re.IGNORECASE)
    return int(match.group(1)) if match else None


def check_name_prefix(prefix: str) -> Optional[str]:
    """Why ``prefix`` cannot name IP configurations, or None."""
    if not prefix or not _IP_CONFIGURATION_NAME.match(managed_name(prefix, 1)) or len(prefix) > 75:
        return (
            "name_prefix %r cannot start an IP configuration name: use up to 75 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit" % prefix
        )
    return None


def _subnet_of(configuration: Mapping[str, Any]) -> Optional[str]:
    subnet = (configuration.get("properties") or {}).get("subnet") or {}
    return str(subnet["id"]) if isinstance(subnet, dict) and subnet.get("id") else None


def _address_of(configuration: Mapping[str, Any]) -> Optional[str]:
    address = (configuration.get("properties") or {}).get("privateIPAddress")
    return str(address) if address else None


def primary_configuration(nic: Mapping[str, Any]) -> Optional[Dict[str, Any]]:
    found = configurations(nic)
    flagged = [c for c in found if (c.get("properties") or {}).get("primary")]
    return flagged[0] if flagged else (found[0] if found else None)


def resolve_subnet(nic: Mapping[str, Any], subnet: Optional[str]) -> Optional[str]:
    """The subnet id the pod configurations of ``nic`` belong in.

    None (the option unset): the primary configuration's subnet, which is
    what Azure CNI expects.  A plain name: that subnet of the primary
    configuration's VNet.  A full id: itself.
    """
    primary = primary_configuration(nic)
    primary_subnet = _subnet_of(primary) if primary else None
    if not subnet:
        return primary_subnet
    if str(subnet).startswith("/"):
        return str(subnet)
    if not primary_subnet:
        return None
    return primary_subnet.rsplit("/", 1)[0] + "/" + str(subnet)


@dataclass
class IpConfigPlan:
    """What one NIC needs: names to add, names to remove, and what stands in the way."""

    nic_id: str
    subnet_id: Optional[str]
    present: List[str] = field(default_factory=list)  # managed names within 1..count, kept
    add: List[str] = field(default_factory=list)
    remove: List[str] = field(default_factory=list)
    surplus: List[str] = field(default_factory=list)  # managed names beyond count
    wrong_subnet: List[str] = field(default_factory=list)
    total_after: int = 0

    @property
    def converged(self) -> bool:
        return not self.add and not self.remove


def plan_nic(
    nic: Mapping[str, Any],
    count: int,
    subnet_id: Optional[str],
    name_prefix: str = DEFAULT_NAME_PREFIX,
    surplus: str = "fail",
) -> IpConfigPlan:
    """Which pod configurations ``nic`` gains and loses to hold ``count`` of them."""
    plan = IpConfigPlan(str(nic.get("id") or ""), subnet_id)
    by_index: Dict[int, Dict[str, Any]] = {}
    for configuration in configurations(nic):
        index = managed_index(name_prefix, configuration.get("name"))
        if index is None or (configuration.get("properties") or {}).get("primary"):
            continue
        by_index[index] = configuration
        if subnet_id and not same_id(_subnet_of(configuration), subnet_id):
            plan.wrong_subnet.append(str(configuration.get("name")))
    wanted = range(1, count + 1)
    plan.present = [str(by_index[i]["name"]) for i in wanted if i in by_index]
    plan.add = [managed_name(name_prefix, i) for i in wanted if i not in by_index]
    plan.surplus = [str(by_index[i]["name"]) for i in sorted(by_index) if i > count]
    if surplus == "remove":
        plan.remove = list(plan.surplus)
    plan.total_after = len(configurations(nic)) + len(plan.add) - len(plan.remove)
    return plan


def with_ip_configurations(nic: Mapping[str, Any], plan: IpConfigPlan) -> Dict[str, Any]:
    """The NIC exactly as read with ``plan`` applied to ``ipConfigurations`` and nothing else.

    New configurations are Dynamic IPv4 secondaries in the plan's subnet
    (Azure picks the address); kept configurations are sent back as read,
    in their order, new ones after them.
    """
    body = copy.deepcopy(dict(nic))
    properties = body.setdefault("properties", {})
    removed = {name.lower() for name in plan.remove}
    kept = [c for c in properties.get("ipConfigurations") or [] if str(c.get("name", "")).lower() not in removed]
    for name in plan.add:
        kept.append(
            {
                "name": name,
                "properties": {
                    "primary": False,
                    "privateIPAllocationMethod": "Dynamic",
                    "privateIPAddressVersion": "IPv4",
                    "subnet": {"id": plan.subnet_id},
                },
            }
        )
    properties["ipConfigurations"] = kept
    return body


def pod_addresses(nic: Mapping[str, Any], name_prefix: str = DEFAULT_NAME_PREFIX) -> List[Tuple[str, Optional[str]]]:
    """(name, address) of this module's configurations on ``nic``, in index order."""
    found = []
    for configuration in configurations(nic):
        index = managed_index(name_prefix, configuration.get("name"))
        if index is not None and not (configuration.get("properties") or {}).get("primary"):
            found.append((index, str(configuration["name"]), _address_of(configuration)))
    return [(name, address) for _index, name, address in sorted(found)]


class IpConfigsChange(object):
    """The NicChange of azure_nic_ip_configs: ``count`` pod configurations on every NIC.

    ``subnets`` maps each NIC id (lower-cased) to the subnet its pod
    configurations belong in (see :func:`resolve_subnet`).
    """

    def __init__(
        self,
        count: int,
        subnets: Mapping[str, Optional[str]],
        name_prefix: str = DEFAULT_NAME_PREFIX,
        surplus: str = "fail",
    ) -> None:
        self.count = int(count)
        self.subnets = {str(k).lower(): v for k, v in subnets.items()}
        self.name_prefix = name_prefix
        self.surplus = surplus

    def plan(self, nic: Mapping[str, Any]) -> IpConfigPlan:
        subnet_id = self.subnets.get(str(nic.get("id") or "").lower())
        return plan_nic(nic, self.count, subnet_id, self.name_prefix, self.surplus)

    def converged(self, nic: Mapping[str, Any]) -> bool:
        return self.plan(nic).converged

    def body(self, nic: Mapping[str, Any]) -> Dict[str, Any]:
        return with_ip_configurations(nic, self.plan(nic))

    def record(
        self, before: Mapping[str, Any], after: Mapping[str, Any], changed: bool, vm_name: Optional[str]
    ) -> Dict[str, Any]:
        plan = self.plan(before)
        ref = ref_from_id(str(before.get("id", "")))
        primary_ip, _ipv6 = private_ips(before)
        pods = pod_addresses(after, self.name_prefix)
        return {
            "name": before.get("name") or (ref.name if ref else None),
            "id": before.get("id"),
            "resource_group": ref.resource_group if ref else None,
            "vm": attached_vm_name(before) or vm_name,
            "private_ip": primary_ip,
            "subnet": plan.subnet_id,
            "ip_configurations": [{"name": name, "address": address} for name, address in pods],
            "addresses": [address for _name, address in pods if address],
            "added": list(plan.add) if changed else [],
            "removed": list(plan.remove) if changed else [],
            "changed": bool(changed),
        }

    def mismatch(self, after: Mapping[str, Any]) -> str:
        held = len(pod_addresses(after, self.name_prefix))
        return "the NIC holds %d pod IP configurations afterwards, not %d" % (held, self.count)


# --- limits, checked before any write --------------------------------------------


def subnet_capacity(subnet: Mapping[str, Any]) -> int:
    """Addresses Azure can give out in the subnet's IPv4 prefixes (minus the 5 it reserves per prefix)."""
    properties = subnet.get("properties") or {}
    prefixes = ([properties["addressPrefix"]] if properties.get("addressPrefix") else []) + list(
        properties.get("addressPrefixes") or []
    )
    total = 0
    for prefix in prefixes:
        try:
            network = ipaddress.ip_network(str(prefix), strict=False)
        except ValueError:
            continue
        if network.version == 4:
            total += max(0, network.num_addresses - RESERVED_PER_SUBNET)
    return total


def subnet_used(subnet: Mapping[str, Any]) -> int:
    """IP configurations in the subnet, from its ``ipConfigurations[]`` back-references."""
    return len((subnet.get("properties") or {}).get("ipConfigurations") or [])


@dataclass
class SubnetNeed:
    subnet_id: str
    capacity: int
    used: int
    adds: int = 0
    removes: int = 0

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.used)

    @property
    def net_new(self) -> int:
        return self.adds - self.removes


def _subnet_label(subnet_id: str) -> str:
    parts = subnet_id.rstrip("/").split("/")
    return "%s/%s" % (parts[-3], parts[-1]) if len(parts) >= 3 else subnet_id


def subnet_needs(
    plans: Iterable[IpConfigPlan], subnets: Mapping[str, Mapping[str, Any]]
) -> List[SubnetNeed]:
    """Per subnet: capacity, addresses in use, and what the plans add and remove there."""
    needs: Dict[str, SubnetNeed] = {}
    for plan in plans:
        if not plan.subnet_id:
            continue
        subnet = subnets.get(plan.subnet_id.lower())
        if subnet is None:
            continue
        need = needs.setdefault(
            plan.subnet_id.lower(), SubnetNeed(str(subnet.get("id") or plan.subnet_id), subnet_capacity(subnet), subnet_used(subnet))
        )
        need.adds += len(plan.add)
        need.removes += len(plan.remove)
    return list(needs.values())


def limit_problems(
    plans: Sequence[Tuple[str, Optional[str], IpConfigPlan]],
    needs: Sequence[SubnetNeed],
    count: int,
    surplus: str,
) -> List[Tuple[str, str]]:
    """(target, reason) for everything that must stop the run before its first write.

    ``plans``: (NIC label, VM name or None, plan).
    """
    problems: List[Tuple[str, str]] = []
    per_vm: Dict[str, int] = {}
    for label, vm_name, plan in plans:
        target = "NIC " + label
        if not plan.subnet_id:
            problems.append((target, "its primary IP configuration has no subnet; set subnet to the subnet's full id"))
            continue
        if plan.wrong_subnet:
            problems.append(
                (
                    target,
                    "%s already exist in another subnet than %s; remove them or set subnet to theirs"
                    % (", ".join(plan.wrong_subnet), _subnet_label(plan.subnet_id)),
                )
            )
        if plan.surplus and surplus == "fail":
            problems.append(
                (
                    target,
                    "it holds %d pod IP configurations beyond count=%d (%s); pods may be using their addresses. "
                    "Drain the node first, then set surplus: remove to delete them, or surplus: keep to leave them"
                    % (len(plan.surplus), count, ", ".join(plan.surplus)),
                )
            )
        if plan.total_after > MAX_IP_CONFIGURATIONS_PER_NIC:
            problems.append(
                (
                    target,
                    "it would hold %d IP configurations; Azure allows at most %d per network interface, so count "
                    "can be at most %d here" % (
                        plan.total_after,
                        MAX_IP_CONFIGURATIONS_PER_NIC,
                        count - (plan.total_after - MAX_IP_CONFIGURATIONS_PER_NIC),
                    ),
                )
            )
        if vm_name:
            per_vm[vm_name] = per_vm.get(vm_name, 0) + plan.total_after
    for vm_name, total in per_vm.items():
        if total > MAX_PRIVATE_IPS_PER_VM:
            problems.append(
                (
                    "VM " + vm_name,
                    "its NICs would hold %d private IP addresses; Azure allows at most %d per virtual machine; "
                    "lower count" % (total, MAX_PRIVATE_IPS_PER_VM),
                )
            )
    for need in needs:
        if need.net_new > need.free:
            problems.append(
                (
                    "subnet " + _subnet_label(need.subnet_id),
                    "%d more addresses are needed but only %d of its %d are free (%d in use); lower count or give "
                    "the nodes a larger subnet" % (need.net_new, need.free, need.capacity, need.used),
                )
            )
    return problems


# --- diff and messages -------------------------------------------------------------


def _pod_state(configurations_: Iterable[Tuple[str, Optional[str]]]) -> Dict[str, Any]:
    configurations_ = list(configurations_)
    state = {"pod_ip_configurations": len(configurations_)}  # type: Dict[str, Any]
    state.update(("ip_configurations/%s" % name, address or DYNAMIC) for name, address in configurations_)
    return state


def pod_configurations_diff(
    records: Iterable[Mapping[str, Any]], before: Mapping[str, Sequence[Tuple[str, Optional[str]]]]
) -> Dict[str, str]:
    """The --diff of a run: per changed NIC, its pod configurations and their addresses.

    ``before``: NIC id (lower) -> (name, address) pairs as read.  An address
    Azure has not yet picked (check mode) shows as ``(dynamic)``.
    """
    diffs = []
    for record in records:
        if not record.get("changed"):
            continue
        was = list(before.get(str(record["id"]).lower(), ()))
        removed = {n.lower() for n in record.get("removed") or ()}
        now = [(n, a) for n, a in was if n.lower() not in removed]
        known = {n.lower() for n, _a in now}
        by_name = {c["name"].lower(): c["address"] for c in record.get("ip_configurations") or ()}
        now = [(n, by_name.get(n.lower()) or a) for n, a in now]
        now += [(n, by_name.get(n.lower())) for n in record.get("added") or () if n.lower() not in known]
        label = nic_label(record)
        diffs.append((label, state_diff(_pod_state(was), _pod_state(now), name=label)))
    return merged_diff(diffs, name="network interfaces")


def failure_message(problems_or_failures: Sequence[Any], summary: str = "") -> str:
    """Why azure_nic_ip_configs failed: each target and reason, then what happened to the rest."""
    parts = []
    for item in problems_or_failures:
        target, reason = (item.target, item.reason) if hasattr(item, "target") else item
        parts.append("%s: %s" % (target, reason))
    return "Could not give the NICs their pod IP configurations (%d problem(s)): %s.%s" % (
        len(parts),
        "; ".join(parts),
        summary,
    )
