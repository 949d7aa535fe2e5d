# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: secret
author: calico.azure contributors (@calico-azure)
version_added: 0.2.0
short_description: Read a secret variable as data, never as a template
description:
  - Returns the value of each named variable as the secret it holds. A secret such as C(Ab{{ 7*6 }}c) is returned as
    written; Ansible would render it as a template when the variable is used directly.
  - When the whole value is one Jinja expression, a bare variable name (C("{{ vault_sp_secret }}")) is followed to
    that variable's value, and any other expression (C("{{ lookup('ansible.builtin.env', 'AZURE_SECRET') }}")) is
    rendered once. Nothing else in a secret is rendered.
  - The result is not trusted as a template, so it is never rendered later either.
options:
  _terms:
    description: Names of the variables holding secrets.
    type: list
    elements: str
    required: true
notes:
  - The roles of calico.azure read every secret variable with this lookup.
"""

EXAMPLES = r"""
- name: The secret exactly as the variable holds it
  ansible.builtin.debug:
    msg: "{{ lookup('calico.azure.secret', 'cloud_provider_config_aad_client_secret') | length }} characters"
"""

RETURN = r"""
_raw:
  description: The secrets, one per variable name, as strings (an undefined or empty variable gives an empty string).
  type: list
  elements: str
  sample: ["Ab{{ 7*6 }}c"]
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.calico.azure.plugins.plugin_utils.secret_vars import SecretVariableError, resolve_secret


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        variables = variables or {}
        results = []
        for name in terms:
            try:
                value = resolve_secret(variables.get(name), variables, self._templar.template, name)
            except SecretVariableError as err:
                raise AnsibleLookupError(str(err))
            results.append("" if value is None else value)
        return results
