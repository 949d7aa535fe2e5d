"""ARM error answers: one exception type carrying status, code and message.

Handlers raise :class:`ArmError`; the engine turns it into the JSON body ARM
sends (``{"error": {"code", "message", "details"}}``) with the status code.
"""

from __future__ import annotations


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None, details: list | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.details = list(details or [])

    def body(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def not_found_top(resource_type: str, name: str, resource_group: str) -> ArmError:
    # The exact wording ARM uses for a missing top-level resource.
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{resource_type}/{name}' under resource group '{resource_group}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def not_found_child(resource_id: str) -> ArmError:
    # The network RP answers a missing child (route, subnet) with a plain NotFound.
    return ArmError(404, "NotFound", f"Resource {resource_id} not found.")


def resource_group_not_found(name: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")


def bad_request(code: str, message: str) -> ArmError:
    return ArmError(400, code, message)
