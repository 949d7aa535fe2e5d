# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure logic of the cluster route table (no Azure SDK, no Ansible).

Everything ``calico.azure.azure_udr_routes`` decides is computed here from
plain data, so it can be tested with tables of inputs:

- route naming compatible with the Kubernetes Azure cloud provider's route
  controller (``<node>`` or, dual-stack, ``<node>____<cidr without : . />``);
- validation of the requested routes, the table name and the result against
  Azure's rules (names, strict CIDRs, duplicates, 400 routes per table) and
  against the VNets of the associated subnets;
- the desired route set from the routes read from Azure plus the wanted ones,
  with purging limited to the ``cluster_cidr`` scope;
- the subnet associations to make;
- the request body of the single route-table PUT;
- the before/after state for diff mode, one line per route, subnet and tag.

Route JSON is ARM's: ``{"name", "id", "etag", "properties": {"addressPrefix",
"nextHopType", "nextHopIpAddress", ...}}``. Properties this module does not
manage are carried through untouched.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from dataclasses import dataclass, field
from typing import AbstractSet, Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from ansible_collections.calico.azure.plugins.module_utils._azure import ids
from ansible_collections.calico.azure.plugins.module_utils._diff import state_diff

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

# Azure: "400 routes per route table" (azure-virtual-network-limits).
MAX_ROUTES_PER_TABLE = 400

# Azure naming rules for routeTables and routes: 1-80 characters of
# alphanumerics, '_', '.', '-'; starts alphanumeric; ends alphanumeric or '_'.
MAX_NAME_LENGTH = 80
_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$")

# cloud-provider-azure consts.RouteNameFmt is "%s____%s".
DUAL_STACK_SEPARATOR = "____"

# Canonical spelling of ARM's RouteNextHopType values, keyed case-insensitively
# so that user input such as "virtualappliance" or "virtual_appliance" works.
NEXT_HOP_TYPES = ("VirtualAppliance", "VirtualNetworkGateway", "VnetLocal", "Internet", "None", "VirtualApplianceEcmp")
_NEXT_HOP_TYPE_BY_KEY = dict((t.lower(), t) for t in NEXT_HOP_TYPES)
# Types this module can write; VirtualApplianceEcmp needs a 'nextHop' object it
# does not model (such routes already in the table are carried through).
WRITABLE_NEXT_HOP_TYPES = ("VirtualAppliance", "VirtualNetworkGateway", "VnetLocal", "Internet", "None")

# Read-only properties ARM returns but ignores (or may reject) on PUT.
_READ_ONLY_TABLE_KEYS = ("etag",)
_READ_ONLY_TABLE_PROPERTIES = ("provisioningState", "resourceGuid", "subnets")
_READ_ONLY_ROUTE_KEYS = ("etag",)
_READ_ONLY_ROUTE_PROPERTIES = ("provisioningState", "hasBgpOverride")

SCALE_OUT_HINT = (
    "Clusters with more nodes than that need Azure CNI (pods take VNet addresses, no routes) "
    "or an overlay (Calico VXLAN or IP-in-IP, or Azure CNI Overlay) instead of user-defined routes."
)


# --------------------------------------------------------------------------- naming


def cidr_to_rfc1035(cidr: str) -> str:
    """The CIDR as cloud-provider-azure puts it in a route name: ':', '.', '/' removed."""
    return cidr.replace(":", "").replace(".", "").replace("/", "")


def cloud_provider_route_name(node_name: str, cidr: Optional[str] = None, dual_stack: bool = False) -> str:
    """Name the Kubernetes Azure cloud provider gives the route of ``node_name``.

    Single-stack clusters: the node name. Dual-stack clusters:
    ``<node>____<cidr without ':', '.', '/'>`` (pkg/provider/azure_routes.go).
    Using the same names lets the cloud provider's route controller adopt the
    routes without deleting and recreating them, and lets this module take them
    back later without churn.
    """
    if not dual_stack:
        return node_name
    if not cidr:
        raise ValueError("a dual-stack route name needs the pod CIDR")
    return "%s%s%s" % (node_name, DUAL_STACK_SEPARATOR, cidr_to_rfc1035(cidr))


def node_name_from_route_name(route_name: str) -> str:
    """The node a cloud-provider route name belongs to (inverse of the naming above)."""
    return route_name.split(DUAL_STACK_SEPARATOR, 1)[0]


def name_errors(kind: str, name: str) -> List[str]:
    """Why ``name`` is not a valid Azure route-table or route name (empty when valid)."""
    if not name:
        return ["%s name is empty; Azure needs 1-%d characters" % (kind, MAX_NAME_LENGTH)]
    errors = []
    if len(name) > MAX_NAME_LENGTH:
        errors.append(
            "%s name '%s' is %d characters long; Azure allows at most %d" % (kind, name, len(name), MAX_NAME_LENGTH)
        )
    if not _NAME_RE.match(name):
        errors.append(
            "%s name '%s' is not a valid Azure name: use letters, digits, '_', '.' and '-', "
            "start with a letter or digit and end with a letter, digit or '_'" % (kind, name)
        )
    return errors


# --------------------------------------------------------------------------- routes


def canonical_next_hop_type(value: str) -> Optional[str]:
    """ARM's spelling of a next-hop type given in any case, with or without '_' (None if unknown)."""
    return _NEXT_HOP_TYPE_BY_KEY.get(value.replace("_", "").lower()) if value else None


