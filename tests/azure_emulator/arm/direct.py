"""Out-of-band writes: what the control API, seeds and tests use to change state.

Same validation and normalisation as an HTTP PUT (unless ``raw``), but no LRO (the
resource is Succeeded at once) and nothing in the request log: they simulate another
writer, or set up what a test needs.
"""

from __future__ import annotations

import copy

from ..store import stamp_etag
from . import errors
from .engine import ArmEngine
from .ids import parse
from .kinds import find_child


def merge_patch(target: dict, patch: dict) -> dict:
    """RFC 7396 JSON merge patch, in place."""
    for name, value in patch.items():
        if value is None:
            target.pop(name, None)
        elif isinstance(value, dict) and isinstance(target.get(name), dict):
            merge_patch(target[name], value)
        else:
            target[name] = copy.deepcopy(value)
    return target


def write_direct(engine: ArmEngine, resource_id: str, body: dict, raw: bool = False) -> dict:
    """Create or replace a resource (or child) out of band; returns what a GET now answers."""
    from .resources import resource_group_document

    path = parse(resource_id)
    if path.kind == "resource_group":
        doc = resource_group_document(path.subscription, path.resource_group, body.get("location", "westeurope"), body.get("tags"))
        engine.store.put(doc["id"], doc)
        return copy.deepcopy(doc)
    if path.kind not in ("resource", "child"):
        raise ValueError(f"not a resource id: {resource_id}")
    kind = engine.kind_for(path.namespace, path.types[0])
    if kind is None:
        raise ValueError(f"the stand-in does not model {path.namespace}/{path.types[0]}")
    if engine.resource_group(path.subscription, path.resource_group) is None:
        raise errors.resource_group_not_found(path.resource_group)
    if path.kind == "resource":
        existing = engine.store.get(resource_id)
        rid = existing["id"] if existing else path.item_id()
        if raw:
            doc = copy.deepcopy(body)
            doc.update({"id": rid, "name": path.names[0], "type": kind.full_type})
            doc.setdefault("properties", {})
        else:
            doc = kind.build(engine, rid, existing["name"] if existing else path.names[0], existing, body)
        stamp_etag(doc, engine.new_etag_for(kind, existing), kind.child_arrays)
        if raw and body.get("etag"):
            doc["etag"] = body["etag"]
        engine.set_state(doc, "Succeeded", kind)
        engine.store.put(rid, doc)
        kind.after_write(engine, existing, doc)
        return engine.render_id(rid)
    parent = engine.store.get(path.top_id())
    if parent is None:
        raise ValueError(f"parent of {resource_id} does not exist")
    child_kind = kind.children[path.types[1].lower()]
    existing = find_child(parent, child_kind.array_key, path.names[1])
    child_id = f"{parent['id']}/{child_kind.segment}/{existing['name'] if existing else path.names[1]}"
    new_parent = copy.deepcopy(parent)
    if raw:
        child = copy.deepcopy(body)
        child.update({"id": child_id, "name": child_id.rsplit("/", 1)[-1], "type": child_kind.full_type})
    else:
        child = child_kind.build(engine, new_parent, existing, body, child_id)
    items = new_parent.setdefault("properties", {}).setdefault(child_kind.array_key, [])
    for index, item in enumerate(items):
        if item.get("name", "").lower() == child["name"].lower():
            items[index] = child
            break
    else:
        items.append(child)
    child_kind.check_collection(engine, new_parent)
    stamp_etag(new_parent, engine.new_etag_for(kind, parent), kind.child_arrays)
    engine.set_state(new_parent, "Succeeded", kind)
    engine.store.put(parent["id"], new_parent)
    child_kind.after_write(engine, new_parent, existing, child)
    return engine.render_id(child_id)


def mutate_direct(engine: ArmEngine, resource_id: str, patch: dict) -> dict:
    """Apply a JSON merge patch to the stored document (no validation) and bump its etag."""
    top, kind, child_kind, child = engine.get_document(resource_id)
    if top is None or (parse(resource_id).kind == "child" and child is None):
        raise KeyError(f"no such resource: {resource_id}")
    old_top = copy.deepcopy(top)
    old_child = copy.deepcopy(child) if child is not None else None
    merge_patch(child if child is not None else top, patch)
    if kind is not None:
        stamp_etag(top, engine.new_etag_for(kind, old_top), kind.child_arrays)
        if child_kind is not None:
            child_kind.after_write(engine, top, old_child, child)
        else:
            kind.after_write(engine, old_top, top)
    return engine.render_id(resource_id)


def delete_direct(engine: ArmEngine, resource_id: str) -> bool:
    top, kind, child_kind, child = engine.get_document(resource_id)
    if top is None:
        return False
    if child_kind is not None:
        if child is None:
            return False
        items = top["properties"][child_kind.array_key]
        items.remove(child)
        stamp_etag(top, engine.new_etag_for(kind, top), kind.child_arrays)
        child_kind.after_write(engine, top, child, None)
        return True
    engine.store.delete(top["id"])
    if kind is not None:
        kind.after_write(engine, top, None)
    return True
