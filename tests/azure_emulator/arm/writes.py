# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ARM's generic writes: PUT/PATCH/DELETE of a top-level resource, PUT/DELETE of
a child, POST actions.

Every write checks the caller's preconditions (If-Match / If-None-Match) and
that no operation is running on the same tree, stores the new document at once
(``Updating`` / ``Deleting``) and starts an operation whose completion sets the
final state (see :mod:`.lro`). A type's own rules come from its
:class:`~.kinds.ResourceKind` / :class:`~.kinds.ChildKind` hooks.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Callable

from ..responses import Response
from ..store import stamp_etag
from . import errors
from .errors import ArmError
from .ids import ArmPath
from .kinds import ChildKind, ResourceKind, find_child
from .references import normalize_references

if TYPE_CHECKING:  # pragma: no cover
    from .engine import ArmEngine


def set_state(doc: dict, state: str, kind: ResourceKind) -> None:
    """Set provisioningState on a resource and every embedded child (one tree, one state)."""
    if not kind.has_provisioning_state:
        return
    doc.setdefault("properties", {})["provisioningState"] = state
    for array_key in kind.child_arrays:
        for item in doc["properties"].get(array_key) or []:
            item.setdefault("properties", {})["provisioningState"] = state


def finish_callbacks(engine: "ArmEngine", top_id: str, kind: ResourceKind) -> tuple[Callable[[], None], Callable[[], None]]:
    """(on_success, on_failure) of an operation that writes the tree of ``top_id``."""
    def finish(state: str) -> None:
        doc = engine.store.get(top_id)
        if doc is not None:
            set_state(doc, state, kind)

    return (lambda: finish("Succeeded")), (lambda: finish("Failed"))


def commit_top(engine: "ArmEngine", kind: ResourceKind, existing: dict | None, doc: dict) -> None:
    """Store a top-level document written by a PUT (new etag, ``Updating`` until its operation ends)."""
    stamp_etag(doc, engine.new_etag_for(kind, existing), kind.child_arrays)
    set_state(doc, "Updating", kind)
    engine.store.put(doc["id"], doc)
    kind.after_write(engine, existing, doc)


# ---------------------------------------------------------------------- top-level resources
def put_top(engine: "ArmEngine", path: ArmPath, kind: ResourceKind, headers: dict, body: dict, version: str) -> Response:
    engine.require_resource_group(path)
    resource_id = path.item_id()
    existing = engine.store.get(resource_id)
    if existing is not None:
        resource_id = existing["id"]  # keep the casing the resource was created with
    operation_name = f"Put{kind.operation_noun}Operation"
    engine.check_preconditions(headers, existing, resource_id)
    engine.check_not_busy(resource_id, operation_name)
    body = normalize_references(body, resource_id)
    doc = kind.build(engine, resource_id, existing["name"] if existing else path.names[0], existing, body)
    commit_top(engine, kind, existing, doc)
    op = engine.start_operation("put", path, kind, resource_id, resource_id, operation_name, doc.get("location"))
    op.on_success, op.on_failure = finish_callbacks(engine, resource_id, kind)
    status = 200 if existing is not None else 201
    return Response(status, kind.render(engine, doc), engine.operation_headers(op, version, location_header=False))


def patch_top(engine: "ArmEngine", path: ArmPath, kind: ResourceKind, headers: dict, body: dict) -> Response:
    engine.require_resource_group(path)
    existing = engine.store.get(path.item_id())
    if existing is None:
        raise errors.not_found_top(kind.full_type, path.names[0], path.resource_group)
    engine.check_preconditions(headers, existing, existing["id"])
    unsupported = sorted(set(body) - {"tags"})
    if unsupported:
        raise ArmError(400, "InvalidRequestFormat", f"PATCH of {kind.full_type} only updates tags; got {unsupported}.")
    engine.check_not_busy(existing["id"], f"Patch{kind.operation_noun}Operation")
    doc = copy.deepcopy(existing)
    doc["tags"] = dict(body.get("tags") or {})
    stamp_etag(doc, engine.new_etag_for(kind, existing), kind.child_arrays)
    engine.store.put(doc["id"], doc)
    kind.after_write(engine, existing, doc)
    return Response(200, kind.render(engine, doc))


def delete_top(engine: "ArmEngine", path: ArmPath, kind: ResourceKind, headers: dict, version: str) -> Response:
    engine.require_resource_group(path)
    existing = engine.store.get(path.item_id())
    engine.check_preconditions(headers, existing, path.item_id())
    if existing is None:
        return Response(204, None)
    resource_id = existing["id"]
    operation_name = f"Delete{kind.operation_noun}Operation"
    engine.check_not_busy(resource_id, operation_name)
    kind.check_delete(engine, existing)
    set_state(existing, "Deleting", kind)
    op = engine.start_operation("delete", path, kind, resource_id, resource_id, operation_name, existing.get("location"))

    def removed() -> None:
        old = engine.store.delete(resource_id)
        if old is not None:
            kind.after_write(engine, old, None)

    op.on_success = removed
    op.on_failure = finish_callbacks(engine, resource_id, kind)[1]
    return Response(202, None, engine.operation_headers(op, version, location_header=True))