def _parse_network(text: str) -> Optional[IPNetwork]:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _parse_address(text: Optional[str]) -> Optional[IPAddress]:
    if not text:
        return None
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class RouteSpec:
    """One route as this module reasons about it (normalised text)."""

    name: str
    address_prefix: str
    next_hop_type: str
    next_hop_ip: Optional[str] = None

    @property
    def network(self) -> Optional[IPNetwork]:
        """The prefix as a network; None for a service tag such as ``AzureCloud``."""
        return _parse_network(self.address_prefix)

    def describe(self) -> str:
        hop = self.next_hop_type + (" " + self.next_hop_ip if self.next_hop_ip else "")
        return "%s -> %s" % (self.address_prefix, hop)

    def same_target(self, other: "RouteSpec") -> bool:
        """Same prefix and next hop, comparing the way ARM does (case and notation insensitive)."""
        mine, theirs = self.network, other.network
        if mine is not None and theirs is not None:
            same_prefix = mine == theirs
        else:
            same_prefix = self.address_prefix.lower() == other.address_prefix.lower()
        return (
            same_prefix
            and self.next_hop_type.lower() == other.next_hop_type.lower()
            and _parse_address(self.next_hop_ip) == _parse_address(other.next_hop_ip)
            and (self.next_hop_ip is None) == (other.next_hop_ip is None)
        )


def route_from_arm(route: Mapping[str, Any]) -> RouteSpec:
    """A RouteSpec from a route as ARM returns it (prefixes normalised when they are CIDRs)."""
    props = route.get("properties") or {}
    prefix = props.get("addressPrefix") or ""
    network = _parse_network(prefix)
    hop_type = props.get("nextHopType") or "None"
    hop_ip = props.get("nextHopIpAddress") or None
    hop_addr = _parse_address(hop_ip)
    return RouteSpec(
        name=route.get("name") or "",
        address_prefix=str(network) if network is not None else prefix,
        next_hop_type=canonical_next_hop_type(hop_type) or hop_type,
        next_hop_ip=str(hop_addr) if hop_addr is not None else hop_ip,
    )


def route_to_arm(spec: RouteSpec) -> Dict[str, Any]:
    """The JSON of a new route, as sent inside the route table's PUT."""
    props = {"addressPrefix": spec.address_prefix, "nextHopType": spec.next_hop_type}  # type: Dict[str, Any]
    if spec.next_hop_ip:
        props["nextHopIpAddress"] = spec.next_hop_ip
    return {"name": spec.name, "properties": props}


def parse_wanted_routes(raw_routes: Sequence[Mapping[str, Any]], dual_stack_names: bool = False) -> Tuple[List[RouteSpec], List[str]]:
    """Validate the ``routes`` option; return the routes and every error found.

    Each entry has ``name`` or ``node`` (named the cloud provider's way),
    ``address_prefix``, ``next_hop_ip`` and ``next_hop_type`` (default
    VirtualAppliance). Errors name the route and say what to use instead.
    """
    routes = []  # type: List[RouteSpec]
    errors = []  # type: List[str]
    for index, raw in enumerate(raw_routes):
        label = raw.get("name") or raw.get("node") or "#%d" % (index + 1)
        prefix_text = (raw.get("address_prefix") or "").strip()
        hop_type_text = raw.get("next_hop_type") or "VirtualAppliance"
        hop_ip_text = raw.get("next_hop_ip")
        route_errors = []  # type: List[str]

        network = None  # type: Optional[IPNetwork]
        if not prefix_text:
            route_errors.append("route '%s': address_prefix is required" % label)
        elif "/" not in prefix_text:
            route_errors.append(
                "route '%s': address_prefix '%s' is not a CIDR; write it with its prefix length, e.g. '%s/%d'"
                % (label, prefix_text, prefix_text, 128 if ":" in prefix_text else 32)
            )
        else:
            try:
                network = ipaddress.ip_network(prefix_text, strict=True)
            except ValueError:
                loose = _parse_network(prefix_text)
                if loose is not None:
                    route_errors.append(
                        "route '%s': address_prefix '%s' has host bits set; use '%s'" % (label, prefix_text, loose)
                    )
                else:
                    route_errors.append(
                        "route '%s': address_prefix '%s' is not a valid IPv4 or IPv6 CIDR" % (label, prefix_text)
                    )

        hop_type = canonical_next_hop_type(hop_type_text)
        if hop_type not in WRITABLE_NEXT_HOP_TYPES:
            route_errors.append(
                "route '%s': next_hop_type '%s' is not one of %s" % (label, hop_type_text, ", ".join(WRITABLE_NEXT_HOP_TYPES))
            )

        hop_ip = None  # type: Optional[str]
        if hop_type == "VirtualAppliance":
            address = _parse_address(hop_ip_text)
            if not hop_ip_text:
                route_errors.append(
                    "route '%s': next_hop_ip is required with next_hop_type VirtualAppliance (the node's private IP)" % label
                )
            elif address is None:
                route_errors.append("route '%s': next_hop_ip '%s' is not a valid IP address" % (label, hop_ip_text))
            elif network is not None and address.version != network.version:
                route_errors.append(
                    "route '%s': next_hop_ip %s is IPv%d but address_prefix %s is IPv%d; "
                    "route IPv%d pod CIDRs to the node's IPv%d address"
                    % (label, address, address.version, network, network.version, network.version, network.version)
                )
            else:
                hop_ip = str(address)
        elif hop_ip_text and hop_type is not None:
            route_errors.append(
                "route '%s': next_hop_ip is only allowed with next_hop_type VirtualAppliance, not %s" % (label, hop_type)
            )

        name = raw.get("name")
        node = raw.get("node")
        if name and node:
            route_errors.append("route '%s': give either name or node, not both" % label)
        elif not name and not node:
            route_errors.append("route %s: needs a name (or a node to name it after)" % label)
        elif node:
            if dual_stack_names and network is None:
                pass  # already reported: the dual-stack name needs a valid CIDR
            else:
                name = cloud_provider_route_name(node, str(network) if network else None, dual_stack_names)
        if name:
            route_errors.extend(name_errors("route", name))

        errors.extend(route_errors)
        if not route_errors and name and network is not None and hop_type is not None:
            routes.append(RouteSpec(name, str(network), hop_type, hop_ip))

    errors.extend(duplicate_errors(routes))
    return routes, errors


