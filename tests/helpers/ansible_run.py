"""Run ansible-playbook the way a user does, and read its result as data.

Tests call :func:`run_playbook` with a playbook (text or path); it runs the
real ``ansible-playbook`` in a subprocess with a JSON stdout callback
(``callback_plugins/calico_json.py``: the output shape of ansible.posix.json,
which ansible-core 2.19 no longer ships), so a
test sees every task's result (changed, diff, warnings, msg) exactly as
Ansible reports them, without parsing human output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

REPO_ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS_DIR = REPO_ROOT / ".cache" / "collections"
BIN_DIR = Path(sys.executable).parent
CALLBACK_DIR = Path(__file__).resolve().parent / "callback_plugins"


@dataclass
class PlaybookResult:
    rc: int
    stdout: str
    stderr: str
    data: dict = field(default_factory=dict)

    def tasks(self) -> list[dict[str, Any]]:
        """Every task of every play, each with its per-host results."""
        return [task for play in self.data.get("plays", []) for task in play.get("tasks", [])]

    def task(self, name: str, host: str = "localhost") -> dict[str, Any]:
        """The result of the (last) task called ``name`` on ``host``."""
        found = [t["hosts"][host] for t in self.tasks() if t["task"]["name"] == name and host in t["hosts"]]
        if not found:
            raise KeyError(f"no task named {name!r} ran on {host!r}; tasks: {[t['task']['name'] for t in self.tasks()]}")
        return found[-1]

    def stats(self) -> dict[str, dict[str, int]]:
        return self.data.get("stats", {})

    @property
    def changed_count(self) -> int:
        return sum(s.get("changed", 0) for s in self.stats().values())


def ansible_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_DIR),
            "ANSIBLE_STDOUT_CALLBACK": "calico_json",
            "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_DIR),
            "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "PATH": f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    if extra:
        env.update(extra)
    return env


def run_playbook(
    playbook: str | Path,
    *,
    env: Mapping[str, str] | None = None,
    extra_vars: Mapping[str, Any] | None = None,
    inventory: str | Path | None = None,
    check: bool = False,
    diff: bool = False,
    args: Sequence[str] = (),
    json_output: bool = True,
    timeout: int = 600,
) -> PlaybookResult:
    """Run ``ansible-playbook``; ``playbook`` is a path or the YAML text itself."""
    with tempfile.TemporaryDirectory(prefix="calico-azure-pb-") as tmp:
        if isinstance(playbook, Path) or (isinstance(playbook, str) and "\n" not in playbook and Path(playbook).exists()):
            pb_path = Path(playbook)
        else:
            pb_path = Path(tmp) / "playbook.yml"
            pb_path.write_text(str(playbook))
        cmd = [str(BIN_DIR / "ansible-playbook"), str(pb_path)]
        cmd += ["-i", str(inventory) if inventory else "localhost,"]
        if inventory is None:
            cmd += ["-c", "local"]
        if extra_vars:
            vars_file = Path(tmp) / "extra_vars.json"
            vars_file.write_text(json.dumps(dict(extra_vars)))
            cmd += ["-e", f"@{vars_file}"]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        cmd += list(args)
        run_env = ansible_env(env)
        if not json_output:
            run_env["ANSIBLE_STDOUT_CALLBACK"] = "default"
        proc = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=timeout, check=False)
    data: dict = {}
    if json_output:
        start = proc.stdout.find("{")
        if start != -1:
            try:
                data = json.loads(proc.stdout[start:])
            except json.JSONDecodeError:
                data = {}
    return PlaybookResult(proc.returncode, proc.stdout, proc.stderr, data)
