#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: azure_udr_routes
short_description: Converge a Kubernetes cluster's Azure route table (one route per node) in one write
version_added: 0.1.0
description:
  - Manages the Azure route table that Calico policy-only mode needs on Azure
    when pods are routed with user-defined routes (UDR) instead of an overlay.
    The table holds one route per node, from the node's pod CIDR to the next hop
    C(VirtualAppliance) at the node's private IP, and is associated with the
    nodes' subnets.
  - "B(One write per table.) The module reads the table once, computes the whole
    desired route set, and when anything differs sends B(one) PUT of the whole
    table with C(If-Match: <etag>). It never sends one request per route. When
    another writer changed the table in between (HTTP 412), the module reads it
    again, merges again and retries (at most 5 attempts), so a route written
    concurrently by someone else is kept."
  - B(Purging is scoped.) With O(purge_routes=true), only routes whose prefix lies
    inside O(cluster_cidr) and that are not in O(routes) are removed. A default
    route (V(0.0.0.0/0)) to a firewall, a peer's range or a service-tag route is
    never touched. Without O(purge_routes), routes not listed stay as they are.
  - B(Subnet association changes nothing else.) Each subnet in O(subnets) is read,
    only its C(properties.routeTable) is set, and it is written back exactly as
    read (network security group, service endpoints, delegations, NAT gateway and
    every other property included) with C(If-Match). A subnet that is already
    associated with a B(different) route table is an error naming that table and
    the routes the subnet would stop getting, unless O(force_subnet_association=true)
    B(and) O(replace_subnet_route_table) names that very table; the module never
    swaps it silently.
  - "B(Ownership.) With O(cluster_name), the table is tagged C(calico-azure-cluster: <cluster_name>)
    when the module creates it or first manages it (a tag naming another cluster is never overwritten),
    and the names of the routes this run's owner wrote or adopted (listed in O(routes)) are recorded in
    the table's tags C(calico-azure-routes.<owner>) (then C(.2), C(.3)...; comma-separated names), in the
    same single PUT as the routes. The owner is O(cluster_name), or C(<cluster_name>:<node_pool>) with
    O(node_pool), so several node pools can share one table. A purge then removes only routes of this
    owner's record that are no longer in O(routes) (a node that is gone); a route inside O(cluster_cidr)
    that nobody recorded (the cloud provider's route controller's, one added by hand, or any route of a
    table adopted with routes already in it) is B(foreign): kept and listed as a warning, removed only with
    O(purge_foreign_routes=true) and listed as a warning then too (check mode included). Routes
    recorded by another owner are never removed, and listing one in O(routes) is an error."
  - "B(Failed resources are re-applied.) A table, or a subnet in O(subnets) already associated with it,
    left C(provisioningState) C(Failed) (or C(Updating)) by an earlier write is not converged even when it
    holds the wanted values: the module PUTs it again (Azure's advice), reports RV(ignore:changed) and warns."
  - B(Validation before any write.) Every problem is reported together, and
    nothing is written while any remains. Address prefixes must be valid CIDRs
    without host bits (the message gives the network to use); route names and
    prefixes must be unique; pod CIDRs (the routes inside O(cluster_cidr), or
    every C(VirtualAppliance) route when O(cluster_cidr) is not set) must lie
    inside the address space of the VNet of every associated subnet, must not
    overlap a subnet of that VNet and must not overlap each other; each
    O(routes[].next_hop_ip) must be an address in that VNet, must not be inside its own
    route's prefix (a loop) or another route's pod CIDR, and must not be one of the
    addresses Azure reserves in a subnet (network, the next three, broadcast); when no
    subnet is given and the table is not associated, the VNets of the NICs holding the next
    hops are used, a public next hop no NIC holds is refused, and a next hop no NIC of the
    resource groups read holds is a warning; a listed route must
    not have the prefix of another route that stays in the table; the table must
    stay within Azure's 400 routes, counting the routes kept outside the purge
    scope; table and route names must follow Azure's naming rules (1-80
    letters, digits, V(_), V(.) and V(-), starting with a letter or digit and
    ending with a letter, digit or V(_)).
  - B(IP forwarding.) A node forwards pod traffic, so its NIC needs IP
    forwarding. The module lists the network interfaces of the resource groups
    of the table and of the VNets (one paged list each) and returns a warning
    naming every NIC whose private IP is a route's next hop but whose IP
    forwarding is off. Use M(calico.azure.azure_nic_forwarding) to turn it on.
  - "B(Route names compatible with the Kubernetes Azure cloud provider.) The
    cloud provider's route controller (cloud-provider-azure, with
    C(--configure-cloud-routes=true)) names the route of node C(<node>) exactly
    C(<node>) on single-stack clusters and C(<node>____<pod CIDR with :, . and /
    removed>) on dual-stack clusters (for example C(node-1____102441024) for
    10.244.1.0/24 and C(node-1____fd0010244164) for fd00:10:244:1::/64). Give
    routes with O(routes[].node) instead of O(routes[].name) and set
    O(dual_stack_route_names) like the cluster, and the routes this module
    writes are the ones the cloud provider would write."
  - "B(Handing the routes to the cloud provider.) Write the table with this
    module using O(routes[].node), set C(routeTableName) (and
    C(routeTableResourceGroup)) in C(azure.json), then start
    kube-controller-manager / cloud-controller-manager with
    C(--configure-cloud-routes=true), C(--allocate-node-cidrs=true) and the same
    C(--cluster-cidr). The route controller finds every route already in place
    under the name it expects and changes nothing. Stop running this module's
    route management for that table afterwards: the controller deletes every
    route inside C(--cluster-cidr) that does not belong to a node, just as
    O(purge_routes) would."
  - "B(Taking them back.) Set C(--configure-cloud-routes=false) and restart the
    controller manager, then run this module with the same node routes and
    O(purge_routes=true) with O(cluster_cidr) set to the cluster CIDR. The
    names and prefixes match what the cloud provider wrote, so the first run
    reports no route change."
  - "B(What removal touches.) O(state=absent) needs O(cluster_name). It removes the cluster's routes
    (those in this owner's record, plus those named in O(routes)) in one PUT of the table. Only when the
    table is tagged C(calico-azure-cluster: <cluster_name>) and nothing else is left in it does the module
    dissociate every subnet associated with it (the table's C(properties.subnets), each written back exactly
    as read otherwise, with C(If-Match)) and delete it (with C(If-Match), so a route added meanwhile stops
    the delete). Otherwise the table, its other routes and its subnet associations stay, and the module says
    what it kept and why (RV(route_table_kept), RV(kept_routes), RV(kept_reason) and a warning). NICs, VNets and
    other route tables are never touched."
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
      - Sends no write at all; RV(ignore:changed) predicts exactly what a real run would report.
  diff_mode:
    support: full
    details:
      - >-
        One line per route (C(routes/<name>: <prefix> -> VirtualAppliance <next hop>)), per associated subnet
        (C(subnets/<resource group>/<vnet>/<subnet>: associated)), per tag (C(tags/<key>: <value>)) and the BGP
        propagation flag, before and after, under the header C(route table <name>) (C((absent)) for a table that
        does not exist yet or is deleted).
options:
  state:
    description:
      - V(present) creates or updates the table, its routes and the subnet associations.
      - V(absent) removes the cluster's routes and, when the table is the cluster's and nothing else is left in it,
        dissociates its subnets and deletes it (see the description for exactly what it touches). Needs O(cluster_name).
    type: str
    choices: [present, absent]
    default: present
  routes:
    description:
      - The routes to have in the table, typically one per node.
      - When omitted, routes are not managed (only O(subnets), O(tags) and O(disable_bgp_route_propagation) are),
        unless O(purge_routes=true), in which case it means no routes inside O(cluster_cidr).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Name of the route. Azure compares route names case-insensitively.
          - Give either O(routes[].name) or O(routes[].node).
        type: str
      node:
        description:
          - Kubernetes node name; the route is named the way the Kubernetes Azure cloud provider names it
            (the node name, or C(<node>____<cidr without :, . and />) with O(dual_stack_route_names=true)).
          - Give either O(routes[].name) or O(routes[].node).
        type: str
      address_prefix:
        description:
          - Destination CIDR, usually the node's pod CIDR (IPv4 or IPv6).
          - Host bits must be zero (V(10.244.1.0/24), not V(10.244.1.5/24)).
        type: str
        required: true
      next_hop_ip:
        description:
          - The node's private IP (IPv4 for an IPv4 prefix, IPv6 for an IPv6 prefix).
          - Required with O(routes[].next_hop_type=VirtualAppliance), not allowed otherwise.
        type: str
      next_hop_type:
        description:
          - Type of next hop, matched case-insensitively (V(virtual_appliance) works too).
          - One of V(VirtualAppliance), V(VirtualNetworkGateway), V(VnetLocal), V(Internet), V(None).
        type: str
        default: VirtualAppliance
  dual_stack_route_names:
    description:
      - Name routes given by O(routes[].node) the way the cloud provider does on dual-stack clusters,
        C(<node>____<cidr without :, . and />), so that the IPv4 and IPv6 routes of one node have different names.
    type: bool
    default: false
notes:
  - "ARM reads per run: the route table, the VNet of each associated subnet (which also gives the VNet's address
    space and the other subnets' associations) and one NIC list per resource group involved. An unchanged re-run
    therefore costs 3 reads and no write when table, VNet and NICs share a resource group. A change costs one
    table PUT plus, per subnet to associate, one GET and one PUT of that subnet."
  - Azure allows 400 routes per route table. Larger clusters need Azure CNI or an overlay (Calico VXLAN), not routes.
  - "Why the ownership record is in the table's tags: it is written by the same single PUT (with C(If-Match)) as the
    routes it describes, so it can never disagree with them after a lost race or a failed run, needs no other resource,
    and is visible to anyone reading the table. Limits: Azure allows 50 tags per resource and 256 characters per tag
    value; the record takes one tag per 256 characters of comma-separated route names (about 23 routes of 10-character
    names per tag, 8 of 30-character dual-stack names). A record that would push the table past 50 tags is an error
    before any write, naming the way out (fewer other tags, shorter node names, a table per node pool)."
  - RV(ignore:changed) is V(true) when the table differs from what the run first read, also when the answer to the
    module's own write was lost and the retry found the write already applied.
seealso:
  - module: calico.azure.azure_udr_routes_info
  - module: calico.azure.azure_nic_forwarding
  - name: Virtual network traffic routing (user-defined routes)
    description: Azure's description of route tables, next hop types and IP forwarding.
    link: https://learn.microsoft.com/azure/virtual-network/virtual-networks-udr-overview
  - name: cloud-provider-azure route naming
    description: The route controller's naming this module follows (pkg/provider/azure_routes.go).
    link: https://github.com/kubernetes-sigs/cloud-provider-azure/blob/master/pkg/provider/azure_routes.go
"""

EXAMPLES = r"""
- name: Route each node's pod CIDR to the node, associate the nodes' subnet, purge stale node routes
  calico.azure.azure_udr_routes:
    resource_group: k8s-rg
    name: k8s-pod-routes
    cluster_cidr: 10.244.0.0/16
    purge_routes: true
    routes:
      - node: node-1
        address_prefix: 10.244.1.0/24
        next_hop_ip: 10.240.0.4
      - node: node-2
        address_prefix: 10.244.2.0/24
        next_hop_ip: 10.240.0.5
    subnets:
      - virtual_network: k8s-vnet
        name: nodes
  register: pod_routes

- name: Dual-stack cluster, routes named exactly as cloud-provider-azure names them
  calico.azure.azure_udr_routes:
    resource_group: k8s-rg
    name: k8s-pod-routes
    dual_stack_route_names: true
    cluster_cidr:
      - 10.244.0.0/16
      - fd00:10:244::/56
    purge_routes: true
    routes:
      - node: node-1
        address_prefix: 10.244.1.0/24
        next_hop_ip: 10.240.0.4
      - node: node-1
        address_prefix: fd00:10:244:1::/64
        next_hop_ip: fd00:240::4

- name: Build the routes from the inventory (each node host has pod_cidr and node_ip variables)
  calico.azure.azure_udr_routes:
    resource_group: k8s-rg
    name: k8s-pod-routes
    cluster_cidr: 10.244.0.0/16
    purge_routes: true
    routes: "{{ node_routes }}"
    subnets:
      - virtual_network: k8s-vnet
        resource_group: network-rg
        name: nodes
  vars:
    node_routes: >-
      [{% for host in groups['k8s_nodes'] %}
      {"node": "{{ host }}", "address_prefix": "{{ hostvars[host].pod_cidr }}",
       "next_hop_ip": "{{ hostvars[host].node_ip }}"}{{ "," if not loop.last else "" }}
      {% endfor %}]

- name: Take over a subnet that is associated with an old route table (it stops getting that table's routes)
  calico.azure.azure_udr_routes:
    resource_group: k8s-rg
    name: k8s-pod-routes
    subnets:
      - virtual_network: k8s-vnet
        name: nodes
    force_subnet_association: true
    replace_subnet_route_table: rt-legacy

- name: Adopt an existing shared table; its firewall and on-prem routes and unknown routes in scope are kept
  calico.azure.azure_udr_routes:
    resource_group: network-rg
    name: rt-shared
    cluster_name: prod-k8s
    cluster_cidr: 10.244.0.0/16
    purge_routes: true
    routes:
      - node: node-1
        address_prefix: 10.244.1.0/24
        next_hop_ip: 10.240.0.4
  register: adopted  # adopted.foreign_routes lists the routes in scope that are not the cluster's

- name: One node pool of two sharing the table; purges only routes of its own nodes that are gone
  calico.azure.azure_udr_routes:
    resource_group: network-rg
    name: rt-shared
    cluster_name: prod-k8s
    node_pool: gpu
    cluster_cidr: 10.244.0.0/16
    purge_routes: true
    routes: "{{ gpu_node_routes }}"

- name: Teardown; the table goes only if it is the cluster's and nothing else is left in it
  calico.azure.azure_udr_routes:
    resource_group: k8s-rg
    name: k8s-pod-routes
    cluster_name: prod-k8s
    state: absent
  register: teardown  # teardown.route_table_kept, teardown.kept_routes, teardown.kept_reason
"""

RETURN = r"""
route_table:
  description:
    - The route table after the run (with O(state=present)); in check mode, the table as it would be.
    - Empty after O(state=absent).
  returned: always
  type: dict
  contains:
    id:
      description: Resource id of the route table.
      type: str
      sample: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/k8s-rg/providers/Microsoft.Network/routeTables/k8s-pod-routes
    name:
      description: Name of the route table.
      type: str
      sample: k8s-pod-routes
    etag:
      description: The table's etag after the run (the value a later If-Match must carry). Null in check mode for a
        table that does not exist yet.
      type: str
      sample: W/"6f1f5b4c-0c4e-4bd2-9d0e-3b6c9d3c2b7a"
    location:
      description: Azure region of the table.
      type: str
      sample: westeurope
    tags:
      description: Tags of the table.
      type: dict
      sample: {env: prod}
    disable_bgp_route_propagation:
      description: Whether BGP route propagation is disabled.
      type: bool
      sample: false
    provisioning_state:
      description: ARM provisioning state.
      type: str
      sample: Succeeded
    routes:
      description: Every route in the table, including routes this module does not manage.
      type: list
      elements: dict
      contains:
        name:
          description: Route name.
          type: str
          sample: node-1
        id:
          description: Route resource id.
          type: str
          sample: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/k8s-rg/providers/\
            Microsoft.Network/routeTables/k8s-pod-routes/routes/node-1"
        address_prefix:
          description: Destination prefix.
          type: str
          sample: 10.244.1.0/24
        next_hop_type:
          description: Next hop type.
          type: str
          sample: VirtualAppliance
        next_hop_ip:
          description: Next hop IP, for VirtualAppliance routes.
          type: str
          sample: 10.240.0.4
        provisioning_state:
          description: ARM provisioning state of the route.
          type: str
          sample: Succeeded
    subnets:
      description: Resource ids of the subnets associated with the table.
      type: list
      elements: str
      sample:
        - /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/k8s-rg/providers/Microsoft.Network/virtualNetworks/k8s-vnet/subnets/nodes
routes_added:
  description: Number of routes added (or that would be added in check mode).
  returned: always
  type: int
  sample: 2
routes_changed:
  description: Number of existing routes whose prefix or next hop changed.
  returned: always
  type: int
  sample: 0
routes_removed:
  description: Number of routes removed by O(purge_routes), or deleted with the table by O(state=absent).
  returned: always
  type: int
  sample: 1
subnets_associated:
  description: Resource ids of the subnets associated with the table by this run (or re-applied after a Failed state).
  returned: always
  type: list
  elements: str
  sample:
    - /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/k8s-rg/providers/Microsoft.Network/virtualNetworks/k8s-vnet/subnets/nodes
subnets_dissociated:
  description: Resource ids of the subnets dissociated from the table by O(state=absent).
  returned: always
  type: list
  elements: str
  sample:
    - /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/k8s-rg/providers/Microsoft.Network/virtualNetworks/k8s-vnet/subnets/nodes
foreign_routes:
  description:
    - Routes inside O(cluster_cidr) that no owner recorded and that the purge kept (only with O(cluster_name) and
      O(purge_routes=true)). Each is also a warning.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: aks-cp-route, address_prefix: 10.244.50.0/24, next_hop_type: VirtualAppliance, next_hop_ip: 10.240.0.7}
foreign_routes_removed:
  description: Foreign routes removed (or that would be removed in check mode) because of O(purge_foreign_routes=true).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: aks-cp-route, address_prefix: 10.244.50.0/24, next_hop_type: VirtualAppliance, next_hop_ip: 10.240.0.7}