def duplicate_errors(routes: Sequence[RouteSpec]) -> List[str]:
    """Duplicate names (case-insensitive, as Azure compares them) or prefixes, naming both routes."""
    errors = []
    by_name = {}  # type: Dict[str, RouteSpec]
    by_prefix = {}  # type: Dict[Any, RouteSpec]
    for route in routes:
        key = route.name.lower()
        if key in by_name:
            first = by_name[key]
            hint = ""
            if first.network is not None and route.network is not None and first.network.version != route.network.version:
                hint = "; for a dual-stack node set dual_stack_route_names: true so its IPv4 and IPv6 routes get distinct names"
            errors.append(
                "routes '%s' (%s) and '%s' (%s) have the same name; Azure route names are case-insensitive and unique per table%s"
                % (first.name, first.address_prefix, route.name, route.address_prefix, hint)
            )
        else:
            by_name[key] = route
        prefix_key = route.network or route.address_prefix.lower()
        if prefix_key in by_prefix:
            first = by_prefix[prefix_key]
            errors.append(
                "routes '%s' and '%s' have the same address_prefix %s; Azure allows one route per prefix"
                % (first.name, route.name, route.address_prefix)
            )
        else:
            by_prefix[prefix_key] = route
    return errors


def overlap_errors(routes: Sequence[RouteSpec]) -> List[str]:
    """Pod CIDRs that overlap each other (identical prefixes are reported as duplicates instead)."""
    networks = sorted(
        ((r.network, r) for r in routes if r.network is not None),
        key=lambda item: (item[0].version, item[0].network_address, item[0].prefixlen),
    )
    errors = []
    widest = None  # type: Optional[Tuple[IPNetwork, RouteSpec]]
    for network, route in networks:
        if widest is not None and widest[0].version == network.version and network.subnet_of(widest[0]):  # type: ignore[arg-type]
            if widest[0] != network:
                errors.append(
                    "route '%s' (%s) overlaps route '%s' (%s); each node needs its own pod CIDR"
                    % (route.name, network, widest[1].name, widest[0])
                )
            continue
        widest = (network, route)
    return errors


# --------------------------------------------------------------------------- purge scope


def parse_scope(cidrs: Optional[Sequence[str]]) -> Tuple[List[IPNetwork], List[str]]:
    """The ``cluster_cidr`` list as networks, refusing host bits and /0 (which would purge everything)."""
    networks = []  # type: List[IPNetwork]
    errors = []
    for text in cidrs or ():
        try:
            network = ipaddress.ip_network(text.strip(), strict=True)
        except ValueError:
            loose = _parse_network(text.strip())
            if loose is not None:
                errors.append("cluster_cidr '%s' has host bits set; use '%s'" % (text, loose))
            else:
                errors.append("cluster_cidr '%s' is not a valid IPv4 or IPv6 CIDR" % text)
            continue
        if network.prefixlen == 0:
            errors.append(
                "cluster_cidr '%s' covers every address, so a purge would remove default and peering routes too; "
                "give the cluster's pod CIDR (e.g. 10.244.0.0/16)" % text
            )
            continue
        networks.append(network)
    return networks, errors


def in_scope(route: RouteSpec, scope: Sequence[IPNetwork]) -> bool:
    """Whether a purge may remove ``route``: its prefix lies inside one of the cluster CIDRs.

    Service-tag prefixes and prefixes outside every cluster CIDR (a firewall's
    0.0.0.0/0, a peer's range) are never in scope.
    """
    network = route.network
    if network is None:
        return False
    return any(network.version == cidr.version and network.subnet_of(cidr) for cidr in scope)  # type: ignore[arg-type]


def pod_routes(wanted: Sequence[RouteSpec], scope: Sequence[IPNetwork]) -> List[RouteSpec]:
    """The wanted routes that carry pod CIDRs.

    With a ``cluster_cidr`` scope: the routes inside it. Without one: every
    VirtualAppliance route (what a pod route is).
    """
    if scope:
        return [r for r in wanted if in_scope(r, scope)]
    return [r for r in wanted if r.next_hop_type == "VirtualAppliance"]


# --------------------------------------------------------------------------- desired route set


