# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action of every calico.azure Azure module: credentials from the variable ``calico_azure_auth``, added at run time.

Options given through ``module_defaults`` or a task's arguments are part of the
task's arguments, which every callback plugin (and AWX's job events) receives,
secret included. This action reads ``calico_azure_auth`` (a dict of the modules'
shared Azure options) when the task runs and adds its entries to the arguments
sent to the module only; the task, as callbacks see it, never holds them. An
option the task (or ``module_defaults``) sets itself wins. Secrets (``secret``,
``certificate_password``) are read as data: ``{{ }}`` inside them is never
rendered (see plugin_utils/secret_vars.py).
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.calico.azure.plugins.plugin_utils.secret_vars import SecretVariableError, resolve_secret

AUTH_VARIABLE = "calico_azure_auth"
SECRET_OPTIONS = frozenset(("secret", "certificate_password"))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def _auth_options(self, task_vars):
        raw = task_vars.get(AUTH_VARIABLE)
        if raw is None or raw == "":
            return {}
        if isinstance(raw, str):
            # A whole-variable reference or expression ("{{ vault_azure_auth }}").
            raw = self._templar.template(raw)
        if not isinstance(raw, dict):
            raise AnsibleActionFail("%s must be a dict of Azure module options, not %s." % (AUTH_VARIABLE, type(raw).__name__))
        options = {}
        for name, value in raw.items():
            if name in SECRET_OPTIONS:
                try:
                    value = resolve_secret(value, task_vars, self._templar.template, "%s.%s" % (AUTH_VARIABLE, name))
                except SecretVariableError as err:
                    raise AnsibleActionFail(str(err))
            else:
                value = self._templar.template(value)
            if value is not None:
                options[name] = value
        return options

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        module_args = dict(self._task.args)
        for name, value in self._auth_options(task_vars).items():
            module_args.setdefault(name, value)
        result.update(
            self._execute_module(
                module_name=self._task.resolved_action or self._task.action,
                module_args=module_args,
                task_vars=task_vars,
            )
        )
        return result
