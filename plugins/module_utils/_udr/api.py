# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The route table's reads and writes, and the read-merge-write loop.

FOR INTERNAL COLLECTION USE ONLY: private to calico.azure.

:class:`RouteTableConverger` orchestrates what ``calico.azure.azure_udr_routes``
does; every decision comes from the pure ``_udr.logic``. It talks to ARM only
through the small :class:`UdrArm` wrapper over the shared ``ArmClient`` (raw
JSON), so what is read and written per run is visible in one place:

- reads: the route table; the VNet of every associated subnet (address space,
  subnets and their associations in one GET); one NIC list per resource group
  involved (for the IP-forwarding warning); the resource group only when a new
  table needs its location; a subnet just before writing it.
- writes: at most one route-table PUT (If-Match, retried after a 412 on a fresh
  read), one PUT per subnet to associate (If-Match), and for ``state=absent``
  one PUT per associated subnet plus the table DELETE.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ansible_collections.calico.azure.plugins.module_utils._azure import ids
from ansible_collections.calico.azure.plugins.module_utils._udr import logic
from ansible_collections.calico.azure.plugins.module_utils._azure.errors import (
    AzureNotFound,
    AzurePreconditionFailed,
)

# Writers racing on one table each need a fresh read and merge per lost race;
# five attempts cover a handful of concurrent playbooks without looping forever.
MAX_WRITE_ATTEMPTS = 5


class ValidationFailed(Exception):
    """Input or state that must not be written; ``errors`` lists every problem (one message per argument)."""

    def __init__(self, *errors: str) -> None:
        self.errors = list(errors)
        super(ValidationFailed, self).__init__("; ".join(self.errors))


class UdrArm(object):
    """Thin raw-JSON wrappers for the resources the route-table module touches."""

    def __init__(self, client_factory: Callable[[], Any], subscription: str) -> None:
        # The client (credential, SDK imports, token) is built on the first
        # request, so input errors are reported without touching Azure.
        self._client_factory = client_factory
        self._client = None  # type: Any
        self.subscription = subscription

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def get_or_none(self, resource_id: str) -> Optional[Dict[str, Any]]:
        return self.client.get_or_none(resource_id)

    def get(self, resource_id: str) -> Dict[str, Any]:
        return self.client.get(resource_id)

    def route_table_id(self, resource_group: str, name: str) -> str:
        return ids.route_table_id(self.subscription, resource_group, name)

    def resource_group_location(self, resource_group: str) -> str:
        return self.client.resource_group(resource_group)["location"]

    def put_table(self, resource_id: str, body: Dict[str, Any], etag: Optional[str]) -> Dict[str, Any]:
        """PUT with If-Match the etag read, or If-None-Match: * when creating (so a racing creator is not overwritten)."""
        if etag:
            return self.client.put(resource_id, body, if_match=etag)
        return self.client.put(resource_id, body, if_none_match="*")

    def put_subnet(self, resource_id: str, body: Dict[str, Any], etag: Optional[str]) -> Dict[str, Any]:
        """PUT a subnet back with If-Match the etag it was read with (it exists: never If-None-Match)."""
        return self.client.put(resource_id, body, if_match=etag or None)

    def delete(self, resource_id: str) -> bool:
        return self.client.delete(resource_id)

    def list_nics(self, resource_group: str) -> List[Dict[str, Any]]:
        """Every NIC of a resource group in one paged list (not one GET per NIC)."""
        return self.client.list(ids.resource_id(self.subscription, resource_group, ids.NETWORK, "networkInterfaces"))


