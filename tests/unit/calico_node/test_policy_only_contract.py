# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The contract: what the conversion makes of Calico's own manifests equals Calico's calico-policy-only.yaml.

Every release directory under ../shared/calico-manifests with a
calico-policy-only.yaml is used, and every calico*.yaml in it whose calico-node
runs a networking backend (bird or vxlan) is converted. Nothing below names a
release, a line number or a file's layout: the fields are found through the
structure (the DaemonSet's calico-node container, the ConfigMap keys its env
refers to, the CNI config that CNI_NETWORK_CONFIG names), so the test holds
for any release of the same shape.

Compared fields (parsed YAML, field by field, converted vs calico-policy-only):
  - CALICO_NETWORKING_BACKEND, effective (inline or through its ConfigMap key)
  - the calico-node container's readinessProbe and livenessProbe
  - the ipam object of the CNI config's calico plugin
  - CALICO_IPV4POOL_IPIP, CALICO_IPV4POOL_VXLAN, CALICO_IPV6POOL_VXLAN, effective,
    where unset counts as Never (calico-policy-only.yaml leaves them unset, the
    conversion writes Never where the input set them) and Off is Never's synonym
  - CLUSTER_TYPE, USE_POD_CIDR, CALICO_IPV4POOL_CIDR (effective)
Everything else: every other document byte-identical, the two edited documents
equal the input's once the compared fields are taken out of both, every comment
line kept.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from ansible_collections.calico.azure.plugins.module_utils._calico.policy_only import convert
from helpers.shared import shared_dir

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ENCAPSULATION = ("CALICO_IPV4POOL_IPIP", "CALICO_IPV4POOL_VXLAN", "CALICO_IPV6POOL_VXLAN")
COMPARED_ENV = ("CALICO_NETWORKING_BACKEND", "CLUSTER_TYPE", "USE_POD_CIDR", "CALICO_IPV4POOL_CIDR") + ENCAPSULATION
PLACEHOLDER = re.compile(r"(:\s*)__[A-Z0-9_]+__")


def manifests_dir() -> Path:
    return shared_dir("calico-manifests")


def load(text):
    return [d for d in yaml.load_all(text, Loader=LOADER) if isinstance(d, dict)]


def calico_node(docs):
    for doc in docs:
        if doc.get("kind") == "DaemonSet":
            spec = doc["spec"]["template"]["spec"]
            for container in spec.get("containers") or []:
                if container.get("name") == "calico-node":
                    return doc, container
    raise AssertionError("no calico-node container")


def containers(daemonset):
    spec = daemonset["spec"]["template"]["spec"]
    return (spec.get("initContainers") or []) + (spec.get("containers") or [])


def configmap(docs, name):
    return [d for d in docs if d.get("kind") == "ConfigMap" and d["metadata"]["name"] == name][0]


def resolve(item, docs):
    if "value" in item:
        return item["value"]
    ref = (item.get("valueFrom") or {}).get("configMapKeyRef")
    if ref:
        return configmap(docs, ref["name"])["data"].get(ref["key"])
    return json.dumps(item.get("valueFrom"), sort_keys=True)


def cni_ref(daemonset):
    for container in containers(daemonset):
        for item in container.get("env") or []:
            if item["name"] == "CNI_NETWORK_CONFIG":
                ref = item["valueFrom"]["configMapKeyRef"]
                return ref["name"], ref["key"]
    raise AssertionError("no CNI_NETWORK_CONFIG")


def cni_config(docs, daemonset):
    name, key = cni_ref(daemonset)
    return json.loads(PLACEHOLDER.sub(r"\g<1>0", configmap(docs, name)["data"][key]))


def calico_plugin(config):
    plugins = config.get("plugins", [config])
    return [p for p in plugins if p.get("type") == "calico"][0]


def policy_only_fields(text):
    docs = load(text)
    daemonset, container = calico_node(docs)
    env = {item["name"]: resolve(item, docs) for item in container.get("env") or []}
    fields = {name: env.get(name) for name in COMPARED_ENV}
    for name in ENCAPSULATION:
        value = fields[name]
        fields[name] = "Never" if value is None or str(value).lower() in ("never", "off") else value
    fields["readinessProbe"] = container.get("readinessProbe")
    fields["livenessProbe"] = container.get("livenessProbe")
    fields["cni ipam"] = calico_plugin(cni_config(docs, daemonset)).get("ipam")
    return fields


