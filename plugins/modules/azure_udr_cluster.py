#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: azure_udr_cluster
short_description: The Azure part of a user-defined-routes cluster in one pass - node IPs, IP forwarding, one route-table write
version_added: 0.3.0
description:
  - "Does in one call what M(calico.azure.azure_udr_routes_info), M(calico.azure.azure_nic_forwarding),
    M(calico.azure.azure_vmss_forwarding) and M(calico.azure.azure_udr_routes) do together for the C(udr) role:
    the cluster's nodes (the Node objects Kubernetes returned, or the inventory) resolved to their Azure VMs or
    scale-set instances and private IPs, IP forwarding on every node NIC, and one route per node pod CIDR in the
    route table, associated with the nodes' subnets."
  - "B(Reads once.) The route table; one NIC list per resource group of the VMs (each NIC's
    C(properties.virtualMachine.id) names its VM, so the VMs themselves are not read; the instances of a
    C(Flexible) scale set are ordinary VMs with ordinary NICs); per C(Uniform) scale set its model, its instance
    list and its scale-set NIC list; the VNet of the subnets. A VM whose NIC is not in its group's list (NICs in
    another resource group, several NICs without a primary mark) is read on its own."
  - "B(Plans as the udr role does.) The pod CIDRs come from the same pure plan as the C(calico.azure.udr_plan)
    filter: what Kubernetes assigned, an explicit per-host value, the node's existing route, and only for a node
    with none (with O(allocate_pod_cidrs=true)) the lowest free block of O(pod_cidr_pool); RV(nodes_to_patch) lists
    the allocated ones. A pod CIDR never moves."
  - "B(Checks everything before the first write.) The node plan (duplicate names, a providerID that disagrees with
    the inventory's C(udr_vm_name), pod CIDR collisions), every node's VM or instance (unknown ones name the node and
    the option to change), the routes against the VNet's address space, Azure's limits and the table's ownership
    record. A node whose InternalIP is not its VM's primary private IP is a warning (the route uses Azure's
    answer)."
  - "B(Then writes, in this order.) IP forwarding on every node NIC that lacks it (one wave of conditional PUTs, as
    M(calico.azure.azure_nic_forwarding)); per C(Uniform) scale set one model write with C(If-Match) and the
    instances brought to the latest model (as M(calico.azure.azure_vmss_forwarding)); then exactly one route-table
    PUT with C(If-Match) (as M(calico.azure.azure_udr_routes)), and one PUT per subnet still to associate."
author:
  - calico.azure contributors (@calico-azure)
extends_documentation_fragment:
  - calico.azure.azure
  - calico.azure.udr_route_table
  - calico.azure.attributes
  - calico.azure.attributes.action_group
attributes:
  check_mode:
    support: full
    details:
      - Every read and check of a real run, no write; RV(ignore:changed) predicts exactly what a real run would
        report, and the result holds the plan (RV(routes), RV(nics), RV(instances), RV(nodes_to_patch)).
  diff_mode:
    support: full
    details:
      - The route table before and after (routes, subnets, tags), and one line per NIC or scale-set model that changes.