@dataclass
class RoutePlan:
    """The route set to PUT and how it differs from what Azure holds."""

    routes: List[Dict[str, Any]]
    added: List[RouteSpec] = field(default_factory=list)
    changed: List[Tuple[RouteSpec, RouteSpec]] = field(default_factory=list)
    removed: List[RouteSpec] = field(default_factory=list)
    kept: List[RouteSpec] = field(default_factory=list)
    # With ownership: in-scope routes nobody recorded, kept (or removed with purge_foreign).
    foreign: List[RouteSpec] = field(default_factory=list)
    foreign_removed: List[RouteSpec] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    @property
    def final_specs(self) -> List[RouteSpec]:
        return [route_from_arm(r) for r in self.routes]


def plan_routes(
    current_routes: Sequence[Mapping[str, Any]],
    wanted: Sequence[RouteSpec],
    purge: bool = False,
    scope: Sequence[IPNetwork] = (),
    owned: Optional[AbstractSet[str]] = None,
    others: AbstractSet[str] = frozenset(),
    purge_foreign: bool = False,
) -> RoutePlan:
    """Merge the wanted routes into the routes read from Azure.

    - A wanted route whose name exists (case-insensitively) is updated in place
      if its prefix or next hop differ; every other property is kept as read.
    - A wanted route that does not exist is appended.
    - An existing route not wanted is removed only when ``purge`` is set and
      its prefix lies inside ``scope``; otherwise it is kept untouched.
    - With ownership (``owned`` is the set of lower-case names this owner
      recorded): a purge removes only owned routes; routes recorded by
      ``others`` are always kept; any other in-scope route is foreign: kept
      and listed in ``foreign``, or removed and listed in ``foreign_removed``
      with ``purge_foreign``.
    """
    wanted_by_name = dict((r.name.lower(), r) for r in wanted)
    seen = set()
    plan = RoutePlan(routes=[])
    for current in current_routes:
        spec = route_from_arm(current)
        key = spec.name.lower()
        want = wanted_by_name.get(key)
        if want is not None:
            seen.add(key)
            if spec.same_target(want):
                plan.routes.append(copy.deepcopy(dict(current)))
            else:
                updated = copy.deepcopy(dict(current))
                props = updated.setdefault("properties", {})
                props["addressPrefix"] = want.address_prefix
                props["nextHopType"] = want.next_hop_type
                # An ECMP route's 'nextHop' must go when it becomes a plain route.
                props.pop("nextHop", None)
                if want.next_hop_ip:
                    props["nextHopIpAddress"] = want.next_hop_ip
                else:
                    props.pop("nextHopIpAddress", None)
                plan.routes.append(updated)
                plan.changed.append((spec, RouteSpec(spec.name, want.address_prefix, want.next_hop_type, want.next_hop_ip)))
        elif purge and in_scope(spec, scope) and owned is None:
            plan.removed.append(spec)
        elif purge and in_scope(spec, scope) and key in owned:
            plan.removed.append(spec)
        elif purge and in_scope(spec, scope) and key not in others and purge_foreign:
            plan.removed.append(spec)
            plan.foreign_removed.append(spec)
        else:
            if purge and owned is not None and in_scope(spec, scope) and key not in others:
                plan.foreign.append(spec)
            plan.routes.append(copy.deepcopy(dict(current)))
            plan.kept.append(spec)
    for want in wanted:
        if want.name.lower() not in seen:
            plan.routes.append(route_to_arm(want))
            plan.added.append(want)
    return plan


def result_errors(table_name: str, plan: RoutePlan, wanted: Sequence[RouteSpec]) -> List[str]:
    """Errors in the merged table: prefix conflicts with kept routes, and Azure's route limit."""
    errors = []
    wanted_names = set(r.name.lower() for r in wanted)
    kept_by_prefix = {}  # type: Dict[Any, RouteSpec]
    for route in plan.kept:
        kept_by_prefix[route.network or route.address_prefix.lower()] = route
    for route in wanted:
        clash = kept_by_prefix.get(route.network or route.address_prefix.lower())
        if clash is not None and clash.name.lower() not in wanted_names:
            errors.append(
                "route '%s' (%s) has the same address prefix as route '%s' already in route table '%s'; "
                "Azure allows one route per prefix: delete or rename '%s', or use purge_routes with a "
                "cluster_cidr that covers it" % (route.name, route.address_prefix, clash.name, table_name, clash.name)
            )
    total = len(plan.routes)
    if total > MAX_ROUTES_PER_TABLE:
        errors.append(
            "route table '%s' would hold %d routes (%d from routes, %d other routes kept in the table) but Azure "
            "allows at most %d routes per route table. %s"
            % (table_name, total, len(wanted), len(plan.kept), MAX_ROUTES_PER_TABLE, SCALE_OUT_HINT)
        )
    return errors


@dataclass
class TeardownPlan:
    """What ``state: absent`` removes from a table and whether the table itself may go."""

    routes: List[Dict[str, Any]]  # the routes left in the table when it is kept
    removed: List[RouteSpec]
    kept: List[RouteSpec]
    delete_table: bool
    reasons: List[str]


