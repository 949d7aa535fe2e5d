# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The stand-in's pure pieces (no server): patch formats, selectors, field sets."""

from __future__ import annotations

import pytest

from k8s_emulator import managed, nodes_for
from k8s_emulator.errors import ApiError
from k8s_emulator.patch import json_patch, list_strategy, merge_patch, strategic_merge_patch
from k8s_emulator.selectors import field_matcher, label_matcher


def test_merge_patch_removes_nulls_and_replaces_lists():
    assert merge_patch({"a": {"b": 1, "c": 2}, "l": [1, 2]}, {"a": {"b": None}, "l": [3]}) == {"a": {"c": 2}, "l": [3]}


def test_strategic_merge_by_key_primitive_sets_and_directives():
    node = {"spec": {"taints": [{"key": "a", "effect": "NoSchedule"}], "podCIDRs": ["10.0.0.0/24"]},
            "metadata": {"finalizers": ["x"]}}
    patched = strategic_merge_patch(node, {"spec": {"taints": [{"key": "b", "effect": "NoExecute"},
                                                               {"key": "a", "$patch": "delete"}]},
                                           "metadata": {"finalizers": ["y"], "$deleteFromPrimitiveList/finalizers": ["x"]}})
    assert patched["spec"]["taints"] == [{"key": "b", "effect": "NoExecute"}]
    assert patched["metadata"]["finalizers"] == ["y"]
    replaced = strategic_merge_patch(node, {"spec": {"$patch": "replace", "unschedulable": True}})
    assert replaced["spec"] == {"unschedulable": True}


def test_json_patch_operations_and_failures():
    doc = {"a": [1, 2], "b": {"c": 1}}
    assert json_patch(doc, [{"op": "add", "path": "/a/-", "value": 3}, {"op": "move", "from": "/b/c", "path": "/d"},
                            {"op": "replace", "path": "/a/0", "value": 0}]) == {"a": [0, 2, 3], "b": {}, "d": 1}
    with pytest.raises(ApiError) as caught:
        json_patch(doc, [{"op": "remove", "path": "/nope"}])
    assert caught.value.code == 422


@pytest.mark.parametrize("selector, expected", [
    ("a=1", ["x"]), ("a==1,b", ["x"]), ("a!=1", ["y", "z"]), ("a in (1,2)", ["x", "y"]), ("a notin (1)", ["y", "z"]),
    ("!a", ["z"]), ("b", ["x"]),
])
def test_label_selectors(selector, expected):
    objects = {"x": {"a": "1", "b": ""}, "y": {"a": "2"}, "z": {}}
    match = label_matcher(selector)
    assert [name for name, labels in objects.items() if match(labels)] == expected


def test_field_selector_rejects_unsupported_fields():
    assert field_matcher("metadata.name=n", False)({"metadata": {"name": "n"}})
    with pytest.raises(ApiError) as caught:
        field_matcher("spec.podCIDR=x", False)
    assert caught.value.code == 400


def test_field_paths_and_display():
    obj = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "x", "labels": {"a": "b"}},
           "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    paths = managed.field_paths(obj, list_strategy)
    item = ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"c"}')
    assert paths == {("f:metadata", "f:labels", "f:a"), item, item + ("f:name",), item + ("f:image",)}
    assert managed.display(item + ("f:image",)) == '.spec.template.spec.containers[name="c"].image'
    assert managed.from_fields_v1(managed.to_fields_v1(paths)) == paths


def test_nodes_for_scale_set_names_and_provider_ids():
    seed = nodes_for(2, subscription="s", resource_group="g", scale_set="ss")
    assert [n["name"] for n in seed["nodes"]] == ["ss000000", "ss000001"]
    assert seed["nodes"][1]["providerID"] == ("azure:///subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/"
                                              "virtualMachineScaleSets/ss/virtualMachines/1")
    assert seed["nodes"][1]["podCIDR"] == "10.244.1.0/24"
    assert seed["nodes"][1]["addresses"] == [{"type": "InternalIP", "address": "10.240.0.5"}]
