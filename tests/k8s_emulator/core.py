# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The API server's behaviour, without HTTP: routing, auth, verbs, resourceVersions, field ownership.

``K8sCore.handle(method, target, headers, body)`` answers one request as
``(status, headers, body_bytes)``; the server in server.py only moves bytes.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import yaml

from . import errors, managed, resources, tables, validation
from .clone import clone
from .errors import ApiError
from .patch import json_patch, list_strategy, merge_patch, strategic_merge_patch
from .seed import load_seed
from .selectors import field_matcher, label_matcher

JSON = "application/json"
PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/json-patch+json": "json",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+cbor": "apply",
}
READ_VERBS = {"get", "list", "watch"}
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
STALE_CONTINUE = ("The provided continue parameter is too old to display a consistent list result. You can start a "
                  "new list without the continue parameter, or use the continue token in this response to retrieve "
                  "the remainder of the results. Continuing with the provided token results in an inconsistent list - "
                  "objects that were created, modified, or deleted between the time the first chunk was returned and "
                  "now may show up in the list.")


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Request:
    """One parsed request and its log entry."""

    def __init__(self, method: str, target: str, headers: dict, body: bytes):
        parts = urlsplit(target)
        self.method, self.path = method.upper(), parts.path.rstrip("/") or "/"
        self.query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.headers, self.body = headers, body
        self.content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        self.entry = {"method": self.method, "path": self.path, "query": dict(self.query), "verb": None,
                      "group": None, "version": None, "resource": None, "subresource": None, "name": None,
                      "namespace": None, "status": None, "content_type": self.content_type or None,
                      "accept": headers.get("accept"), "user_agent": headers.get("user-agent"),
                      "field_manager": self.query.get("fieldManager"), "dry_run": self.query.get("dryRun") == "All",
                      "body": None, "ms": None}
        if body:
            try:
                self.entry["body"] = json.loads(body)
            except ValueError:
                self.entry["body"] = body.decode("utf-8", "replace")


class Fault:
    def __init__(self, status=500, count=1, method=None, path_contains=None, retry_after=None):
        self.status, self.remaining, self.method = int(status), int(count), method
        self.path_contains, self.retry_after = path_contains, retry_after

    def matches(self, request: Request) -> bool:
        if self.remaining <= 0 or (self.method and self.method.upper() != request.method):
            return False
        return self.path_contains is None or self.path_contains in request.path


