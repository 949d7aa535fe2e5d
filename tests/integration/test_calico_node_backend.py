"""calico.azure.calico_node_backend through ansible-playbook (-c local, files under tmp_path).

Each test is one playbook whose ansible.builtin.stat tasks record checksum,
mtime and inode between the module's runs, so the usual sequence (check mode ->
nothing written -> apply -> verify -> re-run writes nothing) costs one
ansible-playbook process.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.ansible_run import run_playbook

FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "calico_node" / "fixtures"
# A second interpreter without ruamel.yaml shows the module's behaviour on hosts that lack it.
SYSTEM_PYTHON = "/usr/bin/python3"
SYSTEM_PYTHON_LACKS_RUAMEL = (
    os.path.exists(SYSTEM_PYTHON)
    and subprocess.run([SYSTEM_PYTHON, "-c", "import ruamel.yaml"], capture_output=True, check=False).returncode != 0
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")


def play(tasks: str) -> str:
    return "- hosts: localhost\n  gather_facts: false\n  tasks:\n" + tasks


def run(tasks: str, **kwargs):
    result = run_playbook(play(tasks), **kwargs)
    assert result.data, "no JSON from ansible-playbook:\n%s\n%s" % (result.stdout[-3000:], result.stderr[-3000:])
    return result


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


ENV_FILE = (
    "# calico-node.service EnvironmentFile\r\n"
    "export ETCD_ENDPOINTS='https://10.0.0.4:2379'\r\n"
    "\r\n"
    "; older value, shadowed by the one below\r\n"
    "CALICO_NETWORKING_BACKEND=bird\r\n"
    "CALICO_IPV4POOL_IPIP=\"Always\"\r\n"
    "  CALICO_NETWORKING_BACKEND = \"bird\"\r\n"
    "FELIX_LOGSEVERITYSCREEN=info\r\n"
)
ENV_FILE_AFTER = (
    "# calico-node.service EnvironmentFile\r\n"
    "export ETCD_ENDPOINTS='https://10.0.0.4:2379'\r\n"
    "\r\n"
    "; older value, shadowed by the one below\r\n"
    "CALICO_NETWORKING_BACKEND=bird\r\n"
    "CALICO_IPV4POOL_IPIP=\"Never\"\r\n"
    "  CALICO_NETWORKING_BACKEND = \"none\"\r\n"
    "FELIX_LOGSEVERITYSCREEN=info\r\n"
)


def test_env_file_check_diff_apply_rerun_keeps_owner_mode_and_every_other_byte(tmp_path):
    env_file = tmp_path / "calico.env"
    env_file.write_bytes(ENV_FILE.encode())
    os.chown(env_file, 1234, 1234)
    os.chmod(env_file, 0o640)
    args = f"""
        path: {env_file}
        backend: none
        calico_version: v3.26.1
        extra_env:
          CALICO_IPV4POOL_IPIP: Never
"""
    stat = f"""
    - name: {{name}}
      ansible.builtin.stat:
        path: {env_file}
        checksum_algorithm: sha1
      register: {{name}}
"""
    result = run(
        stat.format(name="before")
        + f"""
    - name: check
      calico.azure.calico_node_backend:{args}
      check_mode: true
      diff: true
"""
        + stat.format(name="after_check")
        + f"""
    - name: apply
      calico.azure.calico_node_backend:{args}
      diff: true
"""
        + stat.format(name="after_apply")
        + f"""
    - name: rerun
      calico.azure.calico_node_backend:{args}
