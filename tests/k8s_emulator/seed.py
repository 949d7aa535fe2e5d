# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Seeds: what the cluster holds after ``reset``; and :func:`nodes_for`, a seed of N Azure-backed nodes.

A seed is a dict (or a YAML/JSON file, or a name under ``seeds/``) with lists under
``nodes``, ``configmaps``, ``daemonsets``, ``namespaces``, ``crds``, ``installations``
and ``objects`` (any kind the stand-in serves). Nodes may use a short form::

    nodes:
      - name: node-0
        labels: {kubernetes.io/os: linux}
        podCIDR: 10.244.0.0/24          # or podCIDRs: [...]
        providerID: azure:///subscriptions/.../virtualMachines/node-0
        addresses: [{type: InternalIP, address: 10.240.0.4}]

``installation_crd()`` reads the Tigera operator's Installation CRD from ../shared.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import yaml

SEEDS_DIR = Path(__file__).resolve().parent / "seeds"
REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    if os.environ.get("CALICO_AZURE_SHARED"):
        return Path(os.environ["CALICO_AZURE_SHARED"])
    for parent in [REPO_ROOT, *REPO_ROOT.parents]:
        candidate = parent / "shared"
        if (candidate / "calico-manifests").is_dir():
            return candidate
    return REPO_ROOT.parent / "shared"


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the CRD is 1.4 MB, pure-Python YAML takes seconds


@functools.lru_cache(maxsize=8)
def _crd_json(release: str) -> str:
    path = shared_dir() / "calico-manifests" / release / "operator.tigera.io_installations.crd.yaml"
    return json.dumps(yaml.load(path.read_text(), Loader=_LOADER))


def installation_crd(release: str = "v3.32.1") -> dict:
    """The unmodified operator.tigera.io Installation CRD of a Calico release (parsed once per process)."""
    return json.loads(_crd_json(release))


def load_seed(seed) -> dict:
    if seed is None:
        return {}
    if isinstance(seed, dict):
        data = dict(seed)
    else:
        path = Path(seed)
        if not path.exists() and (SEEDS_DIR / str(seed)).exists():
            path = SEEDS_DIR / str(seed)
        text = path.read_text()
        data = json.loads(text) if path.suffix == ".json" else yaml.load(text, Loader=_LOADER) or {}
    crds = []
    for crd in data.get("crds", []):
        crds.append(installation_crd(crd.split(":", 1)[1]) if isinstance(crd, str) and crd.startswith("installation:")
                    else installation_crd() if crd == "installation" else crd)
    data["crds"] = crds
    data["nodes"] = [node_object(n) for n in data.get("nodes", [])]
    data["configmaps"] = [_namespaced(o, "v1", "ConfigMap") for o in data.get("configmaps", [])]
    data["daemonsets"] = [_namespaced(o, "apps/v1", "DaemonSet") for o in data.get("daemonsets", [])]
    data["installations"] = [_installation(o) for o in data.get("installations", [])]
    return data


def _namespaced(obj: dict, api_version: str, kind: str) -> dict:
    obj = dict(obj)
    obj.setdefault("apiVersion", api_version)
    obj.setdefault("kind", kind)
    return obj


def _installation(obj: dict) -> dict:
    obj = dict(obj)
    obj.setdefault("apiVersion", "operator.tigera.io/v1")
    obj.setdefault("kind", "Installation")
    obj.setdefault("metadata", {}).setdefault("name", "default")
    return obj


def node_object(node: dict) -> dict:
    """A v1 Node from the short form (or a full object, returned as given)."""
    if "metadata" in node:
        return {"apiVersion": "v1", "kind": "Node", **node}
    name = node["name"]
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              **(node.get("labels") or {})}
    spec = {}
    if node.get("podCIDRs"):
        spec["podCIDRs"] = list(node["podCIDRs"])
        spec["podCIDR"] = node["podCIDRs"][0]
    elif node.get("podCIDR"):
        spec["podCIDR"], spec["podCIDRs"] = node["podCIDR"], [node["podCIDR"]]
    if node.get("providerID"):
        spec["providerID"] = node["providerID"]
    if node.get("taints"):
        spec["taints"] = node["taints"]
    addresses = node.get("addresses") or []
    if not any(a.get("type") == "Hostname" for a in addresses):
        addresses = list(addresses) + [{"type": "Hostname", "address": name}]
    status = {
        "addresses": addresses,
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                        "message": "kubelet is posting ready status", "lastHeartbeatTime": "2026-01-01T00:00:00Z",
                        "lastTransitionTime": "2026-01-01T00:00:00Z"}],
        "nodeInfo": {"machineID": "", "systemUUID": "", "bootID": "", "kernelVersion": "6.8.0-1021-azure",
                     "osImage": "Ubuntu 24.04.1 LTS", "containerRuntimeVersion": "containerd://1.7.24",
                     "kubeletVersion": "v1.32.4", "kubeProxyVersion": "v1.32.4", "operatingSystem": "linux",
                     "architecture": "amd64"},
        "capacity": {"cpu": "2", "memory": "8129212Ki", "pods": "110"},
        "allocatable": {"cpu": "2", "memory": "8026812Ki", "pods": "110"},
    }
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels, **({"annotations": node["annotations"]} if node.get("annotations") else {})},
            "spec": spec, "status": status}


def vm_provider_id(subscription: str, resource_group: str, vm: str) -> str:
    return f"azure:///subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Compute/virtualMachines/{vm}"


def vmss_provider_id(subscription: str, resource_group: str, scale_set: str, instance_id: str | int) -> str:
    return (f"azure:///subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Compute/"
            f"virtualMachineScaleSets/{scale_set}/virtualMachines/{instance_id}")


def nodes_for(count: int, subscription: str = "00000000-0000-0000-0000-000000000000", resource_group: str = "rg-k8s",
              prefix: str = "node", pod_cidr_base: str = "10.244.0.0/16", pod_cidr_prefix: int = 24,
              subnet_base: str = "10.240.0.0/16", scale_set: str | None = None, assign_pod_cidrs: bool = True,
              control_plane: int = 1, extra: dict | None = None) -> dict:
    """A seed with ``count`` nodes whose providerIDs name VMs ``<prefix>-<i>`` (or instances ``i`` of ``scale_set``).

    Node i gets the i-th /``pod_cidr_prefix`` of ``pod_cidr_base`` and InternalIP = host 4+i of
    ``subnet_base``; the first ``control_plane`` nodes carry the control-plane label.
    The node name of a scale-set instance is ``<scale_set>00000<i>`` as Azure's computer names are.
    """
    import ipaddress

    pool = ipaddress.ip_network(pod_cidr_base).subnets(new_prefix=pod_cidr_prefix)
    subnet = ipaddress.ip_network(subnet_base)
    nodes = []
    for index in range(count):
        cidr = str(next(pool))
        if scale_set:
            name = f"{scale_set}{index:06d}"
            provider = vmss_provider_id(subscription, resource_group, scale_set, index)
        else:
            name = f"{prefix}-{index}"
            provider = vm_provider_id(subscription, resource_group, name)
        labels = {"node-role.kubernetes.io/control-plane": ""} if index < control_plane else {}
        node = {"name": name, "labels": labels, "providerID": provider,
                "addresses": [{"type": "InternalIP", "address": str(subnet.network_address + 4 + index)}]}
        if assign_pod_cidrs:
            node["podCIDR"] = cidr
        nodes.append(node)
    return {"nodes": nodes, **(extra or {})}
