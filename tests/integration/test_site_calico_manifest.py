# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""site.yml in manifest mode: the manifest lives on the control node only and is converted there, once.

A world of two real test hosts (sshd in namespaces) and the Azure stand-in
(tests/molecule_support/scenario.py). The nodes have no manifest and need no
ruamel.yaml. Every broken calico-node precondition must stop the run in the
precondition play, before any ARM write (the stand-in's request counts); the
good run converts the control node's file once, and a re-run changes nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.calico.azure.plugins.module_utils._calico.policy_only import convert
from helpers.ansible_run import REPO_ROOT, run_playbook
from helpers.shared import shared_dir

SUPPORT = REPO_ROOT / "tests" / "molecule_support"
sys.path.insert(0, str(SUPPORT))
SLOT = 33 + int(os.environ.get("CALICO_AZURE_TEST_SLOT_OFFSET", "0"))
SITE = REPO_ROOT / "playbooks" / "site.yml"
SYSTEM_PYTHON = "/usr/bin/python3"

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"), reason="test hosts need root and ip netns")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    import scenario  # tests/molecule_support

    run_dir = tmp_path_factory.mktemp("site-calico-world")
    try:
        yield scenario.up(run_dir, SLOT, ["node1", "node2"], "k8s-cluster")
    finally:
        scenario.down(run_dir)


def counts(world):
    import scenario

    return scenario.snapshot(Path(world["run_dir"]))["counts"]


def write_inventory(world, path: Path, **group_vars) -> Path:
    import scenario

    inventory = scenario.inventory(world, "udr")
    control_python = group_vars.pop("_control_python", sys.executable)
    inventory["calico_azure_nodes"]["vars"].update(
        {"calico_node_systemd_unit": False, "calico_node_config_format": "manifest"}, **group_vars
    )
    # A named edit host (local, outside the node group), with the interpreter the case asks for.
    inventory["control"] = {"hosts": {"editor": {"ansible_connection": "local",
                                                 "ansible_python_interpreter": control_python}}}
    path.write_text(yaml.safe_dump(inventory))
    return path


def run_site(world, tmp_path, name, check=False, **group_vars):
    inventory = write_inventory(world, tmp_path / ("%s.yml" % name), **group_vars)
    return run_playbook(SITE, inventory=inventory, timeout=900, check=check, diff=check)


def test_broken_calico_preconditions_stop_the_run_before_any_azure_write(world, tmp_path):
    manifest = tmp_path / "calico.yaml"
    shutil.copyfile(shared_dir("calico-manifests", "v3.28.5", "calico.yaml"), manifest)
    canal = tmp_path / "canal.yaml"
    shutil.copyfile(shared_dir("calico-manifests", "v3.28.5", "canal.yaml"), canal)
    lacks_ruamel = subprocess.run([SYSTEM_PYTHON, "-c", "import ruamel.yaml"], capture_output=True, check=False).returncode
    cases = {
        "missing": ({"calico_node_manifest_path": str(tmp_path / "nowhere.yaml")}, "does not exist on this host"),
        "wrong kind": ({"calico_node_manifest_path": str(canal)}, "is a canal file, but calico_node_networking_mode udr"),
        "wrong release": ({"calico_node_manifest_path": str(manifest), "calico_node_calico_version": "3.26"},
                          "calico_version is 3.26 but the manifest's calico images are v3.28.5"),
    }
    # Applying needs the cluster: one that does not answer stops the run here too.
    cases["cluster unreachable"] = ({"calico_node_manifest_path": str(manifest), "calico_node_apply": True,
                                     "calico_node_kubernetes": {"host": "https://127.0.0.1:9", "api_key": "not-a-token",
                                                                "validate_certs": False}},
                                    "Check that the cluster answers from the host that applies")
    if lacks_ruamel:
        cases["no ruamel.yaml"] = ({"calico_node_manifest_path": str(manifest), "_control_python": SYSTEM_PYTHON,
                                    "calico_node_edit_host": "editor"}, "Failed to import the required Python library (ruamel.yaml)")
    before = manifest.read_bytes()
    for name, (group_vars, message) in cases.items():
        start = counts(world)["writes"]
        result = run_site(world, tmp_path, name.replace(" ", "-"), **group_vars)
        assert result.rc != 0, name
        failed = [t for t in result.tasks() if any(h.get("failed") for h in t["hosts"].values())]
        assert message in result.stdout or any(message in t["task"]["name"] for t in failed), (name, failed)
        assert counts(world)["writes"] == start, name
        # Failed in the precondition play: no task of a later play ran.
        assert [p["play"]["name"] for p in result.data["plays"]] == ["Check every precondition before changing anything"], name
    assert manifest.read_bytes() == before


def test_the_manifest_on_the_control_node_is_converted_once_and_a_rerun_changes_nothing(world, tmp_path):
    manifest = tmp_path / "calico.yaml"
    shutil.copyfile(shared_dir("calico-manifests", "v3.32.1", "calico.yaml"), manifest)
    original = manifest.read_text()
    expected = convert(original, str(manifest), cluster_cidr=world["names"]["cluster_cidr"]).text
    writes = counts(world)["writes"]
    check = run_site(world, tmp_path, "check", check=True, calico_node_manifest_path=str(manifest))
    assert check.rc == 0, check.stdout[-4000:]
    assert manifest.read_text() == original and counts(world)["writes"] == writes
    [preview] = [t for t in check.tasks() if t["task"]["name"].endswith("Turn the file into Calico's policy-only install")]
    preview = list(preview["hosts"].values())[0]
    assert preview["changed"] and preview["diff"]["after"] == expected

    result = run_site(world, tmp_path, "good", calico_node_manifest_path=str(manifest))
    assert result.rc == 0, result.stdout[-4000:]
    assert manifest.read_text() == expected
    converted = [t for t in result.tasks() if t["task"]["name"].endswith("Turn the file into Calico's policy-only install")]
    assert len(converted) == 1
    # Run once (run_once reports the one result for every host), delegated to the control node.
    results = list(converted[0]["hosts"].values())
    assert all(r["changed"] for r in results) and results[0]["changes"]
    # The nodes got no manifest and no env file: calico-node is a DaemonSet here.
    for host in world["hosts"]:
        upper = Path(host["etc_upper"])
        assert not (upper / "calico" / "calico.env").exists(), host["name"]

    writes = counts(world)["writes"]
    again = run_site(world, tmp_path, "again", calico_node_manifest_path=str(manifest))
    assert again.rc == 0, again.stdout[-4000:]
    assert manifest.read_text() == expected
    assert again.changed_count == 0, json.dumps(again.stats())
    assert counts(world)["writes"] == writes


def calico_node_manifest(tmp_path) -> Path:
    """A user's manifest: the calico-config ConfigMap and calico-node DaemonSet of v3.32.1's calico.yaml, as written there.

    The Kubernetes stand-in serves nodes, namespaces, ConfigMaps, DaemonSets and CRDs; the
    ServiceAccounts, RBAC rules and Deployments of the full file are not what this test is about.
    """
    text = shared_dir("calico-manifests", "v3.32.1", "calico.yaml").read_text(encoding="utf-8")
    documents = [d for d in text.split("\n---\n") if "\nkind: ConfigMap\n" in "\n" + d or "\nkind: DaemonSet\n" in "\n" + d]
    documents = [d for d in documents if "name: calico-config" in d or "name: calico-node\n" in d]
    assert len(documents) == 2
    path = tmp_path / "calico-node.yaml"
    path.write_text("---\n".join(d.strip("\n") + "\n" for d in documents))
    return path


def test_apply_to_the_cluster_check_once_and_a_rerun_sends_no_write(world, tmp_path):
    from k8s_emulator import Emulator

    manifest = calico_node_manifest(tmp_path)
    original = manifest.read_text()
    expected = convert(original, str(manifest), cluster_cidr=world["names"]["cluster_cidr"]).text
    expected_docs = [d for d in yaml.safe_load_all(expected) if d]
    with Emulator(seed="default.yml") as cluster:
        settings = {"calico_node_manifest_path": str(manifest), "calico_node_apply": True,
                    "calico_node_kubernetes": {"kubeconfig": cluster.kubeconfig}}

        check = run_site(world, tmp_path, "apply-check", check=True, **settings)
        assert check.rc == 0, check.stdout[-4000:]
        assert cluster.counts()["writes"] == 0 and manifest.read_text() == original
        [compare] = [t for t in check.tasks() if t["task"]["name"].endswith("Compare the converted resources with the cluster")]
        assert list(compare["hosts"].values())[0]["changed"] is True

        cluster.clear_log()
        applied = run_site(world, tmp_path, "apply", **settings)
        assert applied.rc == 0, applied.stdout[-4000:]
        assert manifest.read_text() == expected
        writes = [r for r in cluster.requests() if r["verb"] not in ("get", "list", "watch", "discovery", None)
                  and not r["dry_run"]]
        # One server-side apply per object, with the field manager, from one host.
        assert sorted((r["verb"], r["resource"], r["name"]) for r in writes) == [
            ("patch", "configmaps", "calico-config"), ("patch", "daemonsets", "calico-node")]
        assert {r["field_manager"] for r in writes} == {"calico-azure"}
        assert {r["content_type"] for r in writes} == {"application/apply-patch+yaml"}
        live_cm = cluster.get_object("ConfigMap", "calico-config", "kube-system")
        assert live_cm["data"] == [d for d in expected_docs if d["kind"] == "ConfigMap"][0]["data"]
        live_ds = cluster.get_object("DaemonSet", "calico-node", "kube-system", api_version="apps/v1")
        expected_ds = [d for d in expected_docs if d["kind"] == "DaemonSet"][0]
        live_node = [c for c in live_ds["spec"]["template"]["spec"]["containers"] if c["name"] == "calico-node"][0]
        want_node = [c for c in expected_ds["spec"]["template"]["spec"]["containers"] if c["name"] == "calico-node"][0]
        assert live_node["readinessProbe"] == want_node["readinessProbe"]
        assert live_node["env"] == want_node["env"]

        cluster.clear_log()
        again = run_site(world, tmp_path, "apply-again", **settings)
        assert again.rc == 0, again.stdout[-4000:]
        assert cluster.counts()["writes"] == 0
        assert again.changed_count == 0, json.dumps(again.stats())
