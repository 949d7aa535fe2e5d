# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Served objects have the Kubernetes API's shapes: every key known to the kubernetes package's models, every type right."""

from __future__ import annotations

import datetime
import json

import pytest
import requests
from kubernetes import client

from k8s_emulator import nodes_for

PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float), "object": object}


def check_shape(data, type_name: str, path: str = "") -> list[str]:
    """Problems of data against the model type_name (as in kubernetes.client.models' openapi_types)."""
    problems = []
    if type_name.startswith(("list[", "List[")):
        if not isinstance(data, list):
            return [f"{path}: expected a list, got {type(data).__name__}"]
        for index, item in enumerate(data):
            problems += check_shape(item, type_name[5:-1], f"{path}[{index}]")
        return problems
    if type_name.startswith(("dict(", "Dict[")):
        value_type = type_name[5:-1].split(", ", 1)[1]
        if not isinstance(data, dict):
            return [f"{path}: expected a map"]
        for key, item in data.items():
            problems += check_shape(item, value_type, f"{path}.{key}")
        return problems
    if type_name in PRIMITIVES:
        expected = PRIMITIVES[type_name]
        if type_name == "int" and isinstance(data, bool) or not isinstance(data, expected):
            problems.append(f"{path}: expected {type_name}, got {type(data).__name__}")
        return problems
    if type_name == "datetime":
        try:
            datetime.datetime.strptime(data, "%Y-%m-%dT%H:%M:%SZ")
        except (TypeError, ValueError):
            problems.append(f"{path}: not an RFC 3339 time: {data!r}")
        return problems
    model = getattr(client.models, type_name)
    if not hasattr(model, "attribute_map"):  # an enum-like model: a string
        return [] if isinstance(data, str) else [f"{path}: expected a string for {type_name}"]
    if not isinstance(data, dict):
        return [f"{path}: expected an object for {type_name}"]
    by_json = {json_name: attr for attr, json_name in model.attribute_map.items()}
    for key, value in data.items():
        if key not in by_json:
            problems.append(f"{path}.{key}: unknown field of {type_name}")
        elif value is not None:
            problems += check_shape(value, model.openapi_types[by_json[key]], f"{path}.{key}")
    return problems


SEED = {**nodes_for(3, scale_set="pool"),
        "configmaps": [{"metadata": {"name": "cm", "namespace": "kube-system", "labels": {"a": "b"}}, "data": {"k": "v"}}],
        "daemonsets": [{"metadata": {"name": "calico-node", "namespace": "kube-system"}, "spec": {
            "selector": {"matchLabels": {"k8s-app": "calico-node"}},
            "template": {"metadata": {"labels": {"k8s-app": "calico-node"}},
                         "spec": {"containers": [{"name": "calico-node", "image": "calico/node:v3.32.1"}]}}}}],
        "crds": ["installation"]}


@pytest.mark.k8s_seed(SEED)
@pytest.mark.parametrize("path, model", [
    ("/api/v1/nodes", "V1NodeList"),
    ("/api/v1/nodes/pool000001", "V1Node"),
    ("/api/v1/namespaces/kube-system/configmaps", "V1ConfigMapList"),
    ("/api/v1/namespaces/kube-system/configmaps/cm", "V1ConfigMap"),
    ("/apis/apps/v1/namespaces/kube-system/daemonsets", "V1DaemonSetList"),
    ("/apis/apps/v1/namespaces/kube-system/daemonsets/calico-node", "V1DaemonSet"),
    ("/api/v1/namespaces", "V1NamespaceList"),
    ("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/installations.operator.tigera.io",
     "V1CustomResourceDefinition"),
    ("/api/v1/nodes/missing", "V1Status"),
    ("/version", "VersionInfo"),
    ("/api", "V1APIVersions"),
    ("/apis", "V1APIGroupList"),
    ("/api/v1", "V1APIResourceList"),
    ("/apis/operator.tigera.io/v1", "V1APIResourceList"),
])
def test_served_documents_match_the_models(k8s_emulator, path, model):
    answer = requests.get(k8s_emulator.base_url + path, headers={"Authorization": f"Bearer {k8s_emulator.token}"},
                          verify=k8s_emulator.ca_file, timeout=10)
    data = answer.json()
    assert check_shape(data, model) == []
    # And the client turns it into its model without losing anything.
    typed = client.ApiClient().deserialize(answer.text, model, answer.headers["Content-Type"])
    assert type(typed).__name__ == model


def test_unauthorized_status_is_the_api_servers(k8s_emulator):
    answer = requests.get(k8s_emulator.base_url + "/api/v1/nodes", headers={"Authorization": "Bearer wrong"},
                          verify=k8s_emulator.ca_file, timeout=10)
    assert answer.status_code == 401
    assert answer.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                             "message": "Unauthorized", "reason": "Unauthorized", "code": 401}
    assert "wrong" not in json.dumps(k8s_emulator.requests())
    missing = requests.get(k8s_emulator.base_url + "/api/v1/nodes", verify=k8s_emulator.ca_file, timeout=10)
    assert missing.status_code == 401


@pytest.mark.parametrize("method, path, headers, body, code, reason", [
    ("PATCH", "/api/v1/nodes/node-0", {"Content-Type": "text/plain"}, "x", 415, "UnsupportedMediaType"),
    ("POST", "/api/v1/nodes/node-0", {"Content-Type": "application/json"}, "{}", 405, "MethodNotAllowed"),
    ("PUT", "/api/v1/nodes/node-0", {"Content-Type": "application/json"}, "{not json", 400, "BadRequest"),
    ("PATCH", "/api/v1/nodes/node-0", {"Content-Type": "application/apply-patch+yaml"}, "{}", 400, "BadRequest"),
    ("GET", "/api/v1/nodes/ghost", {}, None, 404, "NotFound"),
])
def test_error_statuses(k8s_emulator, method, path, headers, body, code, reason):
    answer = requests.request(method, k8s_emulator.base_url + path, data=body, verify=k8s_emulator.ca_file,
                              headers={"Authorization": f"Bearer {k8s_emulator.token}", **headers}, timeout=10)
    assert answer.status_code == code
    status = answer.json()
    assert (status["kind"], status["status"], status["reason"], status["code"]) == ("Status", "Failure", reason, code)
    assert k8s_emulator.counts()["writes"] == 0


def test_shape_check_catches_unknown_keys_and_wrong_types():
    assert check_shape({"metadata": {"name": "x", "bogus": 1}, "spec": {"podCIDRs": "10.0.0.0/24"}}, "V1Node") == [
        ".metadata.bogus: unknown field of V1ObjectMeta", ".spec.podCIDRs: expected a list, got str"]
