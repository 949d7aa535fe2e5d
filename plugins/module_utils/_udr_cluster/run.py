# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ClusterRun: the Azure part of a udr cluster in one pass (azure_udr_cluster).

Reads, side by side: the route table (whose routes the pod-CIDR plan needs),
one NIC list per resource group of the VMs and, per Uniform scale set, its
model, instances and scale-set NIC list. Then, pure: the node plan
(``_k8s.plan.plan_nodes``, as the udr role's filter), the routes
(``plan_routes``). Then the route table's own reads and checks
(:class:`~.._udr.api.RouteTableConverger`: the VNet, subnets, limits,
ownership). Only when all of that passed: forwarding (one wave of NIC writes,
one model write and upgrade per Uniform scale set), then the one route-table
write with If-Match. Check mode: the same reads, no write, exact ``changed``.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.calico.azure.plugins.module_utils._k8s.plan import plan_nodes, plan_routes
from ansible_collections.calico.azure.plugins.module_utils._azure.errors import AzureNotFound
from ansible_collections.calico.azure.plugins.module_utils._diff import state_diff
from ansible_collections.calico.azure.plugins.module_utils._nic.api import ERRORS, ArmNicApi
from ansible_collections.calico.azure.plugins.module_utils._nic.run import ForwardingRun, NicReadSet
from ansible_collections.calico.azure.plugins.module_utils._nic.transform import (
    NIC_TYPE,
    FORWARDING_PROPERTY,
    nic_label,
    failure_message,
    private_ips,
    ref_from_id,
)
from ansible_collections.calico.azure.plugins.module_utils._udr import logic
from ansible_collections.calico.azure.plugins.module_utils._udr.api import RouteTableConverger, UdrArm, ValidationFailed
from ansible_collections.calico.azure.plugins.module_utils._udr_cluster import resolve
from ansible_collections.calico.azure.plugins.module_utils._vmss import plan as vmss_plan
from ansible_collections.calico.azure.plugins.module_utils._vmss.api import ArmScaleSetApi
from ansible_collections.calico.azure.plugins.module_utils._vmss.run import converge_uniform, read_uniform

ROUTE_TABLE_KEYS = (
    "resource_group", "name", "location", "purge_routes", "cluster_cidr", "subnets", "force_subnet_association",
    "replace_subnet_route_table", "cluster_name", "node_pool", "purge_foreign_routes", "allow_empty_purge",
    "disable_bgp_route_propagation", "tags", "purge_tags",
)


class ClusterRun(object):
    """One run of azure_udr_cluster; :meth:`run` returns the result or raises ValidationFailed before any write."""

    def __init__(
        self,
        client: Any,
        subscription_id: str,
        params: Mapping[str, Any],
        check_mode: bool,
        warn: Callable[[str], None],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.subscription_id = subscription_id
        self.params = params
        self.check_mode = check_mode
        self.warn = warn
        self.sleep = sleep
        self.table_params: Dict[str, Any] = {k: params.get(k) for k in ROUTE_TABLE_KEYS}
        self.table_params.update(state="present", routes=None, dual_stack_route_names=False)
        self.nic_api = ArmNicApi(client)
        self.ss_api = ArmScaleSetApi(client, sleep)
        self.forwarding = ForwardingRun(self.nic_api, ERRORS, enabled=True, check_mode=check_mode,
                                        all_nics=params["all_nics"], max_parallel=params["max_parallel"])
        # Filled by the reads, used by the forwarding step.
        self.read_set = NicReadSet()
        self.uniform: List[Tuple[Dict[str, Any], List[Dict[str, Any]], List[Dict[str, Any]]]] = []
        self.nic_records: List[Dict[str, Any]] = []
        self.scale_set_summaries: List[Dict[str, Any]] = []
        self.instance_records: List[Dict[str, Any]] = []
        self.forwarding_diffs: List[Tuple[str, Dict[str, str]]] = []
        self.forwarding_changed = False

    # -- the plan of the nodes (pure) --

    def _plan(self, existing_routes: Sequence[Mapping[str, Any]]) -> Dict[str, Any]:
        p = self.params
        return plan_nodes(
            p["node_source"], p["kubernetes_nodes"], p["inventory"], p["selected_hosts"], existing_routes,
            p["pod_cidr_pool"] or None, p["node_mask_size"], p["allocate_pod_cidrs"],
            bool(p["purge_routes"]) and p["manage_routes"])

    # -- reads --

    def _read_vm_group(self, subscription_id: str, resource_group: str) -> List[Dict[str, Any]]:
        return self.nic_api.list_group(subscription_id, resource_group, NIC_TYPE)

    def _read_scale_set(self, ss_id: str) -> Tuple[Dict[str, Any], List[Dict[str, Any]], List[Dict[str, Any]]]:
        scale_set = self.ss_api.get(ss_id)
        if vmss_plan.orchestration_mode(scale_set) == vmss_plan.FLEXIBLE:
            return scale_set, [], []
        instances, nics = read_uniform(self.ss_api, scale_set)
        return scale_set, instances, nics

    def _resolve(self, pool: ThreadPoolExecutor, targets: resolve.NodeTargets, errors: List[str]) -> List[Dict[str, Any]]:
        """Every node's NIC(s) read into ``self.read_set`` / ``self.uniform``; the IP records for plan_routes."""
        group_reads = [(group, pool.submit(self._read_vm_group, *group)) for group in targets.vm_groups()]
        ss_reads = [(entry, pool.submit(self._read_scale_set, entry["id"])) for entry in targets.scale_sets.values()]
        listed: Dict[str, List[Mapping[str, Any]]] = {}
        for (subscription_id, resource_group), read in group_reads:
            try:
                listed.update(resolve.nics_by_vm(read.result()))
            except AzureNotFound:
                continue  # the resource group is missing: each VM's own read below names it
        vm_refs = list(targets.vms.values())
        for entry, read in ss_reads:
            try:
                scale_set, instances, nics = read.result()
            except AzureNotFound:
                errors.extend("node %s: its spec.providerID names scale set %s, which does not exist (%s)"
                              % (node, entry["name"], entry["id"]) for node in sorted(entry["members"].values()))
                continue
            if vmss_plan.orchestration_mode(scale_set) == vmss_plan.FLEXIBLE:
                for iid, node in entry["members"].items():
                    ref = ref_from_id(resolve.flexible_member_vm(scale_set, iid))
                    if ref is not None:
                        vm_refs.append((ref, [node]))
                continue
            errors.extend(resolve.member_errors(scale_set, instances, entry["members"]))
            self.uniform.append((scale_set, instances, nics))
        records: List[Dict[str, Any]] = []
        fallback = []
        for ref, _nodes in vm_refs:
            picked = resolve.pick_nics(listed.get(ref.id.lower(), []), self.params["all_nics"])
            if picked is None:
                fallback.append(ref)
                continue
            for nic in picked:
                nic_ref = ref_from_id(str(nic.get("id")))
                if nic_ref is None or nic_ref.key in self.read_set.nics:
                    continue
                self.read_set.targets.append((nic_ref, ref.name))
                self.read_set.nics[nic_ref.key] = dict(nic)
        if fallback:
            # The VM's NICs are in another group (or the list cannot tell its primary): the VM, then its NICs.
            extra = self.forwarding.read(fallback, [])
            self.read_set.targets.extend(extra.targets)
            self.read_set.nics.update(extra.nics)
            for failure in extra.failures:
                names = [node for ref, nodes in vm_refs if ref.name.lower() in failure.target.lower() for node in nodes]
                errors.append("node%s %s: %s %s (the VM is looked up in the group of its spec.providerID, or in "
                              "vm_resource_group: udr_vm_resource_group, or udr_vm_name per host, in the udr role)"
                              % ("s" if len(names) > 1 else "", ", ".join(names) or "?", failure.target, failure.reason))
        for ref, vm_name in self.read_set.targets:
            if ref.key in self.read_set.nics:
                ipv4, ipv6 = private_ips(self.read_set.nics[ref.key])
                records.append({"vm": vm_name, "private_ip": ipv4, "private_ipv6": ipv6})
        for scale_set, _instances, nics in self.uniform:
            for iid, (ipv4, ipv6) in resolve.instance_ips(nics).items():
                records.append({"vm": "%s_%s" % (scale_set["name"], iid), "private_ip": ipv4, "private_ipv6": ipv6})
        return records

    # -- the writes, once every check passed --

    def _forward(self) -> None:
        outcome = self.forwarding.write(self.read_set)
        for note in outcome.notes:
            self.warn(note)
        self.nic_records = outcome.records
        self.forwarding_diffs.extend(
            (nic_label(r), state_diff({FORWARDING_PROPERTY: r["forwarding_before"]},
                                      {FORWARDING_PROPERTY: r["forwarding_after"]}, name=nic_label(r)))
            for r in outcome.records if r["changed"])
        if outcome.failures:
            raise ValidationFailed(failure_message(outcome.failures, outcome.records, True, check_mode=self.check_mode,
                                                   written=outcome.written) + "; the route table was not written")
        self.forwarding_changed = outcome.changed
        options = {"enabled": True, "all_nics": self.params["all_nics"],
                   "wait_for_upgrade": self.params["wait_for_upgrade"],
                   "upgrade_timeout": self.params["upgrade_timeout"]}
        for scale_set, instances, nics in self.uniform:
            summary, records, changed = converge_uniform(self.ss_api, scale_set, instances, nics, options,
                                                         self.check_mode, self.forwarding_diffs, self.sleep)
            self.scale_set_summaries.append(summary)
            self.instance_records.extend(records)
            self.forwarding_changed = self.forwarding_changed or changed

    # -- the whole run --

    def run(self) -> Dict[str, Any]:
        converger = RouteTableConverger(UdrArm(lambda: self.client, self.subscription_id), self.table_params,
                                        self.check_mode, self.warn, before_write=self._forward)
        # Which VMs is known before the table is read (only the pod CIDRs need its routes): read both side by side.
        first = self._plan(())
        targets = resolve.split_nodes(first["nodes"], self.subscription_id, self.params["vm_resource_group"])
        errors: List[str] = list(targets.errors)
        with self.forwarding, ThreadPoolExecutor(max_workers=self.params["max_parallel"]) as pool:
            table_read = pool.submit(converger.read_table)
            records = self._resolve(pool, targets, errors)
            table = table_read.result()
        existing = logic.table_result(table)["routes"] if table else []
        node_plan = self._plan(existing)
        errors = list(node_plan["errors"]) + errors
        if errors:
            raise ValidationFailed(*errors)
        routes_plan = plan_routes(node_plan, records, self.params["vnet_address_prefixes"], existing,
                                  (self.params["cluster_cidr"] or [None])[0] if self.params["purge_routes"] else None)
        for warning in routes_plan["warnings"]:
            self.warn(warning)
        if self.params["manage_routes"]:
            if routes_plan["problems"]:
                raise ValidationFailed(*routes_plan["problems"])
            self.table_params["routes"] = routes_plan["routes"]
            self.table_params["dual_stack_route_names"] = node_plan["dual_stack"]
        # The checks of the table see the nodes' NICs as the forwarding step leaves them (no list read again).
        known = [resolve.as_forwarded(nic) for nic in self.read_set.nics.values()]
        known += [resolve.as_forwarded(nic) for _ss, _instances, nics in self.uniform for nic in nics]
        converger.known_nics = (known, sorted({ref.resource_group for ref, _vm in self.read_set.targets}))
        with self.forwarding:
            table_result = converger.present()
        result = dict(table_result)
        result["changed"] = bool(table_result["changed"]) or self.forwarding_changed
        result.pop("diff", None)
        result.update(
            nodes=[dict(n, private_ip=_ip_of(n, records)) for n in node_plan["nodes"]],
            nodes_to_patch=node_plan["patches"],
            routes=routes_plan["routes"] if self.params["manage_routes"] else [],
            nics=self.nic_records,
            scale_sets=self.scale_set_summaries,
            instances=self.instance_records,
            writes={
                "nics": len([r for r in self.nic_records if r["changed"]]),
                "scale_set_models": len([s for s in self.scale_set_summaries if s["model_changed"]]),
                "scale_set_upgrades": len([s for s in self.scale_set_summaries if s["upgraded_instances"]]),
                "route_table": int(converger.table_write_needed),
                "subnets": len(table_result["subnets_associated"]),
            },
        )
        diff = resolve.build_diff(table_result.get("diff") if table_result["changed"] else None,
                                  self.forwarding_diffs)
        if diff:
            result["diff"] = diff
        return result


def _ip_of(node: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> Optional[str]:
    for record in records:
        if (record.get("vm") or "").lower() == str(node.get("vm_name") or "").lower():
            return record.get("private_ip")
    return None
