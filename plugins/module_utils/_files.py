# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The node-side file steps several modules share, so each does its whole job in one module call.

``ensure_directory`` is what ``ansible.builtin.file state=directory`` did in a task of its own
before the file task; ``write_owner_only_first`` is the atomic write that never shows the new
content with a wider mode than the one asked for (what a touch task with mode 0600 before
``ansible.builtin.template`` did). Both take an ``AnsibleModule`` and use its own helpers
(``set_fs_attributes_if_different``, ``atomic_move``), which keep SELinux contexts and honour
check mode.
"""

from __future__ import annotations

import os
import tempfile


def directory_args(directory, mode, file_args):
    """The file-common arguments for ``directory``: the given mode, the file's owner and group."""
    args = dict(file_args)
    args.update(path=directory, mode=mode, attributes=None)
    return args


def ensure_directory(module, directory, mode, file_args):
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


def write_owner_only_first(module, target, data, file_args):
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
    args = dict(file_args, path=target)
    module.set_fs_attributes_if_different(args, True)
    directory = os.path.dirname(os.path.abspath(target))
    fd, tmp_path = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(target), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        module.atomic_move(tmp_path, target, unsafe_writes=module.params["unsafe_writes"])
    # atomic_move raises a bare Exception from ansible-core 2.19 on (it called fail_json before);
    # either way the message names the file and the temporary file must not stay behind.
    except Exception as exc:  # pylint: disable=broad-except
        module.cleanup(tmp_path)
        module.fail_json(msg="Failed to write %s: %s" % (target, exc), path=target)
