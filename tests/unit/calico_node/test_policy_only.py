# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Policy-only conversion: the operator's Installation, releases, hostile and unusual manifests."""

from __future__ import annotations

import difflib
import time

import jsonschema
import pytest
import yaml

from ansible_collections.calico.azure.plugins.module_utils._calico.manifest import ManifestError, edit_manifest
from ansible_collections.calico.azure.plugins.module_utils._calico.policy_only import convert
from helpers.shared import shared_dir

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@pytest.fixture(scope="module")
def installation_schema():
    crd = yaml.load(shared_dir("calico-manifests", "v3.32.1", "operator.tigera.io_installations.crd.yaml").read_text(),
                    Loader=LOADER)
    versions = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return versions[0]["schema"]["openAPIV3Schema"]


def installations(text):
    return [d for d in yaml.load_all(text, Loader=LOADER) if isinstance(d, dict) and d.get("kind") == "Installation"]


def custom_resources():
    return sorted(shared_dir("calico-manifests").glob("*/custom-resources.yaml"))


def test_there_are_operator_files_to_convert():
    assert {p.parent.name for p in custom_resources()} >= {"v3.28.5", "v3.32.1"}


@pytest.mark.parametrize("cluster_cidr", [None, "10.244.0.0/16"])
def test_operator_installation_becomes_policy_only_and_schema_valid(installation_schema, cluster_cidr):
    for path in custom_resources():
        text = path.read_text(encoding="utf-8")
        result = convert(text, str(path), cluster_cidr=cluster_cidr)
        assert result.kind == "installation"
        [before], [after] = installations(text), installations(result.text)
        jsonschema.validate(after, installation_schema)
        assert after["spec"]["calicoNetwork"]["bgp"] == "Disabled"
        assert after["spec"]["cni"] == {"type": "Calico", "ipam": {"type": "HostLocal"}}
        for pool_before, pool_after in zip(before["spec"]["calicoNetwork"]["ipPools"], after["spec"]["calicoNetwork"]["ipPools"]):
            assert pool_after["encapsulation"] == "None"
            assert pool_after["cidr"] == (cluster_cidr or pool_before["cidr"])
            assert {k: v for k, v in pool_after.items() if k not in ("encapsulation", "cidr")} == {
                k: v for k, v in pool_before.items() if k not in ("encapsulation", "cidr")}
        # The other resources of the file (APIServer, Goldmane, Whisker) and every comment stay.
        others = [d for d in yaml.load_all(text, Loader=LOADER) if d and d.get("kind") != "Installation"]
        assert others == [d for d in yaml.load_all(result.text, Loader=LOADER) if d and d.get("kind") != "Installation"]
        assert [l for l in text.splitlines() if l.lstrip().startswith("#")] == [
            l for l in result.text.splitlines() if l.lstrip().startswith("#")]
        again = convert(result.text, str(path), cluster_cidr=cluster_cidr)
        assert again.changes == [] and again.text == result.text


def test_installation_without_pools_gets_one_with_the_cluster_cidr(installation_schema):
    text = "apiVersion: operator.tigera.io/v1\nkind: Installation\nmetadata:\n  name: default\nspec:\n  variant: Calico\n"
    with pytest.raises(ManifestError, match="no spec.calicoNetwork.ipPools; set cluster_cidr"):
        convert(text, "cr.yaml")
    result = convert(text, "cr.yaml", cluster_cidr="10.244.0.0/16")
    [after] = installations(result.text)
    jsonschema.validate(after, installation_schema)
    assert after["spec"] == {
        "variant": "Calico",
        "calicoNetwork": {"bgp": "Disabled", "ipPools": [
            {"name": "default-ipv4-ippool", "cidr": "10.244.0.0/16", "encapsulation": "None"}]},
        "cni": {"type": "Calico", "ipam": {"type": "HostLocal"}},
    }
    assert convert(result.text, "cr.yaml", cluster_cidr="10.244.0.0/16").changes == []