"""
        + stat.format(name="after_rerun")
    )
    assert result.rc == 0, result.stdout[-3000:]
    stats = {name: result.task(name)["stat"] for name in ("before", "after_check", "after_apply", "after_rerun")}

    check = result.task("check")
    assert check["changed"] is True
    assert check["previous_backend"] == "bird"
    assert check["changed_variables"] == ["CALICO_NETWORKING_BACKEND", "CALICO_IPV4POOL_IPIP"]
    assert check["diff"]["before"] == ENV_FILE and check["diff"]["after"] == ENV_FILE_AFTER
    assert check["diff"]["before_header"] == check["diff"]["after_header"] == str(env_file)
    # Check mode wrote nothing: same bytes, same mtime, same inode.
    for key in ("checksum", "mtime", "inode"):
        assert stats["after_check"][key] == stats["before"][key], key

    apply = result.task("apply")
    assert apply["changed"] is True
    assert apply["duplicates"] == [{"name": "CALICO_NETWORKING_BACKEND", "lines": [5, 7]}]
    assert any("sets CALICO_NETWORKING_BACKEND 2 times (lines 5, 7)" in w for w in apply["warnings"])
    # IPIP is turned off in the same run, so no encapsulation warning.
    assert not any("encapsulation" in w for w in apply["warnings"])
    assert env_file.read_bytes() == ENV_FILE_AFTER.encode()
    after = stats["after_apply"]
    assert (after["uid"], after["gid"], after["mode"]) == (1234, 1234, "0640")
    assert after["checksum"] == sha1(ENV_FILE_AFTER.encode())
    # Written through a temporary file renamed over the original: new inode, nothing left behind.
    assert after["inode"] != stats["before"]["inode"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calico.env"]

    rerun = result.task("rerun")
    assert rerun["changed"] is False
    assert rerun["changed_variables"] == []
    for key in ("checksum", "mtime", "inode"):
        assert stats["after_rerun"][key] == after[key], key


def test_backup_create_and_check_mode_create(tmp_path):
    existing = tmp_path / "existing.env"
    existing.write_bytes(b"# keep me\nCALICO_NETWORKING_BACKEND=bird\n")
    os.chmod(existing, 0o600)
    created = tmp_path / "sub" / "calico.env"
    created.parent.mkdir()
    not_created = tmp_path / "sub" / "preview.env"
    link_target = tmp_path / "real.env"
    link_target.write_text("CALICO_NETWORKING_BACKEND=bird\n")
    link = tmp_path / "link.env"
    link.symlink_to(link_target.name)
    result = run(
        f"""
    - name: through a symlink
      calico.azure.calico_node_backend:
        path: {link}
    - name: backup
      calico.azure.calico_node_backend:
        path: {existing}
        backup: true
    - name: create
      calico.azure.calico_node_backend:
        path: {created}
        create: true
        extra_env:
          DATASTORE_TYPE: kubernetes
          FELIX_IPV6SUPPORT: false
    - name: create again
      calico.azure.calico_node_backend:
        path: {created}
        create: true
        extra_env:
          DATASTORE_TYPE: kubernetes
          FELIX_IPV6SUPPORT: false
    - name: preview create
      calico.azure.calico_node_backend:
        path: {not_created}
        create: true
      check_mode: true
      diff: true
