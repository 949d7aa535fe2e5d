# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A Uniform scale set's forwarding run over ArmScaleSetApi: read, then model write and upgrade.

Shared by azure_vmss_forwarding and azure_udr_cluster. Split in two so that a
caller can check everything it read (the instances' private IPs for routes)
before the first write: :func:`read_uniform` reads the model, the instances
and the instance NICs (one paged list each); :func:`converge_uniform` writes
the model once (If-Match) and brings the stale instances to it.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Mapping, Tuple

from ansible_collections.calico.azure.plugins.module_utils._vmss import plan

UPGRADE_POLL_SECONDS = 15


class UpgradeTimeout(Exception):
    """Azure's own rollout (Automatic or Rolling policy) did not reach every instance in time."""


def read_uniform(api: Any, scale_set: Mapping[str, Any]) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """The instances and their NICs (the model is ``scale_set``, read by the caller)."""
    return api.instances(scale_set["id"]), api.nics(scale_set["id"])


def converge_uniform(
    api: Any,
    scale_set: Mapping[str, Any],
    instances: List[Dict[str, Any]],
    nics: List[Dict[str, Any]],
    params: Mapping[str, Any],
    check_mode: bool,
    diff: List[Tuple[str, Dict[str, str]]],
    sleep: Callable[[float], None] = time.sleep,
) -> Tuple[Dict[str, Any], List[Dict[str, Any]], bool]:
    """Model write and upgrade (none in check mode): the summary, one record per instance, changed."""
    ss_id = scale_set["id"]
    enabled, all_nics = params["enabled"], params["all_nics"]
    policy = plan.upgrade_mode(scale_set)
    changed_configs = plan.configurations_to_change(scale_set, enabled, all_nics)
    patch = plan.model_patch(scale_set, enabled, all_nics)
    # After a model write every instance is behind; before it, those listed as stale are.
    stale = [plan.instance_id(i) for i in instances] if patch else plan.stale_instances(instances)
    upgrade_call = plan.needs_upgrade_call(scale_set, stale)
    upgraded: List[str] = []
    if not check_mode:
        if patch:
            api.patch_model(ss_id, patch, scale_set.get("etag"))
        if upgrade_call:
            api.manual_upgrade(ss_id, stale)
            upgraded = list(stale)
        elif stale and params["wait_for_upgrade"]:
            wait_for_latest_model(api, ss_id, params["upgrade_timeout"], sleep)
    waits_for_azure = policy in plan.PLATFORM_UPGRADES and not params["wait_for_upgrade"]
    wanted = {}
    model_value = {str(c.get("name")): bool((c.get("properties") or {}).get(plan.FORWARDING))
                   for c in plan.nic_configurations(scale_set)}
    for config in changed_configs:
        model_value[config] = enabled
    primary = next((c for c in plan.nic_configurations(scale_set) if (c.get("properties") or {}).get("primary")),
                   (plan.nic_configurations(scale_set) or [{}])[0])
    for instance in instances:
        iid = plan.instance_id(instance)
        upgraded_now = iid in stale and not waits_for_azure
        if upgraded_now or iid not in stale:
            wanted[iid] = (model_value.get(str(primary.get("name")), False), True)
        else:  # left to Azure's own rollout, not waited for: as the instance was
            wanted[iid] = (None, False)
    if patch or stale:
        diff.extend(plan.model_diff(scale_set["name"], changed_configs, enabled, stale, policy))
    records = plan.instance_records(scale_set, instances, nics, wanted)
    summary = {"name": scale_set["name"], "id": ss_id, "orchestration_mode": plan.UNIFORM, "upgrade_policy": policy,
               "model_changed": bool(patch), "upgraded_instances": upgraded if not check_mode else
               (list(stale) if upgrade_call else [])}
    return summary, records, bool(patch) or upgrade_call


def wait_for_latest_model(api: Any, ss_id: str, timeout: float, sleep: Callable[[float], None] = time.sleep) -> None:
    deadline = time.monotonic() + timeout
    while True:
        stale = plan.stale_instances(api.instances(ss_id))
        if not stale:
            return
        if time.monotonic() >= deadline:
            raise UpgradeTimeout(
                "Instances %s of scale set %s still do not run the latest model after %d seconds of Azure's own "
                "upgrade; raise upgrade_timeout or set wait_for_upgrade=false." % (", ".join(stale), ss_id, timeout))
        sleep(UPGRADE_POLL_SECONDS)