options:
  node_source:
    description:
      - Where the nodes come from. V(kubernetes) - O(kubernetes_nodes); V(inventory) - O(inventory).
    type: str
    choices: [kubernetes, inventory]
    default: kubernetes
  kubernetes_nodes:
    description:
      - The cluster's Node objects, as C(kubernetes.core.k8s_info) returns them in C(resources)
        (C(metadata.name), C(spec.podCIDRs), C(spec.providerID), C(status.addresses)).
    type: list
    elements: dict
    default: []
  inventory:
    description:
      - The node hosts, each C(host), C(vm) (an explicit VM name or V("")) and C(pod_cidr) (explicit or V("")), as the
        C(calico.azure.udr_inventory) filter builds them. With O(node_source=kubernetes) they cross-check the cluster.
    type: list
    elements: dict
    default: []
  selected_hosts:
    description:
      - With O(node_source=inventory), the hosts of O(inventory) this run handles; all of them when omitted. A purge
        with fewer hosts than O(inventory) is refused.
    type: list
    elements: str
  vm_resource_group:
    description:
      - Resource group of the VMs named by name (inventory hosts, nodes without a providerID). A providerID names
        its own group.
    type: str
  manage_routes:
    description:
      - Converge one route per node pod CIDR. V(false) when the cloud provider's route controller owns the routes;
        the table is then only created, tagged and associated, and forwarding is still turned on.
    type: bool
    default: true
  allocate_pod_cidrs:
    description:
      - With O(node_source=kubernetes), allocate a pod CIDR from O(pod_cidr_pool) for nodes that have none; they are
        returned in RV(nodes_to_patch) for the caller to patch into C(spec.podCIDR).
    type: bool
    default: false
  pod_cidr_pool:
    description:
      - The cluster CIDR pod CIDRs are allocated from (blocks of O(node_mask_size)).
    type: str
  node_mask_size:
    description:
      - Prefix length of an allocated pod CIDR.
    type: int
    default: 24
  vnet_address_prefixes:
    description:
      - Address prefixes the pod CIDRs must lie in, when they are not the VNet's own (read from Azure otherwise).
    type: list
    elements: str
    default: []
  all_nics:
    description:
      - Turn forwarding on on every NIC of each node VM (and every NIC configuration of a scale set's model), not only
        the primary one.
    type: bool
    default: false
  max_parallel:
    description:
      - How many requests to Azure may be in flight at once.
    type: int
    default: 10
  wait_for_upgrade:
    description:
      - For a C(Uniform) scale set with an C(Automatic) or C(Rolling) upgrade policy, wait until Azure brought every
        instance to the new model (see M(calico.azure.azure_vmss_forwarding)).
    type: bool
    default: true
  upgrade_timeout:
    description:
      - Seconds to wait for Azure's own rollout with O(wait_for_upgrade=true).
    type: int
    default: 1800
notes:
  - "ARM reads of an unchanged run: the route table, one NIC list per resource group of VMs, three per C(Uniform)
    scale set (model, instances, NICs) and one per VNet of the subnets; no write."
  - With O(node_source=kubernetes), patching RV(nodes_to_patch) is the caller's (C(kubernetes.core.k8s)); the udr role
    does it between the check-mode call and the real one.
seealso:
  - module: calico.azure.azure_udr_routes
  - module: calico.azure.azure_nic_forwarding
  - module: calico.azure.azure_vmss_forwarding
  - name: calico.azure.udr role
    description: Reads the nodes with kubernetes.core.k8s_info and calls this module, in check mode first.
    link: https://github.com/calico-azure/calico.azure/blob/main/roles/udr/README.md
"""

EXAMPLES = r"""
- name: Read the cluster's nodes
  kubernetes.core.k8s_info:
    kind: Node
  register: nodes

- name: Plan and check, writing nothing
  calico.azure.azure_udr_cluster:
    resource_group: rg-network
    name: rt-pods
    cluster_name: prod
    cluster_cidr: [10.244.0.0/16]
    purge_routes: true
    subnets:
      - virtual_network: vnet-k8s
        name: nodes
    kubernetes_nodes: "{{ nodes.resources }}"
    vm_resource_group: rg-compute
  check_mode: true
  register: cluster_plan

- name: Converge, only when the plan says something changes
  calico.azure.azure_udr_cluster:
    resource_group: rg-network
    name: rt-pods
    cluster_name: prod
    cluster_cidr: [10.244.0.0/16]
    purge_routes: true
    subnets:
      - virtual_network: vnet-k8s
        name: nodes
    kubernetes_nodes: "{{ nodes.resources }}"
    vm_resource_group: rg-compute
  when: cluster_plan is changed
"""

RETURN = r"""
nodes:
  description: Every node of the plan with its VM (or scale-set instance), pod CIDRs and private IP.
  returned: always
  type: list
  elements: dict
  sample:
    - name: k8s-w-0
      vm_ref: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-compute/providers/Microsoft.Compute/virtualMachines/k8s-w-0"
      vm_name: k8s-w-0
      pod_cidrs: [10.244.0.0/24]
      internal_ips: [10.240.0.4]
      provider_id: "azure:///subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-compute/providers/Microsoft.Compute/virtualMachines/k8s-w-0"
      private_ip: 10.240.0.4
nodes_to_patch:
  description: The nodes whose pod CIDR this run allocated (O(allocate_pod_cidrs=true)), to patch into C(spec.podCIDRs).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: k8s-w-6, pod_cidrs: [10.244.6.0/24]}
routes:
  description: The node routes the table holds after the run (or would, in check mode); empty with O(manage_routes=false).
  returned: always
  type: list
  elements: dict
  sample:
    - {node: k8s-w-0, address_prefix: 10.244.0.0/24, next_hop_ip: 10.240.0.4}
nics:
  description: One record per VM NIC, as M(calico.azure.azure_nic_forwarding) returns them.
  returned: always
  type: list
  elements: dict
  sample:
    - name: k8s-w-0-nic
      id: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-compute/providers/Microsoft.Network/networkInterfaces/k8s-w-0-nic"
      resource_group: rg-compute
      vm: k8s-w-0
      private_ip: 10.240.0.4
      private_ipv6: null
      forwarding_before: false
      forwarding_after: true
      changed: true
scale_sets:
  description: One summary per Uniform scale set, as M(calico.azure.azure_vmss_forwarding) returns them.
  returned: always
  type: list
  elements: dict
  sample:
    - name: pool-a
      id: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-compute/providers/Microsoft.Compute/virtualMachineScaleSets/pool-a"
      orchestration_mode: Uniform
      upgrade_policy: Manual
      model_changed: true
      upgraded_instances: ['0', '1']
instances:
  description: One record per instance of those scale sets, as M(calico.azure.azure_vmss_forwarding) returns them.
  returned: always
  type: list
  elements: dict
  sample:
    - scale_set: pool-a
      name: pool-a000000
      instance_id: "0"
      id: >-
        /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-k8s/providers/Microsoft.Compute/virtualMachineScaleSets/pool-a/virtualMachines/0
      private_ip: 10.240.0.10
      forwarding_before: false
      forwarding_after: true
      latest_model_before: true
      latest_model_after: true
      changed: true
