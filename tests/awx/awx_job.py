"""Run a playbook the way an AWX / AAP job template runs it.

What AWX does for one job (awx/main/tasks/jobs.py ``BaseTask.run`` and
``RunJob``, awx/main/tasks/receptor.py), and what this module reproduces:

1. A fresh **private data directory** per job (mode 0700):

   - ``project/``: a copy of the project (the SCM checkout);
   - ``requirements_collections/``: the collections of the project's
     ``collections/requirements.yml``, installed by the project update with
     ``ansible-galaxy collection install -r ... -p ...``;
   - ``inventory/hosts``: an executable script printing the inventory as JSON
     (``Inventory.get_script_data``: groups, ``_meta.hostvars``), mode 0700;
   - ``env/extravars`` (job template extra vars, survey answers and the
     ``awx_*``/``tower_*`` meta variables), ``env/cmdline`` (``-u``, ``--become``,
     ``--diff``, ``-v``...), ``env/settings`` (JSON: ``job_timeout``,
     ``suppress_ansible_output``, ``suppress_output_file``), all mode 0600.

2. **No ``env/envvars`` file.** The job's environment, including everything
   the credentials inject (the "Microsoft Azure Resource Manager" type sets
   ``AZURE_CLIENT_ID``, ``AZURE_SECRET``, ``AZURE_TENANT``,
   ``AZURE_SUBSCRIPTION_ID`` and ``AZURE_CLOUD_ENVIRONMENT``), is passed to
   ansible-runner as the ``envvars`` argument together with
   ``suppress_env_files=True`` (setting ``AWX_RUNNER_OMIT_ENV_FILES``, default
   true), so runner does not write it to ``env/``. File-type credential
   injectors (a CA bundle) write a 0600 temporary file into ``env/`` and point
   a variable at it.

3. The machine credential's SSH key goes in as ``ssh_key``: runner feeds it to
   ``ssh-agent`` through a FIFO, never a regular file.

4. The run is **transmit → worker → process**: the controller streams the
   directory and the arguments (``ansible_runner.interface.run(streamer=
   "transmit")``); receptor runs ``ansible-runner worker --private-data-dir=DIR``
   on the execution node (on a hybrid node, the default of a single-node
   install, DIR is the same directory and is not deleted by the worker); the
   worker streams events, status and finally the artifacts directory back, and
   the controller consumes them with ``streamer="process"``, storing each event
   (the job output users see). AWX deletes the whole directory after the job.

Differences, all forced by this machine: there is no container engine, so the
job runs in this virtualenv instead of an execution environment image, and
paths are host paths instead of ``/runner/...``. The receptor hop is replaced
by piping the stream through ``ansible-runner worker`` directly.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any, Mapping, Sequence

import ansible_runner
import yaml

BIN_DIR = Path(sys.executable).parent

# env/settings as RunJob writes it (AWX_RUNNER_SUPPRESS_OUTPUT_FILE defaults to true).
AWX_RUNNER_SETTINGS = {"job_timeout": 0, "suppress_ansible_output": True, "suppress_output_file": True}


@dataclass
class AwxJob:
    """One job: its private data directory and what the controller received."""

    job_id: int
    private_data_dir: Path
    status: str = ""
    rc: int | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    worker_stderr: str = ""

    @property
    def artifacts_dir(self) -> Path:
        return self.private_data_dir / "artifacts" / str(self.job_id)

    @property
    def stdout(self) -> str:
        """The job output as AWX shows it: the events' stdout, in order."""
        ordered = sorted(self.events, key=lambda e: e.get("counter", 0))
        return "\n".join(e.get("stdout", "") for e in ordered if e.get("stdout"))

    def stats(self) -> dict[str, dict[str, int]]:
        """playbook_on_stats per host: {"changed": {host: n}, "failures": {...}, ...}."""
        for event in self.events:
            if event.get("event") == "playbook_on_stats":
                data = event.get("event_data", {})
                return {key: data.get(key) or {} for key in ("ok", "changed", "failures", "dark", "skipped")}
        return {}

    def changed_tasks(self) -> list[str]:
        """``host: task`` for every task result that reported a change."""
        out = []
        for event in self.events:
            data = event.get("event_data", {})
            if event.get("event") == "runner_on_ok" and (data.get("res") or {}).get("changed"):
                out.append(f"{data.get('host')}: {data.get('task')}")
        return out

    def failures(self) -> list[str]:
        out = []
        for event in self.events:
            if event.get("event") in ("runner_on_failed", "runner_on_unreachable"):
                data = event.get("event_data", {})
                if data.get("ignore_errors"):
                    continue
                res = data.get("res") or {}
                out.append(f"{data.get('host')}: {data.get('task')}: {res.get('msg')}")
        return out