class RouteTableConverger(object):
    """One run of the module: read, validate, plan, write (or predict in check mode)."""

    def __init__(
        self,
        arm: UdrArm,
        params: Mapping[str, Any],
        check_mode: bool = False,
        warn: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.arm = arm
        self.params = params
        self.check_mode = check_mode
        self.warn = warn
        self.resource_group = params["resource_group"]
        self.name = params["name"]
        self.table_id = arm.route_table_id(self.resource_group, self.name)

    # ------------------------------------------------------------------ present

    def _parse_input(self) -> Tuple[List[logic.RouteSpec], list, List[logic.SubnetRef]]:
        routes, errors = logic.parse_wanted_routes(self.params.get("routes") or [], self.params.get("dual_stack_route_names"))
        scope, scope_errors = logic.parse_scope(self.params.get("cluster_cidr"))
        errors = logic.name_errors("route table", self.name) + errors + scope_errors
        if len(routes) > logic.MAX_ROUTES_PER_TABLE:
            errors.append(
                "routes lists %d routes but Azure allows at most %d routes per route table. %s"
                % (len(routes), logic.MAX_ROUTES_PER_TABLE, logic.SCALE_OUT_HINT)
            )
        refs = [
            logic.SubnetRef(s.get("resource_group") or self.resource_group, s["virtual_network"], s["name"])
            for s in self.params.get("subnets") or []
        ]
        if errors:
            raise ValidationFailed(*errors)
        return routes, scope, refs

    def _read_vnets(self, table: Optional[Mapping[str, Any]], refs: Sequence[logic.SubnetRef]) -> Dict[Tuple[str, str], logic.VnetView]:
        """One GET per distinct VNet: of the requested subnets and of those already associated."""
        wanted = []  # type: List[Tuple[str, str]]
        for ref in refs:
            wanted.append((ref.resource_group, ref.virtual_network))
        for subnet_id in logic.subnet_ids_of_table(table):
            parsed = ids.parse_resource_id(subnet_id)
            if len(parsed.names) >= 1 and parsed.resource_group:
                wanted.append((parsed.resource_group, parsed.names[0]))
        vnets = {}  # type: Dict[Tuple[str, str], logic.VnetView]
        for resource_group, vnet_name in wanted:
            key = (resource_group.lower(), vnet_name.lower())
            if key in vnets:
                continue
            document = self.arm.get_or_none(ids.vnet_id(self.arm.subscription, resource_group, vnet_name))
            if document is not None:
                vnets[key] = logic.vnet_from_arm(document)
        return vnets

    def _read_nics(self, routes: Sequence[logic.RouteSpec], vnets: Mapping[Tuple[str, str], logic.VnetView]) -> List[Dict[str, Any]]:
        if not any(r.next_hop_type == "VirtualAppliance" for r in routes):
            return []
        groups = [self.resource_group] + [v.resource_group for v in vnets.values()]
        seen = set()
        nics = []  # type: List[Dict[str, Any]]
        for group in groups:
            if group.lower() in seen:
                continue
            seen.add(group.lower())
            try:
                nics.extend(self.arm.list_nics(group))
            except AzureNotFound:
                continue  # the resource group itself is missing; the table read already says so
        return nics

    def _plan_table(
        self,
        table: Optional[Dict[str, Any]],
        wanted: Sequence[logic.RouteSpec],
        scope: Sequence[Any],
        location: Optional[str],
    ) -> Tuple[logic.RoutePlan, Dict[str, Any], bool, List[str]]:
        current_routes = ((table or {}).get("properties") or {}).get("routes") or []
        manage_routes = self.params.get("routes") is not None or self.params.get("purge_routes")
        if manage_routes:
            plan = logic.plan_routes(current_routes, wanted, bool(self.params.get("purge_routes")), scope)
        else:
            plan = logic.plan_routes(current_routes, [], False, ())
        errors = logic.result_errors(self.name, plan, wanted)
        current_tags = (table or {}).get("tags") or {}
        tags = logic.merge_tags(current_tags, self.params.get("tags"), bool(self.params.get("purge_tags")))
        body = logic.table_body(table, location, plan.routes, self.params.get("disable_bgp_route_propagation"), tags)
        if table is None:
            needs_write = True
        else:
            current_bgp = bool((table.get("properties") or {}).get("disableBgpRoutePropagation"))
            needs_write = (
                plan.changes
                or tags != dict(current_tags)
                or bool(body["properties"].get("disableBgpRoutePropagation")) != current_bgp
            )
        return plan, body, needs_write, errors

    def _location(self, table: Optional[Mapping[str, Any]]) -> Optional[str]:
        """Where the table is (or will be created): as read, else the option, else the resource group's."""
        wanted = self.params.get("location")
        if table is not None:
            current = table.get("location") or ""
            if wanted and _location_key(wanted) != _location_key(current):
                raise ValidationFailed(
                    "route table '%s' is in location '%s', not '%s'; a route table cannot move: remove location or "
                    "delete the table first" % (self.name, current, wanted)
                )
            return current
        if wanted:
            return wanted
        return self.arm.resource_group_location(self.resource_group)

    def present(self) -> Dict[str, Any]:
        wanted, scope, refs = self._parse_input()

        table = self.arm.get_or_none(self.table_id)
        vnets = self._read_vnets(table, refs)
        errors = []  # type: List[str]
        associations, association_errors = logic.plan_subnet_associations(
            refs, vnets, self.table_id, bool(self.params.get("force_subnet_association"))
        )
        errors.extend(association_errors)
        pods = logic.pod_routes(wanted, scope)
        errors.extend(logic.vnet_errors(pods, wanted, list(vnets.values())))
        if errors:
            raise ValidationFailed(*errors)
        location = self._location(table)
        nics = self._read_nics(wanted, vnets)

        attempts = 0
        while True:
            attempts += 1
            # After a lost race the diff starts from what the other writer left.
            before = self._lines(table, logic.subnet_ids_of_table(table))
            plan, body, needs_write, plan_errors = self._plan_table(table, wanted, scope, location)
            if plan_errors:
                raise ValidationFailed(*plan_errors)
            if not needs_write or self.check_mode:
                final = table if not needs_write else self._predicted(table, body)
                break
            try:
                final = self.arm.put_table(self.table_id, body, (table or {}).get("etag"))
                break
            except AzurePreconditionFailed:
                if attempts >= MAX_WRITE_ATTEMPTS:
                    raise ValidationFailed(
                        "route table '%s' was changed by another writer %d times in a row while this module tried to "
                        "write it; nothing of this run was written. Run the task again." % (self.name, attempts)
                    )
                # Another writer got in between: start again from its result so its routes are kept.
                table = self.arm.get_or_none(self.table_id)

        associated = []  # type: List[str]
        for association in associations:
            associated.append(association.id)
            if not self.check_mode:
                self._set_subnet_route_table(association.id, self.table_id, association.current_route_table_id)

        if associated and not self.check_mode:
            # Associating a subnet gives the table a new etag: return the one a later If-Match needs.
            final = self.arm.get(self.table_id)

        for warning in logic.forwarding_warnings(nics, wanted):
            self.warn(warning.message())

        subnet_ids = logic.subnet_ids_of_table(final)
        for subnet_id in associated:
            if not any(ids.same_id(subnet_id, s) for s in subnet_ids):
                subnet_ids.append(subnet_id)
        after = self._lines(final, subnet_ids)
        table_result = logic.table_result(final or {})
        table_result["subnets"] = subnet_ids
        changed = needs_write or bool(associated)
        result = {
            "changed": changed,
            "route_table": table_result,
            "routes_added": len(plan.added),
            "routes_changed": len(plan.changed),
            "routes_removed": len(plan.removed),
            "subnets_associated": associated,
            "subnets_dissociated": [],
            "attempts": attempts,
        }
        if changed:
            result["diff"] = {
                "before": before,
                "after": after,
                "before_header": "route table %s (before)" % self.name,
                "after_header": "route table %s (after)" % self.name,
            }
        return result

    def _predicted(self, table: Optional[Mapping[str, Any]], body: Mapping[str, Any]) -> Dict[str, Any]:
        """What the table would look like after the PUT (check mode)."""
        predicted = dict(body)
        predicted["id"] = self.table_id
        predicted["name"] = self.name
        predicted["etag"] = (table or {}).get("etag")
        props = dict(predicted.get("properties") or {})
        props["subnets"] = list(((table or {}).get("properties") or {}).get("subnets") or [])
        props["provisioningState"] = ((table or {}).get("properties") or {}).get("provisioningState")
        predicted["properties"] = props
        return predicted

    @staticmethod
    def _lines(table: Optional[Mapping[str, Any]], subnet_ids: Sequence[str]) -> str:
        if table is None:
            return ""
        props = table.get("properties") or {}
        specs = [logic.route_from_arm(r) for r in props.get("routes") or []]
        lines = logic.table_lines(specs, subnet_ids, bool(props.get("disableBgpRoutePropagation")), table.get("tags") or {})
        return "\n".join(lines) + "\n"

    def _set_subnet_route_table(self, subnet_id: str, table_id: Optional[str], expected_current: Optional[str]) -> None:
        """GET the subnet, change only properties.routeTable, PUT it back with If-Match; re-read after a 412."""
        for attempt in range(1, MAX_WRITE_ATTEMPTS + 1):
            subnet = self.arm.get(subnet_id)
            current = ((subnet.get("properties") or {}).get("routeTable") or {}).get("id")
            if table_id is not None and ids.same_id(current, table_id):
                return
            if table_id is None and not ids.same_id(current, self.table_id):
                return  # dissociating, and the subnet is no longer ours: leave it
            if table_id is not None and current and not ids.same_id(current, expected_current):
                raise ValidationFailed(
                    "subnet %s was associated with route table %s by someone else while this module ran; "
                    "the route table was written, the subnet was left alone. Check who manages it, then run "
                    "the task again (with force_subnet_association: true to replace it)"
                    % (logic.subnet_label(subnet_id), current)
                )
            body = logic.subnet_with_route_table(subnet, table_id)
            try:
                self.arm.put_subnet(subnet_id, body, subnet.get("etag"))
                return
            except AzurePreconditionFailed:
                if attempt == MAX_WRITE_ATTEMPTS:
                    raise

    # ------------------------------------------------------------------ absent

    def absent(self) -> Dict[str, Any]:
        errors = logic.name_errors("route table", self.name)
        if errors:
            raise ValidationFailed(*errors)
        table = self.arm.get_or_none(self.table_id)
        result = {
            "changed": False,
            "route_table": {},
            "routes_added": 0,
            "routes_changed": 0,
            "routes_removed": 0,
            "subnets_associated": [],
            "subnets_dissociated": [],
            "attempts": 1,
        }  # type: Dict[str, Any]
        if table is None:
            return result
        subnet_ids = logic.subnet_ids_of_table(table)
        if not self.check_mode:
            for subnet_id in subnet_ids:
                self._set_subnet_route_table(subnet_id, None, None)
            self.arm.delete(self.table_id)
        result.update(
            changed=True,
            routes_removed=len((table.get("properties") or {}).get("routes") or []),
            subnets_dissociated=subnet_ids,
            diff={
                "before": self._lines(table, subnet_ids),
                "after": "",
                "before_header": "route table %s (before)" % self.name,
                "after_header": "route table %s (deleted)" % self.name,
            },
        )
        return result


def _location_key(location: str) -> str:
    """ARM accepts 'West Europe' and 'westeurope' for one region."""
    return location.replace(" ", "").lower()
