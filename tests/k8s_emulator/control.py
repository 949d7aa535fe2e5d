# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The control API: the same operations in-process (``Emulator``) and over HTTPS (``ControlClient``).

``ControlClient(base_url, ca_file)`` posts JSON keyword arguments to
``/_emulator/<name>`` of a stand-in started with ``python -m k8s_emulator``.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ApiError

OPERATIONS = ("reset", "requests", "counts", "clear_log", "inject_faults", "set_latency", "compact", "get_object",
              "list_objects", "put_object", "delete_object")


class ControlApi:
    def _call(self, operation: str, /, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError

    def reset(self, seed=None) -> dict:
        """Forget all objects, faults, latency and the log; load ``seed`` (dict, path, name under seeds/;
        None: the seed it started with; {}: only the default namespaces). Returns the tokens."""
        if seed is not None and not isinstance(seed, dict):
            seed = str(Path(seed).resolve()) if Path(seed).exists() else str(seed)
        return self._call("reset", seed=seed)

    def requests(self) -> list[dict]:
        """The request log: method, path, query, verb, group, version, resource, subresource, name, namespace,
        status, content_type, accept, user_agent, field_manager, dry_run, body, ms. Tokens are never logged."""
        return self._call("requests")

    def counts(self) -> dict:
        """{"reads", "writes" (successful, not dry-run), "discovery", "by_verb", "by_resource", "requests"}."""
        return self._call("counts")

    def clear_log(self) -> None:
        self._call("clear_log")

    def inject_faults(self, status: int = 500, count: int = 1, method: str | None = None,
                      path_contains: str | None = None, retry_after: int | None = None) -> None:
        """Answer the next ``count`` matching API requests with ``status`` (429/500/503/504) as a Status."""
        self._call("inject_faults", status=status, count=count, method=method, path_contains=path_contains,
                   retry_after=retry_after)

    def set_latency(self, request_ms: float = 0) -> None:
        self._call("set_latency", request_ms=request_ms)

    def compact(self) -> int:
        """Continue tokens issued so far become stale (410 Expired), as after an etcd compaction."""
        return self._call("compact")

    def get_object(self, kind: str, name: str, namespace: str = "", api_version: str = "v1") -> dict | None:
        return self._call("get_object", api_version=api_version, kind=kind, name=name, namespace=namespace)

    def list_objects(self, kind: str, api_version: str = "v1") -> list[dict]:
        return self._call("list_objects", api_version=api_version, kind=kind)

    def put_object(self, obj: dict, manager: str = "k8s-emulator-control") -> dict:
        """Out-of-band create/replace (another writer): bumps resourceVersion; ``manager`` owns what changed."""
        return self._call("put_object", obj=obj, manager=manager)

    def delete_object(self, kind: str, name: str, namespace: str = "", api_version: str = "v1") -> bool:
        return self._call("delete_object", api_version=api_version, kind=kind, name=name, namespace=namespace)

    # Shorthands
    def node(self, name: str) -> dict | None:
        return self.get_object("Node", name)


def handle(core, method: str, path: str, body: bytes, info) -> tuple[int, dict]:
    name = path.split("?")[0].rstrip("/").split("/")[-1]
    if name == "info" and method == "GET":
        return 200, info()
    if name not in OPERATIONS or method not in ("GET", "POST"):
        return 404, {"error": f"unknown control operation {method} {name}"}
    try:
        kwargs = json.loads(body) if body else {}
        if not isinstance(kwargs, dict):
            raise TypeError("the request body must be a JSON object of keyword arguments")
        result = getattr(core, name)(**kwargs)
    except ApiError as exc:
        return 400, {"error": exc.message, "status": exc.status()}
    except (ValueError, KeyError, TypeError, FileNotFoundError) as exc:
        return 400, {"error": f"{type(exc).__name__}: {exc}"}
    return 200, {"result": result}


class ControlError(RuntimeError):
    pass


class ControlClient(ControlApi):
    def __init__(self, base_url: str, ca_file: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        self._host, self._port = parts.hostname, parts.port or 443
        self._context = ssl.create_default_context(cafile=ca_file)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._conn = None

    def _request(self, method: str, path: str, payload: bytes | None) -> tuple[int, dict]:
        with self._lock:
            for attempt in (1, 2):
                if self._conn is None:
                    self._conn = http.client.HTTPSConnection(self._host, self._port, context=self._context,
                                                             timeout=self._timeout)
                try:
                    self._conn.request(method, path, body=payload, headers={"Content-Type": "application/json"})
                    response = self._conn.getresponse()
                    data = response.read()
                    return response.status, json.loads(data) if data else {}
                except (ConnectionError, http.client.HTTPException):
                    self._conn.close()
                    self._conn = None
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")

    def _call(self, operation: str, /, **kwargs):
        status, data = self._request("POST", f"/_emulator/{operation}", json.dumps(kwargs).encode())
        if status != 200:
            raise ControlError(data.get("error", f"HTTP {status}"))
        return data.get("result")

    def info(self) -> dict:
        status, data = self._request("GET", "/_emulator/info", None)
        if status != 200:
            raise ControlError(f"HTTP {status} from /_emulator/info")
        return data

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