owned_routes:
  description: Lower-case names of the routes in this owner's record after the run (empty without O(cluster_name)).
  returned: always
  type: list
  elements: str
  sample: [node-1, node-2]
route_table_kept:
  description: With O(state=absent), whether the table was kept because it is not the cluster's or still holds other
    routes (see RV(kept_reason)).
  returned: always
  type: bool
  sample: true
kept_routes:
  description: With O(state=absent), the routes left in the kept table (not the cluster's).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: default, address_prefix: 0.0.0.0/0, next_hop_type: VirtualAppliance, next_hop_ip: 10.240.1.4}
kept_reason:
  description: With O(state=absent) when the table was kept, why (also a warning).
  returned: when the table was kept
  type: str
  sample: "route table 'rt-pods' was kept, with its subnet associations: it holds 1 route(s) that are not this
    cluster's: default (0.0.0.0/0 -> VirtualAppliance 10.240.1.4). Only the cluster's routes were removed (2);
    delete the table yourself if it is no longer needed"
attempts:
  description: How many times the table was read and merged before its write was accepted (more than 1 when another
    writer changed it concurrently).
  returned: always
  type: int
  sample: 1
errors:
  description: Every validation problem found, when the module fails validation (nothing was written).
  returned: failure
  type: list
  elements: str
  sample:
    - "route 'node-1': next_hop_ip 10.244.1.0 is inside the route's own address_prefix 10.244.1.0/24, so its traffic
      would loop; set next_hop_ip to the node's private IP"
"""

from ansible_collections.calico.azure.plugins.module_utils._azure.module import AzureModule
from ansible_collections.calico.azure.plugins.module_utils._udr.api import (
    ROUTE_TABLE_REQUIRED_IF,
    RouteTableConverger,
    UdrArm,
    ValidationFailed,
    route_table_options,
)


def module_options():
    return dict(
        route_table_options(),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        routes=dict(
            type="list",
            elements="dict",
            options=dict(
                name=dict(type="str"),
                node=dict(type="str"),
                address_prefix=dict(type="str", required=True),
                next_hop_ip=dict(type="str"),
                next_hop_type=dict(type="str", default="VirtualAppliance"),
            ),
        ),
        dual_stack_route_names=dict(type="bool", default=False),
    )


def main():
    module = AzureModule(
        argument_spec=AzureModule.argument_spec(**module_options()),
        supports_check_mode=True,
        required_if=ROUTE_TABLE_REQUIRED_IF,
    )
    with module.azure_errors():
        converger = RouteTableConverger(
            UdrArm(lambda: module.arm, module.subscription_id), module.params, module.check_mode, module.warn
        )
        try:
            if module.params["state"] == "absent":
                result = converger.absent()
            else:
                result = converger.present()
        except ValidationFailed as failure:
            module.fail_json(msg="; ".join(failure.errors), errors=failure.errors)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
