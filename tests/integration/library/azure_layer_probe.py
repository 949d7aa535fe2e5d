# -*- coding: utf-8 -*-
# Copyright: (c) 2026, calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Test-only module: exercises the shared Azure client layer through Ansible.

Not part of the collection (it lives under tests/); the integration tests put
this directory on ANSIBLE_LIBRARY. It is as thin as a real module should be:
the shared options come from AzureModule.argument_spec, and every AzureError
becomes fail_json in one place.
"""

from __future__ import annotations

DOCUMENTATION = r"""
module: azure_layer_probe
short_description: Test-only probe of the calico.azure client layer
description:
  - Reads or writes one ARM resource through C(AzureModule) and C(ArmClient).
options:
  operation:
    description: What to do.
    type: str
    choices: [whoami, get, get_or_none, list, put, delete, resource_group]
    default: whoami
  resource_id:
    description: ARM id (or collection path for O(operation=list)).
    type: str
  name:
    description: Resource group name for O(operation=resource_group).
    type: str
  body:
    description: JSON body for O(operation=put).
    type: dict
  if_match:
    description: Etag for If-Match.
    type: str
extends_documentation_fragment:
  - calico.azure.azure
"""

from ansible_collections.calico.azure.plugins.module_utils._azure.module import AzureModule


def main():
    module = AzureModule(
        argument_spec=AzureModule.argument_spec(
            operation=dict(
                type="str",
                default="whoami",
                choices=["whoami", "get", "get_or_none", "list", "put", "delete", "resource_group"],
            ),
            resource_id=dict(type="str"),
            name=dict(type="str"),
            body=dict(type="dict"),
            if_match=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    operation = params["operation"]
    result = {"changed": False}
    with module.azure_errors():
        arm = module.arm
        settings = module.auth_settings
        result["auth"] = {
            "kind": settings.kind,
            "credential": settings.describe(),
            "origins": settings.origins,
            "subscription_id": module.subscription_id,
        }
        result["endpoints"] = {
            "name": module.endpoints.name,
            "resource_manager": module.endpoints.resource_manager,
            "authority_host": module.endpoints.authority_host,
            "scope": module.endpoints.scope,
        }
        if operation == "whoami":
            # One ARM read proves the token works end to end.
            result["resources"] = arm.list("/subscriptions/%s/resourceGroups" % module.subscription_id)
        elif operation == "get":
            result["resource"] = arm.get(params["resource_id"])
        elif operation == "get_or_none":
            result["resource"] = arm.get_or_none(params["resource_id"])
        elif operation == "list":
            result["resources"] = arm.list(params["resource_id"])
        elif operation == "resource_group":
            result["resource"] = arm.resource_group(params["name"])
        elif operation == "put":
            result["changed"] = True
            if not module.check_mode:
                result["resource"] = arm.put(params["resource_id"], params["body"], if_match=params["if_match"])
        elif operation == "delete":
            exists = arm.get_or_none(params["resource_id"]) is not None
            result["changed"] = exists
            if exists and not module.check_mode:
                result["changed"] = arm.delete(params["resource_id"], if_match=params["if_match"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
