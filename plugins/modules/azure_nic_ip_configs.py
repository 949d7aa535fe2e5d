#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: azure_nic_ip_configs
short_description: Give every Azure node NIC its secondary IP configurations for Azure CNI pod addresses
version_added: 0.2.0
description:
  - With the Azure CNI plug-ins (C(azure-vnet) with C(azure-vnet-ipam)) every pod gets a VNet address that Azure
    assigned to its node's NIC as a secondary IP configuration. This module makes every node NIC hold O(count) such
    configurations (one per pod the node may run), with dynamic allocation in the nodes' subnet.
  - "B(Only ipConfigurations changes.) For each NIC the module reads its JSON and, when configurations are missing,
    sends it back exactly as read with only C(properties.ipConfigurations) changed, with C(If-Match: <etag>). The
    primary configuration and every other configuration stay as read, and so do the NIC's public IP, network
    security group, load-balancer pools, application security groups, DNS servers, accelerated networking, tags and
    properties newer than any SDK model. One write per NIC, whatever O(count) is."
  - "B(Stable names.) The configurations are named O(name_prefix) followed by a two-digit number
    (C(ipconfig-pod-01) ... C(ipconfig-pod-30)). A re-run finds them by name, fills gaps first, and never renames
    or moves an address. Configurations with other names are never touched or counted."
  - "B(Limits are checked before any write.) Azure allows 256 private IP addresses per network interface and 256
    per virtual machine, whatever the VM size (one of them is the NIC's primary address, so O(count) is at most 255).
    The subnet must have a free address for every configuration to add: the module reads the subnet, counts its
    C(ipConfigurations) against its size minus the 5 addresses Azure reserves, and fails naming the subnet, the
    free and the needed addresses when they do not fit. Nothing is written then."
  - "B(Shrinking never happens by accident.) When a NIC holds more of this module's configurations than O(count),
    the module fails by default (O(surplus=fail)): pods may be using those addresses, and Azure would hand them to
    another NIC. Drain the node first (C(kubectl drain <node> --ignore-daemonsets)), then run with O(surplus=remove)
    to delete the highest-numbered ones; or keep them with O(surplus=keep) (at least O(count))."
  - B(One call for the whole cluster.) All NICs are handled in one call, in parallel with at most O(max_parallel)
    requests in flight (reads, writes and the polls of Azure's long-running operations alike), sharing the
    machinery of M(calico.azure.azure_nic_forwarding). Every VM and NIC is resolved and read before the first write.
    Concurrent writers are respected (HTTP 412 -> read again, retry on the new version). A NIC Azure left
    C(Failed) is written again.
  - B(Addresses per node.) The module returns, per NIC, the addresses Azure assigned to its pod configurations.
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
      - Reads the NICs and the subnet and sends no write; RV(ignore:changed) and each RV(nics[].changed) predict
        exactly what a real run would report. Addresses Azure has not picked yet are not in RV(nics[].addresses).
  diff_mode:
    support: full
    details:
      - >-
        Per NIC that changes, C(NIC <resource group>/<name> on VM <vm> ip_configurations/<name>: <address>) for each
        pod IP configuration (C((dynamic)) for an address Azure will pick) and C(pod_ip_configurations: <count>),
        before and after, under the header C(network interfaces).
options:
  resource_group:
    description:
      - Resource group in which VM and NIC B(names) given in O(vms) and O(nics) are looked up.
      - Not needed when every target is given as a full resource id.
    type: str
  vms:
    description:
      - Virtual machines whose primary NIC (or every NIC, with O(all_nics=true)) gets the configurations, as names (in
        O(resource_group)) or full resource ids.
    type: list
    elements: str
    default: []
  nics:
    description:
      - Network interfaces to handle, as names (in O(resource_group)) or full resource ids.
    type: list
    elements: str
    default: []
  all_nics:
    description:
      - Handle every NIC of each VM in O(vms) instead of only its primary NIC.
    type: bool
    default: false
  count:
    description:
      - How many secondary IP configurations each NIC holds for pods (Azure CNI's maximum pods per node).
      - Between 1 and 255.
    type: int
    required: true
  subnet:
    description:
      - The subnet the pod configurations belong in, as a full subnet id or the name of a subnet in the VNet of each
        NIC's primary configuration.
      - Default is the subnet of each NIC's primary configuration, which is what Azure CNI expects.
    type: str
  name_prefix:
    description:
      - Names of the configurations this module owns are this prefix followed by a two-digit number.
    type: str
    default: ipconfig-pod-
  surplus:
    description:
      - What to do when a NIC holds more of this module's configurations than O(count).
      - V(fail) refuses before any write, naming the NICs.
      - V(keep) leaves them (the NIC then holds at least O(count)).
      - V(remove) deletes the highest-numbered ones; drain the node first, since pods may be using their addresses.
    type: str
    choices: [fail, keep, remove]
    default: fail
  max_parallel:
    description:
      - How many requests to Azure may be in flight at once.
    type: int
    default: 10
notes:
  - Azure CNI also needs the CNI configuration on every node (C(/etc/cni/net.d/10-azure.conflist)); the role
    C(calico.azure.azure_cni) writes it, and C(playbooks/site.yml)
    runs both in its C(azure_cni) mode.
  - The module needs C(Microsoft.Network/networkInterfaces/write), C(Microsoft.Network/virtualNetworks/subnets/read)
    and C(Microsoft.Network/virtualNetworks/subnets/join/action) on the subnet.
seealso:
  - module: calico.azure.azure_nic_forwarding
  - name: Multiple IP addresses for an Azure network interface
    description: Secondary IP configurations and how Azure allocates them.
    link: https://learn.microsoft.com/azure/virtual-network/ip-services/virtual-network-multiple-ip-addresses-portal
  - name: Azure networking limits
    description: 256 private IP addresses per network interface and per virtual machine.
    link: https://learn.microsoft.com/azure/azure-resource-manager/management/azure-subscription-service-limits#networking-limits
"""

EXAMPLES = r"""
- name: 30 pod addresses on the primary NIC of every node VM
  calico.azure.azure_nic_ip_configs:
    resource_group: k8s-nodes
    vms: "{{ groups['k8s_cluster'] }}"
    count: 30
  register: pod_ips

- name: Show each node's pod addresses
  ansible.builtin.debug:
    msg: "{{ pod_ips.nics | items2dict(key_name='vm', value_name='addresses') }}"

- name: Predict the change, without writing
  calico.azure.azure_nic_ip_configs:
    resource_group: k8s-nodes
    vms: [node-1, node-2]
    count: 50
  check_mode: true
  diff: true

- name: Pod addresses in a dedicated subnet of the nodes' VNet
  calico.azure.azure_nic_ip_configs:
    resource_group: k8s-nodes
    vms: "{{ groups['k8s_cluster'] }}"
    count: 30
    subnet: pods

- name: Shrink to 20 on a node drained first (kubectl drain node-3 --ignore-daemonsets)
  calico.azure.azure_nic_ip_configs:
    resource_group: k8s-nodes
    vms: [node-3]
    count: 20
    surplus: remove
"""

RETURN = r"""
nics:
  description:
    - One entry per NIC, in the order of O(vms) then O(nics).
    - On failure after writes started, the NICs that were handled; empty when the module failed before any write.
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
      description: The NIC's primary private IPv4 address (the node's address).
      type: str
      sample: 10.240.0.4
    subnet:
      description: Resource id of the subnet the pod configurations are in.
      type: str
      sample: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/k8s-nodes/providers/Microsoft.Network/virtualNetworks/vnet/subnets/nodes
    ip_configurations:
      description: This module's configurations on the NIC after the run, in number order, with their addresses.
      type: list
      elements: dict
      sample: [{"name": "ipconfig-pod-01", "address": "10.240.0.10"}, {"name": "ipconfig-pod-02", "address": "10.240.0.11"}]
      contains:
        name:
          description: Name of the IP configuration.
          type: str
          sample: ipconfig-pod-01
        address:
          description: Its private address; null in check mode for one Azure has not allocated yet.
          type: str
          sample: 10.240.0.10
    addresses:
      description: The pod addresses of the NIC (the addresses of RV(nics[].ip_configurations) that are known).
      type: list
      elements: str
      sample: [10.240.0.10, 10.240.0.11]
    added:
      description: Names of the configurations the run added (in check mode, would add).
      type: list
      elements: str
      sample: [ipconfig-pod-02]
    removed:
      description: Names of the configurations the run removed (only with O(surplus=remove)).
      type: list
      elements: str
      sample: []
    changed:
      description: Whether the module changed (in check mode, would change) this NIC.
      type: bool
      sample: true
addresses:
  description: Pod addresses per node (the VM's name, or the NIC's name for a NIC without a VM).
  returned: always
  type: dict
  sample: {"node-1": ["10.240.0.10", "10.240.0.11"], "node-2": ["10.240.0.12", "10.240.0.13"]}
subnets:
  description: Each subnet the pod configurations are in, as read before any write.
  returned: when the NICs could be read
  type: list
  elements: dict
  contains:
    id:
      description: Resource id of the subnet.
      type: str
      sample: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/k8s-nodes/providers/Microsoft.Network/virtualNetworks/vnet/subnets/nodes
    capacity:
      description: Addresses Azure can give out in the subnet (its size minus the 5 it reserves).
      type: int
      sample: 65531
    used:
      description: IP configurations in the subnet before the run.
      type: int
      sample: 310
    free:
      description: Free addresses before the run.
      type: int
      sample: 65221
    needed:
      description: Addresses the run adds there (minus those it removes).
      type: int
      sample: 300
failures:
  description: Each VM, NIC or subnet that stopped the run, and why. The module fails when this is not empty.
  returned: failure
  type: list
  elements: dict
  contains:
    target:
      description: The VM, NIC or subnet.
      type: str
      sample: subnet vnet/nodes
    reason:
      description: What went wrong and what to do about it.
      type: str
      sample: 300 more addresses are needed but only 250 of its 251 are free (1 in use); lower count or give the nodes a larger subnet
"""

from typing import Any, Dict, List

from ansible_collections.calico.azure.plugins.module_utils._azure.module import AzureModule
from ansible_collections.calico.azure.plugins.module_utils._nic.api import ERRORS, ArmNicApi
from ansible_collections.calico.azure.plugins.module_utils._nic.ip_configs import (
    MAX_IP_CONFIGURATIONS_PER_NIC,
    SURPLUS_CHOICES,
    IpConfigsChange,
    check_name_prefix,
    failure_message,
    limit_problems,
    plan_nic,
    pod_addresses,
    pod_configurations_diff,
    resolve_subnet,
    subnet_needs,
)
from ansible_collections.calico.azure.plugins.module_utils._nic.run import NicRun
from ansible_collections.calico.azure.plugins.module_utils._nic.transform import (
    handled_summary,
    option_problem,
    parse_vm_and_nic_targets,
)


def argument_spec() -> Dict[str, Any]:
    return AzureModule.argument_spec(
        resource_group=dict(type="str"),
        vms=dict(type="list", elements="str", default=[]),
        nics=dict(type="list", elements="str", default=[]),
        all_nics=dict(type="bool", default=False),
        count=dict(type="int", required=True),
        subnet=dict(type="str"),
        name_prefix=dict(type="str", default="ipconfig-pod-"),
        surplus=dict(type="str", choices=list(SURPLUS_CHOICES), default="fail"),
        max_parallel=dict(type="int", default=10),
    )


def _failures(items: List[Any]) -> List[Dict[str, str]]:
    return [
        {"target": i.target, "reason": i.reason} if hasattr(i, "target") else {"target": i[0], "reason": i[1]}
        for i in items
    ]


def main() -> None:
    module = AzureModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    problem = option_problem(params["vms"], params["nics"], params["max_parallel"])
    if problem:
        module.fail_json(msg=problem)
    if not 1 <= params["count"] < MAX_IP_CONFIGURATIONS_PER_NIC:
        module.fail_json(
            msg="count must be between 1 and %d (got %d): Azure allows %d IP configurations per network interface, "
            "one of them the primary." % (MAX_IP_CONFIGURATIONS_PER_NIC - 1, params["count"], MAX_IP_CONFIGURATIONS_PER_NIC)
        )
    prefix_problem = check_name_prefix(params["name_prefix"])
    if prefix_problem:
        module.fail_json(msg=prefix_problem + ".")

    result: Dict[str, Any] = {"changed": False, "nics": [], "addresses": {}}
    with module.azure_errors():
        vm_refs, nic_refs, failures = parse_vm_and_nic_targets(
            params["vms"], params["nics"], module.subscription_id, params["resource_group"])
        if failures:
            module.fail_json(msg=failure_message(failures, handled_summary([], False, False)),
                             failures=_failures(failures), **result)
        api = ArmNicApi(module.arm, final_get=True)
        run = NicRun(
            api,
            ERRORS,
            check_mode=module.check_mode,
            all_nics=params["all_nics"],
            max_parallel=params["max_parallel"],
        )
        with run:
            read_set = run.read(vm_refs, nic_refs)
            if read_set.failures:
                module.fail_json(msg=failure_message(read_set.failures, handled_summary([], False, False)),
                                 failures=_failures(read_set.failures), **result)
            subnet_of = {
                ref.key: resolve_subnet(read_set.nics[ref.key], params["subnet"]) for ref, _vm in read_set.readable
            }
            change = IpConfigsChange(params["count"], subnet_of, params["name_prefix"], params["surplus"])
            plans = [
                (ref.label, vm or None, plan_nic(read_set.nics[ref.key], params["count"], subnet_of[ref.key],
                                                 params["name_prefix"], params["surplus"]))
                for ref, vm in read_set.readable
            ]
            # One read per subnet (a cluster's NICs normally share one), in the run's pool.
            subnet_ids = sorted({s.lower(): s for s in subnet_of.values() if s}.items())
            reads = [(key, run.pool.submit(api.get, subnet_id)) for key, subnet_id in subnet_ids]
            subnets = {key: read.result() for key, read in reads}
            needs = subnet_needs([plan for _l, _v, plan in plans], subnets)
            result["subnets"] = [
                {"id": n.subnet_id, "capacity": n.capacity, "used": n.used, "free": n.free, "needed": n.net_new}
                for n in needs
            ]
            problems = limit_problems(plans, needs, params["count"], params["surplus"])
            if problems:
                module.fail_json(msg=failure_message(problems, handled_summary([], False, False)),
                                 failures=_failures(problems), **result)
            before = {
                ref.key: pod_addresses(read_set.nics[ref.key], params["name_prefix"]) for ref, _vm in read_set.readable
            }
            outcome = run.write(read_set, change)

    for note in outcome.notes:
        module.warn(note)
    result["changed"] = outcome.changed
    result["nics"] = outcome.records
    result["addresses"] = {(r["vm"] or r["name"]): r["addresses"] for r in outcome.records}
    if module._diff:
        result["diff"] = pod_configurations_diff(outcome.records, before)
    if outcome.failures:
        result["failures"] = _failures(outcome.failures)
        module.fail_json(
            msg=failure_message(outcome.failures, handled_summary(outcome.records, module.check_mode, True)), **result
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
