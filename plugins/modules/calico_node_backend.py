#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: calico_node_backend
short_description: Set calico-node's networking backend in its env file or manifest, changing nothing else
version_added: 0.1.0
description:
  - Sets C(CALICO_NETWORKING_BACKEND) for calico-node, V(none) by default, which is Calico's policy-only mode
    (Felix enforces network policy, no BIRD, no VXLAN; pod routes come from elsewhere, here the Azure route table).
  - Works on the two places calico-node takes its configuration from. An C(EnvironmentFile) of
    C(calico-node.service) (KEY=VALUE lines, classically C(/etc/calico/calico.env)), or a Kubernetes manifest with the
    C(calico-node) container in a DaemonSet (C(calico.yaml), C(canal.yaml), C(calico-policy-only.yaml)).
  - "Env files: the effective assignment is changed in place (systemd uses the last one when a key is repeated;
    the others are reported in RV(duplicates) and left alone), or the variable is appended. Comments, blank lines,
    order, quoting style, C(export) prefixes and CRLF line endings of every other line stay byte-for-byte the same.
    Values are read the way systemd reads them: a C(#) after a value is part of the value, not a comment."
  - "Manifests: if the container takes the variable from C(valueFrom.configMapKeyRef) (upstream C(calico.yaml):
    ConfigMap C(calico-config), key C(calico_backend)), that key of the ConfigMap in the same file is changed; an
    inline C(value) is changed in place; a missing variable is appended to the container's C(env) list. Only the
    changed scalar is rewritten, so comments and formatting of the rest of the file are kept; the result is parsed
    again and must equal the original plus exactly the requested change, otherwise nothing is written."
  - The file is written atomically (a temporary file in the same directory renamed over it) with Ansible's own
    helpers, which keep its owner, group, mode and SELinux context. When O(path) is a symlink, its target is written
    and the link stays.
  - Warns when the backend is V(none) while the same file still asks for IP-in-IP or VXLAN encapsulation of the
    default pool (C(CALICO_IPV4POOL_IPIP), C(CALICO_IPV4POOL_VXLAN) or C(CALICO_IPV6POOL_VXLAN) not V(Never) or
    V(Off)), naming the variable to change.
  - Binary or unparsable files, a manifest without a calico-node DaemonSet, and a directory as O(path) fail with a
    message saying what to fix; the file is not touched.
options:
  backend:
    description:
      - The value for C(CALICO_NETWORKING_BACKEND).
      - V(none) is policy-only mode, V(bird) is BGP networking with BIRD, V(vxlan) is VXLAN-only networking
        (Calico 3.7 and later), V(gobgp) is the experimental GoBGP daemon of Calico 3.3 and earlier.
    type: str
    choices: [none, bird, vxlan, gobgp]
    default: none
  path:
    description:
      - The env file or the manifest to edit.
    type: path
    default: /etc/calico/calico.env
    aliases: [dest]
  format:
    description:
      - V(env) for KEY=VALUE lines, V(manifest) for Kubernetes YAML.
      - When omitted, a file with a top-level C(apiVersion) or C(kind) key is a manifest and anything else is an env
        file; a missing or empty file is a manifest if its name ends in C(.yaml) or C(.yml).
    type: str
    choices: [env, manifest]
  calico_version:
    description:
      - The Calico release calico-node runs, for example V(3.26) or V(v3.29.1).
      - When set, a backend that release does not accept is refused before anything is read or written.
        Calico 3.3 and earlier accept V(gobgp), V(bird) and V(none); 3.4 to 3.6 accept V(bird) and V(none) (GoBGP is
        gone from the v3.4 reference); 3.7 and later accept V(bird), V(vxlan) and V(none) (v3.7.0 release notes,
        "Native support for VXLAN encapsulation").
      - Sources are the C(reference/node/configuration) pages of each release in projectcalico/calico (C(v3.3/),
        C(v3.4/), C(v3.6/), C(v3.7/)) and C(_includes/v3.7/release-notes/v3.7.0-release-notes.md).
    type: str
  create:
    description:
      - Create the env file when it does not exist. It gets mode V(0644) (unless O(mode) says otherwise) and is owned
        by the user the module runs as (root with C(become)), unless O(owner) and O(group) say otherwise.
      - Manifests are never created.
      - When V(false), a missing file is an error.
    type: bool
    default: false
  extra_env:
    description:
      - Other calico-node variables to set with the same care, for example C(FELIX_*) or C(IP_AUTODETECTION_METHOD).
      - Names are environment variable names; values are strings (booleans become V(true) or V(false)).
      - In a manifest, each variable is set where it comes from (inline value or the referenced ConfigMap key), as
        for the backend.
      - C(CALICO_NETWORKING_BACKEND) itself is set with O(backend), not here.
    type: dict
    default: {}
  absent_env:
    description:
      - calico-node variables to remove.
      - In an env file every assignment of the key is removed (removing only the last would bring an earlier one
        back). In a manifest the container's env items of that name are removed, with the comment lines right above
        them.
    type: list
    elements: str
    default: []
  directory_mode:
    description:
      - With O(create=true), the env file's directory is created when it is missing (with its missing parents), and
        the directory gets this mode and the file's O(owner) and O(group); an existing directory is kept at them.
      - When not set, a missing directory is an error.
      - One module call then does what a directory task before this one did (the calico_node role sets V(0755)).
    type: raw
    version_added: 0.3.0
  backup:
    description:
      - Keep a copy of the file as it was, named with a timestamp, before changing it.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    details: Check mode reads the file and reports the C(changed) a real run would; it writes nothing.
  diff_mode:
    support: full
    details: The diff is the whole file before and after, headed by its path (C(<path> (absent)) before a create),
      which Ansible shows as a unified diff.
  platform:
    platforms: posix
  safe_file_operations:
    description: Uses Ansible's strict file operation functions to ensure proper permissions and avoid data corruption.
    support: full