writes:
  description:
    - The writes this run sent to Azure (in check mode, would send), by kind; all 0 when nothing changes. A caller
      that ran the module in check mode first (the udr role) skips the real call when they add up to 0.
    - C(scale_set_upgrades) counts C(manualupgrade) calls (one per scale set).
  returned: always
  type: dict
  sample: {nics: 5, scale_set_models: 1, scale_set_upgrades: 1, route_table: 1, subnets: 1}
route_table:
  description: The route table after the run (in check mode, as it would be), as M(calico.azure.azure_udr_routes) returns it.
  returned: always
  type: dict
  sample:
    id: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network/providers/Microsoft.Network/routeTables/rt-pods
    name: rt-pods
    etag: W/"6f1f5b4c-0c4e-4bd2-9d0e-3b6c9d3c2b7a"
    location: westeurope
    tags: {calico-azure-cluster: prod}
    disable_bgp_route_propagation: false
    provisioning_state: Succeeded
    routes:
      - {name: k8s-w-0, address_prefix: 10.244.0.0/24, next_hop_type: VirtualAppliance, next_hop_ip: 10.240.0.4}
    subnets:
      - /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks/vnet-k8s/subnets/nodes
routes_added:
  description: Number of routes added (or that would be added in check mode).
  returned: always
  type: int
  sample: 7
routes_changed:
  description: Number of existing routes whose prefix or next hop changed.
  returned: always
  type: int
  sample: 0
routes_removed:
  description: Number of routes removed by O(purge_routes).
  returned: always
  type: int
  sample: 1
subnets_associated:
  description: Resource ids of the subnets associated with the table by this run.
  returned: always
  type: list
  elements: str
  sample:
    - /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks/vnet-k8s/subnets/nodes
subnets_dissociated:
  description: Always empty (teardown is M(calico.azure.azure_udr_routes) with O(calico.azure.azure_udr_routes#module:state=absent)).
  returned: always
  type: list
  elements: str
  sample: []
foreign_routes:
  description: Routes inside O(cluster_cidr) that no owner recorded and that the purge kept.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: aks-cp-route, address_prefix: 10.244.50.0/24, next_hop_type: VirtualAppliance, next_hop_ip: 10.240.0.7}
foreign_routes_removed:
  description: Foreign routes removed because of O(purge_foreign_routes=true).
  returned: always
  type: list
  elements: dict
  sample: []
owned_routes:
  description: Lower-case names of the routes in this owner's record after the run (empty without O(cluster_name)).
  returned: always
  type: list
  elements: str
  sample: [k8s-w-0, k8s-w-1]
attempts:
  description: How many times the table was read and merged before its write was accepted.
  returned: always
  type: int
  sample: 1
errors:
  description: Every problem found, when the module fails before writing.
  returned: failure
  type: list
  elements: str
  sample:
    - "node k8s-w-9: VM k8s-w-9 not found in resource group rg-compute of subscription
      00000000-0000-0000-0000-000000000000; check the name or give its full resource id"
"""

from ansible_collections.calico.azure.plugins.module_utils._azure.module import AzureModule
from ansible_collections.calico.azure.plugins.module_utils._udr.api import (
    ROUTE_TABLE_REQUIRED_IF,
    ValidationFailed,
    route_table_options,
)
from ansible_collections.calico.azure.plugins.module_utils._udr_cluster.run import ClusterRun


def module_options():
    return dict(
        route_table_options(),
        node_source=dict(type="str", choices=["kubernetes", "inventory"], default="kubernetes"),
        kubernetes_nodes=dict(type="list", elements="dict", default=[]),
        inventory=dict(type="list", elements="dict", default=[]),
        selected_hosts=dict(type="list", elements="str"),
        vm_resource_group=dict(type="str"),
        manage_routes=dict(type="bool", default=True),
        allocate_pod_cidrs=dict(type="bool", default=False),
        pod_cidr_pool=dict(type="str"),
        node_mask_size=dict(type="int", default=24),
        vnet_address_prefixes=dict(type="list", elements="str", default=[]),
        all_nics=dict(type="bool", default=False),
        max_parallel=dict(type="int", default=10),
        wait_for_upgrade=dict(type="bool", default=True),
        upgrade_timeout=dict(type="int", default=1800),
    )


def main():
    module = AzureModule(
        argument_spec=AzureModule.argument_spec(**module_options()),
        supports_check_mode=True,
        required_if=ROUTE_TABLE_REQUIRED_IF,
    )
    if module.params["max_parallel"] < 1 or module.params["upgrade_timeout"] < 0:
        module.fail_json(msg="upgrade_timeout must be 0 or more and max_parallel 1 or more.")
    with module.azure_errors():
        run = ClusterRun(module.arm, module.subscription_id, module.params, module.check_mode, module.warn)
        try:
            result = run.run()
        except ValidationFailed as failure:
            module.fail_json(msg="; ".join(failure.errors), errors=failure.errors)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
