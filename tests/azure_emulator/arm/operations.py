# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ARM face of :mod:`.lro`'s operations.

Starting an operation for a write, the headers that point a client at it, and
the two URLs a client polls: the status document (``Azure-AsyncOperation``,
``.../operations/{id}``) and the result (``Location``,
``.../operationResults/{id}``).
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from ..responses import Response
from .errors import ArmError
from .ids import ArmPath
from .kinds import ResourceKind
from .lro import Operation

if TYPE_CHECKING:  # pragma: no cover
    from .engine import ArmEngine


def start_operation(engine: "ArmEngine", kind: str, path: ArmPath, resource_kind: ResourceKind, target_id: str,
                    top_id: str, operation_name: str, location: str | None) -> Operation:
    failure = engine.lro_failures.pop(0) if engine.lro_failures else None
    op = Operation(
        kind=kind,
        subscription=path.subscription,
        namespace=resource_kind.namespace or path.namespace or "Microsoft.Resources",
        location=location or "global",
        target_id=target_id,
        top_id=top_id,
        operation_name=operation_name,
        seconds=float(engine.settings.lro_seconds),
        in_progress_polls=int(engine.settings.lro_in_progress_polls),
        failure=failure,
    )
    return engine.ops.add(op)


def operation_headers(engine: "ArmEngine", op: Operation, version: str, location_header: bool) -> dict:
    base = f"{engine.base_url()}{_location_path(op)}"
    headers = {
        "Azure-AsyncOperation": f"{base}/operations/{op.id}?api-version={version}",
        "Retry-After": str(int(engine.settings.retry_after)),
    }
    if location_header:
        headers["Location"] = f"{base}/operationResults/{op.id}?api-version={version}"
    return headers


def operation_status(engine: "ArmEngine", path: ArmPath, version: str) -> Response:
    """GET of an operation's status document or of its result."""
    op = engine.ops.get(path.operation_id or "")
    if op is None or op.subscription.lower() != path.subscription.lower():
        raise ArmError(404, "OperationNotFound", f"The operation '{path.operation_id}' could not be found.")
    if not op.done and op.due():
        engine.ops.complete(op)
    op.polls += 1  # counted after the check: in_progress_polls answers say InProgress first
    if path.action == "operationResults":
        return _result(engine, op, version)
    return _status_document(engine, op)


def _result(engine: "ArmEngine", op: Operation, version: str) -> Response:
    if not op.done:
        location = f"{engine.base_url()}{_location_path(op)}/operationResults/{op.id}?api-version={version}"
        return Response(202, None, {**_retry_after(engine), "Location": location})
    if op.failure:
        return Response(400, {"error": dict(op.failure)})
    if op.kind == "delete":
        return Response(204, None)
    if op.kind == "post":
        return Response(200, op.result)
    return Response(200, engine.render_id(op.target_id))


def _status_document(engine: "ArmEngine", op: Operation) -> Response:
    body: dict = {"status": op.status}
    if op.namespace.lower() == "microsoft.compute":
        # Compute's status document also names the operation and its start time.
        body.update({"name": op.id, "startTime": _iso(op.started_utc)})
    if op.failure and op.done:
        body["error"] = dict(op.failure)
    return Response(200, body, _retry_after(engine) if not op.done else {})


def _retry_after(engine: "ArmEngine") -> dict:
    return {"Retry-After": str(int(engine.settings.retry_after))}


def _location_path(op: Operation) -> str:
    return f"/subscriptions/{op.subscription}/providers/{op.namespace}/locations/{op.location}"


def _iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat().replace("+00:00", "Z")
