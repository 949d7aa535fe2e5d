# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writing files on a node: the one file-writing path of every node-side module.

FOR INTERNAL COLLECTION USE ONLY: this module util is private to calico.azure
and may change without notice.

A thin layer over AnsibleModule's own file helpers (``atomic_move``, which keeps the SELinux
context, and ``set_fs_attributes_if_different``, which honours check mode), shared by
node_file, calico_node_backend and calico_policy_only_manifest. The edits themselves are
pure logic elsewhere (``_calico/env.py``, ``manifest.py``, ``policy_only.py``).

``ensure_directory`` is what an ``ansible.builtin.file state=directory`` task before the file
task did, so one module call per file does the whole job; ``write_owner_only_first`` is the
atomic write whose new content is never readable beyond the final mode (what a touch task with
mode 0600 before ``ansible.builtin.template`` did).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Optional, Tuple


def read_file(module: Any, path: str, what: str) -> Optional[bytes]:
    """The bytes of ``path``, or None when it does not exist; fails on anything but a readable regular file.

    ``what`` names the file in the message for a directory (``the env file or manifest``).
    """
    if os.path.isdir(path):
        module.fail_json(msg="%s is a directory; path must name %s itself" % (path, what), path=path)
    if not os.path.lexists(path):
        return None
    if not os.path.isfile(path):
        module.fail_json(msg="%s is not a regular file (or is a broken link); point path at the file itself" % path,
                         path=path)
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        module.fail_json(msg="Cannot read %s: %s" % (path, exc), path=path)
    return None  # not reached: fail_json exits


def write_atomically(module: Any, path: str, data: bytes) -> None:
    """Write ``data`` to a temporary file next to ``path`` and rename it over ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        module.atomic_move(tmp_path, path, unsafe_writes=module.params["unsafe_writes"])
    # atomic_move raises a bare Exception from ansible-core 2.19 on (it called fail_json before);
    # either way the message names the file and the temporary file must not stay behind.
    except Exception as exc:  # pylint: disable=broad-except
        module.cleanup(tmp_path)
        module.fail_json(msg="Failed to write %s: %s" % (path, exc), path=path)


def directory_args(directory: str, mode: Any, file_args: dict) -> dict:
    """The file-common arguments for ``directory``: the given mode, the file's owner and group."""
    args = dict(file_args)
    args.update(path=directory, mode=mode, attributes=None)
    return args


def ensure_directory(module: Any, directory: str, mode: Any, file_args: dict) -> Tuple[bool, bool]:
    """Create ``directory`` (and missing parents) unless it exists, then keep its owner, group and mode.

    Returns (changed, created). In check mode nothing is created: (True, True) for a missing one.
    """
    args = directory_args(directory, mode, file_args)
    if os.path.isdir(directory):
        return module.set_fs_attributes_if_different(args, False), False
    if os.path.lexists(directory):
        module.fail_json(msg="%s is not a directory; it must be the directory of %s" % (directory, file_args["path"]),
                         path=file_args["path"])
    if module.check_mode:
        return True, True
    try:
        os.makedirs(directory)
    except OSError as exc:
        module.fail_json(msg="cannot create directory %s: %s" % (directory, exc), path=file_args["path"])
    module.set_fs_attributes_if_different(args, True)
    return True, True


def write_file(module: Any, path: str, data: bytes, *, changed: bool, exists: bool = True,
               backup: bool = False, directory_mode: Any = None) -> Tuple[bool, Optional[str]]:
    """Write ``data`` (unless check mode or unchanged), then set the task's file attributes.

    Returns (changed, backup file or None). A symlinked file stays a symlink: the write (and
    the attributes) go to its target, as ansible.builtin.lineinfile does. A file this run
    creates gets mode 0644 (and owner root when run as root) unless the task sets them. With
    ``directory_mode``, the file's directory is first created or kept at that mode.
    """
    target = os.path.realpath(path)
    backup_file = None
    file_args = module.load_file_common_arguments(module.params, path=target)
    if directory_mode is not None:
        directory_changed, _created = ensure_directory(module, os.path.dirname(target), directory_mode, file_args)
        changed = changed or directory_changed
    if changed and not module.check_mode:
        if backup and exists:
            backup_file = module.backup_local(path)
        write_atomically(module, target, data)
    if not exists:
        if file_args["mode"] is None:
            file_args["mode"] = "0644"
        if os.geteuid() == 0:
            file_args["owner"] = file_args["owner"] or "root"
    if os.path.exists(target):  # not there after a check-mode create
        changed = module.set_fs_attributes_if_different(file_args, changed)
    return changed, backup_file


def write_owner_only_first(module: Any, target: str, data: bytes, file_args: dict) -> None:
    """Put ``data`` at ``target`` atomically; the new bytes are never readable beyond the final mode.

    A missing file is first created empty with mode 0600, and an existing one gets its final
    owner, group and mode before the new content is renamed over it: ``atomic_move`` copies the
    file's attributes onto the temporary file (itself 0600 from ``mkstemp``), so the content never
    sits in a file with the umask's mode. Not for check mode.
    """
    if not os.path.lexists(target):
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError as exc:
            module.fail_json(msg="cannot create %s: %s" % (target, exc), path=target)
    module.set_fs_attributes_if_different(dict(file_args, path=target), True)
    write_atomically(module, target, data)