def plan_teardown(
    table_name: str,
    current_routes: Sequence[Mapping[str, Any]],
    cluster_routes: AbstractSet[str],
    cluster_name: str,
    table_cluster: Optional[str],
) -> TeardownPlan:
    """Remove the routes named in ``cluster_routes`` (lower case); delete the table only
    when it is tagged as this cluster's and nothing else remains in it."""
    plan = TeardownPlan(routes=[], removed=[], kept=[], delete_table=False, reasons=[])
    for current in current_routes:
        spec = route_from_arm(current)
        if spec.name.lower() in cluster_routes:
            plan.removed.append(spec)
        else:
            plan.kept.append(spec)
            plan.routes.append(copy.deepcopy(dict(current)))
    is_clusters = table_cluster is not None and table_cluster.lower() == cluster_name.lower()
    if plan.kept:
        plan.reasons.append(
            "it holds %d route(s) that are not this cluster's: %s"
            % (len(plan.kept), ", ".join("%s (%s)" % (r.name, r.describe()) for r in plan.kept))
        )
    if not is_clusters:
        plan.reasons.append(
            "it is tagged %s=%s, not %s" % ("calico-azure-cluster", table_cluster, cluster_name)
            if table_cluster
            else "it has no calico-azure-cluster tag, so it is not known to be this cluster's"
        )
    plan.delete_table = not plan.reasons
    return plan


def teardown_kept_message(table_name: str, plan: TeardownPlan) -> str:
    return (
        "route table '%s' was kept, with its subnet associations: %s. Only the cluster's routes were removed "
        "(%d); delete the table yourself if it is no longer needed" % (table_name, "; ".join(plan.reasons), len(plan.removed))
    )


def spec_result(route: RouteSpec) -> Dict[str, Any]:
    return {
        "name": route.name,
        "address_prefix": route.address_prefix,
        "next_hop_type": route.next_hop_type,
        "next_hop_ip": route.next_hop_ip,
    }


# --------------------------------------------------------------------------- VNets and subnets


@dataclass
class SubnetView:
    id: str
    name: str
    prefixes: List[IPNetwork]
    route_table_id: Optional[str]
    provisioning_state: Optional[str] = None


@dataclass
class VnetView:
    id: str
    name: str
    resource_group: str
    address_space: List[IPNetwork]
    subnets: List[SubnetView]

    def subnet(self, name: str) -> Optional[SubnetView]:
        for subnet in self.subnets:
            if subnet.name.lower() == name.lower():
                return subnet
        return None


def vnet_from_arm(vnet: Mapping[str, Any]) -> VnetView:
    props = vnet.get("properties") or {}
    space = [n for n in (_parse_network(p) for p in ((props.get("addressSpace") or {}).get("addressPrefixes") or [])) if n]
    subnets = []
    for subnet in props.get("subnets") or []:
        sprops = subnet.get("properties") or {}
        texts = list(sprops.get("addressPrefixes") or [])
        if sprops.get("addressPrefix"):
            texts.append(sprops["addressPrefix"])
        prefixes = [n for n in (_parse_network(t) for t in texts) if n]
        route_table = sprops.get("routeTable") or {}
        subnets.append(
            SubnetView(
                subnet.get("id") or "", subnet.get("name") or "", prefixes, route_table.get("id"), sprops.get("provisioningState")
            )
        )
    vnet_id = vnet.get("id") or ""
    return VnetView(vnet_id, vnet.get("name") or "", ids.resource_group_of(vnet_id) or "", space, subnets)


def _space_text(networks: Iterable[IPNetwork]) -> str:
    return ", ".join(str(n) for n in networks) or "none"


def vnet_errors(pods: Sequence[RouteSpec], wanted: Sequence[RouteSpec], vnets: Sequence[VnetView]) -> List[str]:
    """Pod CIDRs and next hops checked against the VNet of every associated subnet.

    On Azure, pod addresses must be part of the VNet's address space (otherwise
    the VNet does not route them), must not collide with a subnet of that VNet,
    and the next hop must be an address in the VNet.
    """
    errors = []
    for vnet in vnets:
        for route in pods:
            network = route.network
            if network is None:
                continue
            if not any(network.version == space.version and network.subnet_of(space) for space in vnet.address_space):  # type: ignore[arg-type]
                errors.append(
                    "route '%s': pod CIDR %s is outside the address space of VNet '%s' (%s); add the cluster's pod "
                    "CIDR to the VNet's address space" % (route.name, network, vnet.name, _space_text(vnet.address_space))
                )
            for subnet in vnet.subnets:
                for prefix in subnet.prefixes:
                    if network.version == prefix.version and network.overlaps(prefix):
                        errors.append(
                            "route '%s': pod CIDR %s overlaps subnet '%s' (%s) of VNet '%s'; pod CIDRs must not "
                            "collide with subnets" % (route.name, network, subnet.name, prefix, vnet.name)
                        )
        for route in wanted:
            address = _parse_address(route.next_hop_ip)
            if address is None:
                continue
            if not any(address.version == space.version and address in space for space in vnet.address_space):
                errors.append(
                    "route '%s': next_hop_ip %s is outside the address space of VNet '%s' (%s); the next hop must "
                    "be the node's private IP in that VNet" % (route.name, address, vnet.name, _space_text(vnet.address_space))
                )
    errors.extend(overlap_errors(pods))
    return errors


def nic_addresses(nics: Iterable[Mapping[str, Any]]) -> Dict[IPAddress, Tuple[str, str]]:
    """Private IP -> (NIC name, subnet id) for every IP configuration of the NICs read."""
    held = {}  # type: Dict[IPAddress, Tuple[str, str]]
    for nic in nics:
        for config in (nic.get("properties") or {}).get("ipConfigurations") or []:
            cprops = config.get("properties") or {}
            address = _parse_address(cprops.get("privateIPAddress"))
            if address is not None:
                held[address] = (nic.get("name") or "", (cprops.get("subnet") or {}).get("id") or "")
    return held


