# -*- coding: utf-8 -*-
# Copyright (c) calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the udr role: pod CIDR allocation and its preconditions.

Documentation lives in the sidecar files allocate_pod_cidrs.yml and
pod_cidr_problems.yml; the logic in module_utils/_pod_cidrs/allocation.py.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.calico.azure.plugins.module_utils._pod_cidrs.allocation import (
    AZURE_MAX_ROUTES_PER_TABLE,
    PodCidrError,
    allocate_pod_cidrs,
    pod_cidr_problems,
)


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


class FilterModule(object):
    def filters(self):
        return {
            "allocate_pod_cidrs": _allocate,
            "pod_cidr_problems": _problems,
        }