class K8sCore:
    def __init__(self, seed=None):
        self.lock = threading.RLock()
        self.base_url = ""
        self.initial_seed = seed
        self.admin_token = "k8s-emulator-admin-" + secrets.token_hex(16)
        self.readonly_token = "k8s-emulator-readonly-" + secrets.token_hex(16)
        self.reset(seed)

    # ------------------------------------------------------------------ state
    def reset(self, seed=None) -> dict:
        with self.lock:
            self.objects: dict[tuple, dict] = {}
            self.revision = 1000
            self.compacted = 0
            self.faults: list[Fault] = []
            self.request_ms = 0.0
            self.log: list[dict] = []
            self._types_cache = None
            for name in DEFAULT_NAMESPACES:
                self._store_new(self.type_for("", "namespaces"), {"apiVersion": "v1", "kind": "Namespace",
                                                                  "metadata": {"name": name}}, "kube-apiserver")
            data = load_seed(self.initial_seed if seed is None else seed)
            for crd in data.get("crds", []):
                self._seed_object("apiextensions.k8s.io", "customresourcedefinitions", crd)
            for kind_key, group, plural in (("namespaces", "", "namespaces"), ("nodes", "", "nodes"),
                                            ("configmaps", "", "configmaps"), ("daemonsets", "apps", "daemonsets")):
                for obj in data.get(kind_key, []):
                    self._seed_object(group, plural, obj)
            for obj in data.get("installations", []):
                self._seed_object("operator.tigera.io", "installations", obj)
            for obj in data.get("objects", []):
                group = obj.get("apiVersion", "v1").rpartition("/")[0]
                rtype = self.type_by_kind(group, obj.get("kind", ""))
                self._seed_object(group, rtype.plural, obj)
            return self.info_tokens()

    def info_tokens(self) -> dict:
        return {"token": self.admin_token, "readonly_token": self.readonly_token}

    def _seed_object(self, group: str, plural: str, obj: dict) -> None:
        rtype = self.type_for(group, plural)
        if rtype is None:
            raise ValueError(f"seed: no resource type {plural}.{group} (seed its CRD first)")
        obj = clone(obj)
        obj.setdefault("apiVersion", rtype.api_version)
        obj.setdefault("kind", rtype.kind)
        if rtype.namespaced:
            obj.setdefault("metadata", {}).setdefault("namespace", "default")
            self._ensure_namespace(obj["metadata"]["namespace"])
        validation.normalise(rtype, obj, None)
        if rtype.plural == "installations" and rtype.schema:
            validation.validate_custom(rtype, obj)
        self._store_new(rtype, obj, "k8s-emulator-seed")

    def _ensure_namespace(self, name: str) -> None:
        if ("", "namespaces", "", name) not in self.objects:
            self._store_new(self.type_for("", "namespaces"),
                            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, "k8s-emulator-seed")

    def _next_revision(self) -> str:
        self.revision += 1
        return str(self.revision)

    def _store_new(self, rtype, obj: dict, manager: str, dry_run: bool = False, operation: str = "Update",
                   fields: set | None = None) -> dict:
        meta = obj.setdefault("metadata", {})
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        if self._has_generation(rtype):
            meta["generation"] = 1
        validation.default(rtype, obj)
        owned = fields if fields is not None else managed.field_paths(obj, self.strategy(rtype))
        meta["managedFields"] = [self._managed_entry(manager, operation, rtype, owned)]
        if not dry_run:
            meta["resourceVersion"] = self._next_revision()
            self.objects[self._key(rtype, meta.get("namespace", ""), meta["name"])] = obj
            if rtype.plural == "customresourcedefinitions":
                self._types_cache = None
        else:
            meta["resourceVersion"] = str(self.revision)
        return obj

    @staticmethod
    def _has_generation(rtype) -> bool:
        return rtype.kind not in ("Node", "ConfigMap", "Namespace")

    @staticmethod
    def _key(rtype, namespace: str, name: str) -> tuple:
        return (rtype.group, rtype.plural, namespace if rtype.namespaced else "", name)

    def _managed_entry(self, manager: str, operation: str, rtype, paths: set, subresource: str = "") -> dict:
        entry = {"manager": manager, "operation": operation, "apiVersion": rtype.api_version, "time": now(),
                 "fieldsType": "FieldsV1", "fieldsV1": managed.to_fields_v1(paths)}
        if subresource:
            entry["subresource"] = subresource
        return entry

    # ------------------------------------------------------------------ types
    def types(self) -> list:
        if self._types_cache is None:
            found = list(resources.BUILTIN)
            for key, obj in self.objects.items():
                if key[1] == "customresourcedefinitions":
                    found.extend(resources.crd_types(obj))
            self._types_cache = found
        return self._types_cache

    def type_for(self, group: str, plural: str, version: str | None = None):
        for rtype in self.types():
            if rtype.group == group and rtype.plural == plural and (version is None or rtype.version == version):
                return rtype
        return None

    def type_by_kind(self, group: str, kind: str):
        for rtype in self.types():
            if rtype.group == group and rtype.kind == kind:
                return rtype
        raise ValueError(f"no resource type for kind {kind!r} in group {group!r}")

    def strategy(self, rtype):
        if rtype.builtin:
            return list_strategy
        return validation.schema_list_strategy(rtype.schema)

    # ------------------------------------------------------------------ control operations
    def requests(self) -> list[dict]:
        with self.lock:
            return clone(self.log)

    def clear_log(self) -> None:
        with self.lock:
            self.log.clear()

    def counts(self) -> dict:
        with self.lock:
            by_verb: dict[str, int] = {}
            by_resource: dict[str, dict[str, int]] = {}
            reads = writes = write_requests = 0
            for entry in self.log:
                verb = entry["verb"]
                if not verb or verb == "discovery":
                    continue
                by_verb[verb] = by_verb.get(verb, 0) + 1
                resource = entry["resource"] + (f"/{entry['subresource']}" if entry["subresource"] else "")
                by_resource.setdefault(resource, {}).setdefault(verb, 0)
                by_resource[resource][verb] += 1
                if verb in READ_VERBS:
                    reads += 1
                elif entry["status"] is not None and entry["status"] < 400 and not entry["dry_run"]:
                    write_requests += 1
                    writes += 1 if entry.get("mutated") else 0
            discovery = sum(1 for e in self.log if e["verb"] == "discovery")
            return {"reads": reads, "writes": writes, "write_requests": write_requests, "discovery": discovery, "by_verb": by_verb,
                    "by_resource": by_resource, "requests": len(self.log)}

    def inject_faults(self, status: int = 500, count: int = 1, method: str | None = None,
                      path_contains: str | None = None, retry_after: int | None = None) -> None:
        with self.lock:
            self.faults.append(Fault(status, count, method, path_contains, retry_after))

    def set_latency(self, request_ms: float = 0) -> None:
        self.request_ms = float(request_ms)

    def compact(self) -> int:
        """Like etcd compaction: continue tokens issued before now answer 410 Expired."""
        with self.lock:
            self.compacted = int(self._next_revision())
            return self.compacted

    def _locate(self, api_version: str, kind: str | None, plural: str | None):
        group, _slash, version = api_version.rpartition("/")
        if plural:
            rtype = self.type_for(group, plural, version)
        else:
            rtype = self.type_by_kind(group, kind)
        if rtype is None:
            raise ValueError(f"no resource type {plural or kind} in {api_version}")
        return rtype

    def get_object(self, api_version: str = "v1", kind: str | None = None, name: str = "", namespace: str = "",
                   plural: str | None = None) -> dict | None:
        with self.lock:
            rtype = self._locate(api_version, kind, plural)
            obj = self.objects.get(self._key(rtype, namespace or ("default" if rtype.namespaced else ""), name))
            return clone(obj)

    def list_objects(self, api_version: str = "v1", kind: str | None = None, plural: str | None = None) -> list[dict]:
        with self.lock:
            rtype = self._locate(api_version, kind, plural)
            return [clone(o) for k, o in sorted(self.objects.items()) if k[:2] == (rtype.group, rtype.plural)]

    def put_object(self, obj: dict, manager: str = "k8s-emulator-control") -> dict:
        """Out-of-band create or replace (another writer): new resourceVersion, fields owned by ``manager``."""
        with self.lock:
            obj = clone(obj)
            group = obj.get("apiVersion", "v1").rpartition("/")[0]
            rtype = self.type_by_kind(group, obj["kind"])
            meta = obj.setdefault("metadata", {})
            if rtype.namespaced:
                meta.setdefault("namespace", "default")
            key = self._key(rtype, meta.get("namespace", ""), meta["name"])
            old = self.objects.get(key)
            if old is None:
                return clone(self._store_new(rtype, obj, manager))
            for name in ("uid", "creationTimestamp", "generation", "managedFields"):
                if name in old["metadata"]:
                    meta[name] = old["metadata"][name]
            return clone(self._commit_update(rtype, old, obj, manager, "", False))

    def delete_object(self, api_version: str = "v1", kind: str | None = None, name: str = "", namespace: str = "",
                      plural: str | None = None) -> bool:
        with self.lock:
            rtype = self._locate(api_version, kind, plural)
            key = self._key(rtype, namespace or ("default" if rtype.namespaced else ""), name)
            if self.objects.pop(key, None) is None:
                return False
            self._next_revision()
            if rtype.plural == "customresourcedefinitions":
                self._types_cache = None
            return True

    # ------------------------------------------------------------------ HTTP entry point
    def handle(self, method: str, target: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        started = time.perf_counter()
        request = Request(method, target, headers, body)
        extra_headers: dict = {}
        revision_before = self.revision
        try:
            with self.lock:
                fault = next((f for f in self.faults if f.matches(request)), None)
                if fault is not None:
                    fault.remaining -= 1
                    self._authenticate(request)
                    error = errors.server_timeout_fault(fault.status)
                    if fault.retry_after is not None:
                        error.headers["Retry-After"] = str(int(fault.retry_after))
                    raise error
                status, payload = self._route(request)
                # Serialised under the lock: answers may share dicts with the store (lists do, for speed).
                content = payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()
        except ApiError as error:
            status, extra_headers = error.code, error.headers
            content = json.dumps(error.status(), separators=(",", ":")).encode()
        if self.request_ms:
            time.sleep(self.request_ms / 1000.0)
        request.entry["status"] = status
        request.entry["mutated"] = self.revision != revision_before
        request.entry["ms"] = round((time.perf_counter() - started) * 1000, 3)
        with self.lock:
            self.log.append(request.entry)
        out_headers = {"Content-Type": JSON, "Cache-Control": "no-cache, private", **extra_headers}
        if request.entry.get("warnings"):
            # The API server's warning headers (kubectl prints them as "Warning: ...").
            out_headers["Warning"] = ", ".join('299 - ' + json.dumps(w) for w in request.entry["warnings"])
        return status, out_headers, content

    def _authenticate(self, request: Request) -> str:
        auth = request.headers.get("authorization", "")
        scheme, _space, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip() == self.admin_token:
            return "admin"
        if scheme.lower() == "bearer" and token.strip() == self.readonly_token:
            return "readonly"
        raise errors.unauthorized()

    def _route(self, request: Request):
        user = self._authenticate(request)
        path = request.path
        parts = [p for p in path.split("/") if p]
        if path in ("/healthz", "/livez", "/readyz"):
            request.entry["verb"] = "discovery"
            return 200, b"ok"
        if path == "/version":
            request.entry["verb"] = "discovery"
            return 200, resources.SERVER_VERSION
        if path.startswith("/openapi"):
            request.entry["verb"] = "discovery"
            return self._openapi(request, parts)
        if parts[:1] == ["api"]:
            if len(parts) == 1:
                request.entry["verb"] = "discovery"
                return 200, resources.api_versions()
            group, version, rest = "", parts[1], parts[2:]
        elif parts[:1] == ["apis"]:
            if len(parts) == 1:
                request.entry["verb"] = "discovery"
                return 200, resources.group_list(self.types())
            if len(parts) == 2:
                request.entry["verb"] = "discovery"
                found = resources.group(parts[1], self.types())
                if found is None:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
                return 200, found
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        served = [t for t in self.types() if t.group == group and t.version == version]
        if not served:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        if not rest:
            request.entry["verb"] = "discovery"
            return 200, resources.resource_list(f"{group}/{version}" if group else version, served)
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        plural, name, subresource = rest[0], (rest[1] if len(rest) > 1 else ""), (rest[2] if len(rest) > 2 else "")
        rtype = next((t for t in served if t.plural == plural), None)
        if rtype is None or len(rest) > 3 or (namespace and not rtype.namespaced):
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        if subresource and subresource not in resources.SUBRESOURCES.get((group, plural), []):
            raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
        verb = self._verb(request.method, bool(name), request.query)
        request.entry.update(verb=verb, group=group, version=version, resource=plural, name=name or None,
                             namespace=namespace or None, subresource=subresource or None)
        if user == "readonly" and verb not in READ_VERBS:
            raise errors.forbidden("system:serviceaccount:default:k8s-emulator-readonly", verb, plural, group, name,
                                   namespace)
        handler = getattr(self, f"_verb_{verb}", None)
        if handler is None:
            raise errors.method_not_allowed(request.method)
        return handler(request, rtype, namespace, name, subresource)

    @staticmethod
    def _verb(method: str, has_name: bool, query: dict) -> str:
        if method == "GET":
            if query.get("watch") in ("true", "1"):
                return "watch"
            return "get" if has_name else "list"
        if method == "POST":
            return "create" if not has_name else "post_item"
        if method == "PUT":
            return "update" if has_name else "put_collection"
        if method == "PATCH":
            return "patch" if has_name else "patch_collection"
        if method == "DELETE":
            return "delete" if has_name else "deletecollection"
        return method.lower()

    # ------------------------------------------------------------------ reads
    def _get_existing(self, rtype, namespace: str, name: str) -> dict:
        obj = self.objects.get(self._key(rtype, namespace, name))
        if obj is None:
            raise errors.not_found(rtype.plural, rtype.group, name)
        return obj

    def _verb_get(self, request, rtype, namespace, name, subresource):
        obj = self._present(self._get_existing(rtype, namespace, name))
        if tables.wants_table(request.headers.get("accept")):
            return 200, tables.table(rtype, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]},
                                     request.query.get("includeObject", "Metadata"))
        return 200, obj

    def _present(self, obj: dict) -> dict:
        return clone(obj)

    def _verb_list(self, request, rtype, namespace, name, subresource):
        query = request.query
        labels = label_matcher(query.get("labelSelector"))
        fields = field_matcher(query.get("fieldSelector"), rtype.namespaced)
        items = [obj for key, obj in sorted(((k, o) for k, o in self.objects.items()
                                             if k[:2] == (rtype.group, rtype.plural)), key=lambda kv: (kv[0][2], kv[0][3]))
                 if (not namespace or key[2] == namespace) and labels(obj["metadata"].get("labels")) and fields(obj)]
        list_rv = str(self.revision)
        start = ""
        token = query.get("continue")
        if token:
            try:
                decoded = json.loads(base64.b64decode(token + "=" * (-len(token) % 4)))
                token_rv, start = int(decoded["rv"]), decoded["start"]
            except (ValueError, KeyError, TypeError):
                raise errors.bad_request("continue key is not valid: illegal base64 data at input byte 0") from None
            if token_rv < self.compacted:
                raise errors.expired(STALE_CONTINUE)
            list_rv = str(token_rv)
            items = [o for o in items if self._list_key(o) >= start]
        limit = int(query.get("limit") or 0)
        meta: dict = {"resourceVersion": list_rv}
        if limit and len(items) > limit:
            remaining = len(items) - limit
            items = items[:limit]
            last = self._list_key(items[-1])
            meta["continue"] = base64.b64encode(json.dumps(
                {"v": "meta.k8s.io/v1", "rv": int(list_rv), "start": last + "\u0000"}).encode()).decode().rstrip("=")
            meta["remainingItemCount"] = remaining
        # Shallow views, not copies: stored objects are never changed in place (writes store new dicts),
        # and the answer is serialised before the lock is released.
        shown = [{k: v for k, v in obj.items() if k not in ("apiVersion", "kind")} if rtype.builtin else obj
                 for obj in items]
        if tables.wants_table(request.headers.get("accept")):
            return 200, tables.table(rtype, shown, meta, query.get("includeObject", "Metadata"))
        return 200, {"kind": rtype.list_kind, "apiVersion": rtype.api_version, "metadata": meta, "items": shown}

    @staticmethod
    def _list_key(obj: dict) -> str:
        meta = obj["metadata"]
        return (meta.get("namespace", "") + "/" + meta["name"]) if meta.get("namespace") else meta["name"]

    def _verb_watch(self, request, rtype, namespace, name, subresource):
        raise errors.method_not_allowed(request.method)

    # ------------------------------------------------------------------ writes
    def _decode(self, request: Request, allow_yaml: bool = False):
        if request.content_type and request.content_type not in (JSON, "application/yaml") and not allow_yaml:
            raise errors.unsupported_media_type(request.content_type, [JSON, "application/yaml",
                                                                       "application/vnd.kubernetes.protobuf"])
        try:
            if allow_yaml or request.content_type == "application/yaml":
                data = yaml.load(request.body or b"", Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            else:
                data = json.loads(request.body or b"null")
        except (ValueError, yaml.YAMLError) as exc:
            raise errors.bad_request(f"error decoding request body: {exc}") from None
        return data

    def _check_body(self, rtype, obj, namespace: str, name: str | None):
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request was in an unknown format")
        if obj.get("kind") not in (None, rtype.kind) or obj.get("apiVersion") not in (None, rtype.api_version):
            raise errors.bad_request(
                f"the API version in the data ({obj.get('apiVersion')}) does not match the expected API version "
                f"({rtype.api_version})" if obj.get("apiVersion") != rtype.api_version else
                f"the kind in the data ({obj.get('kind')}) does not match the expected kind ({rtype.kind})")
        obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        if name is not None and meta.get("name") not in (None, name):
            raise errors.bad_request(f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})")
        if name:
            meta["name"] = name
        if rtype.namespaced:
            if meta.get("namespace") not in (None, "", namespace):
                raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = namespace
        return obj

    def _manager(self, request: Request, default_suffix: str = "") -> str:
        manager = request.query.get("fieldManager")
        if manager:
            return manager
        agent = request.headers.get("user-agent", "unknown")
        return agent.split("/")[0]

    def _require_namespace(self, rtype, namespace):
        if rtype.namespaced and ("", "namespaces", "", namespace) not in self.objects:
            raise errors.not_found("namespaces", "", namespace)

    def _verb_create(self, request, rtype, namespace, name, subresource):
        obj = self._check_body(rtype, self._decode(request), namespace, None)
        meta = obj["metadata"]
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
            else:
                raise errors.invalid(rtype.kind, rtype.group, "", [errors.field_error(
                    "Required", "metadata.name", "name or generateName is required")])
        self._require_namespace(rtype, namespace)
        if self._key(rtype, namespace, meta["name"]) in self.objects:
            raise errors.already_exists(rtype.plural, rtype.group, meta["name"])
        if meta.get("resourceVersion"):
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        for system in ("uid", "creationTimestamp", "generation", "managedFields"):
            meta.pop(system, None)
        self._validate(rtype, obj, None, request)
        return 201, self._present(self._store_new(rtype, obj, self._manager(request), self._dry_run(request)))

    def _dry_run(self, request) -> bool:
        value = request.query.get("dryRun")
        if value not in (None, "", "All"):
            raise errors.bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
        return value == "All"

    def _validate(self, rtype, obj: dict, old: dict | None, request: Request) -> None:
        validation.normalise(rtype, obj, old)
        warnings = validation.validate(rtype, obj, old, request.query.get("fieldValidation", "Warn"),
                                       self.types())
        if warnings:
            request.entry["warnings"] = warnings

    def _verb_update(self, request, rtype, namespace, name, subresource):
        obj = self._check_body(rtype, self._decode(request), namespace, name)
        old = self._get_existing(rtype, namespace, name)
        sent_rv = obj["metadata"].get("resourceVersion")
        if sent_rv and sent_rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rtype.plural, rtype.group, name)
        return 200, self._present(self._replace(request, rtype, old, obj, subresource))

    def _replace(self, request, rtype, old: dict, obj: dict, subresource: str) -> dict:
        meta = obj["metadata"]
        for system in ("uid", "creationTimestamp", "generation"):
            if system in old["metadata"]:
                meta[system] = old["metadata"][system]
            else:
                meta.pop(system, None)
        if "managedFields" not in meta or meta["managedFields"] is None:
            meta["managedFields"] = clone(old["metadata"].get("managedFields", []))
        has_status = "status" in resources.SUBRESOURCES.get((rtype.group, rtype.plural), []) or (
            not rtype.builtin and validation.has_status_subresource(self._crd_of(rtype), rtype.version))
        if subresource == "status":
            obj = {**clone(old), "status": obj.get("status", {}),
                   "metadata": {**clone(old["metadata"]), "resourceVersion": meta.get("resourceVersion")}}
        elif has_status:
            if "status" in old:
                obj["status"] = clone(old["status"])
            else:
                obj.pop("status", None)
        self._validate(rtype, obj, old, request)
        return self._commit_update(rtype, old, obj, self._manager(request), subresource, self._dry_run(request))

    def _crd_of(self, rtype) -> dict | None:
        return self.objects.get(("apiextensions.k8s.io", "customresourcedefinitions", "",
                                 f"{rtype.plural}.{rtype.group}"))

    def _commit_update(self, rtype, old: dict, obj: dict, manager: str, subresource: str, dry_run: bool,
                       apply_fields: set | None = None, forced: dict | None = None) -> dict:
        strategy = self.strategy(rtype)
        meta = obj["metadata"]
        if self._has_generation(rtype):
            body_changed = {k: v for k, v in obj.items() if k not in ("metadata", "status")} != \
                {k: v for k, v in old.items() if k not in ("metadata", "status")}
            meta["generation"] = old["metadata"].get("generation", 1) + (1 if body_changed else 0)
        entries = clone(meta.get("managedFields") or [])
        if apply_fields is None:
            changed, removed = managed.changed_paths(old, obj, strategy)
            entries = self._own(entries, manager, "Update", rtype, changed, removed, subresource)
        else:
            entries = self._own(entries, manager, "Apply", rtype, set(apply_fields), set(), subresource,
                                replace=True, forced=forced or set())
        meta["managedFields"] = entries
        content_changed = self._strip_volatile(obj) != self._strip_volatile(old)
        if not content_changed:
            # A no-op write: the API server answers the unchanged object and keeps its resourceVersion.
            return clone(old)
        if dry_run:
            meta["resourceVersion"] = old["metadata"]["resourceVersion"]
            return obj
        meta["resourceVersion"] = self._next_revision()
        self.objects[self._key(rtype, meta.get("namespace", ""), meta["name"])] = obj
        if rtype.plural == "customresourcedefinitions":
            self._types_cache = None
        return obj

    @staticmethod
    def _strip_volatile(obj: dict) -> dict:
        out = clone(obj)
        out["metadata"].pop("resourceVersion", None)
        for entry in out["metadata"].get("managedFields") or []:
            entry.pop("time", None)
        return out

    def _own(self, entries: list, manager: str, operation: str, rtype, changed: set, removed: set, subresource: str,
             replace: bool = False, forced: set | None = None) -> list:
        out, mine, position = [], None, None
        for entry in entries:
            paths = managed.from_fields_v1(entry.get("fieldsV1", {}))
            same = (entry.get("manager") == manager and entry.get("operation") == operation
                    and entry.get("subresource", "") == subresource)
            if same:
                mine, position = paths, len(out)
                continue
            if operation == "Apply":
                paths -= forced or set()
            else:
                paths -= changed
            paths -= removed
            if paths:
                entry = {**entry, "fieldsV1": managed.to_fields_v1(paths)}
                out.append(entry)
        if replace or mine is None:
            mine_paths = set(changed)
        else:
            mine_paths = (mine | changed) - removed
        if mine_paths or operation == "Apply":
            # An owner keeps its place in the list: a no-op write leaves managedFields as they were.
            out.insert(len(out) if position is None else position,
                       self._managed_entry(manager, operation, rtype, mine_paths, subresource))
        return out

    def _verb_patch(self, request, rtype, namespace, name, subresource):
        patch_type = PATCH_TYPES.get(request.content_type)
        if patch_type is None or (patch_type == "strategic" and not rtype.builtin):
            accepted = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"]
            if rtype.builtin:
                accepted.insert(2, "application/strategic-merge-patch+json")
            raise errors.unsupported_media_type(request.content_type, accepted)
        if patch_type == "apply":
            return self._apply(request, rtype, namespace, name, subresource)
        old = self._get_existing(rtype, namespace, name)
        try:
            patch_doc = json.loads(request.body or b"null")
        except ValueError as exc:
            raise errors.bad_request(f"error decoding patch: {exc}") from None
        current = clone(old)
        if patch_type == "merge":
            if not isinstance(patch_doc, dict):
                raise errors.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
            patched = merge_patch(current, patch_doc)
        elif patch_type == "strategic":
            if not isinstance(patch_doc, dict):
                raise errors.bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
            patched = strategic_merge_patch(current, patch_doc, strategy=self.strategy(rtype))
        else:
            patched = json_patch(current, patch_doc)
        patched = self._check_body(rtype, patched, namespace, name)
        sent_rv = patched["metadata"].get("resourceVersion")
        if sent_rv and sent_rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(rtype.plural, rtype.group, name)
        return 200, self._present(self._replace(request, rtype, old, patched, subresource))

    def _apply(self, request, rtype, namespace, name, subresource):
        manager = request.query.get("fieldManager")
        if not manager:
            raise errors.bad_request("fieldManager is required for apply requests")
        force = request.query.get("force") in ("true", "1")
        config = self._decode(request, allow_yaml=True)
        config = self._check_body(rtype, config, namespace, name)
        strategy = self.strategy(rtype)
        pruned = clone(config)
        validation.prune_custom(rtype, pruned)
        fields = managed.field_paths(pruned, strategy)
        old = self.objects.get(self._key(rtype, namespace, name))
        if old is None:
            self._require_namespace(rtype, namespace)
            obj = clone(config)
            self._validate(rtype, obj, None, request)
            created = self._store_new(rtype, obj, manager, self._dry_run(request), "Apply", fields)
            return 201, self._present(created)
        conflicts, forced = [], set()
        for entry in old["metadata"].get("managedFields") or []:
            if entry.get("manager") == manager and entry.get("operation") == "Apply":
                continue
            other = managed.from_fields_v1(entry.get("fieldsV1", {}))
            for path in sorted(fields & other):
                if path[-1].startswith(("k:", "v:")):
                    continue
                if managed.value_at(old, path) != managed.value_at(config, path):
                    conflicts.append((self._manager_label(entry), path))
                    forced.add(path)
        if conflicts and not force:
            raise self._apply_conflict(conflicts)
        previous = set()
        for entry in old["metadata"].get("managedFields") or []:
            if entry.get("manager") == manager and entry.get("operation") == "Apply":
                previous = managed.from_fields_v1(entry.get("fieldsV1", {}))
        others = set()
        for entry in old["metadata"].get("managedFields") or []:
            if not (entry.get("manager") == manager and entry.get("operation") == "Apply"):
                others |= managed.from_fields_v1(entry.get("fieldsV1", {}))
        merged = clone(old)
        for path in sorted(previous - fields - others, key=len):
            managed.remove_path(merged, path)
        managed.prune_empty(merged, fields | (others - forced))
        merged = managed.merge_applied(merged, config, strategy)
        merged["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        has_status = "status" in resources.SUBRESOURCES.get((rtype.group, rtype.plural), []) or (
            not rtype.builtin and validation.has_status_subresource(self._crd_of(rtype), rtype.version))
        if has_status and subresource != "status":
            if "status" in old:
                merged["status"] = clone(old["status"])
            else:
                merged.pop("status", None)
        self._validate(rtype, merged, old, request)
        result = self._commit_update(rtype, old, merged, manager, subresource, self._dry_run(request),
                                     apply_fields=fields, forced=forced)
        return 200, self._present(result)

    @staticmethod
    def _manager_label(entry: dict) -> str:
        label = json.dumps(entry.get("manager", ""))
        if entry.get("subresource"):
            label += f' with subresource {json.dumps(entry["subresource"])}'
        if entry.get("operation") == "Update":
            label += f' using {entry.get("apiVersion")}'
        return label

    @staticmethod
    def _apply_conflict(conflicts: list) -> ApiError:
        causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {label}",
                   "field": managed.display(path)} for label, path in conflicts]
        if len(conflicts) == 1:
            label, path = conflicts[0]
            message = f"Apply failed with 1 conflict: conflict with {label}: {managed.display(path)}"
        else:
            by_manager: dict[str, list] = {}
            for label, path in conflicts:
                by_manager.setdefault(label, []).append(managed.display(path))
            lines = []
            for label in sorted(by_manager):
                lines.append(f"conflicts with {label}:")
                lines.extend(f"- {p}" for p in by_manager[label])
            message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
        return ApiError(409, "Conflict", message, {"causes": causes})

    def _verb_delete(self, request, rtype, namespace, name, subresource):
        key = self._key(rtype, namespace, name)
        obj = self._get_existing(rtype, namespace, name)
        preconditions = {}
        if request.body:
            try:
                options = json.loads(request.body)
                preconditions = (options or {}).get("preconditions") or {}
            except ValueError:
                raise errors.bad_request("error decoding DeleteOptions") from None
        if preconditions.get("resourceVersion") and preconditions["resourceVersion"] != obj["metadata"]["resourceVersion"]:
            raise errors.conflict(rtype.plural, rtype.group, name)
        if preconditions.get("uid") and preconditions["uid"] != obj["metadata"]["uid"]:
            raise errors.conflict(rtype.plural, rtype.group, name)
        if self._dry_run(request):
            return 200, self._deleted_answer(rtype, obj)
        del self.objects[key]
        self._next_revision()
        if rtype.plural == "customresourcedefinitions":
            self._types_cache = None
        return 200, self._deleted_answer(rtype, obj)

    @staticmethod
    def _deleted_answer(rtype, obj: dict):
        if rtype.kind in ("Node", "ConfigMap", "Namespace") or not rtype.builtin:
            # Types without graceful deletion answer a Status (built-ins) or the object (custom resources).
            if not rtype.builtin:
                return clone(obj)
            return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                    "details": {"name": obj["metadata"]["name"], "group": rtype.group, "kind": rtype.plural,
                                "uid": obj["metadata"]["uid"]}}
        return clone(obj)

    # ------------------------------------------------------------------ OpenAPI
    def _openapi(self, request, parts):
        from . import openapi

        if parts == ["openapi", "v2"]:
            return 200, openapi.v2_document(self.types())
        if parts == ["openapi", "v3"]:
            return 200, openapi.v3_index(self.types())
        if parts[:2] == ["openapi", "v3"]:
            doc = openapi.v3_document(self.types(), "/".join(parts[2:]))
            if doc is not None:
                return 200, doc
        raise ApiError(404, "NotFound", "the server could not find the requested resource", {})
