#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: azure_nic_forwarding
short_description: Turn IP forwarding on (or off) on Azure node NICs, changing nothing else
version_added: 0.1.0
description:
  - Azure drops packets whose source address is not the NIC's own unless IP
    forwarding is enabled on that NIC. With Calico in policy-only mode and
    user-defined routes, pod traffic leaves each node with pod source
    addresses, so every node's NIC needs IP forwarding.
  - "B(Exactly one property changes.) For each NIC the module reads its JSON and,
    when C(properties.enableIPForwarding) differs from O(enabled), sends it back
    exactly as read with only that property changed, with C(If-Match: <etag>).
    IP configurations, public IPs, the network security group, application
    security groups, load-balancer pools, DNS servers, accelerated networking,
    tags and properties newer than any SDK model are kept as they are."
  - B(Concurrent writers are respected.) When someone else wrote the NIC between
    the read and the write, Azure answers HTTP 412; the module reads the NIC
    again and retries on the new version (at most 5 writes per NIC), so the
    other writer's change survives.
  - "B(One call for the whole cluster.) All NICs are handled in one module call,
    in parallel with at most O(max_parallel) requests in flight (reads, writes
    and the polls of Azure's long-running operations alike). Throttling
    (HTTP 429 with C(Retry-After)) and transient server errors are retried.
    When three or more of the wanted VMs or NICs are in one resource group, one
    paged list of that group replaces one read per VM or NIC."
  - B(Node IPs.) For each NIC the module returns its primary private IPv4 address
    (and its IPv6 address if any). Route tables use these as the next hops of the
    nodes' pod routes, so this module is also how a playbook learns node IPs from
    Azure.
  - B(Every target is resolved before the first write.) Targets the options cannot
    name (a VM or NIC name without O(resource_group), an id of another resource type)
    fail the task before anything is read; a VM or NIC that is not found or cannot be
    read fails it before anything is written, so a typo never leaves the cluster half changed.
  - B(Partial failure.) When some writes fail (permission denied, a failed long-running
    operation), the other NICs are still handled. The module then fails with a message
    naming each failed VM or NIC and why, and RV(nics) still lists every NIC that was
    handled, with what changed.
  - B(Failed NICs are repaired.) A NIC that Azure reports with C(provisioningState) C(Failed)
    (or still C(Updating)) is written again even when it holds the wanted value, as Azure
    advises for a failed update, and the module warns that it did so.
  - B(Lost answers.) When the answer to a write is lost (connection reset, a server error after
    every retry), the NIC is read again; if it holds the wanted value the write is reported as a
    change.
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
      - Reads the NICs and sends no write; RV(ignore:changed) and each RV(nics[].changed) predict exactly
        what a real run would report.
  diff_mode:
    support: full
    details:
      - >-
        One line per NIC that changes, C(NIC <resource group>/<name> on VM <vm> enableIPForwarding: false) before and
        C(... true) after, under the header C(network interfaces), the shape every module of the collection uses.
options:
  resource_group:
    description:
      - Resource group in which VM and NIC B(names) given in O(vms) and O(nics) are looked up.
      - Not needed when every target is given as a full resource id.
    type: str
  vms:
    description:
      - Virtual machines whose NICs to handle, as names (in O(resource_group)) or full resource ids
        (which may be in any resource group or subscription the credential can reach).
      - The VM's primary NIC is handled, or every NIC of the VM with O(all_nics=true). The VM's NICs may be in
        another resource group than the VM.
    type: list
    elements: str
    default: []
  nics:
    description:
      - Network interfaces to handle, as names (in O(resource_group)) or full resource ids.
      - A NIC named here and also reached through O(vms) is handled once.
    type: list
    elements: str
    default: []
  all_nics:
    description:
      - Handle every NIC of each VM in O(vms) instead of only its primary NIC.
    type: bool
    default: false
  enabled:
    description:
      - The desired value of IP forwarding on every target NIC.
    type: bool
    default: true
  max_parallel:
    description:
      - How many requests to Azure may be in flight at once.
      - Azure's write limit per subscription is a bucket of 200 refilled at 10 per second, so the default stays
        well inside it while handling 100 NICs in about the time of a few single updates.
    type: int
    default: 10
notes:
  - Enabling IP forwarding on the NIC is the Azure half; the node's operating system must forward too
    (C(net.ipv4.ip_forward=1), which Kubernetes nodes already have).
seealso:
  - module: calico.azure.azure_udr_routes
  - name: Azure IP forwarding
    description: Why a NIC that forwards traffic for other addresses needs IP forwarding.
    link: https://learn.microsoft.com/azure/virtual-network/virtual-networks-udr-overview
"""

EXAMPLES = r"""
- name: Enable IP forwarding on the primary NIC of every node VM
  calico.azure.azure_nic_forwarding:
    resource_group: k8s-nodes
    vms: "{{ groups['k8s_cluster'] }}"
  register: node_nics

- name: Use the nodes' private IPs as next hops
  ansible.builtin.set_fact:
    node_ips: "{{ node_nics.nics | items2dict(key_name='vm', value_name='private_ip') }}"

- name: Every NIC of multi-homed VMs, and two NICs given by id in another subscription
  calico.azure.azure_nic_forwarding:
    resource_group: k8s-nodes
    vms:
      - gateway-1
      - gateway-2
    all_nics: true
    nics:
      - /subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/net-rg/providers/Microsoft.Network/networkInterfaces/edge-nic-1
      - /subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/net-rg/providers/Microsoft.Network/networkInterfaces/edge-nic-2

- name: Show what would change, without writing
  calico.azure.azure_nic_forwarding:
    resource_group: k8s-nodes
    nics: [node-1-nic, node-2-nic]
  check_mode: true
  diff: true

- name: Turn IP forwarding off again on a decommissioned node
  calico.azure.azure_nic_forwarding:
    resource_group: k8s-nodes
    vms: [node-9]
    enabled: false
"""

RETURN = r"""
nics:
  description:
    - One entry per NIC that was handled, in the order of O(vms) then O(nics). With O(all_nics=true), a VM's
      primary NIC comes before its other NICs.
    - On failure, the NICs that were handled anyway (a failed NIC is listed in RV(failures) instead).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the NIC.
      type: str
      sample: node-1-nic
    id:
      description: Resource id of the NIC.
      type: str
      sample: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/k8s-nodes/providers/Microsoft.Network/networkInterfaces/node-1-nic
    resource_group:
      description: Resource group of the NIC.
      type: str
      sample: k8s-nodes
    vm:
      description: Name of the VM the NIC is attached to (or was found through); null for a detached NIC.
      type: str
      sample: node-1
    private_ip:
      description: Private IPv4 address of the NIC's primary IP configuration; the next hop of the node's pod routes.
      type: str
      sample: 10.240.0.4
    private_ipv6:
      description: Private IPv6 address of the NIC, if it has an IPv6 configuration; null otherwise.
      type: str
      sample: fd00:10:240::4
    forwarding_before:
      description: IP forwarding before the module ran.
      type: bool
      sample: false
    forwarding_after:
      description: IP forwarding after the module ran (in check mode, what it would be).
      type: bool
      sample: true
    changed:
      description: Whether the module changed (in check mode, would change) this NIC.
      type: bool
      sample: true
failures:
  description: Each VM or NIC that could not be handled, and why. The module fails when this is not empty.
  returned: failure
  type: list
  elements: dict
  contains:
    target:
      description: The VM or NIC, as named in the options or found through a VM.
      type: str
      sample: VM node-7
    reason:
      description: What went wrong and what to do about it.
      type: str
      sample: not found in resource group k8s-nodes of subscription 00000000-0000-0000-0000-000000000000
"""

from typing import Any, Dict

from ansible_collections.calico.azure.plugins.module_utils._azure.module import AzureModule
from ansible_collections.calico.azure.plugins.module_utils._nic.api import ERRORS, ArmNicApi
from ansible_collections.calico.azure.plugins.module_utils._nic.run import ForwardingRun
from ansible_collections.calico.azure.plugins.module_utils._nic.transform import (
    failure_message,
    forwarding_diff,
    option_problem,
    parse_vm_and_nic_targets,
)


def argument_spec() -> Dict[str, Any]:
    return AzureModule.argument_spec(
        resource_group=dict(type="str"),
        vms=dict(type="list", elements="str", default=[]),
        nics=dict(type="list", elements="str", default=[]),
        all_nics=dict(type="bool", default=False),
        enabled=dict(type="bool", default=True),
        max_parallel=dict(type="int", default=10),
    )


def main() -> None:
    module = AzureModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    problem = option_problem(params["vms"], params["nics"], params["max_parallel"])
    if problem:
        module.fail_json(msg=problem)

    with module.azure_errors():
        vm_refs, nic_refs, failures = parse_vm_and_nic_targets(
            params["vms"], params["nics"], module.subscription_id, params["resource_group"])
        if failures:
            module.fail_json(
                msg=failure_message(failures, [], params["enabled"]),
                failures=[{"target": f.target, "reason": f.reason} for f in failures],
                nics=[],
            )
        run = ForwardingRun(
            ArmNicApi(module.arm),
            ERRORS,
            enabled=params["enabled"],
            check_mode=module.check_mode,
            all_nics=params["all_nics"],
            max_parallel=params["max_parallel"],
        )
        outcome = run.run(vm_refs, nic_refs)

    for note in outcome.notes:
        module.warn(note)
    result: Dict[str, Any] = {"changed": outcome.changed, "nics": outcome.records}
    if module._diff:
        result["diff"] = forwarding_diff(outcome.records)
    if outcome.failures:
        result["failures"] = [{"target": f.target, "reason": f.reason} for f in outcome.failures]
        message = failure_message(
            outcome.failures, outcome.records, params["enabled"], check_mode=module.check_mode, written=outcome.written
        )
        module.fail_json(msg=message, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
