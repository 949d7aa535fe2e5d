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
    associated with a B(different) route table is an error unless
    O(force_subnet_association=true); the module never swaps it silently.
  - B(Validation before any write.) Every problem is reported together, and
    nothing is written while any remains. Address prefixes must be valid CIDRs
    without host bits (the message gives the network to use); route names and
    prefixes must be unique; pod CIDRs (the routes inside O(cluster_cidr), or
    every C(VirtualAppliance) route when O(cluster_cidr) is not set) must lie
    inside the address space of the VNet of every associated subnet, must not
    overlap a subnet of that VNet and must not overlap each other; each
    O(routes[].next_hop_ip) must be an address in that VNet; a listed route must
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
  - "B(What removal touches.) With O(state=absent) the module reads the table, then for every subnet
    the table is associated with (the table's C(properties.subnets), not only
    those in O(subnets)) it removes C(properties.routeTable) from the subnet and
    writes the subnet back exactly as read otherwise (with C(If-Match)). Then it
    deletes the route table together with all of its routes, including routes
    outside O(cluster_cidr). Nothing else is touched: NICs, VNets and other
    route tables stay as they are."
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
      - Sends no write at all; RV(ignore:changed) predicts exactly what a real run would report.
  diff_mode:
    support: full
    details:
      - One line per route (name, prefix, next hop), per associated subnet, per tag and the BGP propagation flag,
        before and after.
options:
  resource_group:
    description:
      - Resource group of the route table.
    type: str
    required: true
  name:
    description:
      - Name of the route table.
      - The name C(routeTableName) in the Kubernetes cloud-provider config C(azure.json) must hold.
    type: str
    required: true
  location:
    description:
      - Azure region of the route table when it is created.
      - Defaults to the location of O(resource_group).
      - An existing table cannot move; a different location is an error.
    type: str
  state:
    description:
      - V(present) creates or updates the table, its routes and the subnet associations.
      - V(absent) dissociates every subnet from the table and deletes the table (see the description for exactly what it
        touches).
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
  purge_routes:
    description:
      - Remove routes that are inside O(cluster_cidr) but not in O(routes).
      - Routes outside O(cluster_cidr) are never removed.
    type: bool
    default: false
  cluster_cidr:
    description:
      - The cluster's pod network(s), for example V(10.244.0.0/16), or one IPv4 and one IPv6 network on a dual-stack
        cluster. Required with O(purge_routes=true).
      - Limits the purge to routes inside it, and says which routes are pod routes for the VNet checks.
      - V(0.0.0.0/0) and V(::/0) are refused, because they would put every route in the purge scope.
    type: list
    elements: str
  subnets:
    description:
      - Subnets to associate with the route table, usually the nodes' subnets.
      - Subnets associated already and not listed here stay associated.
    type: list
    elements: dict
    suboptions:
      virtual_network:
        description:
          - Name of the subnet's virtual network.
        type: str
        required: true
      name:
        description:
          - Name of the subnet.
        type: str
        required: true
      resource_group:
        description:
          - Resource group of the virtual network; defaults to O(resource_group).
        type: str
  force_subnet_association:
    description:
      - Replace the association of a subnet in O(subnets) that is associated with a different route table.
      - Without it, such a subnet is an error and nothing is written.
    type: bool
    default: false
  disable_bgp_route_propagation:
    description:
      - Whether routes learned by BGP (from a VPN or ExpressRoute gateway) are kept off the associated subnets.
      - When omitted, an existing table keeps its setting and a new table gets V(false).
    type: bool
  tags:
    description:
      - Tags of the route table. When omitted, the tags are left as they are.
    type: dict
  purge_tags:
    description:
      - Remove tags not in O(tags). Without it, O(tags) are added to or update the existing tags.
      - Tags written by others (such as the Kubernetes cloud provider) survive unless this is set.
    type: bool
    default: false
notes:
  - "ARM reads per run: the route table, the VNet of each associated subnet (which also gives the VNet's address
    space and the other subnets' associations) and one NIC list per resource group involved. An unchanged re-run
    therefore costs 3 reads and no write when table, VNet and NICs share a resource group. A change costs one
    table PUT plus, per subnet to associate, one GET and one PUT of that subnet."
  - Azure allows 400 routes per route table. Larger clusters need Azure CNI or an overlay (Calico VXLAN), not routes.
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

- name: Take over a subnet that is associated with an old route table
  calico.azure.azure_udr_routes:
    resource_group: k8s-rg
    name: k8s-pod-routes
    subnets:
      - virtual_network: k8s-vnet
        name: nodes
    force_subnet_association: true

- name: Remove the table (dissociates every subnet first)
  calico.azure.azure_udr_routes:
    resource_group: k8s-rg
    name: k8s-pod-routes
    state: absent
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
  description: Resource ids of the subnets associated with the table by this run.
  returned: always
  type: list
  elements: str
subnets_dissociated:
  description: Resource ids of the subnets dissociated from the table by O(state=absent).
  returned: always
  type: list
  elements: str
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
"""

from ansible_collections.calico.azure.plugins.module_utils._azure.module import AzureModule
from ansible_collections.calico.azure.plugins.module_utils._udr.api import (
    RouteTableConverger,
    UdrArm,
    ValidationFailed,
)


def module_options():
    return dict(
        resource_group=dict(type="str", required=True),
        name=dict(type="str", required=True),
        location=dict(type="str"),
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
        purge_routes=dict(type="bool", default=False),
        cluster_cidr=dict(type="list", elements="str"),
        subnets=dict(
            type="list",
            elements="dict",
            options=dict(
                virtual_network=dict(type="str", required=True),
                name=dict(type="str", required=True),
                resource_group=dict(type="str"),
            ),
        ),
        force_subnet_association=dict(type="bool", default=False),
        replace_subnet_route_table=dict(type="str"),
        cluster_name=dict(type="str"),
        node_pool=dict(type="str"),
        purge_foreign_routes=dict(type="bool", default=False),
        allow_empty_purge=dict(type="bool", default=False),
        disable_bgp_route_propagation=dict(type="bool"),
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=False),
    )


def main():
    module = AzureModule(
        argument_spec=AzureModule.argument_spec(**module_options()),
        supports_check_mode=True,
        required_if=[("purge_routes", True, ("cluster_cidr",)), ("purge_foreign_routes", True, ("cluster_name",))],
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
