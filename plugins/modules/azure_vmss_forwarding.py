#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: azure_vmss_forwarding
short_description: Turn IP forwarding on (or off) for Kubernetes node pools on Azure virtual machine scale sets
version_added: 0.2.0
description:
  - Calico in policy-only mode with user-defined routes needs IP forwarding on every node NIC. Nodes of a
    node pool on a virtual machine scale set get their NICs from the scale set.
  - "B(Uniform scale sets.) Forwarding lives in the scale set's model
    (C(virtualMachineProfile.networkProfile.networkInterfaceConfigurations[].properties.enableIPForwarding)).
    The module sends one PATCH of the model with C(If-Match: <etag>) that carries the NIC configurations
    exactly as read with only that property changed, so nothing else in the model changes. Instances get the
    new model as the scale set's upgrade policy says: C(Manual) - the module calls C(manualupgrade) once for the
    instances whose C(latestModelApplied) is false; C(Automatic) or C(Rolling) - Azure upgrades the instances
    itself (C(Rolling) in batches) and the module makes no upgrade call; with O(wait_for_upgrade=true) it waits
    until every instance reports the latest model."
  - B(Flexible scale sets.) Instances are ordinary virtual machines with ordinary NICs; the module sets
    forwarding on each instance's primary NIC (every NIC with O(all_nics=true)) exactly as
    M(calico.azure.azure_nic_forwarding) does (GET-modify-PUT with If-Match, one property).
  - B(Node IPs.) For a Uniform set, one paged list of the scale set's NICs (Microsoft.Network's scale-set NIC
    API) gives every instance's private IP; RV(instances) reports them for the route tables.
author:
  - calico.azure contributors (@calico-azure)
extends_documentation_fragment:
  - calico.azure.azure
  - calico.azure.attributes
  - calico.azure.attributes.action_group
attributes:
  check_mode:
    support: full
    details:
      - Reads only; RV(ignore:changed) and each RV(instances[].changed) predict exactly what a real run reports.
  diff_mode:
    support: full
    details:
      - One line per NIC configuration of a model that changes, and one per scale set naming the instances
        brought to the latest model.
options:
  resource_group:
    description:
      - Resource group in which scale set B(names) given in O(scale_sets) are looked up.
      - Not needed when every scale set is given as a full resource id.
    type: str
  scale_sets:
    description:
      - The node pools' scale sets, as names (in O(resource_group)) or full resource ids.
    type: list
    elements: str
    required: true
  enabled:
    description:
      - The desired value of IP forwarding on the nodes' NICs.
    type: bool
    default: true
  all_nics:
    description:
      - Set forwarding on every NIC configuration (Uniform) or every NIC of each instance (Flexible) instead of
        only the primary one.
    type: bool
    default: false
  wait_for_upgrade:
    description:
      - With an C(Automatic) or C(Rolling) upgrade policy, wait until every instance reports the latest model
        (at most O(upgrade_timeout) seconds). With C(false) the module returns once the model is written; Azure
        then rolls it out on its own schedule and RV(instances[].latest_model_after) may be false.
      - Not used with a C(Manual) policy, where the module's own C(manualupgrade) call is always waited for.
    type: bool
    default: true
  upgrade_timeout:
    description:
      - Seconds to wait for Azure's own upgrade with O(wait_for_upgrade=true).
    type: int
    default: 1800
  max_parallel:
    description:
      - How many requests to Azure may be in flight at once for the NICs of Flexible scale sets.
    type: int
    default: 10
notes:
  - The scale set's upgrade policy is not changed. With C(Manual), instances that the module did not upgrade
    (none are left) would keep their old NIC settings until upgraded.
seealso:
  - module: calico.azure.azure_nic_forwarding
  - name: Scale set upgrade policies
    description: How Manual, Automatic and Rolling policies bring instances to the latest model.
    link: https://learn.microsoft.com/azure/virtual-machine-scale-sets/virtual-machine-scale-sets-upgrade-policy
"""

EXAMPLES = r"""
- name: IP forwarding for the node pools on scale sets
  calico.azure.azure_vmss_forwarding:
    resource_group: k8s-nodes
    scale_sets: [pool-system, pool-workers]
  register: pools

- name: Node IPs as next hops (computer name = Kubernetes node name)
  ansible.builtin.set_fact:
    node_ips: "{{ pools.instances | items2dict(key_name='name', value_name='private_ip') }}"

- name: Automatic policy, do not wait for Azure's rollout
  calico.azure.azure_vmss_forwarding:
    resource_group: k8s-nodes
    scale_sets: [pool-auto]
    wait_for_upgrade: false

- name: What would change
  calico.azure.azure_vmss_forwarding:
    resource_group: k8s-nodes
    scale_sets: [pool-workers]
  check_mode: true
  diff: true
"""

RETURN = r"""
scale_sets:
  description: One entry per scale set, in the order of O(scale_sets).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the scale set.
      type: str
      sample: pool-workers
    id:
      description: Resource id of the scale set.
      type: str
      sample: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/k8s-nodes/providers/Microsoft.Compute/virtualMachineScaleSets/pool-workers
    orchestration_mode:
      description: C(Uniform) or C(Flexible).
      type: str
      sample: Uniform
    upgrade_policy:
      description: The scale set's upgrade policy mode (Uniform sets).
      type: str
      sample: Manual
    model_changed:
      description: Whether the model was (in check mode, would be) written.
      type: bool
      sample: true
    upgraded_instances:
      description: Instance ids the module brought to the latest model with C(manualupgrade) (empty otherwise).
      type: list
      elements: str
      sample: ["0", "1", "2"]
