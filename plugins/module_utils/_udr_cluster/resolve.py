# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which Azure resource answers for each node, from as few reads as possible (pure, no SDK).

azure_udr_cluster resolves every node of the plan (``_k8s.plan.plan_nodes``)
to its NIC and private IP with one read per resource group: a NIC list of the
VMs' resource group, whose ``properties.virtualMachine.id`` back-references
map VMs to their NICs (a Flexible scale set's instances are ordinary VMs with
ordinary NICs), and per Uniform scale set its model, its instance list and one
scale-set NIC list. A VM whose NIC is not in its own group's list (NICs in
another group, several NICs and no primary mark) is read on its own (the
VM, then its NICs): correct, one read more.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.calico.azure.plugins.module_utils._diff import merged_diff
from ansible_collections.calico.azure.plugins.module_utils._k8s.nodes import ProviderIdError, parse_provider_id
from ansible_collections.calico.azure.plugins.module_utils._nic.transform import (
    FORWARDING_PROPERTY,
    VM_TYPE,
    ResourceRef,
    TargetError,
    parse_target,
    private_ips,
)
from ansible_collections.calico.azure.plugins.module_utils._vmss import plan as vmss_plan

SCALE_SET_TYPE = "Microsoft.Compute/virtualMachineScaleSets"


class NodeTargets(object):
    """The plan's nodes split by what Azure answers for them."""

    def __init__(self) -> None:
        # VM ref key -> (VM ref, node names); in plan order.
        self.vms: "OrderedDict[str, Tuple[ResourceRef, List[str]]]" = OrderedDict()
        # scale set id (lower) -> {"id": id, "members": {instance id: node name}}
        self.scale_sets: "OrderedDict[str, Dict[str, Any]]" = OrderedDict()
        self.errors: List[str] = []

    def vm_groups(self) -> List[Tuple[str, str]]:
        """(subscription, resource group) of the VMs, each once, in order."""
        seen: "OrderedDict[Tuple[str, str], Tuple[str, str]]" = OrderedDict()
        for ref, _nodes in self.vms.values():
            seen.setdefault(ref.group_key, (ref.subscription_id, ref.resource_group))
        return list(seen.values())


def split_nodes(nodes: Sequence[Mapping[str, Any]], subscription_id: str, vm_resource_group: Optional[str]) -> NodeTargets:
    """Each node's VM (a providerID's id, or a VM name in ``vm_resource_group``) or scale-set instance."""
    targets = NodeTargets()
    for node in nodes:
        ref_text = str(node.get("vm_ref") or node.get("vm_name") or "")
        if ref_text.startswith("/") and "/virtualmachinescalesets/" in ref_text.lower():
            try:
                parsed = parse_provider_id("azure://" + ref_text)
            except ProviderIdError as error:
                targets.errors.append("node %s: %s" % (node["name"], error))
                continue
            ss_id = ref_text[: ref_text.lower().index("/virtualmachines/")]
            entry = targets.scale_sets.setdefault(ss_id.lower(), {"id": ss_id, "name": parsed["scale_set"], "members": {}})
            entry["members"][str(parsed["instance_id"])] = node["name"]
            continue
        try:
            ref = parse_target(ref_text, VM_TYPE, subscription_id, vm_resource_group)
        except TargetError as error:
            targets.errors.append(
                "node %s: VM %s: %s (vm_resource_group; udr_vm_resource_group in the udr role)"
                % (node["name"], error.target, error.reason))
            continue
        targets.vms.setdefault(ref.key, (ref, []))[1].append(node["name"])
    return targets


def nics_by_vm(nics: Sequence[Mapping[str, Any]]) -> Dict[str, List[Mapping[str, Any]]]:
    """VM id (lower case) -> the NICs of a list that name it in ``properties.virtualMachine.id``."""
    found: Dict[str, List[Mapping[str, Any]]] = {}
    for nic in nics:
        vm_id = ((nic.get("properties") or {}).get("virtualMachine") or {}).get("id")
        if vm_id:
            found.setdefault(str(vm_id).rstrip("/").lower(), []).append(nic)
    return found


def pick_nics(nics: Sequence[Mapping[str, Any]], all_nics: bool) -> Optional[List[Mapping[str, Any]]]:
    """The VM's primary NIC (or all, primary first) from its listed NICs; None when the list cannot say.

    Azure marks the primary NIC ``properties.primary`` on an attached NIC; a VM
    with one NIC has only that one. Several NICs and no mark: the VM decides.
    """
    if not nics:
        return None
    primary = [n for n in nics if (n.get("properties") or {}).get("primary")]
    if len(nics) > 1 and len(primary) != 1:
        return None
    first = primary[0] if primary else nics[0]
    if not all_nics:
        return [first]
    return [first] + sorted((n for n in nics if n is not first), key=lambda n: str(n.get("name") or "").lower())


def instance_ips(nics: Sequence[Mapping[str, Any]]) -> Dict[str, Tuple[Optional[str], Optional[str]]]:
    """Instance id -> (private IPv4, IPv6) of its primary NIC, from one scale-set NIC list."""
    return {iid: private_ips(nic) for iid, nic in vmss_plan.primary_nics(nics).items()}


def member_errors(scale_set: Mapping[str, Any], instances: Sequence[Mapping[str, Any]], members: Mapping[str, str]) -> List[str]:
    """Nodes whose providerID names an instance the scale set does not have."""
    listed = set(vmss_plan.instance_id(i) for i in instances)
    return ["node %s: its spec.providerID names instance %s of scale set %s, which Azure does not list (instances: %s); "
            "the node is gone from Azure or its providerID is wrong: delete the Node object or fix spec.providerID"
            % (node, iid, scale_set.get("name"), ", ".join(sorted(listed)) or "none")
            for iid, node in sorted(members.items(), key=lambda item: item[1]) if iid not in listed]


def flexible_member_vm(scale_set: Mapping[str, Any], instance: str) -> str:
    """A Flexible set's instance named by a scale-set path is an ordinary VM: its id."""
    return "%s/providers/Microsoft.Compute/virtualMachines/%s" % (
        str(scale_set["id"]).split("/providers/", 1)[0], instance)


def as_forwarded(nic: Mapping[str, Any]) -> Dict[str, Any]:
    """The NIC as it will be once the run turned forwarding on: what the route table's checks should see."""
    forwarded = copy.deepcopy(dict(nic))
    forwarded.setdefault("properties", {})[FORWARDING_PROPERTY] = True
    return forwarded


def build_diff(table_diff: Optional[Mapping[str, str]],
               forwarding_diffs: Sequence[Tuple[str, Mapping[str, str]]]) -> Optional[Dict[str, str]]:
    """The module's one ``diff`` (``_diff``'s shape): the route table's lines and each NIC's or scale set's, merged."""
    parts = list(forwarding_diffs)
    if table_diff:
        parts.append(("route table", table_diff))
    if not parts:
        return None
    return merged_diff(parts, name="cluster")
