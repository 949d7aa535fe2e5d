#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: calico_policy_only_manifest
short_description: Turn a Calico manifest or operator Installation into Calico's own policy-only install
version_added: 0.2.0
description:
  - Edits a Calico manifest file (C(calico.yaml), C(calico-vxlan.yaml), C(calico-etcd.yaml), a user's edited copy,
    or C(canal.yaml)) or a file with the Tigera operator's C(Installation) resource (C(custom-resources.yaml)) so that
    it configures what that release's C(calico-policy-only.yaml) configures, changing nothing else.
  - "Manifests: C(CALICO_NETWORKING_BACKEND=none) where the container takes it from (upstream: the C(calico-config)
    ConfigMap key C(calico_backend)); the calico-node readiness and liveness probes without their BIRD checks
    (C(-bird-ready), C(-bird-live)); the CNI config's IPAM C({\"type\": \"host-local\", \"subnet\": \"usePodCidr\"})
    (the JSON inside the ConfigMap key is edited in place); C(CALICO_IPV4POOL_IPIP), C(CALICO_IPV4POOL_VXLAN) and
    C(CALICO_IPV6POOL_VXLAN) V(Never) where they are set; C(CLUSTER_TYPE) without C(bgp); C(USE_POD_CIDR=true) from
    Calico 3.7 on; C(CALICO_IPV4POOL_CIDR) = O(cluster_cidr) when given."
  - "Canal (a DaemonSet with flannel next to calico-node): calico-node already runs policy-only there, so only
    flannel's C(net-conf.json) C(Network) and C(CALICO_IPV4POOL_CIDR) become O(cluster_cidr) when it is given."
  - "Operator: every C(operator.tigera.io) C(Installation) gets C(spec.calicoNetwork.bgp: Disabled),
    C(spec.cni.type: Calico) with C(spec.cni.ipam.type: HostLocal), C(encapsulation: None) on every IP pool and the
    IPv4 pool's C(cidr) = O(cluster_cidr) when given; a missing pool list is added when O(cluster_cidr) is given.
    Other fields and the other resources of the file are kept. The values set are checked against the
    Installation CRD's allowed values."
  - What is deliberately left as it is (image versions, MTU, Typha, the datastore, C(CALICO_MANAGE_CNI), the
    C(upgrade-ipam) init container, RBAC) and why is in the user guide's calico-node section.
  - The release comes from the calico images' tags (C(calico/node:v3.28.5)) or O(calico_version). A release outside
    the range the rules were checked against (3.0 to 3.32) is converted when its manifest has the expected shape,
    with a warning, and refused with a message naming what is missing when it does not.
  - Every edit is spliced into the original text (comments, quoting and layout of everything else stay byte for
    byte); the result is parsed again and must equal the original plus exactly the planned changes, otherwise
    nothing is written. Calico's own C(calico-policy-only.yaml) and C(canal.yaml) come out unchanged.
  - YAML aliases that expand past two million values (a "billion laughs" file) are refused, in linear time.
  - The file is written atomically with Ansible's helpers, keeping its owner, group, mode and SELinux context.
options:
  path:
    description:
      - The manifest or Installation file to convert, on the host that runs the module.
    type: path
    required: true
    aliases: [dest]
  cluster_cidr:
    description:
      - The cluster's pod network (the controller manager's C(--cluster-cidr)), for example V(10.244.0.0/16).
      - Becomes the default IP pool's CIDR (C(CALICO_IPV4POOL_CIDR), the Installation's IPv4 pool C(cidr)) and, with
        Canal, flannel's C(Network). Felix uses the pool to tell pod traffic from other traffic (C(natOutgoing)),
        so it must be the range Kubernetes assigns pod CIDRs from.
      - When omitted, the CIDRs in the file are left as they are.
    type: str
  calico_version:
    description:
      - The Calico release the file is for, for example V(3.28) or V(v3.32.1).
      - Needed only when the images do not name it (a mirror with other tags, an Installation file); when both are
        there they must agree.
      - Release-specific rule today - C(USE_POD_CIDR) is set from 3.7 on (v3.7 C(reference/node/configuration)).
    type: str
  backup:
    description:
      - Keep a copy of the file as it was, named with a timestamp, before changing it.
    type: bool
    default: false
  return_content:
    description:
      - Return the converted file as RV(content), for example to apply it with C(kubernetes.core.k8s) in the same
        run, also in check mode, where the file itself is not written.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    details: Check mode converts in memory and reports the C(changed) and diff a real run would; it writes nothing.
  diff_mode:
    support: full
    details: The diff is the whole file before and after, headed by its path, which Ansible shows as a unified diff.
  platform:
    platforms: posix
  safe_file_operations:
    description: Uses Ansible's strict file operation functions to ensure proper permissions and avoid data corruption.
    support: full
requirements:
  - ruamel.yaml >= 0.17.21 on the host that runs the module (site.yml - the control node, or calico_node_edit_host).
notes:
  - Apply the result to the cluster yourself, or with the C(calico.azure.calico_node) role's
    C(calico_node_apply) (server-side apply through C(kubernetes.core.k8s)).
  - Host-local IPAM with C(usePodCidr) needs node pod CIDRs, that is the controller manager's
    C(--allocate-node-cidrs=true) and C(--cluster-cidr).
seealso:
  - module: calico.azure.calico_node_backend
    description: Sets only the backend (and other variables), in an env file or a manifest.
  - name: Calico policy-only manifests
    description: Calico's own calico-policy-only.yaml of each release, the contract of this module.
    link: https://github.com/projectcalico/calico/tree/master/manifests