# ---------------------------------------------------------------------- children
def put_child(engine: "ArmEngine", path: ArmPath, kind: ResourceKind, child_kind: ChildKind, headers: dict, body: dict,
              version: str) -> Response:
    parent = engine.require_parent(path)
    top_id = parent["id"]
    existing = find_child(parent, child_kind.array_key, path.names[1])
    child_name = existing["name"] if existing else path.names[1]
    child_id = f"{top_id}/{child_kind.segment}/{child_name}"
    operation_name = f"Put{child_kind.operation_noun}Operation"
    engine.check_preconditions(headers, existing, child_id)
    engine.check_not_busy(top_id, operation_name)
    new_parent = copy.deepcopy(parent)
    body = normalize_references(body, child_id)
    new_child = child_kind.build(engine, new_parent, existing, body, child_id)
    _insert_child(new_parent, child_kind.array_key, child_name, new_child)
    child_kind.check_collection(engine, new_parent)
    stamp_etag(new_parent, engine.new_etag_for(kind, parent), kind.child_arrays)
    set_state(new_parent, "Updating", kind)
    engine.store.put(top_id, new_parent)
    child_kind.after_write(engine, new_parent, existing, new_child)
    op = engine.start_operation("put", path, kind, child_id, top_id, operation_name, new_parent.get("location"))
    op.on_success, op.on_failure = finish_callbacks(engine, top_id, kind)
    stored_child = find_child(new_parent, child_kind.array_key, child_name)
    status = 200 if existing is not None else 201
    return Response(status, child_kind.render(engine, new_parent, stored_child),
                    engine.operation_headers(op, version, location_header=False))


def _insert_child(parent: dict, array_key: str, child_name: str, new_child: dict) -> None:
    """Replace the child of that name (any casing) in place, or append it."""
    children = parent.setdefault("properties", {}).setdefault(array_key, [])
    for index, item in enumerate(children):
        if item.get("name", "").lower() == child_name.lower():
            children[index] = new_child
            return
    children.append(new_child)


def delete_child(engine: "ArmEngine", path: ArmPath, kind: ResourceKind, child_kind: ChildKind, headers: dict,
                 version: str) -> Response:
    parent = engine.require_parent(path)
    top_id = parent["id"]
    child = find_child(parent, child_kind.array_key, path.names[1])
    engine.check_preconditions(headers, child, path.item_id())
    if child is None:
        return Response(204, None)
    operation_name = f"Delete{child_kind.operation_noun}Operation"
    engine.check_not_busy(top_id, operation_name)
    child_kind.check_delete(engine, parent, child)
    child.setdefault("properties", {})["provisioningState"] = "Deleting"
    parent.setdefault("properties", {})["provisioningState"] = "Updating"
    op = engine.start_operation("delete", path, kind, child["id"], top_id, operation_name, parent.get("location"))
    op.on_success = _child_remover(engine, top_id, kind, child_kind, child["name"])
    op.on_failure = finish_callbacks(engine, top_id, kind)[1]
    return Response(202, None, engine.operation_headers(op, version, location_header=True))


def _child_remover(engine: "ArmEngine", top_id: str, kind: ResourceKind, child_kind: ChildKind,
                   child_name: str) -> Callable[[], None]:
    """What a child DELETE does when its operation succeeds: drop the child, new etag, tree Succeeded."""
    def removed() -> None:
        doc = engine.store.get(top_id)
        if doc is None:
            return
        items = (doc.get("properties") or {}).get(child_kind.array_key) or []
        gone = [c for c in items if c.get("name", "").lower() == child_name.lower()]
        doc["properties"][child_kind.array_key] = [c for c in items if c not in gone]
        stamp_etag(doc, engine.new_etag_for(kind, doc), kind.child_arrays)
        set_state(doc, "Succeeded", kind)
        if gone:
            child_kind.after_write(engine, doc, gone[0], None)

    return removed


# ---------------------------------------------------------------------- actions
def post_action(engine: "ArmEngine", path: ArmPath, kind: ResourceKind, action: str, body: dict, version: str) -> Response:
    engine.require_resource_group(path)
    doc = engine.store.get(path.top_id())
    if doc is None:
        raise errors.not_found_top(kind.full_type, path.names[0], path.resource_group)
    handler = getattr(kind, "actions", {}).get(action.lower())
    if handler is None:
        raise ArmError(404, "InvalidResourceType", f"The action '{action}' is not supported on {kind.full_type}.")
    op = engine.start_operation("post", path, kind, doc["id"], f"{doc['id']}/{action}", f"Post{action}Operation",
                                doc.get("location"))

    def compute_result() -> None:
        current = engine.store.get(doc["id"])
        op.result = handler(engine, current, body) if current is not None else None

    op.on_success = compute_result
    headers = engine.operation_headers(op, version, location_header=True)
    headers.pop("Azure-AsyncOperation", None)  # these actions answer with Location only, as in Microsoft's examples
    return Response(202, None, headers)
