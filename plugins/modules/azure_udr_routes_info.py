#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: azure_udr_routes_info
short_description: Read a Kubernetes cluster's Azure route table (routes, owners, etag, associated subnets)
version_added: 0.1.0
description:
  - Reads one Azure route table with a single ARM request and returns its routes, its etag and the subnets it is
    associated with, in the shape M(calico.azure.azure_udr_routes) returns.
  - Routes written by the Kubernetes Azure cloud provider are named after their node (C(<node>), or
    C(<node>____<cidr without :, . and />) on dual-stack clusters); RV(route_table.routes[].node) gives that node name.
  - Shows who owns each route, from the ownership record M(calico.azure.azure_udr_routes) keeps in the table's tags
    (RV(route_table.owners), RV(route_table.routes[].owner)), and the routes no record names
    (RV(route_table.foreign_routes)), which no purge or teardown of M(calico.azure.azure_udr_routes) removes.
author:
  - calico.azure contributors (@calico-azure)
extends_documentation_fragment:
  - calico.azure.azure
  - calico.azure.attributes
  - calico.azure.attributes.action_group
  - calico.azure.attributes.check_mode_read_only
  - calico.azure.attributes.diff_mode_none
options:
  resource_group:
    description:
      - Resource group of the route table.
    type: str
    required: true
  name:
    description:
      - Name of the route table.
    type: str
    required: true
seealso:
  - module: calico.azure.azure_udr_routes
"""

EXAMPLES = r"""
- name: Read the cluster's route table
  calico.azure.azure_udr_routes_info:
    resource_group: k8s-rg
    name: k8s-pod-routes
  register: pod_routes

- name: Show which nodes have a route
  ansible.builtin.debug:
    msg: "{{ pod_routes.route_table.routes | map(attribute='node') | list }}"
  when: pod_routes.exists

- name: Show the routes no cluster recorded (kept by every purge)
  ansible.builtin.debug:
    msg: "{{ pod_routes.route_table.foreign_routes }}"
  when: pod_routes.exists
"""

RETURN = r"""
exists:
  description: Whether the route table exists.
  returned: always
  type: bool
  sample: true
route_table:
  description: The route table; empty when it does not exist.
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
      description: The table's current etag.
      type: str
      sample: W/"6f1f5b4c-0c4e-4bd2-9d0e-3b6c9d3c2b7a"
    location:
      description: Azure region of the table.
      type: str
      sample: westeurope
    tags:
      description: Tags of the table (the ownership records included).
      type: dict
      sample: {env: prod, calico-azure-cluster: prod-k8s, calico-azure-routes.prod-k8s: "node-0,node-1"}
    cluster:
      description: The cluster the table is marked as belonging to (its C(calico-azure-cluster) tag); null if unmarked.
      type: str
      sample: prod-k8s
    owners:
      description:
        - The ownership records, owner -> the route names it recorded. An owner is a cluster name, or
          C(<cluster>:<node pool>) when node pools share the table.
      type: dict
      sample: {prod-k8s: [node-0, node-1], "prod-k8s:gpu": [gpu-0]}
    foreign_routes:
      description: Names of the routes no ownership record names (the cloud provider's, hand-made ones...).
      type: list
      elements: str
      sample: [to-firewall]
    disable_bgp_route_propagation:
      description: Whether BGP route propagation is disabled.
      type: bool
      sample: false
    provisioning_state:
      description: ARM provisioning state.
      type: str
      sample: Succeeded
    routes:
      description: Every route of the table.
      type: list
      elements: dict
      contains:
        name:
          description: Route name.
          type: str
          sample: node-1____102441024
        node:
          description: The node the route belongs to under the cloud provider's naming (the name up to C(____)).
          type: str
          sample: node-1
        owner:
          description: The owner whose record names the route (see RV(route_table.owners)); null for a foreign route.
          type: str
          sample: prod-k8s
        id:
          description: Route resource id.
          type: str
          sample: "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/k8s-rg/providers/\
            Microsoft.Network/routeTables/k8s-pod-routes/routes/node-1____102441024"
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
"""

from ansible_collections.calico.azure.plugins.module_utils._azure import ids
from ansible_collections.calico.azure.plugins.module_utils._udr import logic, ownership
from ansible_collections.calico.azure.plugins.module_utils._azure.module import AzureModule


def main():
    module = AzureModule(
        argument_spec=AzureModule.argument_spec(
            resource_group=dict(type="str", required=True),
            name=dict(type="str", required=True),
        ),
        supports_check_mode=True,
    )
    with module.azure_errors():
        table_id = ids.route_table_id(module.subscription_id, module.params["resource_group"], module.params["name"])
        table = module.arm.get_or_none(table_id)
    if table is None:
        module.exit_json(changed=False, exists=False, route_table={})
    result = logic.table_result(table)
    report = ownership.ownership_report(table.get("tags"), [route["name"] or "" for route in result["routes"]])
    for route in result["routes"]:
        route["node"] = logic.node_name_from_route_name(route["name"] or "")
        route["owner"] = report["route_owners"][route["name"] or ""]
    result.update(cluster=report["cluster"], owners=report["owners"], foreign_routes=report["foreign_routes"])
    module.exit_json(changed=False, exists=True, route_table=result)


if __name__ == "__main__":
    main()
