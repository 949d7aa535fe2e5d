"""How one resource type behaves: the hooks the ARM engine calls.

A :class:`ResourceKind` turns a PUT body into the stored document (validation,
defaults, read-only fields the server keeps) and renders a stored document for
a GET (computed back-references). A :class:`ChildKind` does the same for a
child collection embedded in its parent (``routes`` in a route table,
``subnets`` in a virtual network).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

from . import errors

if TYPE_CHECKING:  # pragma: no cover
    from .engine import ArmEngine


def normalize_location(location: str) -> str:
    # ARM answers with the canonical short name: "West Europe" -> "westeurope".
    return location.replace(" ", "").lower()


class ChildKind:
    segment = ""  # URL segment, e.g. "routes"
    array_key = ""  # key in the parent's properties, usually the same
    full_type = ""
    operation_noun = "Resource"  # PutRouteOperation / DeleteRouteOperation

    def build(self, engine: "ArmEngine", parent: dict, existing: dict | None, body: dict, child_id: str) -> dict:
        raise NotImplementedError

    def check_collection(self, engine: "ArmEngine", parent: dict) -> None:
        """Rules across siblings, run after a child is inserted into its parent."""

    def check_delete(self, engine: "ArmEngine", parent: dict, child: dict) -> None:
        """Raise when the child may not be deleted (in use)."""

    def render(self, engine: "ArmEngine", parent: dict, child: dict) -> dict:
        return copy.deepcopy(child)

    def after_write(self, engine: "ArmEngine", parent: dict, old: dict | None, new: dict | None) -> None:
        """Side effects on other resources once a child write is stored."""


class ResourceKind:
    full_type = ""
    namespace = ""
    operation_noun = "Resource"  # PutRouteTableOperation ...
    children: dict[str, ChildKind] = {}
    requires_location = True
    etag_style = "weak-uuid"  # or "counter" (Compute: "\"1\"", "\"2\"" ...)
    has_provisioning_state = True

    @property
    def child_arrays(self) -> tuple[str, ...]:
        return tuple(child.array_key for child in self.children.values())

    def base_document(self, engine: "ArmEngine", resource_id: str, name: str, existing: dict | None, body: dict) -> dict:
        """id/name/type/location/tags common to every tracked resource."""
        doc: dict = {"name": name, "id": resource_id, "type": self.full_type}
        location = body.get("location") or (existing or {}).get("location")
        if self.requires_location and not location:
            raise errors.ArmError(400, "LocationRequired", "The location property is required for this definition.")
        if location:
            doc["location"] = normalize_location(location)
        if existing and "location" in body and existing.get("location") and (
            normalize_location(body["location"]) != existing["location"]
        ):
            raise errors.ArmError(
                400,
                "InvalidResourceLocation",
                f"The resource '{name}' already exists in location '{existing['location']}' in resource group. "
                f"A resource with the same name cannot be created in location '{normalize_location(body['location'])}'."
                " Please select a new resource name.",
            )
        if "tags" in body and body["tags"] is not None:
            doc["tags"] = dict(body["tags"])
        for passthrough in ("sku", "zones", "extendedLocation", "identity", "plan"):
            if passthrough in body:
                doc[passthrough] = copy.deepcopy(body[passthrough])
        return doc

    def build(self, engine: "ArmEngine", resource_id: str, name: str, existing: dict | None, body: dict) -> dict:
        """The document to store for a PUT; the default keeps the body's properties as sent."""
        doc = self.base_document(engine, resource_id, name, existing, body)
        doc["properties"] = copy.deepcopy(body.get("properties") or {})
        return doc

    def render(self, engine: "ArmEngine", stored: dict) -> dict:
        return copy.deepcopy(stored)

    def check_delete(self, engine: "ArmEngine", stored: dict) -> None:
        """Raise when the resource may not be deleted (in use)."""

    def after_write(self, engine: "ArmEngine", old: dict | None, new: dict | None) -> None:
        """Side effects on other resources once a write is stored (None = deleted)."""


def find_child(parent: dict, array_key: str, name: str) -> dict | None:
    """The child named ``name`` (any casing) in ``parent``'s ``array_key`` collection."""
    for item in (parent.get("properties") or {}).get(array_key) or []:
        if str(item.get("name", "")).lower() == name.lower():
            return item
    return None
