"""The Network resource provider's input rules, as pure functions.

Each check returns nothing or raises :class:`ArmError` with the code and a
message worded like the real service's, so clients see what Azure would send.
Codes the real RP answers are used where they are known (``RouteConflict``,
``InvalidResourceName``, ``MissingNextHopIpAddress``, ``InvalidRequestFormat``); the
others are this stand-in's names (see README "Validation").
"""

from __future__ import annotations

import ipaddress
import re

from .arm.errors import ArmError

# 1-80 chars of letters, digits, '_', '.', '-'; first alphanumeric; last alphanumeric or '_'.
_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$")
# A route's addressPrefix may be a service tag ("AzureCloud", "Storage.WestEurope") instead of a CIDR.
_SERVICE_TAG_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)*$")

MAX_ROUTES_PER_TABLE = 400
NEXT_HOP_TYPES = ("VirtualNetworkGateway", "VnetLocal", "Internet", "VirtualAppliance", "None")


def check_name(name: str, resource_type: str = "") -> None:
    if not _NAME_RE.match(name or ""):
        raise ArmError(
            400,
            "InvalidResourceName",
            f"Resource name {name} is invalid. The name can be up to 80 characters long. It must begin with a word "
            "character, and it must end with a word character or with '_'. The name may contain word characters or "
            "'.', '-', '_'.",
        )


def parse_cidr(value: object, owner_id: str, field: str = "addressPrefix"):
    """Return the network of a strict CIDR (no host bits), or raise InvalidAddressPrefixFormat."""
    try:
        if not isinstance(value, str) or "/" not in value:
            raise ValueError(value)
        return ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ArmError(
            400,
            "InvalidAddressPrefixFormat",
            f"Address prefix {value} of resource {owner_id} is not formatted correctly. It should follow CIDR "
            f"notation, for example 10.0.0.0/24. (property: {field})",
        ) from None


def check_route(route: dict, route_id: str) -> None:
    """One route's own rules: name, prefix, next hop type and next hop IP."""
    name = route.get("name") or ""
    check_name(name)
    props = route.get("properties") or {}
    prefix = props.get("addressPrefix")
    if prefix is None:
        raise ArmError(400, "MissingRouteAddressPrefix", f"Route {route_id} must have an addressPrefix.")
    if not (isinstance(prefix, str) and _SERVICE_TAG_RE.match(prefix)):
        parse_cidr(prefix, route_id)
    hop_type = props.get("nextHopType")
    if hop_type not in NEXT_HOP_TYPES:
        raise ArmError(
            400,
            "InvalidRequestFormat",
            f"Cannot parse the request. Value '{hop_type}' of property nextHopType of route {route_id} is not one "
            f"of {', '.join(NEXT_HOP_TYPES)}.",
        )
    hop_ip = props.get("nextHopIpAddress")
    if hop_type == "VirtualAppliance":
        if not hop_ip:
            # Code and wording as the Network RP answers them.
            raise ArmError(
                400,
                "MissingNextHopIpAddress",
                f"NextHopIpAddress cannot be Null or Empty in route {name} when NextHopType is VirtualAppliance.",
            )
        try:
            ipaddress.ip_address(hop_ip)
        except ValueError:
            raise ArmError(
                400,
                "InvalidRouteNextHopIpAddress",
                f"Next hop IP address {hop_ip} of route {route_id} is not a valid IP address.",
            ) from None
    elif hop_ip:
        raise ArmError(
            400,
            "NextHopIpAddressNotAllowed",
            f"Route {route_id} has next hop type {hop_type}. A nextHopIpAddress can only be specified for next hop "
            "type VirtualAppliance.",
        )


def check_route_set(routes: list, table_id: str) -> None:
    """Rules across a table's routes: count limit, unique names, no two routes with one prefix."""
    if len(routes) > MAX_ROUTES_PER_TABLE:
        raise ArmError(
            400,
            "RouteTableRouteLimitReached",
            f"Route table {table_id} has {len(routes)} routes. A route table can have at most "
            f"{MAX_ROUTES_PER_TABLE} routes.",
        )
    by_name: dict[str, str] = {}
    by_prefix: dict[str, str] = {}
    for route in routes:
        name = route.get("name") or ""
        if name.lower() in by_name:
            raise ArmError(
                400,
                "DuplicateResourceName",
                f"Route table {table_id} has two child resources with the same name {name}.",
            )
        by_name[name.lower()] = name
        prefix = str((route.get("properties") or {}).get("addressPrefix", "")).lower()
        try:
            prefix = str(ipaddress.ip_network(prefix, strict=False))
        except ValueError:
            pass
        if prefix in by_prefix:
            raise ArmError(
                400,
                "RouteConflict",
                f"Route: {name} conflicts with Route: {by_prefix[prefix]}. Routes cannot have the same AddressPrefix.",
            )
        by_prefix[prefix] = name
