# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Minimal but valid OpenAPI documents: the paths served and their parameters, schemas of custom resources.

kubectl reads /openapi/v3 to learn that the server accepts ``fieldValidation`` (so it
validates server-side) and, for ``apply``, the schemas of the types it patches.
"""

from __future__ import annotations

_PARAMS = [{"name": n, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
           for n in ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")]


def _paths(types, group_version: str) -> dict:
    paths = {}
    for rtype in types:
        if rtype.api_version != group_version:
            continue
        base = f"/api/{rtype.version}" if not rtype.group else f"/apis/{rtype.group}/{rtype.version}"
        scope = "/namespaces/{namespace}" if rtype.namespaced else ""
        gvk = {"group": rtype.group, "version": rtype.version, "kind": rtype.kind}
        operation = {"x-kubernetes-group-version-kind": gvk, "parameters": _PARAMS,
                     "responses": {"200": {"description": "OK"}}}
        paths[f"{base}{scope}/{rtype.plural}"] = {
            "post": {**operation, "x-kubernetes-action": "post"},
            "get": {**operation, "x-kubernetes-action": "list"},
        }
        paths[f"{base}{scope}/{rtype.plural}/{{name}}"] = {
            "get": {**operation, "x-kubernetes-action": "get"}, "put": {**operation, "x-kubernetes-action": "put"},
            "patch": {**operation, "x-kubernetes-action": "patch"}, "delete": {**operation, "x-kubernetes-action": "delete"}}
    return paths


def v3_index(types) -> dict:
    seen = {}
    for rtype in types:
        key = f"api/{rtype.version}" if not rtype.group else f"apis/{rtype.group}/{rtype.version}"
        seen[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash=emulated"}
    return {"paths": seen}


def v3_document(types, relative: str) -> dict | None:
    if relative.startswith("api/"):
        group_version = relative.split("/", 1)[1]
    elif relative.startswith("apis/"):
        group_version = relative.split("/", 1)[1]
    else:
        return None
    paths = _paths(types, group_version)
    if not paths:
        return None
    schemas = {}
    for rtype in types:
        if rtype.api_version == group_version and rtype.schema:
            name = ".".join(reversed(rtype.group.split("."))) + f".{rtype.version}.{rtype.kind}"
            schemas[name] = {**rtype.schema, "x-kubernetes-group-version-kind": [
                {"group": rtype.group, "version": rtype.version, "kind": rtype.kind}]}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.4"}, "paths": paths,
            "components": {"schemas": schemas}}


def v2_document(types) -> dict:
    paths = {}
    for rtype in types:
        paths.update(_paths(types, rtype.api_version))
    return {"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.32.4"}, "paths": paths,
            "definitions": {}}
