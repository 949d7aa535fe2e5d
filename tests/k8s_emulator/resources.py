# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The resource types served, and the discovery documents clients read before their first call."""

from __future__ import annotations

from dataclasses import dataclass, field

VERBS = ["create", "delete", "get", "list", "patch", "update"]
SERVER_VERSION = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.4", "gitCommit": "59526cd4867447956156ae3a602fcbac10a2c335",
    "gitTreeState": "clean", "buildDate": "2025-04-22T16:02:27Z", "goVersion": "go1.23.6", "compiler": "gc",
    "platform": "linux/amd64",
}


@dataclass
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: list[str] = field(default_factory=list)
    singular: str = ""
    schema: dict | None = None  # openAPIV3Schema of a CRD version (custom resources only)
    builtin: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    def discovery_entry(self) -> dict:
        entry = {"name": self.plural, "singularName": self.singular or self.kind.lower(), "namespaced": self.namespaced,
                 "kind": self.kind, "verbs": VERBS + ["deletecollection", "watch"] if self.builtin else VERBS + ["deletecollection", "watch"]}
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        entry["storageVersionHash"] = "emulated="
        return entry


BUILTIN = [
    ResourceType("", "v1", "nodes", "Node", False, ["no"]),
    ResourceType("", "v1", "namespaces", "Namespace", False, ["ns"]),
    ResourceType("", "v1", "configmaps", "ConfigMap", True, ["cm"]),
    ResourceType("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"]),
    ResourceType("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
                 ["crd", "crds"]),
]

# Sub-resources each type announces (served: status on nodes; the rest are listed for clients' discovery only).
SUBRESOURCES = {("", "nodes"): ["status"], ("apps", "daemonsets"): ["status"],
                ("apiextensions.k8s.io", "customresourcedefinitions"): ["status"]}


def crd_types(crd: dict) -> list[ResourceType]:
    spec = crd.get("spec", {})
    names = spec.get("names", {})
    types = []
    for version in spec.get("versions", []):
        if not version.get("served", True):
            continue
        types.append(ResourceType(spec["group"], version["name"], names["plural"], names["kind"],
                                  spec.get("scope") == "Namespaced", list(names.get("shortNames", [])),
                                  names.get("singular", ""), (version.get("schema") or {}).get("openAPIV3Schema"),
                                  builtin=False))
    return types


def api_versions() -> dict:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}


def resource_list(group_version: str, types: list[ResourceType]) -> dict:
    resources = []
    for rtype in sorted(types, key=lambda t: t.plural):
        resources.append(rtype.discovery_entry())
        for sub in SUBRESOURCES.get((rtype.group, rtype.plural), []):
            resources.append({"name": f"{rtype.plural}/{sub}", "singularName": "", "namespaced": rtype.namespaced,
                              "kind": rtype.kind, "verbs": ["get", "patch", "update"]})
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}


def group_list(types: list[ResourceType]) -> dict:
    groups: dict[str, list[str]] = {}
    for rtype in types:
        if rtype.group:
            versions = groups.setdefault(rtype.group, [])
            if rtype.version not in versions:
                versions.append(rtype.version)
    out = []
    for group, versions in groups.items():
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        out.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": out}


def group(group_name: str, types: list[ResourceType]) -> dict | None:
    for entry in group_list(types)["groups"]:
        if entry["name"] == group_name:
            return {"kind": "APIGroup", "apiVersion": "v1", **entry}
    return None
