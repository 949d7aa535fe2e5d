# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Test-only callback: records everything every v2_* hook is given, as AWX's event stream could.

For each hook call: repr of every argument, and for tasks, results, plays and
playbooks what a callback can read from them (task args, vars, environment,
module_defaults, results, play vars, extra vars); appended as JSON lines to
$RECORD_EVERYTHING_FILE.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: record_everything
type: aggregate
short_description: Test-only; records every callback hook's arguments
description: Records every v2_* hook's arguments to $RECORD_EVERYTHING_FILE.
"""

import json
import os

from ansible.plugins.callback import CallbackBase


def _safe(value):
    try:
        return json.loads(json.dumps(value, default=repr))
    except (TypeError, ValueError):
        return repr(value)


def _describe(obj):
    seen = {"repr": repr(obj)}
    for attribute in ("args", "vars", "environment", "module_defaults", "name", "action", "_result", "_task_fields",
                      "extra_vars"):
        try:
            value = getattr(obj, attribute, None)
        except Exception:  # noqa: BLE001 - a test recorder reads what it can
            continue
        if value is not None:
            seen[attribute] = _safe(value)
    task = getattr(obj, "_task", None)
    if task is not None:
        seen["task"] = _describe(task)
    for method in ("get_vars", "get_include_params"):
        try:
            seen[method] = _safe(getattr(obj, method)())
        except Exception:  # noqa: BLE001
            pass
    variable_manager = getattr(obj, "_variable_manager", None) or getattr(obj, "get_variable_manager", lambda: None)()
    if variable_manager is not None:
        seen["extra_vars"] = _safe(getattr(variable_manager, "extra_vars", None))
    return seen


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record_everything"
    CALLBACK_NEEDS_ENABLED = False

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._path = os.environ.get("RECORD_EVERYTHING_FILE")

    def _record(self, hook, args, kwargs):
        if not self._path:
            return
        entry = {"hook": hook, "args": [_describe(a) for a in args], "kwargs": {k: _describe(v) for k, v in kwargs.items()}}
        with open(self._path, "a") as handle:
            handle.write(json.dumps(entry, default=repr) + "\n")

    def __getattribute__(self, name):
        if name.startswith("v2_"):
            def hook(*args, **kwargs):
                self._record(name, args, kwargs)
            return hook
        return super(CallbackModule, self).__getattribute__(name)
