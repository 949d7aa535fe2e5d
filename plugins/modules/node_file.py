#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: node_file
short_description: Write a whole file on a node in one module call, its directory and attributes included
version_added: 0.3.0
description:
  - Writes O(content) (rendered on the controller, for example with the V(ansible.builtin.template) lookup) to
    O(path) when the file is missing or differs, and keeps its owner, group and mode; with O(directory_mode) it
    also creates the file's directory (or keeps the existing one's mode, owner and group).
  - One module call per host does what a directory task, a stat task, a first-write task and
    M(ansible.builtin.template) (itself a stat and a copy) did, which is what the calico_node and
    cloud_provider_config roles use it for.
  - The write is atomic (a temporary file in the same directory renamed over the file, with Ansible's own helpers,
    which keep the SELinux context). The new content is never in a file more readable than O(mode) says; a
    missing file is created empty with mode V(0600) first and an existing one gets its final owner, group and mode
    before the content is renamed over it, so a file holding a secret with O(mode=0600) is never readable by
    another user, not even for a moment.
  - A new file without O(mode) keeps the mode V(0600) it is created with.
  - The module never returns the content. For a secret, set C(no_log) on the task (it hides the arguments) and
    C(diff) to V(false) (the diff is then not computed at all).
options:
  path:
    description:
      - The file to write. When it is a symlink, its target is written and the link stays.
    type: path
    required: true
    aliases: [dest]
  content:
    description:
      - The whole content of the file, as text (written as UTF-8).
    type: str
    required: true
  directory_mode:
    description:
      - When set, the file's directory is created if it is missing (with its missing parents), and the directory
        gets this mode and the file's O(owner) and O(group).
      - When not set, a missing directory is an error.
    type: raw
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    details: Check mode reads the file and the directory and reports the C(changed) a real run would; it writes nothing.
  diff_mode:
    support: full
    details: The diff is the whole file before and after (not computed when the task sets C(diff) to V(false)).
  platform:
    platforms: posix
  safe_file_operations:
    description: Uses Ansible's strict file operation functions to ensure proper permissions and avoid data corruption.
    support: full
seealso:
  - module: ansible.builtin.template
    description: The general way to render a file on a host; two module calls per host, and a new file's content
      sits with the umask's mode until its mode is set.
  - module: calico.azure.calico_node_backend
    description: Edits calico-node's env file in place (its O(calico.azure.calico_node_backend#module:directory_mode)
      is this module's).
author:
  - calico.azure contributors (@calico-azure)
"""

EXAMPLES = r"""
- name: Install the calico-node systemd unit
  become: true
  calico.azure.node_file:
    path: /etc/systemd/system/calico-node.service
    content: "{{ lookup('ansible.builtin.template', 'calico-node.service.j2') }}"
    owner: root
    group: root
    mode: "0644"
  register: calico_unit

- name: Write a file that holds a secret, creating its directory
  become: true
  calico.azure.node_file:
    path: /etc/kubernetes/azure.json
    content: "{{ lookup('ansible.builtin.template', 'azure.json.j2') }}"
    owner: root
    group: root
    mode: "0600"
    directory_mode: "0755"
  no_log: true
  diff: false
"""

RETURN = r"""
path:
  description: The file that was checked or written.
  returned: always
  type: str
  sample: /etc/kubernetes/azure.json
created:
  description: Whether the file did not exist before (in check mode, would be created).
  returned: always
  type: bool
  sample: true
content_changed:
  description: Whether the content was (in check mode, would be) written; V(false) when only attributes changed.
  returned: always
  type: bool
  sample: true
directory_created:
  description: Whether O(directory_mode) made the module create the directory (in check mode, would).
  returned: always
  type: bool
  sample: false
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.calico.azure.plugins.module_utils._diff import text_diff
from ansible_collections.calico.azure.plugins.module_utils._files import ensure_directory, read_file, write_owner_only_first


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True, aliases=["dest"]),
            content=dict(type="str", required=True),
            directory_mode=dict(type="raw"),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    path = module.params["path"]
    target = os.path.realpath(path)
    data = module.params["content"].encode("utf-8")
    file_args = module.load_file_common_arguments(module.params, path=target)
    directory = os.path.dirname(target)

    changed, directory_created = False, False
    if module.params["directory_mode"] is not None:
        changed, directory_created = ensure_directory(module, directory, module.params["directory_mode"], file_args)
    elif not os.path.isdir(directory):
        module.fail_json(msg="cannot write %s: directory %s does not exist; create it first, or set directory_mode"
                         % (path, directory), path=path)

    existing = None if directory_created else read_file(module, target, "the file")
    content_changed = existing != data
    result = dict(path=path, created=existing is None, content_changed=content_changed,
                  directory_created=directory_created)
    if module._diff:
        before = None if existing is None else existing.decode("utf-8", errors="replace")
        result["diff"] = text_diff(before, module.params["content"], name=path)
    if module.check_mode:
        if existing is not None:
            changed = module.set_fs_attributes_if_different(file_args, changed)
        module.exit_json(changed=changed or content_changed, **result)
    if content_changed:
        write_owner_only_first(module, target, data, file_args)
    changed = module.set_fs_attributes_if_different(file_args, changed or content_changed)
    module.exit_json(changed=changed, **result)


if __name__ == "__main__":
    main()
