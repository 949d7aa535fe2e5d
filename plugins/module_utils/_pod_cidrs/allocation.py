# -*- coding: utf-8 -*-
# Copyright (c) calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pod CIDR allocation and the udr role's preconditions, as pure functions.

No Ansible and no Azure SDK imports: the ``calico.azure.allocate_pod_cidrs``
and ``calico.azure.pod_cidr_problems`` filters wrap these, and unit tests call
them directly.

Allocation (what ``allocate_pod_cidrs`` does, in this order):

1. A node with an explicit pod CIDR (its inventory host variable) gets exactly
   that network.
2. A node without one keeps the CIDR its existing route already holds (the
   route named after the node, as cloud-provider-azure names routes), when
   that CIDR is still a ``/node_mask_size`` block inside ``cluster_cidr`` and
   no node from step 1 or an earlier node of step 2 (sorted by name) holds an
   overlapping network.
3. Every other node, in sorted-name order, gets the lowest ``/node_mask_size``
   block of ``cluster_cidr`` that overlaps nothing already assigned.

So adding nodes never moves an existing node's pod CIDR (steps 1 and 2 keep
them), and the same inventory against the same route table always yields the
same result. Removing a node frees its block; a later new node may reuse it.
"""

from __future__ import annotations

import ipaddress
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Union

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

# Azure: at most 400 routes in one route table (virtual network limits).
AZURE_MAX_ROUTES_PER_TABLE = 400


class PodCidrError(ValueError):
    """Input that makes allocation impossible; the message says what to fix."""


def parse_network(value: str, what: str) -> Network:
    """A network in CIDR notation with no host bits set, or PodCidrError naming ``what``."""
    if not isinstance(value, str) or "/" not in value:
        raise PodCidrError("%s: %r is not a network in CIDR notation (for example 10.244.1.0/24)" % (what, value))
    try:
        return ipaddress.ip_network(value.strip(), strict=True)
    except ValueError as exc:
        raise PodCidrError("%s: %r is not a valid network: %s" % (what, value, exc)) from exc


def _overlapping(network: Network, assigned: Mapping[str, Network]) -> Optional[str]:
    for owner, other in sorted(assigned.items()):
        if other.version == network.version and other.overlaps(network):
            return owner
    return None


def _lowest_free_block(cluster: Network, prefixlen: int, assigned: Mapping[str, Network]) -> Optional[Network]:
    """The lowest /prefixlen block of ``cluster`` overlapping nothing in ``assigned``.

    Walks the blocks in address order but jumps past each assigned network it
    hits, so the cost grows with the number of assigned networks, not with the
    number of blocks in the cluster CIDR.
    """
    taken = sorted((n for n in assigned.values() if n.version == cluster.version and n.overlaps(cluster)),
                   key=lambda n: int(n.network_address))
    block_size = 1 << (cluster.max_prefixlen - prefixlen)
    candidate = int(cluster.network_address)
    end = int(cluster.broadcast_address)
    for net in taken:
        first, last = int(net.network_address), int(net.broadcast_address)
        if candidate + block_size - 1 < first:
            break
        if last >= candidate:
            # Next aligned block after this taken network.
            candidate = ((last + 1 + block_size - 1) // block_size) * block_size
    if candidate + block_size - 1 > end:
        return None
    return type(cluster)((candidate, prefixlen))


def allocate_pod_cidrs(
    nodes: Mapping[str, Optional[str]],
    cluster_cidr: Optional[str] = None,
    node_mask_size: Optional[int] = None,
    existing_routes: Optional[Iterable[Mapping[str, str]]] = None,
) -> Dict[str, str]:
    """Map every node name to its pod CIDR (see the module docstring for the rules).

    ``nodes`` maps node name to its explicit pod CIDR or None/"" for "allocate".
    ``existing_routes`` is the route table's current routes, each with ``name``
    and ``address_prefix``.
    """
    explicit: Dict[str, Network] = {}
    to_allocate: List[str] = []
    for name in sorted(nodes):
        value = nodes[name]
        if value in (None, ""):
            to_allocate.append(name)
            continue
        network = parse_network(value, "pod CIDR of node %s" % name)
        owner = _overlapping(network, explicit)
        if owner is not None:
            raise PodCidrError("pod CIDR %s of node %s overlaps %s of node %s: give every node its own network"
                               % (network, name, explicit[owner], owner))
        explicit[name] = network

    cluster: Optional[Network] = None
    if cluster_cidr:
        cluster = parse_network(cluster_cidr, "cluster CIDR")
        for name, network in sorted(explicit.items()):
            if network.version != cluster.version or not network.subnet_of(cluster):  # type: ignore[arg-type]
                raise PodCidrError("pod CIDR %s of node %s is outside the cluster CIDR %s" % (network, name, cluster))
    if to_allocate:
        if cluster is None or node_mask_size is None:
            raise PodCidrError("nodes %s have no pod CIDR: set one per node, or set the cluster CIDR and the node "
                               "mask size so they can be allocated" % ", ".join(to_allocate))
        mask = int(node_mask_size)
        if not cluster.prefixlen <= mask <= cluster.max_prefixlen:
            raise PodCidrError("node mask size /%d does not fit in the cluster CIDR %s: use a size between %d and %d"
                               % (mask, cluster, cluster.prefixlen, cluster.max_prefixlen))

    assigned: Dict[str, Network] = dict(explicit)
    held = {}
    for route in existing_routes or ():
        name, prefix = route.get("name"), route.get("address_prefix")
        if name in to_allocate and prefix:
            try:
                held[name] = ipaddress.ip_network(prefix, strict=True)
            except ValueError:
                continue  # A route we cannot read as a network is not a block we can keep.
    remaining: List[str] = []
    for name in to_allocate:
        network = held.get(name)
        keep = (
            network is not None and cluster is not None
            and network.version == cluster.version
            and network.prefixlen == int(node_mask_size)  # type: ignore[arg-type]
            and network.subnet_of(cluster)  # type: ignore[arg-type]
            and _overlapping(network, assigned) is None
        )
        if keep:
            assigned[name] = network  # type: ignore[assignment]
        else:
            remaining.append(name)
    for name in remaining:
        block = _lowest_free_block(cluster, int(node_mask_size), assigned)  # type: ignore[arg-type]
        if block is None:
            raise PodCidrError("the cluster CIDR %s has no free /%d block left for node %s (%d nodes): use a larger "
                               "cluster CIDR or a larger node mask size" % (cluster, int(node_mask_size), name, len(nodes)))
        assigned[name] = block
    return {name: str(assigned[name]) for name in sorted(assigned)}


def pod_cidr_problems(
    pod_cidrs: Mapping[str, str],
    vnet_address_prefixes: Sequence[str] = (),
    node_ips: Optional[Mapping[str, str]] = None,
    existing_routes: Optional[Iterable[Mapping[str, str]]] = None,
    purge_cidr: Optional[str] = None,
    max_routes: int = AZURE_MAX_ROUTES_PER_TABLE,
) -> List[str]:
    """Every reason the desired routes cannot be applied, each as one sentence; [] when none.

    Checks: each pod CIDR is a network inside one of the VNet's address
    prefixes; no two nodes' pod CIDRs overlap; no pod CIDR contains a node IP;
    the table stays within ``max_routes`` once applied (routes kept from the
    existing table count: those not named after a node, and outside
    ``purge_cidr`` when routes are purged).
    """
    problems: List[str] = []
    networks: Dict[str, Network] = {}
    for name in sorted(pod_cidrs):
        try:
            networks[name] = parse_network(pod_cidrs[name], "pod CIDR of node %s" % name)
        except PodCidrError as exc:
            problems.append(str(exc))

    vnet: List[Network] = []
    for prefix in vnet_address_prefixes:
        try:
            vnet.append(parse_network(prefix, "VNet address prefix"))
        except PodCidrError as exc:
            problems.append(str(exc))
    if vnet:
        for name, network in sorted(networks.items()):
            if not any(network.version == v.version and network.subnet_of(v) for v in vnet):  # type: ignore[arg-type]
                problems.append("pod CIDR %s of node %s is outside the VNet address space %s: Azure drops traffic "
                                "for pod IPs outside the VNet, pick pod CIDRs inside it"
                                % (network, name, ", ".join(str(v) for v in vnet)))

    names = sorted(networks)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            a, b = networks[first], networks[second]
            if a.version == b.version and a.overlaps(b):
                problems.append("pod CIDR %s of node %s overlaps pod CIDR %s of node %s: each node needs its own "
                                "network" % (a, first, b, second))

    for node, ip_text in sorted((node_ips or {}).items()):
        if not ip_text:
            continue
        ip = ipaddress.ip_address(ip_text)
        for name, network in sorted(networks.items()):
            if ip.version == network.version and ip in network:
                problems.append("pod CIDR %s of node %s contains the IP %s of node %s: pod CIDRs must not overlap "
                                "the node subnet" % (network, name, ip, node))

    purge: Optional[Network] = ipaddress.ip_network(purge_cidr, strict=False) if purge_cidr else None
    kept = 0
    for route in existing_routes or ():
        if route.get("name") in pod_cidrs:
            continue
        prefix = route.get("address_prefix") or ""
        if purge is not None:
            try:
                route_net = ipaddress.ip_network(prefix, strict=False)
            except ValueError:
                route_net = None
            if route_net is not None and route_net.version == purge.version and route_net.subnet_of(purge):  # type: ignore[arg-type]
                continue
        kept += 1
    total = len(pod_cidrs) + kept
    if total > max_routes:
        problems.append("the route table would hold %d routes (%d nodes + %d other routes); Azure allows at most %d "
                        "per route table: split the nodes over several subnets with their own tables"
                        % (total, len(pod_cidrs), kept, max_routes))
    return problems
