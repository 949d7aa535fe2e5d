"""The ARM request engine: routing, preconditions, LROs, paging, generic CRUD.

Resource-type specifics (validation, read-only fields, back-references) live in
:mod:`.network`, :mod:`.compute` and :mod:`.resources`; this module only knows
the ARM protocol shared by every type. It assumes the caller already checked
the bearer token and throttling (see :mod:`azure_emulator.core`).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Callable

from ..responses import Response
from ..store import Store, new_etag, stamp_etag
from . import errors
from .errors import ArmError
from .ids import ArmPath, parse
from .kinds import ChildKind, ResourceKind
from .lro import Operation, OperationTable
from .references import normalize_references

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
    def __init__(self, store: Store, ops: OperationTable, settings, kinds: dict[str, ResourceKind], base_url: Callable[[], str]):
        self.store = store
        self.ops = ops
        self.settings = settings
        self.kinds = {name.lower(): kind for name, kind in kinds.items()}
        self.base_url = base_url
        self.subscriptions: dict[str, dict] = {}  # lower id -> {"subscriptionId", "tenantId", "displayName"}
        self.lro_failures: list[dict] = []  # queued by fail_next_lro: {"code", "message"}
        self._compute_etag_counter = 0

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
        if path.kind == "unknown":
            raise ArmError(404, "InvalidResourceType", f"The resource type could not be found for path '{path_str}'.")
        version = self.api_version(query)
        if path.subscription.lower() not in self.subscriptions:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{path.subscription}' could not be found.")
        if path.kind == "operation":
            if method != "GET":
                raise _method_not_allowed(method)
            return self._operation_status(path, version)
        body = _parse_body(raw) if method in ("PUT", "PATCH", "POST") else {}
        if path.kind == "subscription":
            return self._get_subscription(path)
        if path.kind in ("resource_groups", "resource_group"):
            from .resources import handle_resource_groups  # local: resources imports engine helpers

            return handle_resource_groups(self, method, path, path_str, query, headers, body, version)
        if path.kind == "provider_list":
            if method != "GET":
                raise _method_not_allowed(method)
            return self._list_top(path, path_str, query, version)
        kind = self._known_kind(path, version)
        route = getattr(kind, "route", None)  # a type's own endpoints (scale-set instances, instanceView ...)
        if route is not None:
            routed = route(self, method, path, path_str, query, headers, body, version)
            if routed is not None:
                return routed
        if path.kind == "nested_list":
            raise ArmError(404, "InvalidResourceType", f"The resource type could not be found for path '{path_str}'.")
        if path.kind == "resource":
            if method == "GET":
                return self._get_top(path, kind)
            if method == "PUT":
                return self._put_top(path, kind, headers, body, version)
            if method == "PATCH":
                return self._patch_top(path, kind, headers, body)
            if method == "DELETE":
                return self._delete_top(path, kind, headers, version)
            raise _method_not_allowed(method)
        child_kind = kind.children.get(path.types[1].lower())
        if path.kind == "child_list" and method == "POST":
            return self._action(path, kind, path.types[1], body, version)
        if child_kind is None:
            raise ArmError(
                404,
                "InvalidResourceType",
                f"The resource type '{path.types[0]}/{path.types[1]}' could not be found in the namespace "
                f"'{path.namespace}' for api version '{version}'.",
            )
        if path.kind == "child_list":
            if method != "GET":
                raise _method_not_allowed(method)
            parent = self._parent(path)
            children = [child_kind.render(self, parent, c) for c in (parent.get("properties") or {}).get(child_kind.array_key) or []]
            return self.page(children, path_str, query, version)
        if method == "GET":
            parent = self._parent(path)
            child = find_child(parent, child_kind.array_key, path.names[1])
            if child is None:
                raise errors.not_found_child(path.item_id())
            return Response(200, child_kind.render(self, parent, child))
        if method == "PUT":
            return self._put_child(path, kind, child_kind, headers, body, version)
        if method == "DELETE":
            return self._delete_child(path, kind, child_kind, headers, version)
        raise _method_not_allowed(method)

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

    def _parent(self, path: ArmPath) -> dict:
        self.require_resource_group(path)
        parent = self.store.get(path.top_id())
        if parent is None:
            raise ArmError(
                404,
                "ParentResourceNotFound",
                f"Can not perform requested operation on nested resource. Parent resource '{path.names[0]}' not found.",
            )
        return parent

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

    # ------------------------------------------------------------------ LRO plumbing
    def start_operation(self, kind: str, path: ArmPath, resource_kind: ResourceKind, target_id: str, top_id: str,
                        operation_name: str, location: str | None) -> Operation:
        failure = self.lro_failures.pop(0) if self.lro_failures else None
        op = Operation(
            kind=kind,
            subscription=path.subscription,
            namespace=resource_kind.namespace or path.namespace or "Microsoft.Resources",
            location=location or "global",
            target_id=target_id,
            top_id=top_id,
            operation_name=operation_name,
            seconds=float(self.settings.lro_seconds),
            in_progress_polls=int(self.settings.lro_in_progress_polls),
            failure=failure,
        )
        return self.ops.add(op)

    def operation_headers(self, op: Operation, version: str, location_header: bool) -> dict:
        base = f"{self.base_url()}/subscriptions/{op.subscription}/providers/{op.namespace}/locations/{op.location}"
        headers = {
            "Azure-AsyncOperation": f"{base}/operations/{op.id}?api-version={version}",
            "Retry-After": str(int(self.settings.retry_after)),
        }
        if location_header:
            headers["Location"] = f"{base}/operationResults/{op.id}?api-version={version}"
        return headers

    def _operation_status(self, path: ArmPath, version: str) -> Response:
        op = self.ops.get(path.operation_id or "")
        if op is None or op.subscription.lower() != path.subscription.lower():
            raise ArmError(404, "OperationNotFound", f"The operation '{path.operation_id}' could not be found.")
        if not op.done and op.due():
            self.ops.complete(op)
        op.polls += 1  # counted after the check: in_progress_polls answers say InProgress first
        retry = {"Retry-After": str(int(self.settings.retry_after))}
        if path.action == "operationResults":
            if not op.done:
                return Response(202, None, {**retry, "Location": f"{self.base_url()}{_operation_results_path(op)}?api-version={version}"})
            if op.failure:
                return Response(400, {"error": dict(op.failure)})
            if op.kind == "delete":
                return Response(204, None)
            if op.kind == "post":
                return Response(200, op.result)
            return Response(200, self.render_id(op.target_id))
        body: dict = {"status": op.status}
        if op.namespace.lower() == "microsoft.compute":
            # Compute's status document also names the operation and its start time.
            body.update({"name": op.id, "startTime": _iso(op.started_utc)})
        if op.failure and op.done:
            body["error"] = dict(op.failure)
        return Response(200, body, retry if not op.done else {})

    # ------------------------------------------------------------------ writes
    def set_state(self, doc: dict, state: str, kind: ResourceKind) -> None:
        """Set provisioningState on a resource and every embedded child (one tree, one state)."""
        if not kind.has_provisioning_state:
            return
        doc.setdefault("properties", {})["provisioningState"] = state
        for array_key in kind.child_arrays:
            for item in doc["properties"].get(array_key) or []:
                item.setdefault("properties", {})["provisioningState"] = state

    def _finish_callbacks(self, top_id: str, kind: ResourceKind) -> tuple[Callable[[], None], Callable[[], None]]:
        def succeed() -> None:
            doc = self.store.get(top_id)
            if doc is not None:
                self.set_state(doc, "Succeeded", kind)

        def fail() -> None:
            doc = self.store.get(top_id)
            if doc is not None:
                self.set_state(doc, "Failed", kind)

        return succeed, fail

    def _put_top(self, path: ArmPath, kind: ResourceKind, headers: dict, body: dict, version: str) -> Response:
        self.require_resource_group(path)
        resource_id = path.item_id()
        existing = self.store.get(resource_id)
        if existing is not None:
            resource_id = existing["id"]  # keep the casing the resource was created with
        self.check_preconditions(headers, existing, resource_id)
        self.check_not_busy(resource_id, f"Put{kind.operation_noun}Operation")
        body = normalize_references(body, resource_id)
        doc = kind.build(self, resource_id, existing["name"] if existing else path.names[0], existing, body)
        self._commit_top(kind, existing, doc)
        op = self.start_operation("put", path, kind, resource_id, resource_id, f"Put{kind.operation_noun}Operation", doc.get("location"))
        op.on_success, op.on_failure = self._finish_callbacks(resource_id, kind)
        status = 200 if existing is not None else 201
        return Response(status, kind.render(self, doc), self.operation_headers(op, version, location_header=False))

    def _commit_top(self, kind: ResourceKind, existing: dict | None, doc: dict) -> None:
        stamp_etag(doc, self.new_etag_for(kind, existing), kind.child_arrays)
        self.set_state(doc, "Updating", kind)
        self.store.put(doc["id"], doc)
        kind.after_write(self, existing, doc)

    def _patch_top(self, path: ArmPath, kind: ResourceKind, headers: dict, body: dict) -> Response:
        self.require_resource_group(path)
        existing = self.store.get(path.item_id())
        if existing is None:
            raise errors.not_found_top(kind.full_type, path.names[0], path.resource_group)
        self.check_preconditions(headers, existing, existing["id"])
        unsupported = sorted(set(body) - {"tags"})
        if unsupported:
            raise ArmError(400, "InvalidRequestFormat", f"PATCH of {kind.full_type} only updates tags; got {unsupported}.")
        self.check_not_busy(existing["id"], f"Patch{kind.operation_noun}Operation")
        doc = copy.deepcopy(existing)
        doc["tags"] = dict(body.get("tags") or {})
        stamp_etag(doc, self.new_etag_for(kind, existing), kind.child_arrays)
        self.store.put(doc["id"], doc)
        kind.after_write(self, existing, doc)
        return Response(200, kind.render(self, doc))

    def _delete_top(self, path: ArmPath, kind: ResourceKind, headers: dict, version: str) -> Response:
        self.require_resource_group(path)
        existing = self.store.get(path.item_id())
        self.check_preconditions(headers, existing, path.item_id())
        if existing is None:
            return Response(204, None)
        resource_id = existing["id"]
        self.check_not_busy(resource_id, f"Delete{kind.operation_noun}Operation")
        kind.check_delete(self, existing)
        self.set_state(existing, "Deleting", kind)
        op = self.start_operation("delete", path, kind, resource_id, resource_id, f"Delete{kind.operation_noun}Operation", existing.get("location"))

        def removed() -> None:
            old = self.store.delete(resource_id)
            if old is not None:
                kind.after_write(self, old, None)

        op.on_success = removed
        op.on_failure = self._finish_callbacks(resource_id, kind)[1]
        return Response(202, None, self.operation_headers(op, version, location_header=True))

    def _put_child(self, path: ArmPath, kind: ResourceKind, child_kind: ChildKind, headers: dict, body: dict, version: str) -> Response:
        parent = self._parent(path)
        top_id = parent["id"]
        existing = find_child(parent, child_kind.array_key, path.names[1])
        child_name = existing["name"] if existing else path.names[1]
        child_id = f"{top_id}/{child_kind.segment}/{child_name}"
        self.check_preconditions(headers, existing, child_id)
        self.check_not_busy(top_id, f"Put{child_kind.operation_noun}Operation")
        new_parent = copy.deepcopy(parent)
        body = normalize_references(body, child_id)
        new_child = child_kind.build(self, new_parent, existing, body, child_id)
        children = new_parent.setdefault("properties", {}).setdefault(child_kind.array_key, [])
        for index, item in enumerate(children):
            if item.get("name", "").lower() == child_name.lower():
                children[index] = new_child
                break
        else:
            children.append(new_child)
        child_kind.check_collection(self, new_parent)
        stamp_etag(new_parent, self.new_etag_for(kind, parent), kind.child_arrays)
        self.set_state(new_parent, "Updating", kind)
        self.store.put(top_id, new_parent)
        child_kind.after_write(self, new_parent, existing, new_child)
        op = self.start_operation("put", path, kind, child_id, top_id, f"Put{child_kind.operation_noun}Operation", new_parent.get("location"))
        op.on_success, op.on_failure = self._finish_callbacks(top_id, kind)
        stored_child = find_child(new_parent, child_kind.array_key, child_name)
        status = 200 if existing is not None else 201
        return Response(status, child_kind.render(self, new_parent, stored_child), self.operation_headers(op, version, location_header=False))

    def _delete_child(self, path: ArmPath, kind: ResourceKind, child_kind: ChildKind, headers: dict, version: str) -> Response:
        parent = self._parent(path)
        top_id = parent["id"]
        child = find_child(parent, child_kind.array_key, path.names[1])
        self.check_preconditions(headers, child, path.item_id())
        if child is None:
            return Response(204, None)
        self.check_not_busy(top_id, f"Delete{child_kind.operation_noun}Operation")
        child_kind.check_delete(self, parent, child)
        child.setdefault("properties", {})["provisioningState"] = "Deleting"
        parent.setdefault("properties", {})["provisioningState"] = "Updating"
        op = self.start_operation("delete", path, kind, child["id"], top_id, f"Delete{child_kind.operation_noun}Operation", parent.get("location"))
        child_name = child["name"]

        def removed() -> None:
            doc = self.store.get(top_id)
            if doc is None:
                return
            items = (doc.get("properties") or {}).get(child_kind.array_key) or []
            gone = [c for c in items if c.get("name", "").lower() == child_name.lower()]
            doc["properties"][child_kind.array_key] = [c for c in items if c not in gone]
            stamp_etag(doc, self.new_etag_for(kind, doc), kind.child_arrays)
            self.set_state(doc, "Succeeded", kind)
            if gone:
                child_kind.after_write(self, doc, gone[0], None)

        op.on_success = removed
        op.on_failure = self._finish_callbacks(top_id, kind)[1]
        return Response(202, None, self.operation_headers(op, version, location_header=True))

    def _action(self, path: ArmPath, kind: ResourceKind, action: str, body: dict, version: str) -> Response:
        self.require_resource_group(path)
        doc = self.store.get(path.top_id())
        if doc is None:
            raise errors.not_found_top(kind.full_type, path.names[0], path.resource_group)
        handler = getattr(kind, "actions", {}).get(action.lower())
        if handler is None:
            raise ArmError(404, "InvalidResourceType", f"The action '{action}' is not supported on {kind.full_type}.")
        op = self.start_operation("post", path, kind, doc["id"], f"{doc['id']}/{action}", f"Post{action}Operation", doc.get("location"))

        def compute_result() -> None:
            current = self.store.get(doc["id"])
            op.result = handler(self, current, body) if current is not None else None

        op.on_success = compute_result
        headers = self.operation_headers(op, version, location_header=True)
        headers.pop("Azure-AsyncOperation", None)  # these actions answer with Location only, as in Microsoft's examples
        return Response(202, None, headers)


def find_child(parent: dict, array_key: str, name: str) -> dict | None:
    for item in (parent.get("properties") or {}).get(array_key) or []:
        if str(item.get("name", "")).lower() == name.lower():
            return item
    return None


def _operation_results_path(op: Operation) -> str:
    return f"/subscriptions/{op.subscription}/providers/{op.namespace}/locations/{op.location}/operationResults/{op.id}"


def _iso(epoch: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat().replace("+00:00", "Z")


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
