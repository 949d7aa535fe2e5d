# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Errors as the API server reports them: ``metav1.Status`` objects with its reasons, codes and wording."""

from __future__ import annotations


class ApiError(Exception):
    """An answer other than success; ``status()`` is the body the API server sends."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details
        self.headers = headers or {}

    def status(self) -> dict:
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": self.message, "reason": self.reason}
        if self.details:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _details(name: str, group: str, kind: str, causes: list | None = None) -> dict:
    details: dict = {"name": name} if name else {}
    if group:
        details["group"] = group
    details["kind"] = kind
    if causes:
        details["causes"] = causes
    return details


def qualified(plural: str, group: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, group: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{qualified(plural, group)} "{name}" not found', _details(name, group, plural))


def already_exists(plural: str, group: str, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{qualified(plural, group)} "{name}" already exists',
                    _details(name, group, plural))


def conflict(plural: str, group: str, name: str) -> ApiError:
    message = (f'Operation cannot be fulfilled on {qualified(plural, group)} "{name}": the object has been modified; '
               "please apply your changes to the latest version and try again")
    return ApiError(409, "Conflict", message, _details(name, group, plural))


def invalid(kind: str, group: str, name: str, causes: list[dict]) -> ApiError:
    """422 from field errors: causes are {"reason", "message", "field"} with message "<Type>: <detail>"."""
    texts = [f"{c['field']}: {c['message']}" for c in causes]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return ApiError(422, "Invalid", f'{kind}{"." + group if group else ""} "{name}" is invalid: {summary}',
                    _details(name, group, kind, causes))


def field_error(kind: str, field: str, detail: str = "", value=None) -> dict:
    """One field error in the API server's words (k8s.io/apimachinery/pkg/util/validation/field)."""
    import json

    if kind == "Forbidden":
        return {"reason": "FieldValueForbidden", "message": f"Forbidden: {detail}", "field": field}
    if kind == "Required":
        return {"reason": "FieldValueRequired", "message": "Required value" + (f": {detail}" if detail else ""),
                "field": field}
    if kind == "Duplicate":
        return {"reason": "FieldValueDuplicate", "message": f"Duplicate value: {json.dumps(value)}", "field": field}
    if kind == "NotSupported":
        return {"reason": "FieldValueNotSupported", "message": f"Unsupported value: {json.dumps(value)}: {detail}",
                "field": field}
    if kind == "TypeInvalid":
        return {"reason": "FieldValueTypeInvalid", "message": f"Invalid value: {_show(value)}: {detail}", "field": field}
    if kind == "Unknown":
        return {"reason": "FieldValueInvalid", "message": f"Invalid value: {_show(value)}: {detail}", "field": field}
    return {"reason": "FieldValueInvalid", "message": f"Invalid value: {_show(value)}: {detail}", "field": field}


def _show(value) -> str:
    import json

    if isinstance(value, list):
        return "[]string{" + ", ".join(json.dumps(v) for v in value) + "}" if all(isinstance(v, str) for v in value) else json.dumps(value)
    if isinstance(value, (dict,)):
        return '"object"'
    return json.dumps(value)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(user: str, verb: str, plural: str, group: str, name: str = "", namespace: str = "") -> ApiError:
    resource = f'resource "{plural}" in API group "{group}"'
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    message = f'{qualified(plural, group)}{(" " + chr(34) + name + chr(34)) if name else ""} is forbidden: User "{user}" cannot {verb} {resource}{where}'
    return ApiError(403, "Forbidden", message, _details(name, group, plural))


def method_not_allowed(method: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource",
                    {})


def unsupported_media_type(content_type: str, accepted: list[str]) -> ApiError:
    return ApiError(415, "UnsupportedMediaType",
                    f"the body of the request was in an unknown format - accepted media types include: {', '.join(accepted)}")


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def unprocessable_patch(message: str) -> ApiError:
    """A patch that does not apply (json-patch test/remove failures): 422 as NewGenericServerResponse builds it."""
    return ApiError(422, "Invalid", message)


def server_timeout_fault(code: int) -> ApiError:
    if code == 429:
        return ApiError(429, "TooManyRequests", "Too many requests, please try again later.", {"retryAfterSeconds": 1})
    if code == 503:
        return ApiError(503, "ServiceUnavailable", "the server is currently unable to handle the request")
    if code == 504:
        return ApiError(504, "Timeout", "the server was unable to return a response in the time allotted")
    return ApiError(code, "InternalError", "Internal error occurred: injected fault")
