# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writing the files the Calico modules edit: atomically, with an optional backup, attributes kept.

FOR INTERNAL COLLECTION USE ONLY: this module util is private to calico.azure
and may change without notice.

The one file-writing path of calico_node_backend and calico_policy_only_manifest
(a thin layer over AnsibleModule's file helpers; the edits themselves are the
pure logic of env.py, manifest.py and policy_only.py).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Optional, Tuple


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


def write_file(module: Any, path: str, data: bytes, *, changed: bool, exists: bool = True,
               backup: bool = False) -> Tuple[bool, Optional[str]]:
    """Write ``data`` (unless check mode or unchanged), then set the task's file attributes.

    Returns (changed, backup file or None). A symlinked file stays a symlink: the write (and
    the attributes) go to its target, as ansible.builtin.lineinfile does. A file this run
    creates gets mode 0644 (and owner root when run as root) unless the task sets them.
    """
    target = os.path.realpath(path)
    backup_file = None
    if changed and not module.check_mode:
        if backup and exists:
            backup_file = module.backup_local(path)
        write_atomically(module, target, data)
    file_args = module.load_file_common_arguments(module.params, path=target)
    if not exists:
        if file_args["mode"] is None:
            file_args["mode"] = "0644"
        if os.geteuid() == 0:
            file_args["owner"] = file_args["owner"] or "root"
    if os.path.exists(target):  # not there after a check-mode create
        changed = module.set_fs_attributes_if_different(file_args, changed)
    return changed, backup_file