author:
  - calico.azure contributors (@calico-azure)
"""

EXAMPLES = r"""
- name: Turn the upstream calico.yaml into Calico's policy-only install for this cluster
  calico.azure.calico_policy_only_manifest:
    path: /srv/manifests/calico.yaml
    cluster_cidr: 10.244.0.0/16
    backup: true
  register: calico_manifest

- name: Preview what would change in the operator's custom-resources.yaml
  calico.azure.calico_policy_only_manifest:
    path: /srv/manifests/custom-resources.yaml
    cluster_cidr: 10.244.0.0/16
    calico_version: "3.32"
  check_mode: true
  diff: true

- name: Canal - flannel's network becomes the cluster CIDR
  calico.azure.calico_policy_only_manifest:
    path: /srv/manifests/canal.yaml
    cluster_cidr: 10.244.0.0/16
"""

RETURN = r"""
path:
  description: The file that was converted (or checked).
  returned: always
  type: str
  sample: /srv/manifests/calico.yaml
kind:
  description:
    - What the file is - V(calico) (a calico-node DaemonSet), V(canal) (calico-node with flannel) or
      V(installation) (operator Installation resources).
  returned: always
  type: str
  sample: calico
calico_version:
  description: The Calico release the rules were applied for; null when neither the images nor O(calico_version) name it.
  returned: always
  type: str
  sample: 3.28.5
version_source:
  description: Where RV(calico_version) came from - V(image), V(option) or V(unknown).
  returned: always
  type: str
  sample: image
release_known:
  description: Whether the release is one the rules were checked against (3.0 to 3.32).
  returned: always
  type: bool
  sample: true
changes:
  description: One line per change made (in check mode, that would be made), naming the field and where it is.
  returned: always
  type: list
  elements: str
  sample:
    - "DaemonSet kube-system/calico-node container calico-node readinessProbe: removed -bird-ready"
    - "ConfigMap kube-system/calico-config key cni_network_config: CNI IPAM calico-ipam -> host-local"
    - "CALICO_NETWORKING_BACKEND: bird -> none (ConfigMap kube-system/calico-config key calico_backend)"
content:
  description: The converted file (what it holds after the run; in check mode, what it would hold).
  returned: when O(return_content=true)
  type: str
  sample: "apiVersion: operator.tigera.io/v1\nkind: Installation\n..."
backup_file:
  description: The copy made by O(backup=true).
  returned: when a backup was made
  type: str
  sample: /srv/manifests/calico.yaml.2816.2026-12-02@12:05:01~
"""


from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.calico.azure.plugins.module_utils._files import read_file, write_file
from ansible_collections.calico.azure.plugins.module_utils._diff import text_diff


def _read(module, path):
    original = read_file(module, path, "the manifest or Installation file")
    if original is None:
        module.fail_json(
            msg="%s does not exist on %s; in site.yml the file must be on the host that edits it "
            "(calico_node_edit_host, default: the control node)" % (path, "this host"),
            path=path,
        )
    try:
        return original, original.decode("utf-8")
    except UnicodeDecodeError as exc:
        module.fail_json(msg="%s is not UTF-8 text (%s); point path at the YAML file" % (path, exc), path=path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True, aliases=["dest"]),
            cluster_cidr=dict(type="str"),
            calico_version=dict(type="str"),
            backup=dict(type="bool", default=False),
            return_content=dict(type="bool", default=False),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    params = module.params
    path = params["path"]

    # Imported here: ruamel.yaml is needed only on the host that edits, and its absence is a message, not a traceback.
    from ansible_collections.calico.azure.plugins.module_utils._calico import manifest as _calico_manifest

    if not _calico_manifest.HAS_RUAMEL_YAML:
        module.fail_json(
            msg=missing_required_lib(
                "ruamel.yaml",
                reason="to convert Calico manifests; install it on the host that runs this module (site.yml: the "
                "control node or calico_node_edit_host), e.g. pip install 'ruamel.yaml>=0.17.21'",
            ),
            exception=_calico_manifest.RUAMEL_YAML_IMPORT_ERROR,
        )
    from ansible_collections.calico.azure.plugins.module_utils._calico.policy_only import convert

    original, text = _read(module, path)
    try:
        conversion = convert(text, path, cluster_cidr=params["cluster_cidr"], calico_version=params["calico_version"])
    except _calico_manifest.ManifestError as exc:
        module.fail_json(msg=str(exc), path=path)
    if not conversion.release_known and conversion.kind != "installation":
        module.warn(
            "%s: %s is not one of the releases the policy-only rules were checked against (3.0 to 3.32); it was "
            "converted because its manifest has the expected shape. Compare the result with that release's "
            "calico-policy-only.yaml." % (path, "Calico v%s" % conversion.calico_version if conversion.calico_version
                                          else "a manifest whose images name no Calico release")
        )

    new_data = conversion.text.encode("utf-8")
    changed = new_data != original
    result = dict(
        path=path,
        kind=conversion.kind,
        calico_version=conversion.calico_version,
        version_source=conversion.version_source,
        release_known=conversion.release_known,
        changes=list(conversion.changes),
    )
    if params["return_content"]:
        result["content"] = conversion.text
    if module._diff:
        result["diff"] = text_diff(text, conversion.text, name=path)
    result["changed"], backup_file = write_file(module, path, new_data, changed=changed, backup=params["backup"])
    if backup_file:
        result["backup_file"] = backup_file
    module.exit_json(**result)


if __name__ == "__main__":
    main()
