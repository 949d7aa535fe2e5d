# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IP forwarding on scale-set node pools: the model change and the instance plan (pure, no SDK).

On a Uniform scale set forwarding lives in the model,
``properties.virtualMachineProfile.networkProfile.networkInterfaceConfigurations[].properties.enableIPForwarding``;
instances get it when they run the latest model. On a Flexible set the
instances are ordinary VMs with ordinary NICs (handled by the NIC machinery).
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.calico.azure.plugins.module_utils._diff import merged_diff, state_diff

FORWARDING = "enableIPForwarding"
UNIFORM = "Uniform"
FLEXIBLE = "Flexible"
MANUAL = "Manual"
PLATFORM_UPGRADES = ("Automatic", "Rolling")


def orchestration_mode(scale_set: Mapping[str, Any]) -> str:
    return str((scale_set.get("properties") or {}).get("orchestrationMode") or UNIFORM)


def upgrade_mode(scale_set: Mapping[str, Any]) -> str:
    return str(((scale_set.get("properties") or {}).get("upgradePolicy") or {}).get("mode") or MANUAL)


def nic_configurations(scale_set: Mapping[str, Any]) -> List[Dict[str, Any]]:
    profile = (scale_set.get("properties") or {}).get("virtualMachineProfile") or {}
    return list(((profile.get("networkProfile") or {}).get("networkInterfaceConfigurations")) or [])


def _is_primary(config: Mapping[str, Any], count: int) -> bool:
    return bool((config.get("properties") or {}).get("primary")) or count == 1


def configurations_to_change(scale_set: Mapping[str, Any], enabled: bool, all_nics: bool) -> List[str]:
    """Names of the NIC configurations whose flag differs from ``enabled`` (the primary one, or all)."""
    configs = nic_configurations(scale_set)
    return [
        str(c.get("name"))
        for c in configs
        if (all_nics or _is_primary(c, len(configs))) and bool((c.get("properties") or {}).get(FORWARDING)) != enabled
    ]


def model_patch(scale_set: Mapping[str, Any], enabled: bool, all_nics: bool) -> Optional[Dict[str, Any]]:
    """The PATCH body that changes only the flag, or None when nothing changes.

    Compute's PATCH replaces arrays, so the body carries the whole
    ``networkInterfaceConfigurations`` array exactly as read, with only
    ``enableIPForwarding`` changed on the configurations that need it.
    """
    names = set(configurations_to_change(scale_set, enabled, all_nics))
    if not names:
        return None
    configs = copy.deepcopy(nic_configurations(scale_set))
    for config in configs:
        if str(config.get("name")) in names:
            config.setdefault("properties", {})[FORWARDING] = enabled
    return {"properties": {"virtualMachineProfile": {"networkProfile": {"networkInterfaceConfigurations": configs}}}}


def instance_id(instance: Mapping[str, Any]) -> str:
    return str(instance.get("instanceId") or instance.get("name"))


def stale_instances(instances: Sequence[Mapping[str, Any]]) -> List[str]:
    """Ids of the instances that do not run the latest model, in the order listed."""
    return [instance_id(i) for i in instances if (i.get("properties") or {}).get("latestModelApplied") is False]


def needs_upgrade_call(scale_set: Mapping[str, Any], stale: Sequence[str]) -> bool:
    """Only a Manual policy needs ``manualupgrade``; Automatic and Rolling are upgraded by Azure itself."""
    return bool(stale) and upgrade_mode(scale_set) not in PLATFORM_UPGRADES


def _instance_of_nic(nic: Mapping[str, Any]) -> Optional[str]:
    vm_id = ((nic.get("properties") or {}).get("virtualMachine") or {}).get("id") or ""
    return vm_id.rstrip("/").rsplit("/", 1)[-1] if vm_id else None


