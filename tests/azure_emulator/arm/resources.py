"""Microsoft.Resources/resourceGroups: GET/HEAD/PUT/PATCH/DELETE and list.

Resource group writes are synchronous (201/200) except DELETE, which ARM runs
as an LRO answered 202 with a Location header and deletes everything inside.
"""

from __future__ import annotations

import copy

from ..responses import Response
from .errors import ArmError, resource_group_not_found
from .ids import ArmPath, key
from .kinds import normalize_location

RG_TYPE = "Microsoft.Resources/resourceGroups"


def resource_group_document(subscription: str, name: str, location: str, tags: dict | None = None) -> dict:
    doc = {
        "id": f"/subscriptions/{subscription}/resourceGroups/{name}",
        "name": name,
        "type": RG_TYPE,
        "location": normalize_location(location),
        "properties": {"provisioningState": "Succeeded"},
    }
    if tags:
        doc["tags"] = dict(tags)
    return doc


def handle_resource_groups(engine, method, path: ArmPath, path_str, query, headers, body, version) -> Response:
    if path.kind == "resource_groups":
        if method != "GET":
            raise ArmError(405, "MethodNotAllowed", f"The requested method '{method}' is not allowed.")
        groups = [copy.deepcopy(g) for g in engine.store.of_type(RG_TYPE, path.subscription)]
        return engine.page(groups, path_str, query, version)
    rg_id = path.resource_group_id()
    existing = engine.store.get(rg_id)
    if method in ("GET", "HEAD"):
        if existing is None:
            if method == "HEAD":
                return Response(404, None)
            raise resource_group_not_found(path.resource_group)
        return Response(204 if method == "HEAD" else 200, None if method == "HEAD" else copy.deepcopy(existing))
    if method == "PUT":
        location = body.get("location")
        if not location:
            raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
        if existing and normalize_location(location) != existing["location"]:
            raise ArmError(
                409,
                "InvalidResourceGroupLocation",
                f"Invalid resource group location '{normalize_location(location)}'. The Resource group already exists "
                f"in location '{existing['location']}'.",
            )
        doc = resource_group_document(path.subscription, existing["name"] if existing else path.resource_group, location, body.get("tags"))
        engine.store.put(rg_id, doc)
        return Response(200 if existing else 201, copy.deepcopy(doc))
    if method == "PATCH":
        if existing is None:
            raise resource_group_not_found(path.resource_group)
        if "tags" in body:
            existing["tags"] = dict(body["tags"] or {})
        return Response(200, copy.deepcopy(existing))
    if method == "DELETE":
        if existing is None:
            return Response(404, resource_group_not_found(path.resource_group).body())
        existing["properties"]["provisioningState"] = "Deleting"
        op = engine.start_operation("delete", path, _RgKind(), rg_id, rg_id, "DeleteResourceGroupOperation", existing["location"])
        prefix = key(rg_id) + "/"

        def removed() -> None:
            for doc in list(engine.store.all()):
                if key(doc["id"]).startswith(prefix):
                    engine.store.delete(doc["id"])
            engine.store.delete(rg_id)

        op.on_success = removed
        # ARM answers a resource group DELETE with a Location header only.
        op_headers = engine.operation_headers(op, version, location_header=True)
        op_headers.pop("Azure-AsyncOperation")
        return Response(202, None, op_headers)
    raise ArmError(405, "MethodNotAllowed", f"The requested method '{method}' is not allowed.")


class _RgKind:
    namespace = "Microsoft.Resources"
