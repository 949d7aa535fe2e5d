# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The three PATCH formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

Strategic merge needs each list's merge key; ``list_strategy(path)`` answers it from
:data:`STRATEGIC_LISTS` (the ``patchMergeKey``/``patchStrategy`` tags of the Go types in
k8s.io/api for the fields the stand-in serves). Path elements are field names; list
positions are ``*``.
"""

from __future__ import annotations

import json

from .clone import clone
from .errors import bad_request, unprocessable_patch

PRIMITIVE = "<primitive>"  # patchStrategy=merge on a list of scalars: union, order kept

_POD = ("spec", "template", "spec")
_CONTAINER_LISTS = {("env",): "name", ("ports",): "containerPort", ("volumeMounts",): "mountPath",
                    ("volumeDevices",): "devicePath"}
STRATEGIC_LISTS: dict[tuple, str] = {
    ("metadata", "finalizers"): PRIMITIVE,
    ("metadata", "ownerReferences"): "uid",
    ("spec", "taints"): "key",
    ("spec", "podCIDRs"): PRIMITIVE,
    ("status", "conditions"): "type",
    ("status", "addresses"): "type",
    ("status", "images"): "",
    _POD + ("containers",): "name",
    _POD + ("initContainers",): "name",
    _POD + ("ephemeralContainers",): "name",
    _POD + ("volumes",): "name",
    _POD + ("imagePullSecrets",): "name",
    _POD + ("hostAliases",): "ip",
    ("spec", "template", "metadata", "finalizers"): PRIMITIVE,
}
for _list in ("containers", "initContainers"):
    for _sub, _key in _CONTAINER_LISTS.items():
        STRATEGIC_LISTS[_POD + (_list, "*") + _sub] = _key


def list_strategy(path: tuple) -> str | None:
    """The merge key of the list at ``path`` (PRIMITIVE for sets of scalars), None for a replaced list."""
    key = STRATEGIC_LISTS.get(path)
    return key or None


# ---------------------------------------------------------------------------- merge patch
def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return clone(patch)
    result = clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# ---------------------------------------------------------------------------- strategic merge patch
def strategic_merge_patch(target, patch, path: tuple = (), strategy=list_strategy):
    if not isinstance(patch, dict):
        return clone(patch)
    if not isinstance(target, dict):
        target = {}
    if patch.get("$patch") == "replace":
        return {k: clone(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = clone(target)
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            if not isinstance(value, list):
                raise bad_request("Unable to find api field in struct for the field")
            result[name] = [v for v in result.get(name) or [] if v not in value]
            continue
        child = path + (key,)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, child, strategy)
        elif isinstance(value, dict):
            merged = strategic_merge_patch(result.get(key), value, child, strategy)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = value
    for key, order in patch.items():
        if key.startswith("$setElementOrder/"):
            name = key.split("/", 1)[1]
            result[name] = _order(result.get(name) or [], order, strategy(path + (name,)))
    if retain is not None:
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(current, patch_list: list, path: tuple, strategy):
    merge_key = strategy(path)
    current = clone(current) if isinstance(current, list) else []
    if merge_key is None:
        if any(isinstance(v, dict) and "$patch" in v for v in patch_list):
            return [v for v in patch_list if not (isinstance(v, dict) and "$patch" in v)]
        return clone(patch_list)
    if merge_key == PRIMITIVE:
        result = list(current)
        for value in patch_list:
            if value not in result:
                result.append(value)
        return result
    if any(isinstance(v, dict) and v.get("$patch") == "replace" for v in patch_list):
        return [v for v in patch_list if not (isinstance(v, dict) and "$patch" in v)]
    result = list(current)
    item_path = path + ("*",)
    for item in patch_list:
        if not isinstance(item, dict) or merge_key not in item:
            raise bad_request(f"map: {item} does not contain declared merge key: {merge_key}")
        index = next((i for i, existing in enumerate(result) if isinstance(existing, dict)
                      and existing.get(merge_key) == item[merge_key]), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
            continue
        if index is None:
            result.append(strategic_merge_patch({}, item, item_path, strategy))
        else:
            result[index] = strategic_merge_patch(result[index], item, item_path, strategy)
    return result


def _order(items: list, order: list, merge_key) -> list:
    if merge_key in (None, PRIMITIVE):
        ranked = {json.dumps(v, sort_keys=True): i for i, v in enumerate(order)}
        return sorted(items, key=lambda v: ranked.get(json.dumps(v, sort_keys=True), len(ranked)))
    ranked = {json.dumps(o.get(merge_key)): i for i, o in enumerate(order) if isinstance(o, dict)}
    return sorted(items, key=lambda v: ranked.get(json.dumps(v.get(merge_key)) if isinstance(v, dict) else "", len(ranked)))


# ---------------------------------------------------------------------------- JSON patch
def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise unprocessable_patch(f"add operation does not apply: doc is missing path: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc, parts: list[str], op: str, path: str):
    node = doc
    for part in parts[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise unprocessable_patch(f"{op} operation does not apply: doc is missing path: \"{path}\": missing value")
    return node


def _get(doc, path: str):
    parts = _pointer(path)
    node = doc
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise unprocessable_patch(f'doc is missing key: {path}: missing value')
    return node


def json_patch(doc, operations):
    if not isinstance(operations, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = clone(doc)
    for operation in operations:
        op, path = operation.get("op"), operation.get("path", "")
        if op == "test":
            if _get(doc, path) != operation.get("value"):
                raise unprocessable_patch(f"testing value {path} failed: test failed")
            continue
        if op in ("move", "copy"):
            value = clone(_get(doc, operation.get("from", "")))
            if op == "move":
                doc = json_patch(doc, [{"op": "remove", "path": operation["from"]}])
            doc = json_patch(doc, [{"op": "add", "path": path, "value": value}])
            continue
        parts = _pointer(path)
        if not parts:
            if op in ("add", "replace"):
                doc = clone(operation.get("value"))
                continue
            raise unprocessable_patch(f"{op} operation does not apply: doc is missing path: \"\"")
        parent = _parent(doc, parts, op, path)
        last = parts[-1]
        if op == "add":
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last) if last.isdigit() else -1
                if index < 0 or index > len(parent):
                    raise unprocessable_patch(f"add operation does not apply: doc is missing path: \"{path}\": missing value")
                parent.insert(index, clone(operation.get("value")))
            else:
                parent[last] = clone(operation.get("value"))
        elif op in ("remove", "replace"):
            if isinstance(parent, list):
                if not last.isdigit() or int(last) >= len(parent):
                    raise unprocessable_patch(f"{op} operation does not apply: doc is missing key: {path}: missing value")
                if op == "remove":
                    del parent[int(last)]
                else:
                    parent[int(last)] = clone(operation.get("value"))
            else:
                if last not in parent:
                    raise unprocessable_patch(f"{op} operation does not apply: doc is missing key: {path}: missing value")
                if op == "remove":
                    del parent[last]
                else:
                    parent[last] = clone(operation.get("value"))
        else:
            raise bad_request(f"Unexpected kind: {op}")
    return doc