"""
    )
    assert result.rc == 0, result.stdout[-3000:]
    assert result.task("through a symlink")["changed"] is True
    assert link.is_symlink() and os.readlink(link) == "real.env"
    assert link_target.read_text() == "CALICO_NETWORKING_BACKEND=none\n"
    backup = result.task("backup")
    assert backup["changed"] is True
    backup_file = Path(backup["backup_file"])
    assert backup_file.parent == tmp_path and backup_file.name.startswith("existing.env.")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["existing.env", backup_file.name, "sub", "real.env", "link.env"])
    assert backup_file.read_bytes() == b"# keep me\nCALICO_NETWORKING_BACKEND=bird\n"
    assert existing.read_bytes() == b"# keep me\nCALICO_NETWORKING_BACKEND=none\n"
    assert oct(existing.stat().st_mode & 0o777) == "0o600"

    assert result.task("create")["changed"] is True
    assert created.read_text() == "CALICO_NETWORKING_BACKEND=none\nDATASTORE_TYPE=kubernetes\nFELIX_IPV6SUPPORT=false\n"
    st = created.stat()
    assert (oct(st.st_mode & 0o777), st.st_uid, st.st_gid) == ("0o644", 0, 0)
    assert result.task("create again")["changed"] is False

    preview = result.task("preview create")
    assert preview["changed"] is True
    assert preview["diff"]["before"] == "" and preview["diff"]["before_header"].endswith("(absent)")
    assert preview["diff"]["after"] == "CALICO_NETWORKING_BACKEND=none\n"
    assert not not_created.exists()
    assert sorted(p.name for p in created.parent.iterdir()) == ["calico.env"]


def test_manifest_check_apply_rerun_changes_one_line_and_warns_about_ipip(tmp_path):
    manifest = tmp_path / "calico.yaml"
    shutil.copy(FIXTURES / "calico.yaml", manifest)
    original = manifest.read_bytes()
    no_backend = tmp_path / "custom.yml"
    shutil.copy(FIXTURES / "calico-no-backend.yaml", no_backend)
    result = run(
        f"""
    - name: check
      calico.azure.calico_node_backend:
        path: {manifest}
      check_mode: true
      diff: true
    - name: after check
      ansible.builtin.stat:
        path: {manifest}
        checksum_algorithm: sha1
      register: after_check
    - name: apply
      calico.azure.calico_node_backend:
        path: {manifest}
    - name: rerun
      calico.azure.calico_node_backend:
        path: {manifest}
    - name: no backend yet
      calico.azure.calico_node_backend:
        path: {no_backend}
        backend: none
        calico_version: "3.30"
"""
    )
    assert result.rc == 0, result.stdout[-3000:]
    check = result.task("check")
    assert check["changed"] is True and check["format"] == "manifest"
    assert check["previous_backend"] == "bird"
    assert check["locations"] == {"CALICO_NETWORKING_BACKEND": "ConfigMap kube-system/calico-config key calico_backend"}
    assert result.task("after check")["stat"]["checksum"] == sha1(original)

    apply = result.task("apply")
    assert apply["changed"] is True
    assert manifest.read_bytes() == original.replace(b'calico_backend: "bird"', b'calico_backend: "none"')
    assert check["diff"]["after"] == manifest.read_text()
    ipip = [w for w in apply["warnings"] if "CALICO_IPV4POOL_IPIP=Always" in w]
    assert len(ipip) == 1 and "set CALICO_IPV4POOL_IPIP=Never" in ipip[0]
    assert result.task("rerun")["changed"] is False

    added = result.task("no backend yet")
    assert added["changed"] is True and added["previous_backend"] is None
    assert "            - name: CALICO_NETWORKING_BACKEND\n              value: \"none\"\n" in no_backend.read_text()


def test_bad_input_fails_with_a_message_and_leaves_files_untouched(tmp_path):
    files = {
        "binary.env": b"CALICO_NETWORKING_BACKEND=bird\n\x00\x01\x02\xff",
        "latin1.env": b"# caf\xe9\nCALICO_NETWORKING_BACKEND=bird\n",
        "garbage.env": b"CALICO_NETWORKING_BACKEND=bird\nthis is not an assignment\n",
        "unclosed.env": b'CALICO_NETWORKING_BACKEND="bird\n',
        "no-daemonset.yaml": (FIXTURES / "calico.yaml").read_bytes().split(b"---\n# Source: calico/templates/calico-node.yaml\n# This manifest installs")[0],
        "broken.yaml": b"kind: ConfigMap\nmetadata: {name: x\n",
        "calico.yaml": (FIXTURES / "calico.yaml").read_bytes(),
        "policy-only.yaml": (FIXTURES / "calico-policy-only.yaml").read_bytes(),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        os.utime(tmp_path / name, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    (tmp_path / "a-directory").mkdir()
    cases = {
        "binary.env": ("binary.env", {}, "contains NUL bytes: it is a binary file"),
        "latin1.env": ("latin1.env", {}, "is not UTF-8 text"),
        "garbage.env": ("garbage.env", {}, "line(s) 2 are neither comments nor KEY=VALUE assignments"),
        "unclosed.env": ("unclosed.env", {}, "line 1: the double-quoted value is never closed"),
        "no-daemonset.yaml": ("no-daemonset.yaml", {}, "has no DaemonSet with a calico-node container"),
        "broken.yaml": ("broken.yaml", {"format": "manifest"}, "is not valid YAML"),
        "unknown backend": ("calico.yaml", {"backend": "calico"}, "value of backend must be one of: none, bird, vxlan, gobgp"),
        "vxlan on 3.6": ("calico.yaml", {"backend": "vxlan", "calico_version": "3.6"}, "Calico 3.6 does not support CALICO_NETWORKING_BACKEND=vxlan"),
        "gobgp on 3.26": ("calico.yaml", {"backend": "gobgp", "calico_version": "3.26"}, "GoBGP was dropped after 3.3"),
        "directory": ("a-directory", {}, "is a directory; path must name the env file or manifest itself"),
        "missing": ("missing.env", {}, "does not exist; set create: true"),
        "create a manifest": ("missing.yaml", {"create": True}, "create only makes env files"),
        "create in a missing directory": ("nodir/calico.env", {"create": True}, "directory %s does not exist" % (tmp_path / "nodir")),
        "fieldRef variable": ("calico.yaml", {"extra_env": {"NODENAME": "node-1"}}, "env NODENAME comes from fieldRef"),
        "backend in extra_env": ("calico.yaml", {"extra_env": {"CALICO_NETWORKING_BACKEND": "bird"}}, "with the backend option"),
    }
    if SYSTEM_PYTHON_LACKS_RUAMEL:
        cases["no ruamel.yaml"] = ("policy-only.yaml", {"backend": "bird"}, "Failed to import the required Python library (ruamel.yaml)")
    tasks = ""
    for task_name, (name, extra, _message) in cases.items():
        # JSON is YAML flow style: the options inline, quoted safely.
        options = json.dumps(dict(path=str(tmp_path / name), **extra))
        tasks += f"""
    - name: {task_name}
      calico.azure.calico_node_backend: {options}
      ignore_errors: true
