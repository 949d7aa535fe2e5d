# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment(object):
    """The route table's options (azure_udr_routes, azure_udr_cluster): _udr.api.route_table_options."""

    DOCUMENTATION = r"""
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
  purge_routes:
    description:
      - Remove routes that are inside O(cluster_cidr) but not among the routes the module is given.
      - With O(cluster_name), only routes in this owner's record are removed; other routes in scope are foreign (see
        O(purge_foreign_routes)). Without O(cluster_name), every unlisted route in scope is removed, each with a warning.
      - Routes outside O(cluster_cidr) are never removed.
      - With no routes given the purge is refused unless O(allow_empty_purge=true).
    type: bool
    default: false
  allow_empty_purge:
    description:
      - Allow O(purge_routes=true) with no routes given, which empties the purge scope (every owned route inside
        O(cluster_cidr), or every route there without O(cluster_name)).
    type: bool
    default: false
    version_added: 0.2.0
  cluster_name:
    description:
      - Name of the cluster, written to the table's C(calico-azure-cluster) tag and used (with O(node_pool)) as the owner
        of the record of the routes this module wrote, in the table's C(calico-azure-routes.<owner>) tags.
      - 1-63 letters, digits, C(-) and C(_).
      - Required for deleting the table (C(state=absent) where the module has it) and with O(purge_foreign_routes=true).
    type: str
    version_added: 0.2.0
  node_pool:
    description:
      - Node pool of the cluster whose routes this run manages, when several pools share one table; the owner is then
        C(<cluster_name>:<node_pool>), and each pool purges only its own routes.
      - 1-63 letters, digits, C(-) and C(_). Needs O(cluster_name).
    type: str
    version_added: 0.2.0
  purge_foreign_routes:
    description:
      - With O(purge_routes=true), also remove routes inside O(cluster_cidr) that are in no owner's record (foreign);
        each is listed as a warning before it goes, in check mode too. Routes recorded by another owner are kept anyway.
    type: bool
    default: false
    version_added: 0.2.0
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
      - Needs O(replace_subnet_route_table) naming that table, so that no association moves by accident.
      - Without it, such a subnet is an error naming that table and its routes, and nothing is written.
    type: bool
    default: false
  replace_subnet_route_table:
    description:
      - Name (or resource id) of the route table whose association O(force_subnet_association=true) may replace.
        A subnet associated with any other table is still an error.
      - The subnet stops getting that table's routes; the module warns with their list.
    type: str
    version_added: 0.2.0
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
"""
