# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ARM request engine: routing, reads, paging and preconditions.

Resource-type specifics (validation, read-only fields, back-references) live in
:mod:`.network`, :mod:`.compute` and :mod:`.resources`; this module only knows
the ARM protocol shared by every type. The generic writes are in :mod:`.writes`,
the operation endpoints of long-running writes in :mod:`.operations`. It assumes
the caller already checked the bearer token and throttling (see
:mod:`azure_emulator.core`).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Callable

from ..responses import Response
from ..store import Store, new_etag
from . import errors, operations, writes
from .errors import ArmError
from .ids import ArmPath, parse
from .kinds import ChildKind, ResourceKind, find_child
from .lro import Operation, OperationTable
from .resources import handle_resource_groups

_API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(-[A-Za-z0-9.]+)?$")


def _etag_value(etag: str | None) -> str:
    """Compare etags by their opaque value: W/"x" and "x" name the same version."""
    if not etag:
        return ""
    value = etag.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')


class ArmEngine:
    """One ARM endpoint: routes each request by its path's kind (see :func:`.ids.parse`) and serves the reads.

    The kinds' hooks (:mod:`.kinds`) and their own ``route`` functions get this engine and call its public
    methods; the generic writes (:mod:`.writes`) and operation endpoints (:mod:`.operations`) do the same.
    """

    def __init__(self, store: Store, ops: OperationTable, settings, kinds: dict[str, ResourceKind], base_url: Callable[[], str]):
        self.store = store
        self.ops = ops
        self.settings = settings
        self.kinds = {name.lower(): kind for name, kind in kinds.items()}
        self.base_url = base_url
        self.subscriptions: dict[str, dict] = {}  # lower id -> {"subscriptionId", "tenantId", "displayName"}
        self.lro_failures: list[dict] = []  # queued by fail_next_lro: {"code", "message"}

    # ------------------------------------------------------------------ helpers
    def kind_for(self, namespace: str | None, type_name: str | None) -> ResourceKind | None:
        if not namespace or not type_name:
            return None
        return self.kinds.get(f"{namespace}/{type_name}".lower())

    def new_etag_for(self, kind: ResourceKind, existing: dict | None) -> str:
        if kind.etag_style == "counter":
            # Compute answers etags as quoted integers that grow by one per write.
            previous = _etag_value((existing or {}).get("etag")) or "0"
            return f'"{int(previous) + 1 if previous.isdigit() else 1}"'
        return new_etag()

    def resource_group(self, subscription: str, name: str) -> dict | None:
        return self.store.get(f"/subscriptions/{subscription}/resourceGroups/{name}")

    def require_resource_group(self, path: ArmPath) -> dict:
        group = self.resource_group(path.subscription, path.resource_group)
        if group is None:
            raise errors.resource_group_not_found(path.resource_group)
        return group

    def api_version(self, query: dict) -> str:
        version = query.get("api-version")
        if not version:
            raise ArmError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if not _API_VERSION_RE.match(version):
            raise ArmError(
                400,
                "InvalidApiVersionParameter",
                f"The api-version '{version}' is invalid. The supported versions are any 'YYYY-MM-DD' date.",
            )
        return version

    def get_document(self, resource_id: str) -> tuple[dict | None, ResourceKind | None, ChildKind | None, dict | None]:
        """(top-level document, its kind, child kind, child) for any id the engine stores."""
        path = parse(resource_id)
        if path.kind == "resource_group":
            return self.store.get(resource_id), None, None, None
        if path.kind not in ("resource", "child"):
            return None, None, None, None
        kind = self.kind_for(path.namespace, path.types[0])
        top = self.store.get(path.top_id())
        if path.kind == "resource" or top is None or kind is None:
            return top, kind, None, None
        child_kind = kind.children.get(path.types[1].lower())
        if child_kind is None:
            return top, kind, None, None
        return top, kind, child_kind, find_child(top, child_kind.array_key, path.names[1])

    def render_id(self, resource_id: str) -> dict | None:
        """The JSON ARM would answer for a GET of ``resource_id`` (None when absent)."""
        top, kind, child_kind, child = self.get_document(resource_id)
        if top is None:
            return None
        if child_kind is not None:
            return child_kind.render(self, top, child) if child is not None else None
        if parse(resource_id).kind == "child":
            return None
        return kind.render(self, top) if kind else copy.deepcopy(top)

    # ------------------------------------------------------------------ dispatch
    def handle(self, method: str, path_str: str, query: dict, headers: dict, body: bytes) -> Response:
        path = parse(path_str)
        try:
            self.ops.settle()
            response = self._dispatch(method, path, path_str, query, headers, body)
        except ArmError as exc:
            response = Response(exc.status, exc.body(), dict(exc.headers))
        response.resource_type = response.resource_type or path.full_type or None
        if response.resource_id is None and path.kind in ("resource", "child", "resource_group"):
            response.resource_id = path.item_id()
        return response

    def _dispatch(self, method: str, path: ArmPath, path_str: str, query: dict, headers: dict, raw: bytes) -> Response:
        """Checks every request passes, then one routing step for the path's kind."""
        if path.kind == "unknown":
            raise _no_such_path(path_str)
        version = self.api_version(query)
        if path.subscription.lower() not in self.subscriptions:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{path.subscription}' could not be found.")
        if path.kind == "operation":
            _require_get(method)
            return operations.operation_status(self, path, version)
        body = _parse_body(raw) if method in ("PUT", "PATCH", "POST") else {}
        route = self._PATH_ROUTES.get(path.kind, ArmEngine._route_typed)
        return route(self, method, path, path_str, query, headers, body, version)

    # Every route takes the arguments of a kind's own ``route``:
    # (method, path, path_str, query, headers, body, version).
    def _route_subscription(self, method, path, path_str, query, headers, body, version) -> Response:
        return self._get_subscription(path)

    def _route_resource_groups(self, method, path, path_str, query, headers, body, version) -> Response:
        return handle_resource_groups(self, method, path, path_str, query, headers, body, version)

    def _route_provider_list(self, method, path, path_str, query, headers, body, version) -> Response:
        _require_get(method)
        return self._list_top(path, path_str, query, version)

    def _route_typed(self, method, path, path_str, query, headers, body, version) -> Response:
        """A path under a resource type: the type's own endpoints first, then ARM's generic ones."""
        kind = self._known_kind(path, version)
        route = getattr(kind, "route", None)  # a type's own endpoints (scale-set instances, instanceView ...)
        if route is not None:
            routed = route(self, method, path, path_str, query, headers, body, version)
            if routed is not None:
                return routed
        if path.kind == "resource":
            return self._route_resource(kind, method, path, headers, body, version)
        if path.kind == "child_list":
            return self._route_child_list(kind, method, path, path_str, query, body, version)
        if path.kind == "child":
            return self._route_child(kind, method, path, headers, body, version)
        raise _no_such_path(path_str)  # a nested list no type serves

    def _route_resource(self, kind: ResourceKind, method: str, path: ArmPath, headers: dict, body: dict, version: str) -> Response:
        if method == "GET":
            return self._get_top(path, kind)
        if method == "PUT":
            return writes.put_top(self, path, kind, headers, body, version)
        if method == "PATCH":
            return writes.patch_top(self, path, kind, headers, body)
        if method == "DELETE":
            return writes.delete_top(self, path, kind, headers, version)
        raise _method_not_allowed(method)

    def _route_child_list(self, kind: ResourceKind, method: str, path: ArmPath, path_str: str, query: dict, body: dict,
                          version: str) -> Response:
        if method == "POST":  # .../{type}/{name}/{action}: an action, whether or not a child type has that name
            return writes.post_action(self, path, kind, path.types[1], body, version)
        child_kind = self._known_child_kind(kind, path, version)
        _require_get(method)
        parent = self.require_parent(path)
        children = (parent.get("properties") or {}).get(child_kind.array_key) or []
        return self.page([child_kind.render(self, parent, c) for c in children], path_str, query, version)

    def _route_child(self, kind: ResourceKind, method: str, path: ArmPath, headers: dict, body: dict, version: str) -> Response:
        child_kind = self._known_child_kind(kind, path, version)
        if method == "GET":
            return self._get_child(path, child_kind)
        if method == "PUT":
            return writes.put_child(self, path, kind, child_kind, headers, body, version)
        if method == "DELETE":
            return writes.delete_child(self, path, kind, child_kind, headers, version)
        raise _method_not_allowed(method)

    _PATH_ROUTES = {
        "subscription": _route_subscription,
        "resource_groups": _route_resource_groups,
        "resource_group": _route_resource_groups,
        "provider_list": _route_provider_list,
    }

    # ------------------------------------------------------------------ reads
    def _get_subscription(self, path: ArmPath) -> Response:
        sub = self.subscriptions[path.subscription.lower()]
        return Response(
            200,
            {
                "id": f"/subscriptions/{sub['subscriptionId']}",
                "subscriptionId": sub["subscriptionId"],
                "tenantId": sub["tenantId"],
                "displayName": sub.get("displayName", "Emulated subscription"),
                "state": "Enabled",
                "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
                "authorizationSource": "RoleBased",
            },
        )

    def _get_top(self, path: ArmPath, kind: ResourceKind) -> Response:
        self.require_resource_group(path)
        stored = self.store.get(path.item_id())
        if stored is None:
            raise errors.not_found_top(kind.full_type, path.names[0], path.resource_group)
        return Response(200, kind.render(self, stored))

    def _known_kind(self, path: ArmPath, version: str):
        """The ResourceKind serving ``path``'s top-level type, or ARM's 404 InvalidResourceType."""
        kind = self.kind_for(path.namespace, path.types[0])
        if kind is None:
            raise ArmError(
                404,
                "InvalidResourceType",
                f"The resource type '{path.types[0]}' could not be found in the namespace '{path.namespace}' for api "
                f"version '{version}'.",
            )
        return kind

    def _list_top(self, path: ArmPath, path_str: str, query: dict, version: str) -> Response:
        kind = self._known_kind(path, version)
        if path.resource_group is not None:
            self.require_resource_group(path)
        docs = self.store.of_type(kind.full_type, path.subscription, path.resource_group)
        return self.page([kind.render(self, d) for d in docs], path_str, query, version)

    def page(self, items: list, path_str: str, query: dict, version: str) -> Response:
        try:
            start = max(0, int(query.get("$skiptoken", "0")))
        except ValueError:
            raise ArmError(400, "InvalidSkipToken", "The $skiptoken query parameter is invalid.") from None
        size = max(1, int(self.settings.page_size))
        body: dict = {"value": items[start : start + size]}
        if start + size < len(items):
            body["nextLink"] = f"{self.base_url()}{path_str}?api-version={version}&$skiptoken={start + size}"
        return Response(200, body)

    def require_parent(self, path: ArmPath) -> dict:
        """The stored top-level document a child path lives in, or ARM's 404 ParentResourceNotFound."""
        self.require_resource_group(path)
        parent = self.store.get(path.top_id())
        if parent is None:
            raise ArmError(
                404,
                "ParentResourceNotFound",
                f"Can not perform requested operation on nested resource. Parent resource '{path.names[0]}' not found.",
            )
        return parent

    def _known_child_kind(self, kind: ResourceKind, path: ArmPath, version: str) -> ChildKind:
        """The ChildKind serving ``path``'s child type, or ARM's 404 InvalidResourceType."""
        child_kind = kind.children.get(path.types[1].lower())
        if child_kind is None:
            raise ArmError(
                404,
                "InvalidResourceType",
                f"The resource type '{path.types[0]}/{path.types[1]}' could not be found in the namespace "
                f"'{path.namespace}' for api version '{version}'.",
            )
        return child_kind

    def _get_child(self, path: ArmPath, child_kind: ChildKind) -> Response:
        parent = self.require_parent(path)
        child = find_child(parent, child_kind.array_key, path.names[1])
        if child is None:
            raise errors.not_found_child(path.item_id())
        return Response(200, child_kind.render(self, parent, child))

    # ------------------------------------------------------------------ preconditions
    def check_preconditions(self, headers: dict, current: dict | None, resource_id: str) -> None:
        if_match = headers.get("if-match")
        if_none_match = headers.get("if-none-match")
        current_etag = (current or {}).get("etag")
        if if_match:
            if current is None:
                raise ArmError(
                    412,
                    "PreconditionFailed",
                    f"Precondition failed: resource {resource_id} does not exist, but the request has If-Match: {if_match}.",
                )
            if if_match.strip() != "*" and _etag_value(if_match) != _etag_value(current_etag):
                raise ArmError(
                    412,
                    "PreconditionFailed",
                    f"Precondition failed: the If-Match etag {if_match} does not match the current etag {current_etag} "
                    f"of resource {resource_id}. Another client changed it; read it again and retry.",
                )
        if if_none_match and current is not None:
            if if_none_match.strip() == "*" or _etag_value(if_none_match) == _etag_value(current_etag):
                raise ArmError(
                    412,
                    "PreconditionFailed",
                    f"Precondition failed: resource {resource_id} already exists and the request has If-None-Match: "
                    f"{if_none_match}.",
                )

    def check_not_busy(self, top_id: str, operation_name: str) -> None:
        busy = self.ops.busy(top_id)
        if busy is None:
            return
        wait = max(1, int(round(busy.remaining_seconds())) or int(self.settings.retry_after) or 1)
        raise ArmError(
            429,
            "RetryableErrorDueToAnotherOperation",
            f"Operation {operation_name} (on resource {top_id}) cannot run: operation {busy.operation_name} is "
            f"updating resource {busy.top_id}. The call can be retried in {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )

    # ------------------------------------------------------------------ writes (see .writes, .operations)
    def start_operation(self, kind: str, path: ArmPath, resource_kind: ResourceKind, target_id: str, top_id: str,
                        operation_name: str, location: str | None) -> Operation:
        return operations.start_operation(self, kind, path, resource_kind, target_id, top_id, operation_name, location)

    def operation_headers(self, op: Operation, version: str, location_header: bool) -> dict:
        return operations.operation_headers(self, op, version, location_header)

    @staticmethod
    def set_state(doc: dict, state: str, kind: ResourceKind) -> None:
        writes.set_state(doc, state, kind)


def _no_such_path(path_str: str) -> ArmError:
    return ArmError(404, "InvalidResourceType", f"The resource type could not be found for path '{path_str}'.")


def _require_get(method: str) -> None:
    if method != "GET":
        raise _method_not_allowed(method)


def _method_not_allowed(method: str) -> ArmError:
    return ArmError(405, "MethodNotAllowed", f"The requested method '{method}' is not allowed for this resource.")


def _parse_body(raw: bytes) -> dict:
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ArmError(400, "InvalidRequestContent", f"The request content was invalid and could not be deserialized: {exc}.") from None
    if not isinstance(body, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content must be a JSON object.")
    return body
