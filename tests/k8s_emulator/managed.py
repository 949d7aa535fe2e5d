# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Field ownership as server-side apply tracks it (``metadata.managedFields``, ``FieldsV1``).

A field set is a set of paths; a path is a tuple of ``FieldsV1`` elements: ``f:<name>``
for a field, ``k:{"<key>":<value>}`` for an item of an associative list, ``v:<json>`` for
a value of a set-like list. Lists without a merge key are atomic: the list is one leaf.
"""

from __future__ import annotations

import json

from .clone import clone
from .patch import PRIMITIVE

SYSTEM_METADATA = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields",
                   "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}


def _key_element(merge_key: str, item: dict) -> str:
    return "k:" + json.dumps({merge_key: item[merge_key]}, separators=(",", ":"))


def field_paths(obj: dict, strategy, names: tuple = (), prefix: tuple = ()) -> set[tuple]:
    """Every leaf path of ``obj`` (the top level's apiVersion/kind and system metadata excluded)."""
    paths: set[tuple] = set()
    for key, value in obj.items():
        if not names and key in ("apiVersion", "kind"):
            continue
        if names == ("metadata",) and key in SYSTEM_METADATA:
            continue
        here, child_names = prefix + (f"f:{key}",), names + (key,)
        merge_key = strategy(child_names) if isinstance(value, list) else None
        if isinstance(value, dict) and value:
            paths |= field_paths(value, strategy, child_names, here)
        elif isinstance(value, list) and value and merge_key:
            for item in value:
                if merge_key == PRIMITIVE:
                    paths.add(here + ("v:" + json.dumps(item, separators=(",", ":")),))
                elif isinstance(item, dict) and merge_key in item:
                    item_path = here + (_key_element(merge_key, item),)
                    paths.add(item_path)
                    paths |= field_paths(item, strategy, child_names + ("*",), item_path)
        else:
            paths.add(here)
    return paths


def to_fields_v1(paths: set[tuple]) -> dict:
    tree: dict = {}
    for path in sorted(paths):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    # A path that is both owned and a parent of owned paths carries ".".
    for path in paths:
        node = tree
        for element in path:
            node = node[element]
        if node:
            node["."] = {}
    return tree


def from_fields_v1(tree: dict, prefix: tuple = ()) -> set[tuple]:
    paths: set[tuple] = set()
    for element, child in (tree or {}).items():
        if element == ".":
            paths.add(prefix)
            continue
        here = prefix + (element,)
        if child:
            paths |= from_fields_v1(child, here)
        else:
            paths.add(here)
    return paths


def _step(node, element: str):
    kind, _colon, rest = element.partition(":")
    if kind == "f":
        return node.get(rest) if isinstance(node, dict) else None
    if kind == "k" and isinstance(node, list):
        wanted = json.loads(rest)
        return next((i for i in node if isinstance(i, dict) and all(i.get(k) == v for k, v in wanted.items())), None)
    if kind == "v" and isinstance(node, list):
        wanted = json.loads(rest)
        return wanted if wanted in node else None
    return None


_MISSING = object()


def value_at(obj, path: tuple):
    node = obj
    for element in path:
        node = _step(node, element)
        if node is None:
            return _MISSING
    return node


def display(path: tuple) -> str:
    """The path as structured-merge-diff prints it: .spec.x, .spec.containers[name="c"].image."""
    out = ""
    for element in path:
        kind, _colon, rest = element.partition(":")
        if kind == "f":
            out += "." + rest
        elif kind == "k":
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in json.loads(rest).items()) + "]"
        elif kind == "v":
            out += f"[={rest}]"
    return out


def remove_path(obj: dict, path: tuple) -> None:
    parents, node = [], obj
    for element in path[:-1]:
        parents.append(node)
        node = _step(node, element)
        if node is None:
            return
    kind, _colon, rest = path[-1].partition(":")
    if kind == "f" and isinstance(node, dict):
        node.pop(rest, None)
    elif kind in ("k", "v") and isinstance(node, list):
        target = _step(node, path[-1])
        if target is not None:
            node.remove(target)


def prune_empty(obj, keep: set[tuple], prefix: tuple = ()) -> None:
    """Drop maps/lists below the top level that removals emptied, unless someone owns them."""
    for key in list(obj):
        here = prefix + (f"f:{key}",)
        value = obj[key]
        if isinstance(value, dict):
            prune_empty(value, keep, here)
        if isinstance(value, (dict, list)) and not value and here not in keep and prefix != ():
            del obj[key]


def merge_applied(current, config, strategy, names: tuple = ()):
    """The applied configuration merged into the live object: maps merge, keyed lists merge by key, other lists replace."""
    if not isinstance(config, dict) or not isinstance(current, dict):
        return clone(config)
    result = clone(current)
    for key, value in config.items():
        child = names + (key,)
        merge_key = strategy(child) if isinstance(value, list) else None
        if isinstance(value, dict):
            result[key] = merge_applied(result.get(key), value, strategy, child)
        elif isinstance(value, list) and merge_key and isinstance(result.get(key), list):
            merged = list(result[key])
            for item in value:
                if merge_key == PRIMITIVE:
                    if item not in merged:
                        merged.append(item)
                    continue
                index = next((i for i, e in enumerate(merged) if isinstance(e, dict) and isinstance(item, dict)
                              and e.get(merge_key) == item.get(merge_key)), None)
                if index is None:
                    merged.append(clone(item))
                else:
                    merged[index] = merge_applied(merged[index], item, strategy, child + ("*",))
            result[key] = merged
        else:
            result[key] = clone(value)
    return result


def changed_paths(old: dict, new: dict, strategy) -> tuple[set[tuple], set[tuple]]:
    """(paths set or changed by old -> new, paths removed)."""
    old_paths, new_paths = field_paths(old, strategy), field_paths(new, strategy)
    changed = {p for p in new_paths if p not in old_paths or value_at(old, p) != value_at(new, p)}
    return changed, old_paths - new_paths
