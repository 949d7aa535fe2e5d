# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kubernetes Node objects as the udr role needs them, as pure functions.

No Ansible, no Kubernetes client: the ``calico.azure.udr_plan`` filter hands
in the Node objects ``kubernetes.core.k8s_info`` returned, and unit tests call
these directly. What is read is what cloud-provider-azure's route controller
reads: the node name (the route name, exactly as Kubernetes spells it),
``spec.podCIDRs`` (falling back to ``spec.podCIDR``), ``spec.providerID``
(the VM or scale-set instance) and the ``InternalIP`` addresses.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Dict, List, Mapping, Optional

# azure:///subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachines/<vm>
# azure:///subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachineScaleSets/<ss>/virtualMachines/<n>
# ARM treats segment names case-insensitively, and so does the parser.
_PROVIDER_ID = re.compile(
    r"^azure://(?P<id>/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<resource_group>[^/]+)"
    r"/providers/Microsoft\.Compute/(?:virtualMachineScaleSets/(?P<scale_set>[^/]+)/virtualMachines/(?P<instance>[^/]+)"
    r"|virtualMachines/(?P<vm>[^/]+)))/?$",
    re.IGNORECASE,
)


class ProviderIdError(ValueError):
    """A providerID that does not name an Azure VM or scale-set instance."""


def parse_provider_id(provider_id: str) -> Dict[str, Optional[str]]:
    """The VM a node's ``spec.providerID`` names.

    Returns ``id`` (the ARM resource id, usable as a VM id by
    calico.azure.azure_nic_forwarding), ``subscription``, ``resource_group``,
    ``vm_name`` (the VM, or for a scale-set instance ``<scale set>_<instance>``,
    the instance's name in ARM), ``scale_set`` and ``instance_id`` (None for a
    plain VM).
    """
    match = _PROVIDER_ID.match((provider_id or "").strip())
    if match is None:
        raise ProviderIdError(
            "providerID %r is not an Azure VM (azure:///subscriptions/<sub>/resourceGroups/<rg>/providers/"
            "Microsoft.Compute/virtualMachines/<vm> or .../virtualMachineScaleSets/<ss>/virtualMachines/<n>)"
            % (provider_id,)
        )
    scale_set = match.group("scale_set")
    instance = match.group("instance")
    return {
        "id": match.group("id"),
        "subscription": match.group("subscription"),
        "resource_group": match.group("resource_group"),
        "vm_name": match.group("vm") if scale_set is None else "%s_%s" % (scale_set, instance),
        "scale_set": scale_set,
        "instance_id": instance,
    }


def kubernetes_node_name(name: str) -> str:
    """The node name kubelet registers for a host name: lower case (RFC 1123)."""
    return (name or "").strip().lower()


def pod_cidrs_of(node: Mapping[str, Any]) -> List[str]:
    """``spec.podCIDRs``, or ``[spec.podCIDR]`` from API servers before dual-stack, or []."""
    spec = node.get("spec") or {}
    cidrs = [c for c in (spec.get("podCIDRs") or []) if c]
    if not cidrs and spec.get("podCIDR"):
        cidrs = [spec["podCIDR"]]
    return list(cidrs)


def internal_ips_of(node: Mapping[str, Any]) -> List[str]:
    """The node's ``InternalIP`` addresses in the order Kubernetes lists them."""
    addresses = (node.get("status") or {}).get("addresses") or []
    return [a.get("address") for a in addresses if a.get("type") == "InternalIP" and a.get("address")]


def internal_ip_of_version(node: Mapping[str, Any], version: int) -> Optional[str]:
    for text in internal_ips_of(node):
        try:
            if ipaddress.ip_address(text).version == version:
                return text
        except ValueError:
            continue
    return None


def read_node(node: Mapping[str, Any]) -> Dict[str, Any]:
    """One Node object as ``name``, ``pod_cidrs``, ``provider_id``, ``vm`` (parsed or None),
    ``provider_id_error`` and ``internal_ips``."""
    metadata = node.get("metadata") or {}
    provider_id = (node.get("spec") or {}).get("providerID") or ""
    vm = None
    error = None
    if provider_id:
        try:
            vm = parse_provider_id(provider_id)
        except ProviderIdError as exc:
            error = str(exc)
    return {
        "name": metadata.get("name") or "",
        "pod_cidrs": pod_cidrs_of(node),
        "provider_id": provider_id,
        "vm": vm,
        "provider_id_error": error,
        "internal_ips": internal_ips_of(node),
    }
