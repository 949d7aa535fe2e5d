# -*- coding: utf-8 -*-
# Copyright: (c) 2026, calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Azure resource ids: parse, build, compare.

FOR INTERNAL COLLECTION USE ONLY: this module util is private to calico.azure
and may change without notice.

Pure: imports neither the Azure SDK nor Ansible, so unit tests need neither.

An ARM resource id is ``/subscriptions/{sub}/resourceGroups/{rg}/providers/
{Namespace}/{type}/{name}[/{childType}/{childName}...]``. ARM treats ids
case-insensitively (``resourcegroups`` and ``resourceGroups`` name the same
thing; so do ``RG1`` and ``rg1``), so every comparison here ignores case and
a trailing slash.
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple

NETWORK = "Microsoft.Network"
COMPUTE = "Microsoft.Compute"
RESOURCES = "Microsoft.Resources"


class ResourceId(object):
    """A parsed ARM resource id (or collection path).

    ``types`` and ``names`` run in parallel: ``types=("routeTables", "routes")``,
    ``names=("rt1", "r1")``. A collection path (``.../routeTables``) has one
    type more than names.
    """

    __slots__ = ("subscription", "resource_group", "provider", "types", "names")

    def __init__(
        self,
        subscription: str,
        resource_group: Optional[str] = None,
        provider: Optional[str] = None,
        types: Sequence[str] = (),
        names: Sequence[str] = (),
    ) -> None:
        self.subscription = subscription
        self.resource_group = resource_group
        self.provider = provider
        self.types: Tuple[str, ...] = tuple(types)
        self.names: Tuple[str, ...] = tuple(names)

    @property
    def is_collection(self) -> bool:
        return len(self.types) > len(self.names)

    @property
    def name(self) -> Optional[str]:
        """Name of the resource itself (last segment); None for a collection."""
        if self.is_collection:
            return None
        if self.names:
            return self.names[-1]
        if self.resource_group:
            return self.resource_group
        return self.subscription

    @property
    def resource_type(self) -> str:
        """Full type, e.g. ``Microsoft.Network/routeTables/routes``."""
        if self.provider:
            return "/".join((self.provider,) + self.types)
        if self.resource_group is not None or self.types:
            return "Microsoft.Resources/resourceGroups"
        return "Microsoft.Resources/subscriptions"

    @property
    def parent(self) -> Optional["ResourceId"]:
        """The enclosing resource of a child (a route's table); None at the top level."""
        if len(self.names) > 1:
            return ResourceId(self.subscription, self.resource_group, self.provider, self.types[:-1], self.names[:-1])
        return None

    def __str__(self) -> str:
        parts = ["", "subscriptions", self.subscription]
        if self.resource_group is not None:
            parts += ["resourceGroups", self.resource_group]
        elif self.types and not self.provider:
            # the collection of resource groups
            parts += ["resourceGroups"]
        if self.provider:
            parts += ["providers", self.provider]
            for index, type_name in enumerate(self.types):
                parts.append(type_name)
                if index < len(self.names):
                    parts.append(self.names[index])
        return "/".join(parts)

    def __repr__(self) -> str:
        return "ResourceId(%r)" % str(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (ResourceId, str)):
            return same_id(str(self), str(other))
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash(normalize_id(str(self)))


def normalize_id(resource_id: str) -> str:
    """Canonical form for comparison: lower case, no surrounding blanks or trailing slash."""
    return resource_id.strip().rstrip("/").lower()


def same_id(a: Optional[str], b: Optional[str]) -> bool:
    """True if two resource ids name the same resource (ARM ids are case-insensitive).

    An absent id (None or empty) names no resource, so it matches nothing, not
    even another absent id: "a subnet with no route table" is never "associated
    with this table".
    """
    if not a or not b:
        return False
    return normalize_id(str(a)) == normalize_id(str(b))


def is_resource_id(value: object) -> bool:
    """True for strings that look like an ARM id, as opposed to a bare name."""
    return isinstance(value, str) and value.strip().lower().startswith("/subscriptions/")


