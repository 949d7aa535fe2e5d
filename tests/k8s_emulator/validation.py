# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the API server validates and defaults for the types served.

Node: the pod CIDR rules of pkg/apis/core/validation (ValidateNode, ValidateNodeUpdate).
Custom resources: the CRD's openAPIV3Schema (types, enums, required; unknown fields pruned
unless ``x-kubernetes-preserve-unknown-fields``; ``fieldValidation=Strict`` rejects them).
"""

from __future__ import annotations

import ipaddress
import json

from .errors import ApiError, bad_request, field_error, invalid
from .patch import PRIMITIVE

POD_CIDR_FORBIDDEN = 'node updates may not change podCIDR except from "" to valid'
PROVIDER_ID_FORBIDDEN = 'node updates may not change providerID except from "" to valid'
CIDR_INVALID = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def normalise(rtype, obj: dict, old: dict | None) -> None:
    """v1 Node keeps podCIDR and podCIDRs[0] in step (the internal type has podCIDRs only)."""
    if rtype.kind != "Node" or not rtype.builtin:
        return
    spec = obj.setdefault("spec", {})
    single, many = spec.get("podCIDR") or "", list(spec.get("podCIDRs") or [])
    old_spec = (old or {}).get("spec", {})
    if single and not many:
        many = [single]
    elif single and many and single != many[0]:
        # Both given and different: the one this write changed wins.
        if single != (old_spec.get("podCIDR") or ""):
            many = [single] + many[1:]
    if many:
        spec["podCIDRs"], spec["podCIDR"] = many, many[0]
    else:
        spec.pop("podCIDRs", None)
        spec.pop("podCIDR", None)


def default(rtype, obj: dict) -> None:
    if not rtype.builtin:
        return
    if rtype.kind == "DaemonSet":
        spec = obj.setdefault("spec", {})
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("updateStrategy", {"type": "RollingUpdate",
                                           "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        pod = spec.setdefault("template", {}).setdefault("spec", {})
        for key, value in (("restartPolicy", "Always"), ("terminationGracePeriodSeconds", 30),
                           ("dnsPolicy", "ClusterFirst"), ("securityContext", {}), ("schedulerName", "default-scheduler")):
            pod.setdefault(key, value)
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            container.setdefault("imagePullPolicy", "Always" if str(container.get("image", "")).endswith(":latest")
                                 or ":" not in str(container.get("image", "")) else "IfNotPresent")
            container.setdefault("resources", {})
        obj.setdefault("status", {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                                  "numberReady": 0})
    if rtype.kind == "Namespace":
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj.setdefault("status", {"phase": "Active"})
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]


def validate(rtype, obj: dict, old: dict | None, field_validation: str, types) -> list[str]:
    """Raise 422 Invalid on a rule violation; return warnings (unknown fields under fieldValidation=Warn)."""
    if rtype.kind == "Node" and rtype.builtin:
        _validate_node(obj, old)
    if not rtype.builtin and rtype.schema:
        return validate_custom(rtype, obj, field_validation)
    if rtype.kind == "CustomResourceDefinition":
        _validate_crd(obj)
    return []


def _validate_node(obj: dict, old: dict | None) -> None:
    spec = obj.get("spec", {})
    name = obj["metadata"]["name"]
    causes = []
    cidrs = spec.get("podCIDRs") or []
    for index, value in enumerate(cidrs):
        try:
            ipaddress.ip_network(value, strict=False)
            if "/" not in value:
                raise ValueError(value)
        except ValueError:
            causes.append(field_error("Invalid", f"spec.podCIDRs[{index}]", CIDR_INVALID, value))
    if len(cidrs) > 1:
        families = set()
        for value in cidrs:
            try:
                families.add(ipaddress.ip_network(value, strict=False).version)
            except ValueError:
                pass
        if len(cidrs) > 2 or len(families) != len(cidrs):
            causes.append(field_error("Invalid", "spec.podCIDRs", "may specify no more than one CIDR for each IP family",
                                      cidrs))
        seen = set()
        for index, value in enumerate(cidrs):
            if value in seen:
                causes.append(field_error("Duplicate", f"spec.podCIDRs[{index}]", value=value))
            seen.add(value)
    if old is not None:
        old_spec = old.get("spec", {})
        old_cidrs = old_spec.get("podCIDRs") or []
        if old_cidrs and (len(old_cidrs) != len(cidrs) or any(a != b for a, b in zip(old_cidrs, cidrs))):
            causes.append(field_error("Forbidden", "spec.podCIDRs", POD_CIDR_FORBIDDEN))
        old_provider = old_spec.get("providerID") or ""
        if old_provider and old_provider != (spec.get("providerID") or ""):
            causes.append(field_error("Forbidden", "spec.providerID", PROVIDER_ID_FORBIDDEN))
    if causes:
        raise invalid("Node", "", name, causes)


def _validate_crd(obj: dict) -> None:
    spec = obj.get("spec", {})
    names = spec.get("names", {})
    expected = f"{names.get('plural')}.{spec.get('group')}"
    if obj["metadata"]["name"] != expected:
        raise invalid("CustomResourceDefinition", "apiextensions.k8s.io", obj["metadata"]["name"], [field_error(
            "Invalid", "metadata.name", f'must be spec.names.plural+"."+spec.group', obj["metadata"]["name"])])


def has_status_subresource(crd: dict | None, version: str) -> bool:
    for entry in (crd or {}).get("spec", {}).get("versions", []):
        if entry.get("name") == version:
            return "status" in (entry.get("subresources") or {})
    return False


# ---------------------------------------------------------------------------- structural schemas
def schema_list_strategy(schema: dict | None):
    """Merge keys from ``x-kubernetes-list-type: map`` / ``set``; other lists are atomic."""
    cache: dict[tuple, str | None] = {}

    def lookup(path: tuple):
        if path in cache:
            return cache[path]
        node = schema or {}
        for element in path:
            if element == "*":
                node = node.get("items") or {}
            else:
                node = (node.get("properties") or {}).get(element) or {}
        list_type = node.get("x-kubernetes-list-type")
        result = None
        if list_type == "map" and node.get("x-kubernetes-list-map-keys"):
            result = node["x-kubernetes-list-map-keys"][0]
        elif list_type == "set":
            result = PRIMITIVE
        cache[path] = result
        return result

    return lookup


_TYPES = {"string": str, "boolean": bool, "object": dict, "array": list}


def _type_ok(value, expected: str) -> bool:
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    python = _TYPES.get(expected)
    return python is None or isinstance(value, python)


def _walk(value, schema: dict, path: str, causes: list, unknown: list):
    """Validate ``value`` in place, pruning unknown fields; collect field errors and unknown field paths."""
    if value is None:
        if not schema.get("nullable"):
            return "drop"
        return None
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            causes.append(field_error("TypeInvalid", path, 'must be of type integer or string' if False else
                                      "must be of type string", value))
        return None
    expected = schema.get("type")
    if expected and not _type_ok(value, expected):
        causes.append(field_error("TypeInvalid", path, f'must be of type {expected}', value))
        return None
    if "enum" in schema and value not in schema["enum"]:
        causes.append(field_error("NotSupported", path, ", ".join(json.dumps(v) for v in schema["enum"]), value))
    if isinstance(value, str) and "pattern" in schema:
        import re
        if not re.search(schema["pattern"], value):
            causes.append(field_error("Invalid", path, f'should match \'{schema["pattern"]}\'', value))
    for bound, check, words in (("minimum", lambda v, b: v >= b, "should be greater than or equal to"),
                                ("maximum", lambda v, b: v <= b, "should be less than or equal to")):
        if bound in schema and isinstance(value, (int, float)) and not check(value, schema[bound]):
            causes.append(field_error("Invalid", path, f"{words} {schema[bound]}", value))
    if isinstance(value, dict):
        props = schema.get("properties")
        for required in schema.get("required", []):
            if required not in value:
                causes.append(field_error("Required", f"{path}.{required}" if path else required))
        additional = schema.get("additionalProperties")
        for key in list(value):
            child = f"{path}.{key}" if path else key
            if props is not None and key in props:
                if _walk(value[key], props[key], child, causes, unknown) == "drop":
                    del value[key]
            elif isinstance(additional, dict):
                if _walk(value[key], additional, child, causes, unknown) == "drop":
                    del value[key]
            elif props is not None and not schema.get("x-kubernetes-preserve-unknown-fields"):
                unknown.append(child)
                del value[key]
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            _walk(item, schema["items"], f"{path}[{index}]", causes, unknown)
    return None


def validate_custom(rtype, obj: dict, field_validation: str = "Warn") -> list[str]:
    schema = rtype.schema or {}
    causes, unknown = [], []
    metadata = obj.pop("metadata")
    try:
        body_schema = {**schema, "properties": {k: v for k, v in (schema.get("properties") or {}).items()
                                                if k not in ("metadata", "apiVersion", "kind")}}
        body_schema.pop("required", None)
        rest = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
        _walk(rest, body_schema, "", causes, unknown)
        for key in [k for k in obj if k not in ("apiVersion", "kind")]:
            if key in rest:
                obj[key] = rest[key]
            else:
                del obj[key]
        for required in schema.get("required", []):
            if required not in obj and required not in ("metadata", "apiVersion", "kind"):
                causes.append(field_error("Required", required))
    finally:
        obj["metadata"] = metadata
    if unknown and field_validation == "Strict":
        raise bad_request("strict decoding error: " + ", ".join(f'unknown field "{u}"' for u in unknown))
    if causes:
        raise invalid(rtype.kind, rtype.group, metadata.get("name", ""), causes)
    if unknown and field_validation == "Warn":
        return [f'unknown field "{u}"' for u in unknown]
    return []


__all__ = ["ApiError", "normalise", "default", "validate", "validate_custom", "schema_list_strategy"]