requirements:
  - ruamel.yaml >= 0.17.21 on the host that runs the module, for O(format=manifest) only.
notes:
  - calico-node reads its environment only when it starts. Restart C(calico-node.service), or let Kubernetes roll the
    DaemonSet after the manifest is applied, for the new backend to take effect.
  - The reverse of policy-only mode is not only the backend. Switching from V(none) to V(bird) also needs BGP
    reachability between the nodes, and Azure drops IP-in-IP, so V(vxlan) is the usual overlay choice on Azure.
seealso:
  - module: calico.azure.calico_policy_only_manifest
    description: Turns a whole manifest or operator Installation into Calico's policy-only install (probes, IPAM, pools).
  - name: Configuring calico/node (environment variables)
    description: The reference for CALICO_NETWORKING_BACKEND and the pool variables.
    link: https://docs.tigera.io/calico/latest/reference/configure-calico-node
  - name: Calico v3.7.0 release notes
    description: VXLAN support arrives.
    link: https://github.com/projectcalico/calico/blob/master/_includes/v3.7/release-notes/v3.7.0-release-notes.md
author:
  - calico.azure contributors (@calico-azure)
"""

EXAMPLES = r"""
- name: Put calico-node into policy-only mode (systemd install)
  become: true
  calico.azure.calico_node_backend:
    path: /etc/calico/calico.env
    backend: none
    calico_version: "3.26"
    extra_env:
      CALICO_IPV4POOL_IPIP: Never
      FELIX_DEFAULTENDPOINTTOHOSTACTION: ACCEPT
  register: calico_backend

- name: Restart calico-node when its environment changed
  become: true
  ansible.builtin.systemd_service:
    name: calico-node
    state: restarted
  when: calico_backend is changed

- name: Create the env file on a fresh node, owned by root with mode 0644
  become: true
  calico.azure.calico_node_backend:
    path: /etc/calico/calico.env
    create: true
    extra_env:
      DATASTORE_TYPE: kubernetes
      KUBECONFIG: /etc/calico/kubeconfig

- name: Switch the upstream calico.yaml to policy-only before applying it
  calico.azure.calico_node_backend:
    path: /srv/manifests/calico.yaml
    format: manifest
    backend: none
    absent_env:
      - CALICO_IPV4POOL_IPIP
    backup: true

- name: Preview the change to a manifest
  calico.azure.calico_node_backend:
    path: /srv/manifests/calico.yaml
  check_mode: true
  diff: true
"""

RETURN = r"""
path:
  description: The file that was checked or changed.
  returned: always
  type: str
  sample: /etc/calico/calico.env
format:
  description: How the file was read, given or detected.
  returned: always
  type: str
  sample: env
backend:
  description: The backend the file sets now (in check mode, would set).
  returned: always
  type: str
  sample: none
previous_backend:
  description:
    - The effective backend before the change; null when the file did not set it (calico-node then uses V(bird)).
  returned: always
  type: str
  sample: bird
