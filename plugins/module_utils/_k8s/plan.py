# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The udr role's node plan: which nodes, which VM, which pod CIDRs, which routes.

Pure functions (no Ansible, no SDK); the ``calico.azure.udr_plan`` and
``calico.azure.udr_routes`` filters wrap them. Two steps, so that everything
that can be decided without Azure's NIC answers is decided (and refused)
before the first Azure call:

``plan_nodes``  the node set from the cluster (``source="kubernetes"``: the
                Node objects) or from the inventory group, cross-checked
                against each other and against the route table as it is; the
                pod CIDRs (never moved, see below); the VMs to resolve; the
                nodes to patch in allocate mode; every error, each naming the
                node, both values and the role variable to change.
``plan_routes`` the routes, once the VMs' private IPs are known.

Pod CIDRs never move as a side effect. In this order: what Kubernetes
assigned (``spec.podCIDRs``); an explicit ``udr_pod_cidr`` (with the
inventory source; with the Kubernetes source only for a node that has none,
and then it must agree); the CIDR the node's own route already holds; and only
for a node with no CIDR anywhere the lowest free block of the cluster CIDR,
where every route already in the table counts as taken. A collision between
two of these is an error naming both holders, never a re-allocation.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.calico.azure.plugins.module_utils._k8s.nodes import (
    internal_ip_of_version,
    kubernetes_node_name,
    read_node,
)
from ansible_collections.calico.azure.plugins.module_utils._pod_cidrs.allocation import (
    PodCidrError,
    _lowest_free_block,
    parse_network,
    pod_cidr_problems,
)
from ansible_collections.calico.azure.plugins.module_utils._udr.logic import cloud_provider_route_name

NO_POD_CIDR_WHY = (
    "Kubernetes assigned them no spec.podCIDR: the controller manager runs without --allocate-node-cidrs, or the "
    "nodes are not fully registered yet"
)


def _network(text: str) -> Optional[Any]:
    try:
        return ipaddress.ip_network(text, strict=True)
    except (ValueError, TypeError):
        return None


def _route_owner(route_name: str, node_names: Iterable[str]) -> Optional[str]:
    """The node a route is named after (``<node>`` or the dual-stack ``<node>____<cidr>``), case-insensitively."""
    base = route_name.lower().split("____", 1)[0]
    for node in node_names:
        if node.lower() == base:
            return node
    return None


def _inventory_index(inventory: Sequence[Mapping[str, Any]]) -> Dict[str, Mapping[str, Any]]:
    """Inventory hosts by the node name kubelet would register for them and by their VM name, lower case."""
    index: Dict[str, Mapping[str, Any]] = {}
    for host in inventory:
        index.setdefault(kubernetes_node_name(host["host"]), host)
        if host.get("vm"):
            index.setdefault(host["vm"].lower(), host)
    return index