def parse_resource_id(resource_id: str) -> ResourceId:
    """Parse an ARM id or collection path; raise ValueError naming what is wrong."""
    if not is_resource_id(resource_id):
        raise ValueError("%r is not an Azure resource id (expected /subscriptions/<id>/...)" % (resource_id,))
    segments = resource_id.strip().strip("/").split("/")
    if any(s == "" for s in segments):
        raise ValueError("%r is not an Azure resource id (empty path segment)" % (resource_id,))
    # segments[0] == "subscriptions"
    if len(segments) < 2:
        raise ValueError("%r is not an Azure resource id (no subscription)" % (resource_id,))
    subscription = segments[1]
    rest = segments[2:]
    resource_group = None
    if rest and rest[0].lower() == "resourcegroups":
        if len(rest) == 1:
            # /subscriptions/{sub}/resourceGroups: the collection of groups
            return ResourceId(subscription, None, None, ("resourceGroups",), ())
        resource_group = rest[1]
        rest = rest[2:]
    if not rest:
        return ResourceId(subscription, resource_group)
    if rest[0].lower() != "providers" or len(rest) < 3:
        raise ValueError(
            "%r is not an Azure resource id (expected .../providers/<Namespace>/<type>/<name>)" % (resource_id,)
        )
    provider = rest[1]
    pairs = rest[2:]
    types = tuple(pairs[0::2])
    names = tuple(pairs[1::2])
    return ResourceId(subscription, resource_group, provider, types, names)


def resource_id(
    subscription: str,
    resource_group: Optional[str] = None,
    provider: Optional[str] = None,
    *type_name_pairs: str,
) -> str:
    """Build an id: ``resource_id(sub, rg, "Microsoft.Network", "routeTables", "rt", "routes", "r1")``.

    An odd number of type/name arguments builds a collection path (``.../routes``).
    """
    return str(
        ResourceId(subscription, resource_group, provider, type_name_pairs[0::2], type_name_pairs[1::2])
    )


def resource_group_id(subscription: str, resource_group: str) -> str:
    return resource_id(subscription, resource_group)


def route_table_id(subscription: str, resource_group: str, name: str) -> str:
    return resource_id(subscription, resource_group, NETWORK, "routeTables", name)


def route_id(subscription: str, resource_group: str, route_table: str, name: str) -> str:
    return resource_id(subscription, resource_group, NETWORK, "routeTables", route_table, "routes", name)


def vnet_id(subscription: str, resource_group: str, name: str) -> str:
    return resource_id(subscription, resource_group, NETWORK, "virtualNetworks", name)


def subnet_id(subscription: str, resource_group: str, virtual_network: str, name: str) -> str:
    return resource_id(subscription, resource_group, NETWORK, "virtualNetworks", virtual_network, "subnets", name)


def nic_id(subscription: str, resource_group: str, name: str) -> str:
    return resource_id(subscription, resource_group, NETWORK, "networkInterfaces", name)


def vm_id(subscription: str, resource_group: str, name: str) -> str:
    return resource_id(subscription, resource_group, COMPUTE, "virtualMachines", name)


def resource_group_of(value: str) -> Optional[str]:
    """Resource group named in an id (None for subscription-level ids)."""
    return parse_resource_id(value).resource_group


def subscription_of(value: str) -> str:
    return parse_resource_id(value).subscription


def name_of(value: str) -> Optional[str]:
    return parse_resource_id(value).name


def resource_type_of(value: str) -> str:
    """Full resource type of an id or collection path, e.g. ``Microsoft.Network/routeTables/routes``."""
    return parse_resource_id(value).resource_type


def id_or_name(value: str, build) -> str:
    """Accept a full id as is, or build one from a bare name with ``build(name)``."""
    if is_resource_id(value):
        return value
    return build(value)


# Human names for messages ("Route table 'rt1' was not found in resource group 'rg'").
_KIND_NAMES = {
    "microsoft.resources/subscriptions": "Subscription",
    "microsoft.resources/resourcegroups": "Resource group",
    "microsoft.network/routetables": "Route table",
    "microsoft.network/routetables/routes": "Route",
    "microsoft.network/virtualnetworks": "Virtual network",
    "microsoft.network/virtualnetworks/subnets": "Subnet",
    "microsoft.network/networkinterfaces": "Network interface",
    "microsoft.network/networksecuritygroups": "Network security group",
    "microsoft.network/publicipaddresses": "Public IP address",
    "microsoft.compute/virtualmachines": "Virtual machine",
}


def kind_name(resource_type: str) -> str:
    """'Route table' for Microsoft.Network/routeTables; the raw type if unknown."""
    return _KIND_NAMES.get(resource_type.lower(), resource_type)


def describe(value: str) -> str:
    """Human description of an id for messages.

    ``Route 'r1' of route table 'rt1' in resource group 'rg'``.
    """
    try:
        parsed = parse_resource_id(value)
    except ValueError:
        return repr(value)
    if parsed.is_collection:
        return "%s list at %s" % (kind_name(parsed.resource_type), value)
    text = "%s '%s'" % (kind_name(parsed.resource_type), parsed.name)
    parent = parsed.parent
    if parent is not None:
        text += " of %s '%s'" % (kind_name(parent.resource_type).lower(), parent.name)
    if parsed.resource_group is not None and parsed.provider:
        text += " in resource group '%s'" % parsed.resource_group
    elif parsed.resource_group is not None:
        text += " in subscription '%s'" % parsed.subscription
    return text