instances:
  description: One entry per instance of every scale set.
  returned: always
  type: list
  elements: dict
  contains:
    scale_set:
      description: Name of the instance's scale set.
      type: str
      sample: pool-workers
    name:
      description: The instance's computer name (the Kubernetes node name).
      type: str
      sample: pool-wor000000
    instance_id:
      description: The instance id (Uniform) or VM name (Flexible).
      type: str
      sample: "0"
    id:
      description: Resource id of the instance.
      type: str
      sample: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/k8s-nodes/providers/\
        Microsoft.Compute/virtualMachineScaleSets/pool-workers/virtualMachines/0"
    private_ip:
      description: Private IPv4 address of the instance's primary NIC; the next hop of its pod routes.
      type: str
      sample: 10.240.0.5
    forwarding_before:
      description: IP forwarding on the instance's primary NIC before the run.
      type: bool
      sample: false
    forwarding_after:
      description: IP forwarding on the instance's primary NIC after the run (in check mode, what it would be).
      type: bool
      sample: true
    latest_model_before:
      description: Whether the instance ran the latest model before the run (always true for Flexible members).
      type: bool
      sample: true
    latest_model_after:
      description: Whether the instance runs the latest model after the run (in check mode, would).
      type: bool
      sample: true
    changed:
      description: Whether the run changed (would change) this instance.
      type: bool
      sample: true
"""

import time
from typing import Any, Dict

from ansible_collections.calico.azure.plugins.module_utils._azure.ids import COMPUTE, id_or_name, resource_id
from ansible_collections.calico.azure.plugins.module_utils._azure.module import AzureModule
from ansible_collections.calico.azure.plugins.module_utils._nic.api import ERRORS, ArmNicApi
from ansible_collections.calico.azure.plugins.module_utils._nic.run import ForwardingRun
from ansible_collections.calico.azure.plugins.module_utils._nic.transform import VM_TYPE, failure_message, parse_targets
from ansible_collections.calico.azure.plugins.module_utils._vmss import plan
from ansible_collections.calico.azure.plugins.module_utils._vmss.api import ArmScaleSetApi
from ansible_collections.calico.azure.plugins.module_utils._vmss.run import UpgradeTimeout, converge_uniform, read_uniform


def argument_spec() -> Dict[str, Any]:
    return AzureModule.argument_spec(
        resource_group=dict(type="str"),
        scale_sets=dict(type="list", elements="str", required=True),
        enabled=dict(type="bool", default=True),
        all_nics=dict(type="bool", default=False),
        wait_for_upgrade=dict(type="bool", default=True),
        upgrade_timeout=dict(type="int", default=1800),
        max_parallel=dict(type="int", default=10),
    )


def uniform(module, api, scale_set, params, diff):
    instances, nics = read_uniform(api, scale_set)
    try:
        return converge_uniform(api, scale_set, instances, nics, params, module.check_mode, diff)
    except UpgradeTimeout as timeout:
        module.fail_json(msg=str(timeout))


def flexible(module, api, scale_set, params, diff):
    members = api.instances(scale_set["id"])
    vm_ids = [(m.get("properties") or {}).get("virtualMachineResourceId") or m.get("virtualMachineResourceId")
              for m in members]
    vm_refs, failures = parse_targets([v for v in vm_ids if v], VM_TYPE, module.subscription_id, None)
    run = ForwardingRun(ArmNicApi(module.arm), ERRORS, enabled=params["enabled"], check_mode=module.check_mode,
                        all_nics=params["all_nics"], max_parallel=params["max_parallel"])
    outcome = run.run(vm_refs, [], failures)
    if outcome.failures:
        module.fail_json(msg=failure_message(outcome.failures, outcome.records, params["enabled"]),
                         failures=[{"target": f.target, "reason": f.reason} for f in outcome.failures])
    records = []
    for record in outcome.records:
        if record["changed"]:
            diff.append(plan.vm_nic_diff(scale_set["name"], record))
        records.append({"scale_set": scale_set["name"], "name": record["vm"], "instance_id": record["vm"],
                        "id": record["id"], "private_ip": record["private_ip"],
                        "forwarding_before": record["forwarding_before"], "forwarding_after": record["forwarding_after"],
                        "latest_model_before": True, "latest_model_after": True, "changed": record["changed"]})
    summary = {"name": scale_set["name"], "id": scale_set["id"], "orchestration_mode": plan.FLEXIBLE,
               "upgrade_policy": plan.upgrade_mode(scale_set), "model_changed": False, "upgraded_instances": []}
    return summary, records, outcome.changed


def main() -> None:
    module = AzureModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    if params["upgrade_timeout"] < 0 or params["max_parallel"] < 1:
        module.fail_json(msg="upgrade_timeout must be 0 or more and max_parallel 1 or more.")
    summaries, instances, diff, changed = [], [], [], False
    with module.azure_errors():
        subscription_id = module.subscription_id
        ids = []
        for value in params["scale_sets"]:
            if not value.startswith("/") and not params["resource_group"]:
                module.fail_json(msg="Scale set %r is a name: set resource_group, or give its full resource id "
                                     "in scale_sets." % value)
            ids.append(id_or_name(value, lambda name: resource_id(
                subscription_id, params["resource_group"], COMPUTE, "virtualMachineScaleSets", name)))
        api = ArmScaleSetApi(module.arm, time.sleep)
        for ss_id in ids:
            scale_set = api.get(ss_id)
            handler = flexible if plan.orchestration_mode(scale_set) == plan.FLEXIBLE else uniform
            summary, records, ss_changed = handler(module, api, scale_set, params, diff)
            summaries.append(summary)
            instances.extend(records)
            changed = changed or ss_changed
    result: Dict[str, Any] = {"changed": changed, "scale_sets": summaries, "instances": instances}
    if module._diff:
        result["diff"] = plan.scale_sets_diff(diff)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