def test_installation_with_another_cni_keeps_its_fields_and_gets_calico_host_local(installation_schema):
    text = ("apiVersion: operator.tigera.io/v1\nkind: Installation\nmetadata:\n  name: default\nspec:\n"
            "  cni:\n    type: Calico\n    ipam:\n      type: Calico\n    binDir: /opt/cni/bin\n"
            "  calicoNetwork:\n    bgp: Enabled\n    ipPools:\n    - cidr: 10.1.0.0/16\n      encapsulation: IPIP\n")
    result = convert(text, "cr.yaml")
    [after] = installations(result.text)
    jsonschema.validate(after, installation_schema)
    assert after["spec"]["cni"] == {"type": "Calico", "ipam": {"type": "HostLocal"}, "binDir": "/opt/cni/bin"}
    assert after["spec"]["calicoNetwork"] == {"bgp": "Disabled", "ipPools": [{"cidr": "10.1.0.0/16", "encapsulation": "None"}]}
    removed = [l for l in difflib.unified_diff(text.splitlines(), result.text.splitlines(), lineterm="", n=0)
               if l.startswith("-") and not l.startswith("---")]
    assert removed == ["-      type: Calico", "-    bgp: Enabled", "-      encapsulation: IPIP"]


def test_two_ipv4_pools_and_a_cluster_cidr_are_refused():
    text = ("apiVersion: operator.tigera.io/v1\nkind: Installation\nmetadata:\n  name: default\nspec:\n"
            "  calicoNetwork:\n    ipPools:\n    - cidr: 10.1.0.0/16\n    - cidr: 10.2.0.0/16\n")
    with pytest.raises(ManifestError, match="has 2 IPv4 pools"):
        convert(text, "cr.yaml", cluster_cidr="10.244.0.0/16")


def node_manifest(image="calico/node:v3.40.0", readiness="[/bin/calico-node, -felix-ready, -bird-ready]", cni=True):
    cni_env = ("            - name: CNI_NETWORK_CONFIG\n              valueFrom:\n                configMapKeyRef:\n"
               "                  name: calico-config\n                  key: cni_network_config\n") if cni else ""
    text = (
        "kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: calico-config\n  namespace: kube-system\ndata:\n"
        "  calico_backend: bird\n  cni_network_config: |-\n    {\"name\": \"k8s-pod-network\", \"plugins\": [\n"
        "      {\"type\": \"calico\", \"mtu\": __CNI_MTU__, \"ipam\": {\"type\": \"calico-ipam\"}}]}\n"
        "---\nkind: DaemonSet\napiVersion: apps/v1\nmetadata:\n  name: calico-node\n  namespace: kube-system\n"
        "spec:\n  template:\n    spec:\n      initContainers:\n        - name: install-cni\n"
        "          image: %s\n          env:\n" % image.replace("node", "cni") + cni_env +
        "            - name: X\n              value: \"1\"\n"
        "      containers:\n        - name: calico-node\n          image: %s\n          env:\n"
        "            - name: CALICO_NETWORKING_BACKEND\n              valueFrom:\n                configMapKeyRef:\n"
        "                  name: calico-config\n                  key: calico_backend\n"
        "          readinessProbe:\n            exec:\n              command: %s\n" % (image, readiness)
    )
    return text if cni else text.replace("cni_network_config: |-", "other_config: |-")


def test_an_unknown_release_of_the_expected_shape_is_converted():
    result = convert(node_manifest(), "calico.yaml")
    assert (result.calico_version, result.release_known) == ("3.40.0", False)
    assert "command: [/bin/calico-node, -felix-ready]" in result.text
    assert '"ipam": {"type": "host-local", "subnet": "usePodCidr"}' in result.text
    assert "calico_backend: none" in result.text
    assert "USE_POD_CIDR" in result.text
    assert convert(result.text, "calico.yaml").changes == []


def test_an_unknown_release_of_another_shape_is_refused_with_what_is_missing():
    with pytest.raises(ManifestError, match=r"Calico v3\.40\.0 is not one of the releases .* no CNI network config"):
        convert(node_manifest(cni=False), "calico.yaml")


def test_a_known_release_without_the_cni_config_names_what_is_missing():
    with pytest.raises(ManifestError, match=r"^calico.yaml: no CNI network config found"):
        convert(node_manifest(image="calico/node:v3.28.5", cni=False), "calico.yaml")


def test_calico_version_must_agree_with_the_images():
    with pytest.raises(ManifestError, match="calico_version is 3.26 but the manifest's calico images are v3.40.0"):
        convert(node_manifest(), "calico.yaml", calico_version="3.26")
    assert convert(node_manifest(image="example.com/mirror/node:latest"), "c.yaml", calico_version="3.5").version_source == "option"


def test_release_rules_follow_the_version_use_pod_cidr_from_3_7():
    old = convert(node_manifest(image="example.com/node:latest"), "c.yaml", calico_version="3.6")
    assert "USE_POD_CIDR" not in old.text
    assert "USE_POD_CIDR" in convert(node_manifest(image="example.com/node:latest"), "c.yaml", calico_version="3.7").text


