# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""References to other resources are kept by id, as ARM keeps them.

A client may PUT a reference with the whole referenced object embedded
(azure.azcollection sends the NSG, public IP or subnet it read); ARM stores and
answers ``{"id": ...}`` only. One rule for every type: in a reference position
(a property named in :data:`REFERENCE_KEYS`, at any depth of the body), an
object whose ``id`` names another resource is reduced to ``{"id": id}``.
Objects that live inside the written resource (its own children) keep their
content, and so do positions that are not plain references (a VM's
``networkProfile.networkInterfaces[]`` carries ``properties.primary``).
"""

from __future__ import annotations

from .ids import key, parse

# Property names whose value is a SubResource (or a list of them) in the Network and Compute swaggers.
REFERENCE_KEYS = frozenset(
    name.lower()
    for name in (
        "networkSecurityGroup", "publicIPAddress", "subnet", "routeTable", "natGateway",
        "loadBalancerBackendAddressPools", "loadBalancerInboundNatRules", "loadBalancerInboundNatPools",
        "applicationGatewayBackendAddressPools", "applicationSecurityGroups", "gatewayLoadBalancer",
        "ddosProtectionPlan", "serviceEndpointPolicies", "publicIPPrefix", "virtualNetworkTap",
        "dscpConfiguration", "healthProbe", "availabilitySet", "proximityPlacementGroup", "host", "hostGroup",
        "capacityReservationGroup", "diskEncryptionSet", "virtualMachineScaleSet", "publicIPAddresses",
    )
)


def _is_foreign_reference(value, own_key: str) -> bool:
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        return False
    ref_key = key(value["id"])
    if ref_key == own_key or ref_key.startswith(own_key + "/"):
        return False  # the resource's own child, written with it
    return parse(value["id"]).kind in ("resource", "child")


def _reduce(value, own_key: str):
    if _is_foreign_reference(value, own_key):
        return {"id": value["id"]}
    if isinstance(value, list):
        return [{"id": item["id"]} if _is_foreign_reference(item, own_key) else _walk(item, own_key) for item in value]
    return _walk(value, own_key)


def normalize_references(body, own_id: str):
    """``body`` with every embedded reference to another resource reduced to its id (in place; returns it)."""
    return _walk(body, key(own_id))


def _walk(body, own_key: str):
    if isinstance(body, list):
        return [_walk(item, own_key) for item in body]
    if not isinstance(body, dict):
        return body
    for name, value in list(body.items()):
        if name.lower() in REFERENCE_KEYS:
            body[name] = _reduce(value, own_key)
        elif isinstance(value, (dict, list)):
            body[name] = _walk(value, own_key)
    return body