def _reserved_addresses(prefix: IPNetwork) -> List[IPAddress]:
    """Azure reserves the network address, the next three and (IPv4) the broadcast address of each subnet."""
    reserved = [prefix.network_address + offset for offset in range(4) if offset < prefix.num_addresses]
    if prefix.version == 4:
        reserved.append(prefix.broadcast_address)
    return reserved


def next_hop_problems(
    wanted: Sequence[RouteSpec],
    pod_prefixes: Sequence[RouteSpec],
    vnets: Sequence[VnetView],
    held: Mapping[IPAddress, Tuple[str, str]],
    nic_groups: Sequence[str],
) -> Tuple[List[str], List[str]]:
    """Errors and warnings for VirtualAppliance next hops that cannot be a node.

    Errors: a next hop inside the route's own prefix (the packet would loop),
    inside another node's pod CIDR (``pod_prefixes``: the wanted pod routes and
    the pod routes already in the table), an address Azure reserves in a
    subnet of the VNets, a public address when no VNet is known to hold it.
    Warnings: an address no NIC read holds (scale-set NICs and NICs of other
    resource groups are not listed), no VNet known to check it against.
    """
    errors = []  # type: List[str]
    warnings = []  # type: List[str]
    for route in wanted:
        address = _parse_address(route.next_hop_ip)
        if address is None or route.next_hop_type != "VirtualAppliance":
            continue
        own = route.network
        if own is not None and address.version == own.version and address in own:
            errors.append(
                "route '%s': next_hop_ip %s is inside the route's own address_prefix %s, so its traffic would loop; "
                "set next_hop_ip to the node's private IP" % (route.name, address, own)
            )
            continue
        clash = next(
            (
                other
                for other in pod_prefixes
                if other.name.lower() != route.name.lower()
                and other.network is not None
                and other.network.version == address.version
                and address in other.network
            ),
            None,
        )
        if clash is not None:
            errors.append(
                "route '%s': next_hop_ip %s is inside the pod CIDR %s of route '%s', not a node's address; set "
                "next_hop_ip to the node's private IP" % (route.name, address, clash.address_prefix, clash.name)
            )
            continue
        reserved = None  # type: Optional[Tuple[SubnetView, IPNetwork, VnetView]]
        for vnet in vnets:
            for subnet in vnet.subnets:
                for prefix in subnet.prefixes:
                    if prefix.version == address.version and address in _reserved_addresses(prefix):
                        reserved = (subnet, prefix, vnet)
        if reserved is not None:
            errors.append(
                "route '%s': next_hop_ip %s is an address Azure reserves in subnet '%s' (%s) of VNet '%s' (the "
                "network address, the next three and the broadcast address); set next_hop_ip to the node's private IP"
                % (route.name, address, reserved[0].name, reserved[1], reserved[2].name)
            )
            continue
        if not vnets:
            if address.is_global:
                errors.append(
                    "route '%s': next_hop_ip %s is a public address that no NIC holds, and no VNet is known to check it "
                    "against (no subnets given, the table is not associated); a VirtualAppliance next hop must be the "
                    "node's private IP: fix next_hop_ip or set subnets" % (route.name, address)
                )
                continue
            warnings.append(
                "route '%s': next_hop_ip %s could not be checked against a VNet (no subnets given, the table is not "
                "associated and no NIC holds it); set subnets to the nodes' subnets" % (route.name, address)
            )
        if address not in held:
            warnings.append(
                "route '%s': no NIC in resource group(s) %s holds next_hop_ip %s, so Azure drops the traffic of this "
                "route until a NIC has that address (NICs of scale sets and of other resource groups are not listed)"
                % (route.name, ", ".join(nic_groups), address)
            )
    return errors, warnings


@dataclass(frozen=True)
class SubnetRef:
    resource_group: str
    virtual_network: str
    name: str

    def label(self) -> str:
        return "%s/%s (resource group %s)" % (self.virtual_network, self.name, self.resource_group)


@dataclass
class SubnetAssociation:
    ref: SubnetRef
    id: str
    current_route_table_id: Optional[str]
    # Already associated with the table but left Failed/Updating: re-PUT as is.
    reapply: bool = False


# An earlier write that ended Failed (or never finished) left these states; ARM's
# guidance is to PUT the resource again. Such a resource is never "converged".
UNSETTLED_STATES = ("failed", "updating")


def is_unsettled(provisioning_state: Optional[str]) -> bool:
    return (provisioning_state or "").lower() in UNSETTLED_STATES


def route_table_label(table_id: str) -> str:
    """``'<name>' (resource group <rg>)`` from a route-table id."""
    return "'%s' (resource group %s)" % (table_id.rstrip("/").rsplit("/", 1)[-1], ids.resource_group_of(table_id) or "")


def _routes_text(table: Optional[Mapping[str, Any]]) -> str:
    routes = [route_from_arm(r) for r in ((table or {}).get("properties") or {}).get("routes") or []]
    return ", ".join("%s (%s)" % (r.name, r.describe()) for r in routes) or "no routes"


def same_table(reference: Optional[str], table_id: str) -> bool:
    """``reference`` (a route-table name or id) names ``table_id``."""
    if not reference:
        return False
    if "/" in reference:
        return ids.same_id(reference, table_id)
    return reference.lower() == table_id.rstrip("/").rsplit("/", 1)[-1].lower()


