# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""calico.azure.node_file and calico_node_backend's directory_mode through ansible-playbook (-c local, tmp_path).

The sequence per case: check mode -> nothing written -> apply -> exact end state (content,
modes, owners) -> re-run and check-mode re-run report no change; then drift (modes) is
reported by check mode without being fixed, and fixed by the next run.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from helpers.ansible_run import run_playbook

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="owner root and chown need root")

CONTENT = '{\n  "aadClientSecret": "s3cr{{ et }}",\n  "cloud": "AzurePublicCloud"\n}\n'


def node_file(path: Path, **options):
    args = dict(path=str(path), content=CONTENT, owner="root", group="root", mode="0600", **options)
    # The content comes as data (extra vars from a file are templates; these tasks pass it through a var).
    task = {"name": "File", "calico.azure.node_file": dict(args, content="{{ file_content }}"), "register": "out"}
    return [{"hosts": "localhost", "gather_facts": False, "vars": {"file_content": "{{ raw_content }}"},
             "tasks": [task]}]


def run(path: Path, check=False, diff=False, **options):
    play = node_file(path, **options)
    result = run_playbook(json.dumps(play), extra_vars={"raw_content": CONTENT.replace("{{", "{{ '{{' }}")},
                          check=check, diff=diff)
    assert result.data, result.stdout[-3000:] + result.stderr[-3000:]
    return result, result.task("File")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_directory_and_file_in_one_call_check_apply_rerun_and_drift(tmp_path):
    directory = tmp_path / "kubernetes"
    path = directory / "azure.json"

    _result, check = run(path, check=True, diff=True, directory_mode="0755")
    assert check["changed"] and check["created"] and check["directory_created"]
    assert check["diff"]["after"] == CONTENT and check["diff"]["before"] == ""
    assert not directory.exists()

    result, applied = run(path, directory_mode="0755")
    assert result.rc == 0 and applied["changed"] and applied["created"] and applied["content_changed"]
    assert path.read_text() == CONTENT
    assert (mode(directory), mode(path)) == (0o755, 0o600)
    assert (path.stat().st_uid, path.stat().st_gid, directory.stat().st_uid) == (0, 0, 0)
    assert "s3cr" not in json.dumps({k: v for k, v in applied.items() if k != "invocation"})
    inode = path.stat().st_ino

    for check_mode in (True, False):
        _result, again = run(path, check=check_mode, directory_mode="0755")
        assert not again["changed"] and not again["content_changed"], again
    assert path.stat().st_ino == inode

    # Drift: the directory and the file opened up. Check mode reports it and fixes nothing.
    os.chmod(directory, 0o700)
    os.chmod(path, 0o644)
    _result, drift = run(path, check=True, directory_mode="0755")
    assert drift["changed"] and not drift["content_changed"]
    assert (mode(directory), mode(path)) == (0o700, 0o644)
    _result, fixed = run(path, directory_mode="0755")
    assert fixed["changed"] and not fixed["content_changed"]
    assert (mode(directory), mode(path)) == (0o755, 0o600)
    assert path.stat().st_ino == inode  # attributes only: not rewritten


def test_new_content_replaces_an_open_file_only_after_its_mode_is_set(tmp_path):
    path = tmp_path / "azure.json"
    path.write_text("old\n")
    os.chmod(path, 0o644)
    _result, out = run(path, diff=True)
    assert out["changed"] and out["content_changed"] and not out["created"]
    assert out["diff"]["before"] == "old\n"
    assert path.read_text() == CONTENT and mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["azure.json"]  # no temporary file left


def test_diff_false_computes_no_diff(tmp_path):
    path = tmp_path / "azure.json"
    play = node_file(path)
    play[0]["tasks"][0]["diff"] = False
    play[0]["tasks"][0]["no_log"] = True
    result = run_playbook(json.dumps(play), extra_vars={"raw_content": "s3cr-in-diff"}, check=True, diff=True)
    out = result.task("File")
    assert result.rc == 0 and "diff" not in out and "s3cr" not in result.stdout


def test_a_symlink_stays_and_its_target_is_written(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old\n")
    link = tmp_path / "azure.json"
    link.symlink_to(target)
    result, out = run(link)
    assert result.rc == 0 and out["changed"]
    assert link.is_symlink() and target.read_text() == CONTENT and mode(target) == 0o600


@pytest.mark.parametrize("name,options,message", [
    ("nodir/azure.json", {}, "cannot write {path}: directory {tmp}/nodir does not exist; create it first, or set directory_mode"),
    ("a-directory", {}, "{tmp}/a-directory is a directory; path must name the file itself"),
    ("a-file/azure.json", {"directory_mode": "0755"}, "{tmp}/a-file is not a directory; it must be the directory of"),
])
def test_bad_paths_fail_with_what_to_fix_and_write_nothing(tmp_path, name, options, message):
    (tmp_path / "a-directory").mkdir()
    (tmp_path / "a-file").write_text("")
    before = sorted(p.name for p in tmp_path.iterdir())
    result, out = run(tmp_path / name, **options)
    assert result.rc != 0 and out.get("failed")
    assert message.format(path=tmp_path / name, tmp=tmp_path) in out["msg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_calico_node_backend_creates_the_env_directory_in_the_same_call(tmp_path):
    path = tmp_path / "calico" / "calico.env"
    task = {"name": "Backend", "register": "out", "calico.azure.calico_node_backend": {
        "path": str(path), "create": True, "directory_mode": "0755", "owner": "root", "group": "root", "mode": "0644"}}
    play = json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [task]}])
    check = run_playbook(play, check=True, diff=True)
    assert check.task("Backend")["changed"] and not path.parent.exists()
    assert "CALICO_NETWORKING_BACKEND=none" in check.task("Backend")["diff"]["after"]
    applied = run_playbook(play)
    assert applied.task("Backend")["changed"]
    assert path.read_text() == "CALICO_NETWORKING_BACKEND=none\n"
    assert (mode(path.parent), mode(path)) == (0o755, 0o644)
    os.chmod(path.parent, 0o700)
    again = run_playbook(play)
    assert again.task("Backend")["changed"] and mode(path.parent) == 0o755
    assert path.read_text() == "CALICO_NETWORKING_BACKEND=none\n"
    assert not run_playbook(play).task("Backend")["changed"]
