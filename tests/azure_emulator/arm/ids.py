"""Resource ids: parsing the ARM path grammar, case-insensitive keys.

ARM ids look like
``/subscriptions/{sub}/resourceGroups/{rg}/providers/{Namespace}/{type}/{name}[/{childType}/{childName}]``.
Comparison is case-insensitive everywhere, so stores key on :func:`key`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def key(resource_id: str) -> str:
    """The case-insensitive store key of an id (also drops a trailing slash)."""
    return "/" + resource_id.strip("/").lower()


@dataclass
class ArmPath:
    """A parsed ARM URL path.

    ``types``/``names`` hold the provider type chain, e.g. ``["routeTables", "routes"]`` and
    ``["rt", "r1"]``; a list URL has one more type than names.
    """

    subscription: str | None = None
    resource_group: str | None = None
    namespace: str | None = None
    types: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    # "subscription", "resource_groups", "resource_group", "provider_list", "resource", "child_list",
    # "child", "nested_list", "action", "operation", "unknown"
    kind: str = "unknown"
    action: str | None = None
    location: str | None = None
    operation_id: str | None = None

    @property
    def full_type(self) -> str:
        if self.kind in ("resource_groups", "resource_group"):
            return "Microsoft.Resources/resourceGroups"
        if self.kind == "subscription":
            return "Microsoft.Resources/subscriptions"
        if self.kind == "operation":
            return f"{self.namespace}/locations/operations"
        return f"{self.namespace}/" + "/".join(self.types) if self.namespace else ""

    @property
    def top_type(self) -> str:
        return f"{self.namespace}/{self.types[0]}" if self.namespace and self.types else self.full_type

    def resource_group_id(self) -> str:
        return f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"

    def top_id(self) -> str:
        return f"{self.resource_group_id()}/providers/{self.namespace}/{self.types[0]}/{self.names[0]}"

    def item_id(self) -> str:
        """Id of the resource or child this path addresses (no list suffix)."""
        if self.kind in ("resource_group",):
            return self.resource_group_id()
        rid = f"{self.resource_group_id()}/providers/{self.namespace}"
        for type_, name in zip(self.types, self.names):
            rid += f"/{type_}/{name}"
        return rid


def parse(path: str) -> ArmPath:
    """Parse an ARM URL path (no query string)."""
    parts = [p for p in path.split("/") if p]
    result = ArmPath()
    low = [p.lower() for p in parts]
    if len(parts) < 2 or low[0] != "subscriptions":
        return result
    result.subscription = parts[1]
    rest, rest_low = parts[2:], low[2:]
    if not rest:
        result.kind = "subscription"
        return result
    if rest_low[0] == "resourcegroups":
        if len(rest) == 1:
            result.kind = "resource_groups"
            return result
        result.resource_group = rest[1]
        rest, rest_low = rest[2:], rest_low[2:]
        if not rest:
            result.kind = "resource_group"
            return result
    if rest_low[0] != "providers" or len(rest) < 3:
        return result
    result.namespace = rest[1]
    chain = rest[2:]
    chain_low = rest_low[2:]
    # /subscriptions/{s}/providers/{ns}/locations/{loc}/operations|operationResults/{id}
    if result.resource_group is None and len(chain) == 4 and chain_low[0] == "locations" and chain_low[2] in (
        "operations",
        "operationresults",
    ):
        result.kind = "operation"
        result.location = chain[1]
        result.action = "operationResults" if chain_low[2] == "operationresults" else "operations"
        result.operation_id = chain[3]
        return result
    if result.resource_group is None:
        if len(chain) == 1:
            result.kind = "provider_list"
            result.types = [chain[0]]
        return result
    result.types = chain[0::2]
    result.names = chain[1::2]
    if len(result.types) == len(result.names):
        result.kind = "resource" if len(result.types) == 1 else "child"
    elif len(result.types) == 1:
        result.kind = "provider_list"
    elif len(result.types) == 2:
        # .../{type}/{name}/{childType}: a child list, or a POST action on the resource
        result.kind = "child_list"
    elif len(result.types) == len(result.names) + 1:
        # .../{type}/{name}/{childType}/{childName}/{grandchildType}: served by the type's own routes, if any
        result.kind = "nested_list"
    return result
