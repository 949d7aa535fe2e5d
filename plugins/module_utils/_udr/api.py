# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
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
from ansible_collections.calico.azure.plugins.module_utils._udr import ownership
from ansible_collections.calico.azure.plugins.module_utils._azure.errors import (
    AzureError,
    AzureNotFound,
    AzureOperationFailed,
    AzurePreconditionFailed,
)

# Writers racing on one table each need a fresh read and merge per lost race;
# five attempts cover a handful of concurrent playbooks without looping forever.
MAX_WRITE_ATTEMPTS = 5


_UNREAD = object()


def route_table_options() -> Dict[str, Any]:
    """The route table's options, shared by azure_udr_routes and azure_udr_cluster (doc fragment udr_route_table)."""
    return dict(
        resource_group=dict(type="str", required=True),
        name=dict(type="str", required=True),
        location=dict(type="str"),
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


ROUTE_TABLE_REQUIRED_IF = [("purge_routes", True, ("cluster_cidr",)), ("purge_foreign_routes", True, ("cluster_name",))]


class ValidationFailed(Exception):
    """Input or state that must not be written; ``errors`` lists every problem (one message per argument)."""

    def __init__(self, *errors: str) -> None:
        self.errors = list(errors)
        super(ValidationFailed, self).__init__("; ".join(self.errors))


def missing_resource_group(resource_group: str, subscription: str) -> str:
    return (
        "resource group '%s' was not found in subscription '%s'; set resource_group to the resource group of the "
        "route table (it must exist)" % (resource_group, subscription)
    )


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
        try:
            return self.client.resource_group(resource_group)["location"]
        except AzureNotFound:
            raise ValidationFailed(missing_resource_group(resource_group, self.subscription))

    def put_table(self, resource_id: str, body: Dict[str, Any], etag: Optional[str]) -> Dict[str, Any]:
        """PUT with If-Match the etag read, or If-None-Match: * when creating (so a racing creator is not overwritten)."""
        if etag:
            return self._put(resource_id, body, if_match=etag)
        try:
            return self._put(resource_id, body, if_none_match="*")
        except AzureNotFound as missing:
            if missing.code == "ResourceGroupNotFound":
                raise ValidationFailed(missing_resource_group(ids.resource_group_of(resource_id) or "", self.subscription))
            raise

    def put_subnet(self, resource_id: str, body: Dict[str, Any], etag: Optional[str]) -> Dict[str, Any]:
        """PUT a subnet back with If-Match the etag it was read with (it exists: never If-None-Match)."""
        return self._put(resource_id, body, if_match=etag or None)

    def _put(self, resource_id: str, body: Dict[str, Any], **conditions: Any) -> Dict[str, Any]:
        """PUT and follow the operation; once ARM accepted the write, a failure to follow it is not a failed write."""
        operation = self.client.begin_put(resource_id, body, **conditions)
        try:
            return operation.wait()
        except AzureOperationFailed:
            raise
        except AzureError as lost:
            # Not the client's "failed to write ..." text: the write itself was accepted.
            if lost.status:
                reason = "its status polls answered HTTP %s%s" % (lost.status, " " + lost.code if lost.code else "")
            else:
                reason = "its status polls could not reach Azure"
            raise ValidationFailed(
                "Azure accepted the write of %s, but %s; whether it completed is unknown. Run the task again: it "
                "reads the current state and writes only what is still missing" % (ids.describe(resource_id), reason)
            )

    def delete(self, resource_id: str, etag: Optional[str] = None) -> bool:
        return self.client.delete(resource_id, if_match=etag or None)

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
        known_nics: Optional[Tuple[List[Dict[str, Any]], List[str]]] = None,
        before_write: Optional[Callable[[], None]] = None,
    ) -> None:
        self.arm = arm
        # A caller that read the nodes' NICs already (azure_udr_cluster) hands them in, as they will be once its own
        # forwarding step ran: then no NIC list is read here and no warning says forwarding is off.
        self.known_nics = known_nics
        # Called once every check passed and before the first write (in check mode too): a caller's own writes that
        # must land before the table's and only when the table's checks passed.
        self.before_write = before_write
        self.preread_table = _UNREAD
        # After present(): whether the table itself was (in check mode: would be) written.
        self.table_write_needed = False
        self.params = params
        self.check_mode = check_mode
        self.warn = warn
        self.resource_group = params["resource_group"]
        self.name = params["name"]
        self.table_id = arm.route_table_id(self.resource_group, self.name)
        self.cluster_name = params.get("cluster_name") or None
        self.owner = (
            ownership.owner_key(self.cluster_name, params.get("node_pool") or None) if self.cluster_name else None
        )

    # ------------------------------------------------------------------ present

    def _parse_input(self) -> Tuple[List[logic.RouteSpec], list, List[logic.SubnetRef]]:
        routes, errors = logic.parse_wanted_routes(self.params.get("routes") or [], self.params.get("dual_stack_route_names"))
        scope, scope_errors = logic.parse_scope(self.params.get("cluster_cidr"))
        errors = (
            logic.name_errors("route table", self.name)
            + ownership.owner_errors(self.cluster_name, self.params.get("node_pool") or None)
            + errors
            + scope_errors
        )
        if len(routes) > logic.MAX_ROUTES_PER_TABLE:
            errors.append(
                "routes lists %d routes but Azure allows at most %d routes per route table. %s"
                % (len(routes), logic.MAX_ROUTES_PER_TABLE, logic.SCALE_OUT_HINT)
            )
        if (
            self.params.get("state", "present") == "present"
            and self.params.get("purge_routes")
            and not self.params.get("routes")
            and not self.params.get("allow_empty_purge")
        ):
            errors.append(
                "purge_routes is set but routes is empty, so the purge would remove every %sroute inside cluster_cidr "
                "(%s), including routes the cloud provider's route controller may own; list the routes to keep in "
                "routes, or set allow_empty_purge: true to empty it"
                % ("owned " if self.owner else "", ", ".join(self.params.get("cluster_cidr") or []))
            )
        if self.params.get("replace_subnet_route_table") and not self.params.get("force_subnet_association"):
            errors.append(
                "replace_subnet_route_table is set but force_subnet_association is not; set force_subnet_association: "
                "true to move the subnets away from route table '%s'" % self.params["replace_subnet_route_table"]
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
        return self._get_vnets(wanted)

    def _get_vnets(self, wanted: Sequence[Tuple[str, str]]) -> Dict[Tuple[str, str], logic.VnetView]:
        vnets = {}  # type: Dict[Tuple[str, str], logic.VnetView]
        for resource_group, vnet_name in wanted:
            key = (resource_group.lower(), vnet_name.lower())
            if key in vnets:
                continue
            document = self.arm.get_or_none(ids.vnet_id(self.arm.subscription, resource_group, vnet_name))
            if document is not None:
                vnets[key] = logic.vnet_from_arm(document)
        return vnets

    def _vnets_of_next_hops(self, wanted: Sequence[logic.RouteSpec], held: Mapping[Any, Tuple[str, str]]) -> List[logic.VnetView]:
        """No subnet named, table not associated: the VNets of the NICs that hold the next hops (one GET each)."""
        keys = []  # type: List[Tuple[str, str]]
        for route in wanted:
            address = logic._parse_address(route.next_hop_ip)
            if address is None or address not in held or not held[address][1]:
                continue
            parsed = ids.parse_resource_id(held[address][1])
            if parsed.resource_group and parsed.names:
                keys.append((parsed.resource_group, parsed.names[0]))
        return list(self._get_vnets(keys).values())

    def _read_other_tables(self, refs: Sequence[logic.SubnetRef], vnets: Mapping[Tuple[str, str], logic.VnetView]) -> Dict[str, Optional[Dict[str, Any]]]:
        """The other route tables the requested subnets are associated with (to say what they would lose)."""
        tables = {}  # type: Dict[str, Optional[Dict[str, Any]]]
        for ref in refs:
            vnet = vnets.get((ref.resource_group.lower(), ref.virtual_network.lower()))
            subnet = vnet.subnet(ref.name) if vnet else None
            other = subnet.route_table_id if subnet else None
            if other and not ids.same_id(other, self.table_id) and other.lower() not in tables:
                tables[other.lower()] = self.arm.get_or_none(other)
        return tables

    def _read_nics(self, routes: Sequence[logic.RouteSpec], vnets: Mapping[Tuple[str, str], logic.VnetView]) -> Tuple[List[Dict[str, Any]], List[str]]:
        if self.known_nics is not None:
            return self.known_nics
        if not any(r.next_hop_type == "VirtualAppliance" for r in routes):
            return [], []
        groups = [self.resource_group] + [v.resource_group for v in vnets.values()]
        seen = []  # type: List[str]
        nics = []  # type: List[Dict[str, Any]]
        for group in groups:
            if group.lower() in [g.lower() for g in seen]:
                continue
            seen.append(group)
            try:
                nics.extend(self.arm.list_nics(group))
            except AzureNotFound:
                continue  # the resource group itself is missing; the table read already says so
        return nics, seen

    def _tags(self, table: Optional[Mapping[str, Any]], plan: logic.RoutePlan, wanted: Sequence[logic.RouteSpec]) -> Dict[str, str]:
        """Tags after the run: the user's tags merged as asked; every ownership record kept; ours rewritten."""
        current = dict((table or {}).get("tags") or {})
        records = dict((k, v) for k, v in current.items() if ownership.is_ownership_tag(k))
        base = dict((k, v) for k, v in current.items() if not ownership.is_ownership_tag(k))
        user = self.params.get("tags")
        if user is not None:
            user = dict((k, v) for k, v in user.items() if not ownership.is_ownership_tag(k))
        tags = logic.merge_tags(base, user, bool(self.params.get("purge_tags")))
        tags.update(records)
        if self.owner:
            mine = ownership.owned_by(current, self.owner) | set(r.name.lower() for r in wanted)
            names = [r.name for r in plan.final_specs if r.name.lower() in mine]
            tags = ownership.with_record(tags, self.owner, names, self.cluster_name)
        return tags

    def _plan_table(
        self,
        table: Optional[Dict[str, Any]],
        wanted: Sequence[logic.RouteSpec],
        scope: Sequence[Any],
        location: Optional[str],
    ) -> Tuple[logic.RoutePlan, Dict[str, Any], bool, List[str]]:
        current_routes = ((table or {}).get("properties") or {}).get("routes") or []
        current_tags = (table or {}).get("tags") or {}
        manage_routes = self.params.get("routes") is not None or self.params.get("purge_routes")
        errors = []  # type: List[str]
        owned = None
        others = {}  # type: Dict[str, str]
        if self.owner:
            owned = ownership.owned_by(current_tags, self.owner)
            others = ownership.owned_by_others(current_tags, self.owner)
            for route in wanted:
                if route.name.lower() in others:
                    errors.append(
                        "route '%s' is recorded as owned by '%s' in route table '%s' (tag %s%s); a route belongs to one "
                        "node pool: remove it from routes here, or from that pool's routes first"
                        % (route.name, others[route.name.lower()], self.name, ownership.ROUTES_TAG_PREFIX, others[route.name.lower()])
                    )
        if manage_routes:
            plan = logic.plan_routes(
                current_routes,
                wanted,
                bool(self.params.get("purge_routes")),
                scope,
                owned,
                frozenset(others),
                bool(self.params.get("purge_foreign_routes")),
            )
        else:
            plan = logic.plan_routes(current_routes, [], False, ())
        errors.extend(logic.result_errors(self.name, plan, wanted))
        tags = self._tags(table, plan, wanted)
        if self.owner:
            errors.extend(ownership.record_errors(self.name, self.owner, tags))
        body = logic.table_body(table, location, plan.routes, self.params.get("disable_bgp_route_propagation"), tags)
        if table is None:
            needs_write = True
        else:
            current_bgp = bool((table.get("properties") or {}).get("disableBgpRoutePropagation"))
            needs_write = bool(
                plan.changes
                or tags != dict(current_tags)
                or bool(body["properties"].get("disableBgpRoutePropagation")) != current_bgp
                or logic.is_unsettled((table.get("properties") or {}).get("provisioningState"))
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

    def _validate(
        self,
        table: Optional[Mapping[str, Any]],
        wanted: Sequence[logic.RouteSpec],
        scope: Sequence[Any],
        refs: Sequence[logic.SubnetRef],
    ) -> Tuple[List[logic.SubnetAssociation], Dict[str, Optional[Dict[str, Any]]], List[Dict[str, Any]]]:
        """Every check before any write; returns the associations to make, the other tables read and the NICs."""
        vnets = self._read_vnets(table, refs)
        other_tables = self._read_other_tables(refs, vnets)
        errors = []  # type: List[str]
        associations, association_errors = logic.plan_subnet_associations(
            refs,
            vnets,
            self.table_id,
            bool(self.params.get("force_subnet_association")),
            self.params.get("replace_subnet_route_table"),
            other_tables,
        )
        errors.extend(association_errors)
        pods = logic.pod_routes(wanted, scope)
        errors.extend(logic.vnet_errors(pods, wanted, list(vnets.values())))
        nics, nic_groups = self._read_nics(wanted, vnets)
        held = logic.nic_addresses(nics)
        check_vnets = list(vnets.values())
        if not check_vnets and wanted:
            # Nothing says which VNet the table serves yet: check against the VNets of the NICs holding the next hops.
            check_vnets = self._vnets_of_next_hops(wanted, held)
            errors.extend(logic.vnet_errors(pods, [], check_vnets))
        current_pods = [
            r
            for r in (logic.route_from_arm(x) for x in ((table or {}).get("properties") or {}).get("routes") or [])
            if scope and logic.in_scope(r, scope) and r.name.lower() not in set(w.name.lower() for w in wanted)
        ]
        hop_errors, hop_warnings = logic.next_hop_problems(wanted, list(pods) + current_pods, check_vnets, held, nic_groups)
        errors.extend(hop_errors)
        if errors:
            raise ValidationFailed(*errors)
        for warning in hop_warnings:
            self.warn(warning)
        return associations, other_tables, nics

    def present(self) -> Dict[str, Any]:
        wanted, scope, refs = self._parse_input()

        table = self.read_table() if self.preread_table is _UNREAD else self.preread_table
        first_read = table
        associations, other_tables, nics = self._validate(table, wanted, scope, refs)
        location = self._location(table)
        if self.before_write is not None:
            # The caller writes first: everything the table's own write would refuse is refused before that.
            plan_errors = self._plan_table(table, wanted, scope, location)[3]
            if plan_errors:
                raise ValidationFailed(*plan_errors)
            self.before_write()

        attempts = 0
        written = False
        while True:
            attempts += 1
            # After a lost race the diff starts from what the other writer left.
            before = logic.table_state(table, logic.subnet_ids_of_table(table))
            plan, body, needs_write, plan_errors = self._plan_table(table, wanted, scope, location)
            if plan_errors:
                raise ValidationFailed(*plan_errors)
            state = ((table or {}).get("properties") or {}).get("provisioningState")
            if needs_write and table is not None and logic.is_unsettled(state) and attempts == 1:
                self.warn(
                    "route table '%s' was left provisioningState %s by an earlier write; %s it (one PUT of the table "
                    "as wanted), as Azure advises for a resource in that state"
                    % (self.name, state, "check mode: would re-apply" if self.check_mode else "re-applying")
                )
            if not needs_write or self.check_mode:
                final = table if not needs_write else self._predicted(table, body)
                break
            try:
                final = self.arm.put_table(self.table_id, body, (table or {}).get("etag"))
                written = True
                break
            except AzurePreconditionFailed:
                if attempts >= MAX_WRITE_ATTEMPTS:
                    raise ValidationFailed(
                        "route table '%s' was changed by another writer %d times in a row while this module tried to "
                        "write it; nothing of this run was written. Run the task again." % (self.name, attempts)
                    )
                # Another writer got in between (or our own write landed and its answer was lost):
                # start again from what is there now, so nothing written meanwhile is lost.
                table = self.arm.get_or_none(self.table_id)

        # A write whose answer was lost shows up as a 412 on the retry and a table that already holds
        # what we wanted: it changed during this run all the same, so say so.
        changed_meanwhile = attempts > 1 and not needs_write and (
            logic.table_state(first_read, logic.subnet_ids_of_table(first_read))
            != logic.table_state(table, logic.subnet_ids_of_table(table))
        )
        if changed_meanwhile:
            before = logic.table_state(first_read, logic.subnet_ids_of_table(first_read))

        associated = []  # type: List[str]
        for association in associations:
            associated.append(association.id)
            if association.reapply:
                self.warn(
                    "subnet %s was left provisioningState Failed or Updating by an earlier write; %s it"
                    % (association.ref.label(), "check mode: would re-apply" if self.check_mode else "re-applying")
                )
            elif association.current_route_table_id:
                self.warn(logic.replaced_association_warning(association, other_tables.get(association.current_route_table_id.lower())))
            if not self.check_mode:
                self._set_subnet_route_table(
                    association.id, self.table_id, association.current_route_table_id, written, association.reapply
                )

        if associated and not self.check_mode:
            # Associating a subnet gives the table a new etag; and another writer (state: absent) may have
            # dissociated or deleted meanwhile: report what is there now.
            final = self.arm.get_or_none(self.table_id)
            if final is None:
                raise ValidationFailed(
                    "route table '%s' was deleted by another writer (a state: absent run?) while this run wrote it "
                    "and associated its subnets; nothing of this run remains. Run the task again" % self.name
                )

        for warning in logic.forwarding_warnings(nics, wanted):
            self.warn(warning.message())
        if self.owner is None:
            for route in plan.removed:
                self.warn(
                    "route '%s' (%s) %s by purge_routes: it is inside cluster_cidr and not in routes; set cluster_name "
                    "so that a purge removes only routes this cluster wrote"
                    % (route.name, route.describe(), "would be removed" if self.check_mode else "removed")
                )
        for route in plan.foreign:
            self.warn(
                "route '%s' (%s) is inside cluster_cidr but was not written by '%s' (not in its record): kept. Set "
                "purge_foreign_routes: true to remove it" % (route.name, route.describe(), self.owner)
            )
        for route in plan.foreign_removed:
            self.warn(
                "route '%s' (%s) is inside cluster_cidr but was not written by '%s': %s (purge_foreign_routes)"
                % (route.name, route.describe(), self.owner, "would be removed" if self.check_mode else "removed")
            )

        subnet_ids = logic.subnet_ids_of_table(final)
        if self.check_mode:
            for subnet_id in associated:
                if not any(ids.same_id(subnet_id, s) for s in subnet_ids):
                    subnet_ids.append(subnet_id)
        else:
            for subnet_id in associated:
                if not any(ids.same_id(subnet_id, s) for s in subnet_ids):
                    self.warn(
                        "subnet %s was associated with route table '%s' by this run, but is no longer associated now "
                        "(another writer dissociated it); run the task again" % (logic.subnet_label(subnet_id), self.name)
                    )
        after = logic.table_state(final, subnet_ids)
        table_result = logic.table_result(final or {})
        table_result["subnets"] = subnet_ids
        changed = needs_write or bool(associated) or changed_meanwhile
        self.table_write_needed = bool(needs_write)
        result = {
            "changed": changed,
            "route_table": table_result,
            "routes_added": len(plan.added),
            "routes_changed": len(plan.changed),
            "routes_removed": len(plan.removed),
            "subnets_associated": associated,
            "subnets_dissociated": [],
            "attempts": attempts,
            "foreign_routes": [logic.spec_result(r) for r in plan.foreign],
            "foreign_routes_removed": [logic.spec_result(r) for r in plan.foreign_removed],
            "owned_routes": sorted(ownership.owned_by(final.get("tags") if final else {}, self.owner)) if self.owner else [],
        }
        if changed:
            result["diff"] = logic.table_diff(self.name, before, after)
        return result

    def read_table(self) -> Optional[Dict[str, Any]]:
        """The table as it is (None when missing); :meth:`present` reuses this read instead of reading again."""
        self.preread_table = self.arm.get_or_none(self.table_id)
        return self.preread_table

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

    def _set_subnet_route_table(
        self,
        subnet_id: str,
        table_id: Optional[str],
        expected_current: Optional[str],
        table_written: bool = False,
        reapply: bool = False,
    ) -> None:
        """GET the subnet, change only properties.routeTable, PUT it back with If-Match; re-read after a 412."""
        for attempt in range(1, MAX_WRITE_ATTEMPTS + 1):
            subnet = self.arm.get(subnet_id)
            props = subnet.get("properties") or {}
            current = (props.get("routeTable") or {}).get("id")
            if table_id is not None and ids.same_id(current, table_id):
                if not (reapply and logic.is_unsettled(props.get("provisioningState"))):
                    return
            elif table_id is None and not ids.same_id(current, self.table_id):
                return  # dissociating, and the subnet is no longer ours: leave it
            elif table_id is not None and current and not ids.same_id(current, expected_current):
                raise ValidationFailed(
                    "subnet %s was associated with route table %s by someone else while this module ran; %s, the "
                    "subnet was left alone. Check who manages it, then run the task again (with "
                    "force_subnet_association: true and replace_subnet_route_table: %s to replace it)"
                    % (
                        logic.subnet_label(subnet_id),
                        current,
                        "the route table was written" if table_written else "the route table needed no change",
                        current.rstrip("/").rsplit("/", 1)[-1],
                    )
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
        errors = logic.name_errors("route table", self.name) + ownership.owner_errors(
            self.cluster_name, self.params.get("node_pool") or None
        )
        listed, route_errors = logic.parse_wanted_routes(self.params.get("routes") or [], self.params.get("dual_stack_route_names"))
        errors.extend(route_errors)
        if not self.cluster_name:
            errors.append(
                "state: absent needs cluster_name: it removes the routes that cluster wrote (and the routes listed in "
                "routes), and deletes the table only when it is tagged %s=<cluster_name> and nothing else is left in it"
                % ownership.CLUSTER_TAG
            )
        if errors:
            raise ValidationFailed(*errors)
        if self.owner is None or self.cluster_name is None:  # checked by the input validation above
            raise ValidationFailed("state: absent needs cluster_name")
        result = {
            "changed": False,
            "route_table": {},
            "routes_added": 0,
            "routes_changed": 0,
            "routes_removed": 0,
            "subnets_associated": [],
            "subnets_dissociated": [],
            "attempts": 0,
            "route_table_kept": False,
            "kept_routes": [],
            "foreign_routes": [],
            "foreign_routes_removed": [],
            "owned_routes": [],
        }  # type: Dict[str, Any]
        table = self.arm.get_or_none(self.table_id)
        while table is not None:
            result["attempts"] += 1
            tags = table.get("tags") or {}
            cluster_routes = ownership.owned_by(tags, self.owner) | set(r.name.lower() for r in listed)
            plan = logic.plan_teardown(
                self.name, (table.get("properties") or {}).get("routes") or [], cluster_routes, self.cluster_name, ownership.cluster_of(tags)
            )
            before = logic.table_state(table, logic.subnet_ids_of_table(table))
            try:
                if plan.delete_table:
                    self._delete(table, result)
                    result["diff"] = logic.table_diff(self.name, before, None)
                else:
                    self._strip(table, plan, result, before)
                break
            except AzurePreconditionFailed:
                if result["attempts"] >= MAX_WRITE_ATTEMPTS:
                    raise
                table = self.arm.get_or_none(self.table_id)
        return result

    def _delete(self, table: Mapping[str, Any], result: Dict[str, Any]) -> None:
        subnet_ids = logic.subnet_ids_of_table(table)
        if not self.check_mode:
            for subnet_id in subnet_ids:
                self._set_subnet_route_table(subnet_id, None, None)
            # Dissociating gave the table a new etag: delete exactly what was checked, so a route a
            # racing writer added meanwhile makes the DELETE fail (412) and the loop look again.
            latest = self.arm.get_or_none(self.table_id) if subnet_ids else table
            if latest is not None:
                if not ownership.same_routes(latest, table):
                    raise AzurePreconditionFailed(
                        "route table '%s' changed while it was being torn down; run the task again" % self.name
                    )
                self.arm.delete(self.table_id, latest.get("etag"))
        result.update(
            changed=True,
            routes_removed=len((table.get("properties") or {}).get("routes") or []),
            subnets_dissociated=subnet_ids,
        )

    def _strip(self, table: Mapping[str, Any], plan: logic.TeardownPlan, result: Dict[str, Any],
               before: Optional[Mapping[str, Any]]) -> None:
        """Keep the table: remove only the cluster's routes and this owner's record, in one PUT (If-Match)."""
        current_tags = dict(table.get("tags") or {})
        tags = ownership.with_record(current_tags, self.owner or "", [], None)
        body = logic.table_body(table, table.get("location"), plan.routes, None, tags)
        needs_write = bool(plan.removed) or tags != current_tags
        final = table  # type: Mapping[str, Any]
        if needs_write:
            final = self._predicted(table, body) if self.check_mode else self.arm.put_table(self.table_id, body, table.get("etag"))
        message = logic.teardown_kept_message(self.name, plan)
        self.warn(message)
        result.update(
            changed=needs_write,
            route_table=logic.table_result(final),
            routes_removed=len(plan.removed),
            route_table_kept=True,
            kept_routes=[logic.spec_result(r) for r in plan.kept],
            kept_reason=message,
        )
        if needs_write:
            result["diff"] = logic.table_diff(self.name, before, logic.table_state(final, logic.subnet_ids_of_table(final)))


def _location_key(location: str) -> str:
    """ARM accepts 'West Europe' and 'westeurope' for one region."""
    return location.replace(" ", "").lower()