def plan_nodes(
    source: str,
    kubernetes_nodes: Sequence[Mapping[str, Any]] = (),
    inventory: Sequence[Mapping[str, Any]] = (),
    selected_hosts: Optional[Sequence[str]] = None,
    existing_routes: Sequence[Mapping[str, Any]] = (),
    cluster_cidr: Optional[str] = None,
    node_mask_size: Optional[int] = None,
    allocate: bool = False,
    purge: bool = False,
) -> Dict[str, Any]:
    """The node plan (see the module docstring).

    ``inventory``: one entry per host of the node group, each ``host``, ``vm``
    (the explicit ``udr_vm_name`` or "") and ``pod_cidr`` (explicit or "").
    ``selected_hosts``: the hosts the run was asked for (``udr_nodes``); with
    the inventory source a purge is refused when it misses hosts of the group.
    Returns ``nodes`` (``name``, ``vm``: a VM id from the providerID or a VM
    name, ``vm_name``, ``pod_cidrs``, ``internal_ips``, ``allocated``),
    ``vms``, ``patches`` (``name``, ``pod_cidrs`` to PATCH in allocate mode),
    ``dual_stack``, ``errors`` and ``warnings``.
    """
    errors: List[str] = []
    warnings: List[str] = []
    nodes: List[Dict[str, Any]] = []
    by_inventory = _inventory_index(inventory)

    if source == "kubernetes":
        for obj in sorted(kubernetes_nodes, key=lambda o: (o.get("metadata") or {}).get("name") or ""):
            node = read_node(obj)
            host = by_inventory.get(node["name"].lower())
            node["inventory_pod_cidr"] = (host or {}).get("pod_cidr") or ""
            if node["provider_id_error"]:
                errors.append("node %s: %s" % (node["name"], node["provider_id_error"]))
                continue
            if node["vm"] is not None:
                vm_name = node["vm"]["vm_name"]
                node["vm_ref"] = node["vm"]["id"]
                if host and host.get("vm") and host["vm"].lower() != vm_name.lower():
                    errors.append(
                        "node %s: udr_vm_name of host %s is %s, but the node's spec.providerID names the VM %s (%s): "
                        "remove udr_vm_name or set it to %s" % (node["name"], host["host"], host["vm"], vm_name,
                                                                node["provider_id"], vm_name))
            else:
                # No cloud provider on the kubelet: the VM is the inventory's, or named like the node.
                vm_name = (host or {}).get("vm") or node["name"]
                node["vm_ref"] = vm_name
            node["vm_name"] = vm_name
            explicit = node["inventory_pod_cidr"]
            if explicit and node["pod_cidrs"] and explicit not in node["pod_cidrs"]:
                errors.append(
                    "node %s: udr_pod_cidr of host %s is %s, but Kubernetes assigned spec.podCIDR %s: remove "
                    "udr_pod_cidr (Kubernetes is the truth, and a node's pod CIDR never changes)"
                    % (node["name"], host["host"], explicit, ", ".join(node["pod_cidrs"])))
            nodes.append(node)
    else:
        wanted = list(selected_hosts) if selected_hosts is not None else [h["host"] for h in inventory]
        group = [h["host"] for h in inventory]
        missing = sorted(set(group) - set(wanted))
        if purge and missing:
            errors.append(
                "udr_nodes holds %d of the %d hosts of the node group (missing: %s): purging routes from fewer nodes "
                "than the group would delete the routes of the missing nodes; leave udr_nodes at its default "
                "(every host of udr_nodes_group), or set udr_purge_routes: false"
                % (len(wanted), len(group), ", ".join(missing)))
        strange = sorted(set(wanted) - set(group))
        hosts = [h for h in inventory if h["host"] in wanted] + [
            {"host": name, "vm": "", "pod_cidr": ""} for name in strange]
        for host in sorted(hosts, key=lambda h: kubernetes_node_name(h["host"])):
            name = kubernetes_node_name(host["host"])
            nodes.append({
                "name": name,
                "vm_ref": host.get("vm") or host["host"],
                "vm_name": host.get("vm") or host["host"],
                "pod_cidrs": [],
                "inventory_pod_cidr": host.get("pod_cidr") or "",
                "internal_ips": [],
                "provider_id": "",
            })

    seen_names: Dict[str, str] = {}
    seen_vms: Dict[str, str] = {}
    for node in nodes:
        other = seen_names.get(node["name"].lower())
        if other is not None:
            errors.append("nodes %s and %s have the same route name %s (Azure compares route names case-insensitively): "
                          "rename one of the inventory hosts" % (other, node["name"], node["name"].lower()))
        seen_names[node["name"].lower()] = node["name"]
        other = seen_vms.get(node["vm_name"].lower())
        if other is not None:
            errors.append("nodes %s and %s name the same Azure VM %s: set udr_vm_name per host so that each node "
                          "names its own VM" % (other, node["name"], node["vm_name"]))
        seen_vms[node["vm_name"].lower()] = node["name"]

    patches = _assign_pod_cidrs(source, nodes, existing_routes, cluster_cidr, node_mask_size, allocate, errors)
    dual_stack = any(len(n["pod_cidrs"]) > 1 for n in nodes)
    return {
        "source": source,
        "nodes": [{k: n[k] for k in ("name", "vm_ref", "vm_name", "pod_cidrs", "internal_ips", "provider_id")}
                  for n in nodes],
        "vms": [n["vm_ref"] for n in nodes],
        "patches": patches,
        "dual_stack": dual_stack,
        "errors": errors,
        "warnings": warnings,
    }