def without_compared_fields(text):
    """The DaemonSet and the ConfigMaps it reads, minus every compared field."""
    docs = load(text)
    daemonset, container = calico_node(docs)
    refs = set()
    for item in container.get("env") or []:
        ref = (item.get("valueFrom") or {}).get("configMapKeyRef")
        if item["name"] in COMPARED_ENV and ref:
            refs.add((ref["name"], ref["key"]))
    container["env"] = [i for i in container.get("env") or [] if i["name"] not in COMPARED_ENV]
    container.pop("readinessProbe", None)
    container.pop("livenessProbe", None)
    name, key = cni_ref(daemonset)
    config = cni_config(docs, daemonset)
    calico_plugin(config).pop("ipam")
    configmap(docs, name)["data"][key] = config
    for cm_name, cm_key in refs:
        configmap(docs, cm_name)["data"].pop(cm_key, None)
    return [d for d in docs if d.get("kind") in ("DaemonSet", "ConfigMap")]


def documents(text):
    return re.split(r"(?m)^---(?=[ \t]*$)", text)


def comments(text):
    return Counter(line.strip() for line in text.splitlines() if line.strip().startswith("#"))


def releases():
    return sorted(p.parent for p in manifests_dir().glob("*/calico-policy-only.yaml"))


def bgp_mode_manifests():
    cases = []
    for release in releases():
        for path in sorted(release.glob("calico*.yaml")):
            if path.name == "calico-policy-only.yaml":
                continue
            docs = load(path.read_text(encoding="utf-8"))
            try:
                _ds, container = calico_node(docs)
            except AssertionError:
                continue
            backend = [resolve(i, docs) for i in container.get("env") or [] if i["name"] == "CALICO_NETWORKING_BACKEND"]
            if backend and backend[-1] != "none":
                cases.append(pytest.param(path, id="%s/%s" % (release.name, path.name)))
    return cases


def test_the_contract_is_there():
    """The cases below are discovered: make sure they were (all three releases, eight BGP-mode files)."""
    assert {"v3.5", "v3.28.5", "v3.32.1"} <= {r.name for r in releases()}
    assert len(bgp_mode_manifests()) >= 8


@pytest.mark.parametrize("path", bgp_mode_manifests())
def test_bgp_mode_manifest_becomes_calicos_policy_only_install(path):
    text = path.read_text(encoding="utf-8")
    policy_only = (path.parent / "calico-policy-only.yaml").read_text(encoding="utf-8")
    result = convert(text, str(path))
    assert result.changes
    assert result.release_known and result.version_source == "image"

    assert policy_only_fields(result.text) == policy_only_fields(policy_only)
    # Nothing else changed: other documents byte for byte, the edited ones field for field, every comment.
    before_docs, after_docs = documents(text), documents(result.text)
    assert len(before_docs) == len(after_docs)
    edited = [i for i, (a, b) in enumerate(zip(before_docs, after_docs)) if a != b]
    assert 1 <= len(edited) <= 2
    assert without_compared_fields(result.text) == without_compared_fields(text)
    assert comments(result.text) == comments(text)

    again = convert(result.text, str(path))
    assert again.changes == [] and again.text == result.text


@pytest.mark.parametrize("path", bgp_mode_manifests())
def test_the_cluster_cidr_becomes_the_pool_cidr(path):
    result = convert(path.read_text(encoding="utf-8"), str(path), cluster_cidr="10.244.0.0/16")
    assert policy_only_fields(result.text)["CALICO_IPV4POOL_CIDR"] == "10.244.0.0/16"
    assert convert(result.text, str(path), cluster_cidr="10.244.0.0/16").changes == []


@pytest.mark.parametrize("name", ["calico-policy-only.yaml", "canal.yaml"])
def test_calicos_own_policy_only_and_canal_manifests_stay_as_they_are(name):
    for release in releases():
        path = release / name
        text = path.read_text(encoding="utf-8")
        result = convert(text, str(path))
        assert (result.changes, result.text == text) == ([], True), path


def test_canal_gets_the_cluster_cidr_in_flannels_network_and_nothing_else_of_calico():
    for release in releases():
        path = release / "canal.yaml"
        text = path.read_text(encoding="utf-8")
        result = convert(text, str(path), cluster_cidr="10.200.0.0/16")
        docs = load(result.text)
        net_conf = [d for d in docs if d.get("kind") == "ConfigMap" and "net-conf.json" in d.get("data", {})][0]
        assert json.loads(net_conf["data"]["net-conf.json"])["Network"] == "10.200.0.0/16"
        assert result.kind == "canal"
        fields = policy_only_fields(result.text)
        assert fields["CALICO_IPV4POOL_CIDR"] == "10.200.0.0/16"
        assert {k: v for k, v in fields.items() if k != "CALICO_IPV4POOL_CIDR"} == {
            k: v for k, v in policy_only_fields(text).items() if k != "CALICO_IPV4POOL_CIDR"
        }
        assert convert(result.text, str(path), cluster_cidr="10.200.0.0/16").changes == []
