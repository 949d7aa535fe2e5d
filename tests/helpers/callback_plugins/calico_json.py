# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A JSON stdout callback with the output shape of ansible.posix.json.

ansible-core 2.19 routes the short name ``json`` to ``ansible.posix.json``,
which is a separate collection (not installable here: Galaxy is out of reach),
so this suite carries its own; tests/helpers/ansible_run.py uses it by default. It
prints the same document: ``{"plays": [{"play", "tasks": [{"task", "hosts":
{host: result}}]}], "stats": {...}}``, with each result's warnings as text.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: calico_json
type: stdout
short_description: ansible.posix.json-shaped output for the calico.azure tests
description: Prints one JSON document with every task result, for tests to read.
"""

import json

from ansible.plugins.callback import CallbackBase


def _text(item):
    if isinstance(item, str):
        return item
    for attr in ("msg", "message"):
        value = getattr(item, attr, None) or getattr(getattr(item, "event", None), attr, None)
        if value:
            return str(value)
    return str(item)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "calico_json"

    def __init__(self, display=None):
        super().__init__(display)
        self.results = []

    def v2_playbook_on_play_start(self, play):
        self.results.append({"play": {"name": play.get_name(), "id": str(play._uuid)}, "tasks": []})

    def _start(self, task):
        self.results[-1]["tasks"].append({"task": {"name": task.get_name(), "id": str(task._uuid)}, "hosts": {}})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task)

    def _record(self, result, **extra):
        data = dict(result.result)
        warnings = getattr(result, "warnings", None) or data.get("warnings") or []
        data["warnings"] = [_text(w) for w in warnings]
        exception = getattr(result, "exception", None)
        if exception is not None:
            data["exception"] = _text(exception)
        data = {k: v for k, v in data.items() if not k.startswith("_ansible_") or k == "_ansible_no_log"}
        data.update(extra)
        data["action"] = result.task.action
        self.results[-1]["tasks"][-1]["hosts"][result.host.name] = json.loads(json.dumps(data, default=str))

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True, ignore_errors=ignore_errors)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_playbook_on_stats(self, stats):
        summary = {host: stats.summarize(host) for host in sorted(stats.processed)}
        self._display.display(json.dumps({"plays": self.results, "stats": summary}, indent=2, sort_keys=True))