def _assign_pod_cidrs(source, nodes, existing_routes, cluster_cidr, node_mask_size, allocate, errors) -> List[Dict[str, Any]]:
    node_names = [n["name"] for n in nodes]
    own_routes: Dict[str, List[Tuple[str, Any]]] = {}
    foreign: Dict[str, Any] = {}
    for route in existing_routes or ():
        network = _network(route.get("address_prefix") or "")
        if network is None:
            continue
        owner = _route_owner(route.get("name") or "", node_names)
        if owner is None:
            foreign[route.get("name") or ""] = network
        else:
            own_routes.setdefault(owner, []).append((route.get("name"), network))

    holders: Dict[str, Any] = {}  # holder description -> network

    def collides(network, holder: str) -> bool:
        for other, taken in sorted(holders.items()):
            if taken.version == network.version and taken.overlaps(network):
                errors.append("pod CIDR %s of %s overlaps %s of %s: each node needs its own network; a pod CIDR "
                              "never moves, so change the explicit value (udr_pod_cidr) that is new"
                              % (network, holder, taken, other))
                return True
        holders[holder] = network
        return False

    for route_name, network in sorted(foreign.items()):
        holders["route %s (not a node of this run)" % route_name] = network

    pending: List[Dict[str, Any]] = []
    for node in nodes:
        holder = "node %s" % node["name"]
        if node["pod_cidrs"]:
            for text in node["pod_cidrs"]:
                network = _network(text)
                if network is None:
                    errors.append("node %s: spec.podCIDRs holds %r, which is not a network" % (node["name"], text))
                    continue
                collides(network, holder)
            continue
        if source == "kubernetes" and not allocate:
            pending.append(node)
            continue
        explicit = node["inventory_pod_cidr"]
        held = [net for _name, net in own_routes.get(node["name"], [])]
        if explicit:
            try:
                network = parse_network(explicit, "udr_pod_cidr of node %s" % node["name"])
            except PodCidrError as exc:
                errors.append(str(exc))
                continue
            moved = [net for net in held if net.version == network.version and net != network]
            if moved:
                errors.append("node %s: udr_pod_cidr is %s, but its route already holds %s: a pod CIDR never moves "
                              "(the node's pods use it); set udr_pod_cidr to %s, or drain the node and delete its "
                              "route first" % (node["name"], network, moved[0], moved[0]))
                continue
            if not collides(network, holder):
                node["pod_cidrs"] = [str(network)]
                node["allocated"] = source == "kubernetes"
            continue
        if held:
            if not any(collides(net, holder) for net in held):
                node["pod_cidrs"] = [str(net) for net in held]
                node["allocated"] = source == "kubernetes"
            continue
        pending.append(node)

    if source == "kubernetes" and pending and not allocate:
        errors.append("nodes %s have no pod CIDR: %s; set udr_allocate_pod_cidrs: true to allocate them from "
                      "udr_cluster_cidr and patch spec.podCIDR, or fix the controller manager"
                      % (", ".join(n["name"] for n in pending), NO_POD_CIDR_WHY))
        return []
    if pending:
        if not cluster_cidr or not node_mask_size:
            errors.append("nodes %s have no pod CIDR: set udr_pod_cidr per host, or set udr_cluster_cidr (or "
                          "calico_azure_cluster_cidr) and udr_node_mask_size so they can be allocated"
                          % ", ".join(n["name"] for n in pending))
            return []
        try:
            cluster = parse_network(cluster_cidr, "udr_cluster_cidr")
        except PodCidrError as exc:
            errors.append(str(exc))
            return []
        mask = int(node_mask_size)
        if not cluster.prefixlen <= mask <= cluster.max_prefixlen:
            errors.append("udr_node_mask_size /%d does not fit in udr_cluster_cidr %s: use a size between %d and %d"
                          % (mask, cluster, cluster.prefixlen, cluster.max_prefixlen))
            return []
        for node in pending:
            block = _lowest_free_block(cluster, mask, holders)
            if block is None:
                errors.append("udr_cluster_cidr %s has no free /%d block left for node %s: use a larger cluster CIDR "
                              "or a larger udr_node_mask_size" % (cluster, mask, node["name"]))
                return []
            holders["node %s" % node["name"]] = block
            node["pod_cidrs"] = [str(block)]
            node["allocated"] = source == "kubernetes"
    return [{"name": n["name"], "pod_cidrs": n["pod_cidrs"]} for n in nodes if n.get("allocated")]


