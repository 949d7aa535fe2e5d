# -*- coding: utf-8 -*-
# Copyright (c) calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters for the udr role: the node plan, the routes, pod CIDR allocation and its preconditions.

Documentation lives in the sidecar files udr_plan.yml, udr_routes.yml,
allocate_pod_cidrs.yml and pod_cidr_problems.yml; the logic in
module_utils/_k8s/plan.py and module_utils/_pod_cidrs/allocation.py.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.calico.azure.plugins.module_utils._pod_cidrs.allocation import (
    AZURE_MAX_ROUTES_PER_TABLE,
    PodCidrError,
    allocate_pod_cidrs,
    pod_cidr_problems,
)
from ansible_collections.calico.azure.plugins.module_utils._k8s.plan import plan_nodes, plan_routes


def _allocate(nodes, cluster_cidr=None, node_mask_size=None, existing_routes=None):
    if not isinstance(nodes, dict):
        raise AnsibleFilterError("allocate_pod_cidrs expects a dict of node name to pod CIDR (or null), got %s"
                                 % type(nodes).__name__)
    try:
        return allocate_pod_cidrs(nodes, cluster_cidr or None, node_mask_size, existing_routes or [])
    except PodCidrError as exc:
        raise AnsibleFilterError(str(exc)) from exc


def _problems(pod_cidrs, vnet_address_prefixes=None, node_ips=None, existing_routes=None, purge_cidr=None,
              max_routes=AZURE_MAX_ROUTES_PER_TABLE):
    return pod_cidr_problems(pod_cidrs, vnet_address_prefixes or [], node_ips or {}, existing_routes or [],
                             purge_cidr or None, int(max_routes))


def _plan(source, kubernetes_nodes=None, inventory=None, selected_hosts=None, existing_routes=None,
          cluster_cidr=None, node_mask_size=None, allocate=False, purge=False):
    if source not in ("kubernetes", "inventory"):
        raise AnsibleFilterError("udr_node_source is %r: use kubernetes or inventory" % (source,))
    return plan_nodes(source, kubernetes_nodes or [], inventory or [], selected_hosts, existing_routes or [],
                      cluster_cidr or None, int(node_mask_size) if node_mask_size else None, bool(allocate), bool(purge))


def _routes(plan, nic_records=None, vnet_address_prefixes=None, existing_routes=None, purge_cidr=None):
    if not isinstance(plan, dict) or "nodes" not in plan:
        raise AnsibleFilterError("udr_routes expects the result of calico.azure.udr_plan")
    return plan_routes(plan, nic_records or [], vnet_address_prefixes or [], existing_routes or [], purge_cidr or None)


def _inventory(hosts, hostvars):
    records = []
    for host in hosts or []:
        host_vars = hostvars[host]
        records.append({
            "host": host,
            "vm": str(host_vars["udr_vm_name"]) if "udr_vm_name" in host_vars else "",
            "pod_cidr": str(host_vars["udr_pod_cidr"] or "") if "udr_pod_cidr" in host_vars else "",
        })
    return records


class FilterModule(object):
    def filters(self):
        return {
            "allocate_pod_cidrs": _allocate,
            "pod_cidr_problems": _problems,
            "udr_inventory": _inventory,
            "udr_plan": _plan,
            "udr_routes": _routes,
        }