def primary_nics(nics: Sequence[Mapping[str, Any]]) -> Dict[str, Mapping[str, Any]]:
    """Instance id -> its primary NIC, from one list of the scale set's NICs."""
    by_instance: Dict[str, List[Mapping[str, Any]]] = {}
    for nic in nics:
        owner = _instance_of_nic(nic)
        if owner is not None:
            by_instance.setdefault(owner, []).append(nic)
    return {
        owner: next((n for n in found if (n.get("properties") or {}).get("primary")), found[0])
        for owner, found in by_instance.items()
    }


def primary_ip(nic: Optional[Mapping[str, Any]]) -> Optional[str]:
    configs = ((nic or {}).get("properties") or {}).get("ipConfigurations") or []
    for config in sorted(configs, key=lambda c: not (c.get("properties") or {}).get("primary")):
        props = config.get("properties") or {}
        if props.get("privateIPAddressVersion", "IPv4") == "IPv4" and props.get("privateIPAddress"):
            return str(props["privateIPAddress"])
    return None


def instance_records(
    scale_set: Mapping[str, Any],
    instances: Sequence[Mapping[str, Any]],
    nics_before: Sequence[Mapping[str, Any]],
    after: Mapping[str, Tuple[bool, bool]],
) -> List[Dict[str, Any]]:
    """One record per instance: name, id, private IP, forwarding before/after, latest model.

    ``after``: instance id -> (forwarding after, latest model after), as the run
    measured it (or, in check mode, predicts it); forwarding None = as before.
    """
    nics = primary_nics(nics_before)
    records = []
    for instance in instances:
        iid = instance_id(instance)
        props = instance.get("properties") or {}
        nic = nics.get(iid)
        before = bool(((nic or {}).get("properties") or {}).get(FORWARDING))
        forwarding_after, latest_after = after.get(iid, (before, props.get("latestModelApplied") is not False))
        if forwarding_after is None:  # not known yet (Azure's rollout not waited for): as it was
            forwarding_after = before
        records.append({
            "scale_set": scale_set.get("name"),
            "name": (props.get("osProfile") or {}).get("computerName") or instance.get("name"),
            "instance_id": iid,
            "id": instance.get("id"),
            "private_ip": primary_ip(nic),
            "forwarding_before": before,
            "forwarding_after": forwarding_after,
            "latest_model_before": props.get("latestModelApplied") is not False,
            "latest_model_after": latest_after,
            "changed": before != forwarding_after or (props.get("latestModelApplied") is False and latest_after),
        })
    return records


def model_diff(scale_set_name: str, changed_configs: Sequence[str], enabled: bool, upgrade: Sequence[str],
               policy: str) -> List[Tuple[str, Dict[str, str]]]:
    """A Uniform scale set's part of the --diff: its model's NIC configurations and the instances brought to it."""
    how = "manualupgrade" if policy not in PLATFORM_UPGRADES else "upgraded by Azure (%s policy)" % policy
    before = {"nic_configurations/%s.%s" % (name, FORWARDING): not enabled for name in changed_configs}  # type: Dict[str, Any]
    after = {"nic_configurations/%s.%s" % (name, FORWARDING): enabled for name in changed_configs}  # type: Dict[str, Any]
    before.update(("instances/%s.latest_model" % iid, False) for iid in upgrade)
    after.update(("instances/%s.latest_model" % iid, "true (%s)" % how) for iid in upgrade)
    label = "scale set %s" % scale_set_name
    return [(label, state_diff(before, after, name=label))]


def vm_nic_diff(scale_set_name: str, record: Mapping[str, Any]) -> Tuple[str, Dict[str, str]]:
    """A Flexible scale set's part of the --diff: one member VM's NIC (a record of azure_nic_forwarding's run)."""
    label = "scale set %s VM %s NIC %s" % (scale_set_name, record["vm"], record["name"])
    return label, state_diff({FORWARDING: record["forwarding_before"]}, {FORWARDING: record["forwarding_after"]}, name=label)


def scale_sets_diff(diffs: Sequence[Tuple[str, Dict[str, str]]]) -> Dict[str, str]:
    """The module's --diff: each scale set's lines (:func:`model_diff`, :func:`vm_nic_diff`) under its name."""
    return merged_diff(diffs, name="scale sets")
