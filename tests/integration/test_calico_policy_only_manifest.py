# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""calico.azure.calico_policy_only_manifest through ansible-playbook (-c local, Calico's manifests under tmp_path).

One playbook per test: check mode -> nothing written -> apply -> exact file -> re-run unchanged.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess

import pytest

from ansible_collections.calico.azure.plugins.module_utils._calico.policy_only import convert
from helpers.ansible_run import run_playbook
from helpers.shared import shared_dir

SYSTEM_PYTHON = "/usr/bin/python3"
SYSTEM_PYTHON_LACKS_RUAMEL = (
    os.path.exists(SYSTEM_PYTHON)
    and subprocess.run([SYSTEM_PYTHON, "-c", "import ruamel.yaml"], capture_output=True, check=False).returncode != 0
)


def play(tasks: str) -> str:
    return "- hosts: localhost\n  gather_facts: false\n  tasks:\n" + tasks


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


STAT = """
    - name: {name}
      ansible.builtin.stat:
        path: {path}
        checksum_algorithm: sha1
      register: {name}
"""


@pytest.mark.parametrize("release,name", [("v3.32.1", "calico.yaml"), ("v3.28.5", "custom-resources.yaml")])
def test_check_diff_apply_rerun_backup_keep_mode_and_owner(tmp_path, release, name):
    source = shared_dir("calico-manifests", release, name)
    path = tmp_path / name
    shutil.copyfile(source, path)
    os.chmod(path, 0o640)
    original = path.read_bytes()
    expected = convert(original.decode(), str(path), cluster_cidr="10.244.0.0/16").text.encode()
    args = f"\n        path: {path}\n        cluster_cidr: 10.244.0.0/16\n"
    result = run_playbook(play(
        STAT.format(name="before", path=path)
        + f"    - name: check\n      calico.azure.calico_policy_only_manifest:{args}      check_mode: true\n      diff: true\n"
        + STAT.format(name="after_check", path=path)
        + f"    - name: apply\n      calico.azure.calico_policy_only_manifest:{args}        backup: true\n"
        + STAT.format(name="after_apply", path=path)
        + f"    - name: rerun\n      calico.azure.calico_policy_only_manifest:{args}      diff: true\n"
    ))
    assert result.rc == 0, result.stdout[-3000:]
    check = result.task("check")
    assert check["changed"] is True and check["changes"]
    assert check["diff"]["before"] == original.decode() and check["diff"]["after"] == expected.decode()
    assert check["diff"]["before_header"] == check["diff"]["after_header"] == str(path)
    for key in ("checksum", "mtime", "inode"):
        assert result.task("after_check")["stat"][key] == result.task("before")["stat"][key], key
    apply = result.task("apply")
    assert apply["changed"] is True and apply["changes"] == check["changes"]
    assert path.read_bytes() == expected
    assert result.task("after_apply")["stat"]["mode"] == "0640"
    assert open(apply["backup_file"], "rb").read() == original
    rerun = result.task("rerun")
    assert rerun["changed"] is False and rerun["changes"] == []


def test_bad_input_fails_with_a_message_and_writes_nothing(tmp_path):
    wrong_release = tmp_path / "calico.yaml"
    shutil.copyfile(shared_dir("calico-manifests", "v3.28.5", "calico.yaml"), wrong_release)
    missing = tmp_path / "missing.yaml"
    cases = {
        "missing": (f"path: {missing}", "does not exist on this host"),
        "version": (f"path: {wrong_release}\n        calico_version: '3.26'", "calico_version is 3.26 but"),
        "cidr": (f"path: {wrong_release}\n        cluster_cidr: 10.244.0.1/16", "is not a network address"),
    }
    tasks = ""
    for name, (args, _msg) in cases.items():
        tasks += f"    - name: {name}\n      calico.azure.calico_policy_only_manifest:\n        {args}\n      ignore_errors: true\n"
    before = wrong_release.read_bytes()
    result = run_playbook(play(tasks))
    for name, (_args, msg) in cases.items():
        task = result.task(name)
        assert task.get("failed") and msg in task["msg"], (name, task.get("msg"))
    assert wrong_release.read_bytes() == before and not missing.exists()


@pytest.mark.skipif(not SYSTEM_PYTHON_LACKS_RUAMEL, reason="needs a second Python without ruamel.yaml")
def test_without_ruamel_yaml_the_message_says_where_to_install_it(tmp_path):
    path = tmp_path / "calico.yaml"
    shutil.copyfile(shared_dir("calico-manifests", "v3.5", "calico.yaml"), path)
    result = run_playbook(play(
        f"    - name: convert\n      calico.azure.calico_policy_only_manifest:\n        path: {path}\n"
        f"      vars:\n        ansible_python_interpreter: {SYSTEM_PYTHON}\n      ignore_errors: true\n"
    ))
    task = result.task("convert")
    assert task["failed"] and "ruamel.yaml" in task["msg"] and "control node" in task["msg"]