def plan_subnet_associations(
    requested: Sequence[SubnetRef],
    vnets: Mapping[Tuple[str, str], VnetView],
    table_id: str,
    force: bool = False,
    replace: Optional[str] = None,
    other_tables: Optional[Mapping[str, Optional[Mapping[str, Any]]]] = None,
) -> Tuple[List[SubnetAssociation], List[str]]:
    """Which requested subnets need associating with the table, and the errors.

    ``vnets`` is keyed by (resource group, VNet name), lower case. A subnet
    already associated with the table needs nothing (unless it was left
    Failed/Updating: it is re-applied). One associated with a different table
    is an error naming that table and its routes, unless ``force`` and
    ``replace`` names that very table (never a silent swap).
    ``other_tables``: those tables as read, keyed by lower-case id.
    """
    todo = []
    errors = []
    for ref in requested:
        vnet = vnets.get((ref.resource_group.lower(), ref.virtual_network.lower()))
        if vnet is None:
            errors.append("virtual network '%s' not found in resource group '%s'; check subnets[].virtual_network and "
                          "subnets[].resource_group" % (ref.virtual_network, ref.resource_group))
            continue
        subnet = vnet.subnet(ref.name)
        if subnet is None:
            errors.append(
                "subnet '%s' not found in virtual network '%s' (resource group %s); its subnets are: %s"
                % (ref.name, ref.virtual_network, ref.resource_group, ", ".join(s.name for s in vnet.subnets) or "none")
            )
            continue
        if ids.same_id(subnet.route_table_id, table_id):
            if is_unsettled(subnet.provisioning_state):
                todo.append(SubnetAssociation(ref, subnet.id, subnet.route_table_id, reapply=True))
            continue
        if subnet.route_table_id and not (force and same_table(replace, subnet.route_table_id)):
            other = (other_tables or {}).get(subnet.route_table_id.lower())
            losing = _routes_text(other)
            if not force:
                how = "set force_subnet_association: true and replace_subnet_route_table: %s" % (
                    subnet.route_table_id.rstrip("/").rsplit("/", 1)[-1]
                )
            elif not replace:
                how = "force_subnet_association also needs replace_subnet_route_table: %s (the table it replaces)" % (
                    subnet.route_table_id.rstrip("/").rsplit("/", 1)[-1]
                )
            else:
                how = "replace_subnet_route_table is '%s', not that table: set it to %s" % (
                    replace, subnet.route_table_id.rstrip("/").rsplit("/", 1)[-1]
                )
            errors.append(
                "subnet %s is associated with another route table, %s; moving it to route table '%s' would stop its "
                "traffic from getting that table's routes: %s. To replace that association, %s; or dissociate it first"
                % (ref.label(), route_table_label(subnet.route_table_id), table_id.rstrip("/").rsplit("/", 1)[-1], losing, how)
            )
            continue
        todo.append(SubnetAssociation(ref, subnet.id, subnet.route_table_id))
    return todo, errors


def replaced_association_warning(association: SubnetAssociation, other: Optional[Mapping[str, Any]]) -> str:
    return "subnet %s moved from route table %s (force_subnet_association); it no longer gets that table's routes: %s" % (
        association.ref.label(),
        route_table_label(association.current_route_table_id or ""),
        _routes_text(other),
    )


def subnet_with_route_table(subnet: Mapping[str, Any], table_id: Optional[str]) -> Dict[str, Any]:
    """The subnet JSON exactly as read, with only ``properties.routeTable`` set (or removed when None)."""
    body = copy.deepcopy(dict(subnet))
    props = body.setdefault("properties", {})
    if table_id:
        props["routeTable"] = {"id": table_id}
    else:
        props.pop("routeTable", None)
    return body


# --------------------------------------------------------------------------- table body


def merge_tags(
    current: Optional[Mapping[str, str]], wanted: Optional[Mapping[str, str]], purge: bool
) -> Dict[str, str]:
    """Tags after the run: ``wanted`` merged into ``current``; ``purge`` drops unlisted ones."""
    current = dict(current or {})
    if wanted is None:
        return current
    if purge:
        return dict((k, str(v)) for k, v in wanted.items())
    merged = dict(current)
    merged.update((k, str(v)) for k, v in wanted.items())
    return merged


def table_body(
    current: Optional[Mapping[str, Any]],
    location: Optional[str],
    routes: Sequence[Mapping[str, Any]],
    disable_bgp_route_propagation: Optional[bool],
    tags: Dict[str, str],
) -> Dict[str, Any]:
    """The body of the one route-table PUT: the table as read (read-only fields
    dropped) with the new routes, BGP flag and tags; a new table otherwise."""
    if current is None:
        body = {"location": location, "properties": {}}  # type: Dict[str, Any]
    else:
        body = copy.deepcopy(dict(current))
        for key in _READ_ONLY_TABLE_KEYS:
            body.pop(key, None)
        body.setdefault("properties", {})
        for key in _READ_ONLY_TABLE_PROPERTIES:
            body["properties"].pop(key, None)
    clean_routes = []
    for route in routes:
        route = copy.deepcopy(dict(route))
        for key in _READ_ONLY_ROUTE_KEYS:
            route.pop(key, None)
        props = route.get("properties") or {}
        for key in _READ_ONLY_ROUTE_PROPERTIES:
            props.pop(key, None)
        clean_routes.append(route)
    body["properties"]["routes"] = clean_routes
    if disable_bgp_route_propagation is not None:
        body["properties"]["disableBgpRoutePropagation"] = disable_bgp_route_propagation
    elif current is None:
        body["properties"]["disableBgpRoutePropagation"] = False
    if tags or "tags" in body:
        body["tags"] = dict(tags)
    return body