def _write_private(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.touch(mode=mode, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


def inventory_script(inventory: Mapping[str, Any]) -> str:
    """inventory/hosts as AWX writes it (BaseTask.write_inventory_file)."""
    return "#! /usr/bin/env python3\n# -*- coding: utf-8 -*-\nprint(%r)\n" % json.dumps(inventory)


def awx_meta_vars(job_id: int, template_name: str) -> dict[str, Any]:
    """The awx_*/tower_* variables every job gets in its extra vars (Job.awx_meta_vars)."""
    meta: dict[str, Any] = {}
    for prefix in ("awx", "tower"):
        meta.update(
            {
                f"{prefix}_job_id": job_id,
                f"{prefix}_job_launch_type": "manual",
                f"{prefix}_job_template_id": 7,
                f"{prefix}_job_template_name": template_name,
                f"{prefix}_project_revision": "0" * 40,
                f"{prefix}_project_scm_branch": "main",
                f"{prefix}_user_name": "admin",
                f"{prefix}_inventory_id": 3,
                f"{prefix}_inventory_name": "calico-azure",
            }
        )
    return meta


def install_project_collections(project_dir: Path, collections_dir: Path) -> subprocess.CompletedProcess:
    """The project update's collection step (awx/playbooks/project_update.yml)."""
    requirements = project_dir / "collections" / "requirements.yml"
    return subprocess.run(
        [str(BIN_DIR / "ansible-galaxy"), "collection", "install", "-r", str(requirements), "-p", str(collections_dir)],
        cwd=project_dir,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={**_clean_env(), "ANSIBLE_COLLECTIONS_PATH": str(collections_dir)},
    )


def build_private_data_dir(
    base: Path,
    *,
    job_id: int,
    project: Path,
    collections: Path,
    inventory: Mapping[str, Any],
    extra_vars: Mapping[str, Any],
    cmdline: Sequence[str],
    template_name: str = "Calico policy-only on Azure",
) -> Path:
    """A job's private data directory, laid out as BaseTask/RunJob lay it out."""
    private_data_dir = Path(tempfile.mkdtemp(prefix=f"awx_{job_id}_", dir=base))
    os.chmod(private_data_dir, stat.S_IRWXU)
    for sub in ("inventory", "env"):
        (private_data_dir / sub).mkdir(mode=0o700)
    # RunJob.build_project_dir -> sync_and_copy: the project tree, then the
    # collections the project update installed, copied next to it.
    shutil.copytree(project, private_data_dir / "project", symlinks=True)
    shutil.copytree(collections, private_data_dir / "requirements_collections", symlinks=True)
    (private_data_dir / "cp").mkdir(mode=0o700)  # ANSIBLE_SSH_CONTROL_PATH_DIR
    _write_private(private_data_dir / "inventory" / "hosts", inventory_script(inventory), 0o700)
    variables = dict(extra_vars)
    variables.update(awx_meta_vars(job_id, template_name))
    _write_private(private_data_dir / "env" / "extravars", yaml.safe_dump(variables, sort_keys=False))
    _write_private(private_data_dir / "env" / "cmdline", " ".join(cmdline))
    _write_private(private_data_dir / "env" / "settings", json.dumps(AWX_RUNNER_SETTINGS))
    return private_data_dir


def file_injector(private_data_dir: Path, content: str) -> Path:
    """A credential type's file injector: a 0600 temp file under env/ (CredentialType.inject_credential)."""
    handle, name = tempfile.mkstemp(dir=private_data_dir / "env")
    os.close(handle)
    return _write_private(Path(name), content)


def job_environment(private_data_dir: Path, job_id: int, credential_env: Mapping[str, str]) -> dict[str, str]:
    """RunJob.build_env plus the credentials' injected variables."""
    env = {
        "AWX_PRIVATE_DATA_DIR": str(private_data_dir),
        "JOB_ID": str(job_id),
        "INVENTORY_ID": "3",
        "PROJECT_REVISION": "0" * 40,
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "MAX_EVENT_RES": "700000",
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(private_data_dir / "cp"),
        "ANSIBLE_ROLES_PATH": ":".join(
            [str(private_data_dir / "requirements_roles"), "~/.ansible/roles", "/usr/share/ansible/roles", "/etc/ansible/roles"]
        ),
        "ANSIBLE_COLLECTIONS_PATH": ":".join(
            [str(private_data_dir / "requirements_collections"), "~/.ansible/collections", "/usr/share/ansible/collections"]
        ),
        "ANSIBLE_FORCE_COLOR": "False",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
    }
    env.update(credential_env)
    return env


def _clean_env() -> dict[str, str]:
    """What an execution environment container starts with: no ANSIBLE_*/AZURE_* from this shell."""
    keep = ("HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env["PATH"] = f"{BIN_DIR}{os.pathsep}/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
    return env


class _Stream(BytesIO):
    """In-memory stream; ansible-runner's stream_dir() looks at ``.name``."""

    name = "<receptor>"


def run_job(
    job_id: int,
    private_data_dir: Path,
    *,
    envvars: Mapping[str, str],
    ssh_key: str | None = None,
    playbook: str = "site.yml",
    timeout: int = 900,
) -> AwxJob:
    """transmit → ``ansible-runner worker`` → process, with AWX's runner parameters."""
    job = AwxJob(job_id, private_data_dir)
    params: dict[str, Any] = {
        "ident": job_id,
        "private_data_dir": str(private_data_dir),
        "playbook": playbook,
        "inventory": str(private_data_dir / "inventory" / "hosts"),
        "passwords": {},
        "suppress_env_files": True,
        "envvars": dict(envvars),
        "fact_cache_type": "",
    }
    if ssh_key is not None:
        params["ssh_key"] = ssh_key

    # The stream carries the secret (envvars): keep it in memory, as receptor's socket does.
    transmit_stream = _Stream()
    ansible_runner.interface.run(streamer="transmit", _output=transmit_stream, **params)

    worker = subprocess.run(
        [str(BIN_DIR / "ansible-runner"), "worker", "--private-data-dir", str(private_data_dir)],
        input=transmit_stream.getvalue(),
        capture_output=True,
        timeout=timeout,
        check=False,
        env=_clean_env(),
        cwd=private_data_dir,
    )
    job.worker_stderr = worker.stderr.decode("utf-8", "replace")
    # The worker exits with the playbook's rc; only a missing stream is a harness failure.
    if b'"eof": true' not in worker.stdout:
        raise RuntimeError(f"ansible-runner worker exited {worker.returncode} without a result stream:\n"
                           f"{job.worker_stderr[-4000:]}")

    def event_handler(event: dict[str, Any]) -> bool:
        job.events.append(event)
        return True

    def status_handler(status: dict[str, Any], runner_config=None) -> None:  # noqa: ARG001 - runner's signature
        job.statuses.append(status)

    processed = ansible_runner.interface.run(
        streamer="process",
        quiet=True,
        _input=_Stream(worker.stdout),
        event_handler=event_handler,
        status_handler=status_handler,
        **params,
    )
    job.status = processed.status
    rc_file = job.artifacts_dir / "rc"
    job.rc = int(rc_file.read_text()) if rc_file.exists() else None
    return job


def files_containing(root: Path, needle: str) -> list[Path]:
    """Every regular file under ``root`` whose bytes contain ``needle`` (FIFOs and sockets skipped)."""
    data = needle.encode("utf-8")
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        if data in path.read_bytes():
            found.append(path)
    return found