duplicates:
  description:
    - Managed variables assigned more than once. The last assignment is the effective one and the only one changed.
    - Line numbers are those of the file before the change.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The variable.
      type: str
      sample: CALICO_NETWORKING_BACKEND
    lines:
      description: 1-based line numbers of its assignments (of the env item's C(name) line in a manifest).
      type: list
      elements: int
      sample: [3, 12]
  sample: [{"name": "CALICO_NETWORKING_BACKEND", "lines": [3, 12]}]
backup_file:
  description: The copy made by O(backup=true).
  returned: when a backup was made
  type: str
  sample: /etc/calico/calico.env.2816.2026-11-26@14:05:01~
changed_variables:
  description: The variables whose value was set, added or removed (would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [CALICO_NETWORKING_BACKEND]
locations:
  description: Where each managed variable is set in the file after the change.
  returned: always
  type: dict
  sample: {"CALICO_NETWORKING_BACKEND": "ConfigMap kube-system/calico-config key calico_backend"}
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.calico.azure.plugins.module_utils._calico.env import (
    BACKEND_VAR,
    EnvFileError,
    decode_text,
    detect_format,
    edit_env,
    effective_values,
    encapsulation_warnings,
    managed_variables,
    normalise_extra_env,
)
from ansible_collections.calico.azure.plugins.module_utils._files import read_file, write_file
from ansible_collections.calico.azure.plugins.module_utils._calico.versions import (
    ALL_BACKENDS,
    CalicoVersionError,
    backend_support_error,
)
from ansible_collections.calico.azure.plugins.module_utils._diff import text_diff


def _edit_manifest(module, text, to_set, to_unset, path):
    # Imported here so that hosts editing env files need no YAML library at all.
    from ansible_collections.calico.azure.plugins.module_utils._calico import manifest as _calico_manifest

    if not _calico_manifest.HAS_RUAMEL_YAML:
        module.fail_json(
            msg=missing_required_lib("ruamel.yaml", reason="to edit Kubernetes manifests"),
            exception=_calico_manifest.RUAMEL_YAML_IMPORT_ERROR,
        )
    try:
        edit = _calico_manifest.edit_manifest(text, to_set, to_unset, path)
    except _calico_manifest.ManifestError as exc:
        module.fail_json(msg=str(exc), path=path)
    where = "%s (%s)" % (path, edit.daemonset)
    return edit, edit.effective_after.get, where


def _read(module, path):
    """(exists, bytes, text) of ``path``; fails on anything that is not a readable UTF-8 file."""
    original = read_file(module, path, "the env file or manifest")
    if original is None:
        if not module.params["create"]:
            module.fail_json(msg="%s does not exist; set create: true to create the env file, or fix path" % path, path=path)
        return False, b"", ""
    try:
        return True, original, decode_text(original, path)
    except EnvFileError as exc:
        module.fail_json(msg=str(exc), path=path)


def _check_creatable(module, path, file_format):
    # Checked before any write so that check mode predicts these failures too.
    if file_format == "manifest":
        module.fail_json(msg="%s does not exist and create only makes env files; a manifest must exist first" % path, path=path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory) and module.params["directory_mode"] is None:
        module.fail_json(msg="cannot create %s: directory %s does not exist" % (path, directory), path=path)


def _warn(module, path, backend, edit, lookup, where):
    lines = edit.duplicates.get(BACKEND_VAR)
    if lines:
        module.warn(
            "%s sets %s %d times (lines %s); the last one is effective and is the one managed. Remove the others "
            "to avoid confusion." % (path, BACKEND_VAR, len(lines), ", ".join(str(n) for n in lines))
        )
    for warning in encapsulation_warnings(backend, lookup, where):
        module.warn(warning)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            backend=dict(type="str", default="none", choices=list(ALL_BACKENDS)),
            path=dict(type="path", default="/etc/calico/calico.env", aliases=["dest"]),
            format=dict(type="str", choices=["env", "manifest"]),
            calico_version=dict(type="str"),
            create=dict(type="bool", default=False),
            extra_env=dict(type="dict", default={}),
            absent_env=dict(type="list", elements="str", default=[]),
            backup=dict(type="bool", default=False),
            directory_mode=dict(type="raw"),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    params = module.params
    path = params["path"]
    backend = params["backend"]

    try:
        unsupported = backend_support_error(backend, params["calico_version"])
        to_set, to_unset = managed_variables(backend, normalise_extra_env(params["extra_env"] or {}), params["absent_env"] or [])
    except (CalicoVersionError, EnvFileError) as exc:
        module.fail_json(msg=str(exc))
    if unsupported:
        module.fail_json(msg=unsupported)

    exists, original, text = _read(module, path)
    file_format = params["format"] or detect_format(text if exists else None, path)
    if not exists:
        _check_creatable(module, path, file_format)

    if file_format == "env":
        try:
            edit = edit_env(text, to_set, to_unset)
            lookup = effective_values(edit.text).get
        except EnvFileError as exc:
            module.fail_json(msg="%s: %s" % (path, exc), path=path)
        where = path
    else:
        edit, lookup, where = _edit_manifest(module, text, to_set, to_unset, path)
    _warn(module, path, backend, edit, lookup, where)

    new_data = edit.text.encode("utf-8")
    result = dict(
        path=path,
        format=file_format,
        backend=backend,
        previous_backend=edit.previous.get(BACKEND_VAR),
        duplicates=[dict(name=name, lines=lines) for name, lines in sorted(edit.duplicates.items())],
        changed_variables=list(edit.changed_keys),
        locations=dict(edit.locations),
    )
    if module._diff:
        result["diff"] = text_diff(text if exists else None, edit.text, name=path)
    result["changed"], backup_file = write_file(
        module, path, new_data, changed=(not exists) or new_data != original, exists=exists, backup=params["backup"],
        directory_mode=params["directory_mode"] if params["create"] else None,
    )
    if backup_file:
        result["backup_file"] = backup_file
    module.exit_json(**result)


if __name__ == "__main__":
    main()