# --------------------------------------------------------------------------- diff and results


def table_state(table: Optional[Mapping[str, Any]], subnet_ids: Sequence[str]) -> Optional[Dict[str, Any]]:
    """What the module owns of a route table, one entry per thing that can change, for diff mode.

    ``routes/<name>: <prefix> -> <next hop>``, ``subnets/<rg>/<vnet>/<subnet>: associated``,
    ``tags/<key>`` and ``disable_bgp_route_propagation``; None for a table that does not exist.
    """
    if table is None:
        return None
    props = table.get("properties") or {}
    tags = table.get("tags") or {}
    state = {"disable_bgp_route_propagation": bool(props.get("disableBgpRoutePropagation"))}  # type: Dict[str, Any]
    state.update(("tags/%s" % key, tags[key]) for key in tags)
    for route in props.get("routes") or []:
        spec = route_from_arm(route)
        state["routes/%s" % spec.name] = spec.describe()
    state.update(("subnets/%s" % subnet_key(s), "associated") for s in subnet_ids)
    return state


def table_diff(name: str, before: Optional[Mapping[str, Any]], after: Optional[Mapping[str, Any]]) -> Dict[str, str]:
    """The --diff of one route table from two :func:`table_state` results (None: no table)."""
    return state_diff(before, after, name="route table %s" % name)


def _subnet_parts(subnet_id: str) -> Optional[Tuple[str, str, str]]:
    """(resource group, VNet, subnet) of a subnet id; None when it is not one."""
    parts = subnet_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    try:
        vnet = parts[lowered.index("virtualnetworks") + 1]
        subnet = parts[lowered.index("subnets") + 1]
    except (ValueError, IndexError):
        return None
    return ids.resource_group_of(subnet_id) or "", vnet, subnet


def subnet_key(subnet_id: str) -> str:
    """``<rg>/<vnet>/<subnet>`` from a subnet id (the id itself when it is not one)."""
    found = _subnet_parts(subnet_id)
    return "%s/%s/%s" % found if found else subnet_id


def subnet_label(subnet_id: str) -> str:
    """``<vnet>/<subnet> (resource group <rg>)`` from a subnet id."""
    found = _subnet_parts(subnet_id)
    return "%s/%s (resource group %s)" % (found[1], found[2], found[0]) if found else subnet_id


def subnet_ids_of_table(table: Optional[Mapping[str, Any]]) -> List[str]:
    if not table:
        return []
    return [s.get("id") for s in ((table.get("properties") or {}).get("subnets") or []) if s.get("id")]


def routes_result(routes: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Routes as returned to the user (snake_case)."""
    result = []
    for route in routes:
        props = route.get("properties") or {}
        result.append(
            {
                "name": route.get("name"),
                "id": route.get("id"),
                "address_prefix": props.get("addressPrefix"),
                "next_hop_type": props.get("nextHopType"),
                "next_hop_ip": props.get("nextHopIpAddress"),
                "provisioning_state": props.get("provisioningState"),
            }
        )
    return result


def table_result(table: Mapping[str, Any]) -> Dict[str, Any]:
    """The route table as the modules return it."""
    props = table.get("properties") or {}
    return {
        "id": table.get("id"),
        "name": table.get("name"),
        "etag": table.get("etag"),
        "location": table.get("location"),
        "tags": dict(table.get("tags") or {}),
        "disable_bgp_route_propagation": bool(props.get("disableBgpRoutePropagation")),
        "provisioning_state": props.get("provisioningState"),
        "routes": routes_result(props.get("routes") or []),
        "subnets": subnet_ids_of_table(table),
    }


# --------------------------------------------------------------------------- NIC forwarding


@dataclass(frozen=True)
class ForwardingWarning:
    nic_name: str
    nic_id: str
    address: str
    route_names: Tuple[str, ...]

    def message(self) -> str:
        return (
            "NIC '%s' (%s) is the next hop of route(s) %s but has IP forwarding off: Azure drops the pod traffic "
            "it forwards until forwarding is on (calico.azure.azure_nic_forwarding can turn it on)"
            % (self.nic_name, self.address, ", ".join(self.route_names))
        )


def forwarding_warnings(nics: Iterable[Mapping[str, Any]], routes: Sequence[RouteSpec]) -> List[ForwardingWarning]:
    """NICs that are a route's next hop but do not forward traffic for other addresses."""
    routes_by_hop = {}  # type: Dict[IPAddress, List[str]]
    for route in routes:
        address = _parse_address(route.next_hop_ip)
        if address is not None and route.next_hop_type == "VirtualAppliance":
            routes_by_hop.setdefault(address, []).append(route.name)
    warnings = []
    if not routes_by_hop:
        return warnings
    for nic in nics:
        props = nic.get("properties") or {}
        if props.get("enableIPForwarding"):
            continue
        for config in props.get("ipConfigurations") or []:
            address = _parse_address((config.get("properties") or {}).get("privateIPAddress"))
            if address is not None and address in routes_by_hop:
                warnings.append(
                    ForwardingWarning(nic.get("name") or "", nic.get("id") or "", str(address), tuple(routes_by_hop[address]))
                )
    return warnings
