# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Server-side printing: the ``meta.k8s.io/v1`` Table kubectl asks for (``Accept: ...;as=Table``)."""

from __future__ import annotations

from datetime import datetime, timezone


def wants_table(accept: str | None) -> bool:
    return bool(accept) and "as=Table" in accept and "g=meta.k8s.io" in accept


def _age(timestamp: str | None, now: datetime) -> str:
    if not timestamp:
        return "<unknown>"
    seconds = int((now - datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)).total_seconds())
    seconds = max(seconds, 0)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * (2 if unit != "m" else 1):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _node_cells(obj: dict) -> list:
    ready = next((c for c in obj.get("status", {}).get("conditions", []) if c.get("type") == "Ready"), None)
    status = "Ready" if ready and ready.get("status") == "True" else "NotReady" if ready else "Unknown"
    if obj.get("spec", {}).get("unschedulable"):
        status += ",SchedulingDisabled"
    roles = sorted(k.split("/", 1)[1] for k in (obj["metadata"].get("labels") or {})
                   if k.startswith("node-role.kubernetes.io/"))
    version = obj.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", "")
    return [status, ",".join(roles) or "<none>", None, version]


_NODE_COLUMNS = [("Status", "string", "The status of the node"), ("Roles", "string", "The roles of the node"),
                 ("Age", "string", ""), ("Version", "string", "Kubelet Version reported by the node.")]


def table(rtype, items: list[dict], list_meta: dict, include_object: str = "Metadata") -> dict:
    now = datetime.now(timezone.utc)
    name_column = {"name": "Name", "type": "string", "format": "name", "description": "Name must be unique within a "
                   "namespace.", "priority": 0}
    if rtype.kind == "Node" and rtype.builtin:
        columns = [name_column] + [{"name": n, "type": t, "format": "", "description": d, "priority": 0}
                                   for n, t, d in _NODE_COLUMNS]
    else:
        columns = [name_column, {"name": "Age", "type": "string", "format": "", "description": "", "priority": 0}]
    rows = []
    for obj in items:
        age = _age(obj["metadata"].get("creationTimestamp"), now)
        if rtype.kind == "Node" and rtype.builtin:
            cells = [obj["metadata"]["name"]] + [age if c is None else c for c in _node_cells(obj)]
        else:
            cells = [obj["metadata"]["name"], age]
        row = {"cells": cells}
        if include_object != "None":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                             "metadata": obj["metadata"]} if include_object == "Metadata" else obj
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta, "columnDefinitions": columns,
            "rows": rows}