def plan_routes(
    plan: Mapping[str, Any],
    nic_records: Sequence[Mapping[str, Any]],
    vnet_address_prefixes: Sequence[str] = (),
    existing_routes: Sequence[Mapping[str, Any]] = (),
    purge_cidr: Optional[str] = None,
) -> Dict[str, Any]:
    """The routes (``node``, ``address_prefix``, ``next_hop_ip``) for azure_udr_routes, ``problems`` that stop the
    run and ``warnings`` (an InternalIP that is not the VM's primary private IP)."""
    problems: List[str] = []
    warnings: List[str] = []
    # With all NICs of a VM the primary comes first, so it wins.
    ips: Dict[str, Tuple[Optional[str], Optional[str]]] = {}
    for record in nic_records:
        key = (record.get("vm") or "").lower()
        if key and key not in ips and (record.get("private_ip") or record.get("private_ipv6")):
            ips[key] = (record.get("private_ip"), record.get("private_ipv6"))
    routes: List[Dict[str, str]] = []
    by_route_name: Dict[str, str] = {}
    missing: List[str] = []
    for node in plan["nodes"]:
        ipv4, ipv6 = ips.get(node["vm_name"].lower(), (None, None))
        obj = {"status": {"addresses": [{"type": "InternalIP", "address": a} for a in node["internal_ips"]]}}
        internal4 = internal_ip_of_version(obj, 4)
        if ipv4 and internal4 and internal4 != ipv4:
            warnings.append("node %s: its InternalIP is %s, but the primary private IP of its VM %s is %s; the route "
                            "uses %s (Azure's answer): check the kubelet's --node-ip" % (node["name"], internal4,
                                                                                         node["vm_name"], ipv4, ipv4))
        for cidr in node["pod_cidrs"]:
            version = ipaddress.ip_network(cidr, strict=False).version
            hop = ipv4 if version == 4 else (ipv6 or internal_ip_of_version(obj, 6))
            if not hop:
                missing.append("%s (VM %s, IPv%d)" % (node["name"], node["vm_name"], version))
                continue
            routes.append({"node": node["name"], "address_prefix": cidr, "next_hop_ip": hop})
            by_route_name[cloud_provider_route_name(node["name"], cidr, plan.get("dual_stack", False))] = cidr
    if missing:
        problems.append("no private IP found for the nodes %s: each node's route needs its VM's primary private IP as "
                        "next hop" % ", ".join(missing))
    node_ips = {n["name"]: ips.get(n["vm_name"].lower(), (None, None))[0] or "" for n in plan["nodes"]}
    problems.extend(pod_cidr_problems(by_route_name, list(vnet_address_prefixes), node_ips, list(existing_routes),
                                      purge_cidr or None))
    return {"routes": routes, "problems": problems, "warnings": warnings}