"""
        if task_name == "no ruamel.yaml":
            tasks += f"      vars:\n        ansible_python_interpreter: {SYSTEM_PYTHON}\n"
    result = run(tasks)
    assert result.rc == 0, result.stdout[-3000:]
    for task_name, (_name, _extra, message) in cases.items():
        outcome = result.task(task_name)
        assert outcome.get("failed") is True, (task_name, outcome)
        assert message in outcome["msg"], (task_name, outcome["msg"])
        assert "Traceback" not in outcome["msg"]
    for name, data in files.items():
        path = tmp_path / name
        assert path.read_bytes() == data, name
        assert path.stat().st_mtime_ns == 1_600_000_000_000_000_000, name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(list(files) + ["a-directory"])
    assert not (tmp_path / "missing.env").exists() and not (tmp_path / "missing.yaml").exists()


@pytest.mark.skipif(not os.path.exists(SYSTEM_PYTHON), reason="needs a second Python without ruamel.yaml")
def test_env_files_need_no_ruamel_yaml(tmp_path):
    """The YAML library is imported only for manifests; a host without it still edits env files."""
    env_file = tmp_path / "calico.env"
    env_file.write_text("CALICO_NETWORKING_BACKEND=bird\n")
    result = run(
        f"""
    - name: env on a python without ruamel.yaml
      calico.azure.calico_node_backend:
        path: {env_file}
      vars:
        ansible_python_interpreter: {SYSTEM_PYTHON}
"""
    )
    assert result.rc == 0, result.stdout[-3000:]
    assert result.task("env on a python without ruamel.yaml")["changed"] is True
    assert env_file.read_text() == "CALICO_NETWORKING_BACKEND=none\n"
    assert sys.executable != SYSTEM_PYTHON