def test_a_probe_of_bird_checks_only_is_refused():
    with pytest.raises(ManifestError, match="runs only BIRD checks"):
        convert(node_manifest(readiness="[/bin/calico-node, -bird-ready]"), "calico.yaml")


def test_a_bad_cluster_cidr_is_refused_before_anything_else():
    with pytest.raises(ManifestError, match="cluster_cidr '10.244.0.1/16' is not a network address"):
        convert(node_manifest(), "calico.yaml", cluster_cidr="10.244.0.1/16")


def billion_laughs(levels=10, fan_out=7):
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: lol", "  namespace: kube-system", "data:",
             "  l0: &l0 [%s]" % ",".join(['"lol"'] * fan_out)]
    for level in range(1, levels):
        lines.append("  l%d: &l%d [%s]" % (level, level, ",".join(["*l%d" % (level - 1)] * fan_out)))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("fan_out", [7, 13])
def test_a_billion_laughs_manifest_is_refused_in_linear_time(fan_out):
    bomb = billion_laughs(fan_out=fan_out)
    assert len(bomb) < 1100
    text = node_manifest(image="calico/node:v3.28.5") + "---\n" + bomb
    started = time.process_time()
    with pytest.raises(ManifestError, match="billion laughs"):
        convert(text, "calico.yaml")
    with pytest.raises(ManifestError, match="billion laughs"):
        edit_manifest(text, {"CALICO_NETWORKING_BACKEND": "none"}, path="calico.yaml")
    # Unbounded this costs minutes of CPU; bounded, well under what any machine needs for 2 KB of YAML.
    assert time.process_time() - started < 20


def test_aliases_that_stay_small_are_fine():
    text = node_manifest(image="calico/node:v3.28.5") + "---\n" + billion_laughs(levels=3, fan_out=3)
    assert convert(text, "calico.yaml").changes


def changed_lines(before, after):
    removed, added = [], []
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0):
        if line.startswith(("---", "+++", "@@")):
            continue
        (removed if line.startswith("-") else added).append(line[1:])
    return removed, added


def test_a_users_edited_copy_is_converted_in_its_own_layout():
    """Flow-style probe, one-line ipam, inline backend, CRLF line endings: each edit keeps the user's style."""
    text = shared_dir("calico-manifests", "v3.28.5", "calico.yaml").read_text(encoding="utf-8")
    edited = text.replace(
        "              command:\n              - /bin/calico-node\n              - -felix-ready\n              - -bird-ready\n",
        "              command: [\"/bin/calico-node\", \"-felix-ready\", \"-bird-ready\"]  # my probe\n",
    ).replace('          "ipam": {\n              "type": "calico-ipam"\n          },\n',
              '          "ipam": {"type": "calico-ipam", "assign_ipv4": "true"},\n')
    assert edited.count("my probe") == 1 and '"assign_ipv4"' in edited
    edited = edited.replace("\n", "\r\n")
    result = convert(edited, "calico.yaml")
    removed, added = changed_lines(edited.replace("\r\n", "\n"), result.text.replace("\r\n", "\n"))
    assert ('              command: ["/bin/calico-node", "-felix-ready", "-bird-ready"]  # my probe' in removed
            and '              command: ["/bin/calico-node", "-felix-ready"]  # my probe' in added)
    assert '          "ipam": {"type": "host-local", "subnet": "usePodCidr"},' in added
    assert "\r\n" in result.text and "\n" not in result.text.replace("\r\n", "")
    assert convert(result.text, "calico.yaml").changes == []


def test_neither_a_calico_node_manifest_nor_an_installation_says_both_are_accepted():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\n"
    with pytest.raises(ManifestError, match="no DaemonSet with a calico-node container .* Installation resource"):
        convert(text, "x.yaml")


def test_an_ipv6_cluster_cidr_is_refused():
    with pytest.raises(ManifestError, match="cluster_cidr fd00::/64 is IPv6"):
        convert(node_manifest(), "calico.yaml", cluster_cidr="fd00::/64")


def test_an_installation_next_to_the_operators_crds_is_still_an_installation():
    crd = ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: x\n"
           "spec:\n  names:\n    kind: Installation\n  description: a DaemonSet is mentioned here\n")
    installation = ("apiVersion: operator.tigera.io/v1\nkind: Installation\nmetadata:\n  name: default\nspec:\n"
                    "  calicoNetwork:\n    ipPools:\n    - cidr: 10.1.0.0/16\n      encapsulation: IPIP\n")
    result = convert(crd + "---\n" + installation, "operator.yaml")
    assert result.kind == "installation" and result.text.startswith(crd)
