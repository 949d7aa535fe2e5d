"""Manifest editing for calico-node: the fixtures are trimmed upstream manifests.

Each case checks the exact lines that change (a unified diff of the text) and
that everything else, comments included, is byte-identical.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from ansible_collections.calico.azure.plugins.module_utils._calico.env import BACKEND_VAR, encapsulation_warnings
from ansible_collections.calico.azure.plugins.module_utils._calico.manifest import ManifestError, edit_manifest

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def changed_lines(before: str, after: str):
    """(removed, added) lines of a unified diff, without context."""
    removed, added = [], []
    for line in difflib.unified_diff(before.splitlines(True), after.splitlines(True), n=0):
        if line.startswith("---") or line.startswith("+++") or line.startswith("@@"):
            continue
        (removed if line.startswith("-") else added).append(line[1:])
    return removed, added


def load(text: str):
    return list(YAML(typ="safe", pure=True).load_all(text))


def calico_node_env(docs):
    for doc in docs:
        if isinstance(doc, dict) and doc.get("kind") == "DaemonSet":
            for container in doc["spec"]["template"]["spec"]["containers"]:
                if container["name"] == "calico-node":
                    return container["env"]
    raise AssertionError("no calico-node container")


def test_calico_yaml_changes_the_configmap_key_the_daemonset_refers_to():
    text = fixture("calico.yaml")
    edit = edit_manifest(text, {BACKEND_VAR: "none"}, path="calico.yaml")
    assert changed_lines(text, edit.text) == (['  calico_backend: "bird"\n'], ['  calico_backend: "none"\n'])
    assert edit.previous == {BACKEND_VAR: "bird"}
    assert edit.locations == {BACKEND_VAR: "ConfigMap kube-system/calico-config key calico_backend"}
    assert edit.daemonset == "kube-system/calico-node"
    # The DaemonSet still refers to the ConfigMap (and so does the upgrade-ipam init container).
    item = [i for i in calico_node_env(load(edit.text)) if i["name"] == BACKEND_VAR][0]
    assert item["valueFrom"]["configMapKeyRef"] == {"name": "calico-config", "key": "calico_backend"}
    assert edit.effective_after[BACKEND_VAR] == "none"


def test_calico_yaml_warns_about_ipip_still_on_and_names_the_variable():
    edit = edit_manifest(fixture("calico.yaml"), {BACKEND_VAR: "none"}, path="calico.yaml")
    warnings = encapsulation_warnings("none", edit.effective_after.get, "calico.yaml")
    assert len(warnings) == 1
    assert "CALICO_IPV4POOL_IPIP=Always" in warnings[0] and "set CALICO_IPV4POOL_IPIP=Never" in warnings[0]


def test_calico_yaml_second_edit_is_a_no_op():
    once = edit_manifest(fixture("calico.yaml"), {BACKEND_VAR: "none"}).text
    again = edit_manifest(once, {BACKEND_VAR: "none"})
    assert again.text == once
    assert again.changed_keys == []


def test_calico_yaml_policy_only_with_ipip_off_and_extra_felix_setting():
    text = fixture("calico.yaml")
    edit = edit_manifest(
        text,
        {BACKEND_VAR: "none", "CALICO_IPV4POOL_IPIP": "Never", "FELIX_IPV6SUPPORT": "false", "FELIX_LOGSEVERITYSCREEN": "info"},
    )
    removed, added = changed_lines(text, edit.text)
    assert removed == ['  calico_backend: "bird"\n', '              value: "Always"\n']
    assert added == [
        '  calico_backend: "none"\n',
        '              value: "Never"\n',
        "            - name: FELIX_LOGSEVERITYSCREEN\n",
        '              value: "info"\n',
    ]
    assert edit.changed_keys == [BACKEND_VAR, "CALICO_IPV4POOL_IPIP", "FELIX_LOGSEVERITYSCREEN"]
    assert encapsulation_warnings("none", edit.effective_after.get, "x") == []


def test_canal_yaml_inline_value_is_changed_in_the_calico_node_container_only():
    text = fixture("canal.yaml")
    assert edit_manifest(text, {BACKEND_VAR: "none"}).text == text  # canal is already policy-only
    edit = edit_manifest(text, {BACKEND_VAR: "bird"})
    assert changed_lines(text, edit.text) == (['              value: "none"\n'], ['              value: "bird"\n'])
    assert edit.daemonset == "kube-system/canal"
    assert edit.previous[BACKEND_VAR] == "none"
    assert edit.locations[BACKEND_VAR].startswith("DaemonSet kube-system/canal container calico-node env (inline value, line ")
    docs = load(edit.text)
    flannel = [c for c in docs[2]["spec"]["template"]["spec"]["containers"] if c["name"] == "kube-flannel"][0]
    assert flannel == [c for c in load(text)[2]["spec"]["template"]["spec"]["containers"] if c["name"] == "kube-flannel"][0]


def test_canal_with_calico_backend_from_canal_config_adds_the_missing_key_after_the_last_entry():
    # Canal variants that route the backend through canal-config: the key is not in the
    # ConfigMap yet, so it is appended after net-conf.json's block scalar.
    text = fixture("canal.yaml").replace(
        '            - name: CALICO_NETWORKING_BACKEND\n              value: "none"\n',
        "            - name: CALICO_NETWORKING_BACKEND\n"
        "              valueFrom:\n"
        "                configMapKeyRef:\n"
        "                  name: canal-config\n"
        "                  key: calico_backend\n",
    )
    edit = edit_manifest(text, {BACKEND_VAR: "none"})
    assert edit.previous[BACKEND_VAR] is None
    assert changed_lines(text, edit.text) == ([], ['  calico_backend: "none"\n'])
    assert '        "Type": "vxlan"\n      }\n    }\n  calico_backend: "none"\n---\n' in edit.text
    assert load(edit.text)[1]["data"]["net-conf.json"] == load(text)[1]["data"]["net-conf.json"]
    assert edit_manifest(edit.text, {BACKEND_VAR: "none"}).text == edit.text


def test_policy_only_manifest_inline_value():
    text = fixture("calico-policy-only.yaml")
    assert edit_manifest(text, {BACKEND_VAR: "none"}).changed_keys == []
    edit = edit_manifest(text, {BACKEND_VAR: "vxlan"})
    assert changed_lines(text, edit.text) == (['              value: "none"\n'], ['              value: "vxlan"\n'])


def test_manifest_without_the_variable_gets_it_appended_to_the_env_list():
    text = fixture("calico-no-backend.yaml")
    edit = edit_manifest(text, {BACKEND_VAR: "none"})
    assert edit.previous[BACKEND_VAR] is None
    assert changed_lines(text, edit.text) == (
        [],
        ["            - name: CALICO_NETWORKING_BACKEND\n", '              value: "none"\n'],
    )
    # Added right after the last item, before the blank line and the comment that follow the list.
    assert '              value: "true"\n            - name: CALICO_NETWORKING_BACKEND\n' in edit.text
    assert [i["name"] for i in calico_node_env(load(edit.text))][-1] == BACKEND_VAR
    assert edit_manifest(edit.text, {BACKEND_VAR: "none"}).text == edit.text


def test_absent_env_removes_the_item_and_the_comment_describing_it():
    text = fixture("calico.yaml")
    edit = edit_manifest(text, {BACKEND_VAR: "bird"}, ["CALICO_IPV4POOL_IPIP", "NOT_THERE"])
    assert changed_lines(text, edit.text) == (
        ["            # Enable IPIP\n", "            - name: CALICO_IPV4POOL_IPIP\n", '              value: "Always"\n'],
        [],
    )
    assert edit.changed_keys == ["CALICO_IPV4POOL_IPIP"]
    assert edit.previous["NOT_THERE"] is None


def test_plain_style_values_that_yaml_would_not_read_as_strings_get_quoted():
    text = fixture("calico.yaml").replace('name: FELIX_IPV6SUPPORT\n              value: "false"', "name: FELIX_IPV6SUPPORT\n              value: x")
    edit = edit_manifest(text, {BACKEND_VAR: "bird", "FELIX_IPV6SUPPORT": "false"})
    assert changed_lines(text, edit.text) == (["              value: x\n"], ['              value: "false"\n'])
    edit = edit_manifest(text, {BACKEND_VAR: "bird", "FELIX_IPV6SUPPORT": "no-really"})
    assert changed_lines(text, edit.text) == (["              value: x\n"], ["              value: no-really\n"])


def test_single_quoted_style_is_kept():
    text = fixture("calico-policy-only.yaml").replace('value: "none"', "value: 'none'")
    edit = edit_manifest(text, {BACKEND_VAR: "bird"})
    assert changed_lines(text, edit.text) == (["              value: 'none'\n"], ["              value: 'bird'\n"])


def test_crlf_manifest_keeps_crlf():
    text = fixture("calico-no-backend.yaml").replace("\n", "\r\n")
    edit = edit_manifest(text, {BACKEND_VAR: "none", "CLUSTER_TYPE": "k8s,policy"})
    assert "\n" not in edit.text.replace("\r\n", "")
    removed, added = changed_lines(text, edit.text)
    assert removed == ['              value: "k8s"\r\n']
    assert added == ['              value: "k8s,policy"\r\n', "            - name: CALICO_NETWORKING_BACKEND\r\n", '              value: "none"\r\n']


def test_duplicate_env_items_change_the_last_and_are_reported():
    text = fixture("calico-policy-only.yaml").replace(
        "            # Cluster type to identify the deployment type\n",
        '            - name: CALICO_NETWORKING_BACKEND\n              value: "bird"\n            # Cluster type to identify the deployment type\n',
    )
    edit = edit_manifest(text, {BACKEND_VAR: "none"})
    assert edit.previous[BACKEND_VAR] == "bird"
    assert len(edit.duplicates[BACKEND_VAR]) == 2
    assert changed_lines(text, edit.text) == (['              value: "bird"\n'], ['              value: "none"\n'])


def daemonset_document(text: str) -> str:
    start = text.index("# Source: calico/templates/calico-node.yaml\n# This manifest installs")
    return text[start:text.index("---\n", start)]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda t: t.split("---\n# Source: calico/templates/calico-node.yaml\n# This manifest installs")[0],
            "has no DaemonSet with a calico-node container",
        ),
        (
            lambda t: t.replace("name: calico-config\n  namespace", "name: other-config\n  namespace"),
            "comes from ConfigMap kube-system/calico-config key calico_backend, which is not in",
        ),
        (
            lambda t: t + "---\n" + daemonset_document(t).replace("name: calico-node\n  namespace", "name: calico-node-2\n  namespace"),
            "2 DaemonSets with a calico-node container",
        ),
        (lambda t: t.replace("  calico_backend: \"bird\"\n", "  calico_backend: \"bird\n"), "is not valid YAML"),
        (
            lambda t: t.replace("kind: ConfigMap\napiVersion: v1\nmetadata:\n", "kind: ConfigMap\nkind: ConfigMap\napiVersion: v1\nmetadata:\n"),
            "is not valid YAML",
        ),
    ],
    ids=["no-daemonset", "configmap-elsewhere", "two-daemonsets", "broken-quote", "duplicate-key"],
)
def test_bad_manifests_are_refused_with_a_message(mutate, message):
    with pytest.raises(ManifestError) as err:
        edit_manifest(mutate(fixture("calico.yaml")), {BACKEND_VAR: "none"}, path="calico.yaml")
    assert message in str(err.value)


def test_variables_from_other_sources_are_refused():
    with pytest.raises(ManifestError, match="NODENAME comes from fieldRef"):
        edit_manifest(fixture("calico.yaml"), {BACKEND_VAR: "none", "NODENAME": "x"})


def test_block_scalar_value_is_refused_not_mangled():
    text = fixture("calico-policy-only.yaml").replace('value: "none"', "value: |-\n                none")
    with pytest.raises(ManifestError, match="not a one-line scalar"):
        edit_manifest(text, {BACKEND_VAR: "bird"})


def test_container_without_env_list_is_refused():
    text = fixture("calico-no-backend.yaml")
    start = text.index("          env:\n")
    end = text.index("\n          # Probes below")
    with pytest.raises(ManifestError, match="no block-style env list"):
        edit_manifest(text[:start] + text[end + 1:], {BACKEND_VAR: "none"})


def test_an_edit_that_would_change_anything_else_is_refused(monkeypatch):
    # The safety net: whatever the splice produced, the re-parsed result must equal the
    # original data plus exactly the requested change. Simulate a splice that goes wrong.
    from ansible_collections.calico.azure.plugins.module_utils._calico import manifest as _calico_manifest

    real = _calico_manifest._render_scalar
    monkeypatch.setattr(_calico_manifest, "_render_scalar", lambda value, style: real(value, style) + "\n  extra: x")
    with pytest.raises(ManifestError, match="would change more than the requested variables"):
        edit_manifest(fixture("calico.yaml"), {BACKEND_VAR: "none"}, path="calico.yaml")


def test_a_broken_document_elsewhere_in_the_file_is_still_reported():
    # Only documents naming a DaemonSet or ConfigMap go through ruamel.yaml (speed), but the
    # whole file must parse: a broken CRD is an error, not silently carried along.
    text = fixture("calico.yaml").replace("    singular: ippool\n", "    singular: ippool\n   broken: [\n")
    with pytest.raises(ManifestError, match="calico.yaml is not valid YAML"):
        edit_manifest(text, {BACKEND_VAR: "none"}, path="calico.yaml")


def test_many_documents_only_the_relevant_ones_change():
    # The shape of a full upstream calico.yaml: hundreds of CRD documents around the two that matter.
    text = fixture("calico.yaml")
    start = text.index("# Source: calico/templates/kdd-crds.yaml")
    end = text.index("---\n", start) + 4
    big = text[:end] + text[start:end] * 200 + text[end:]
    edit = edit_manifest(big, {BACKEND_VAR: "none", "FELIX_LOGSEVERITYSCREEN": "info"})
    removed, added = changed_lines(big, edit.text)
    assert removed == ['  calico_backend: "bird"\n']
    assert added == ['  calico_backend: "none"\n', "            - name: FELIX_LOGSEVERITYSCREEN\n", '              value: "info"\n']
