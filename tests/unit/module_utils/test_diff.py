# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one diff shape: text before/after with headers, absent things named as such."""

from ansible_collections.calico.azure.plugins.module_utils._diff import merged_diff, state_diff, state_lines, text_diff


def test_a_new_file_is_absent_before():
    assert text_diff(None, "A=1\n", name="/etc/calico/calico-node.env") == {
        "before": "", "after": "A=1\n",
        "before_header": "/etc/calico/calico-node.env (absent)", "after_header": "/etc/calico/calico-node.env",
    }


def test_state_lines_are_sorted_and_typed_like_yaml():
    assert state_lines({"b": True, "a": None, "c": ["x", 1]}) == "a: null\nb: true\nc: [x, 1]\n"
    assert state_lines(None) is None


def test_state_diff_changes_only_the_changed_line():
    diff = state_diff({"enableIPForwarding": False, "name": "nic"}, {"enableIPForwarding": True, "name": "nic"},
                      name="NIC rg/nic")
    assert diff["before"].splitlines() == ["enableIPForwarding: false", "name: nic"]
    assert diff["after"].splitlines() == ["enableIPForwarding: true", "name: nic"]
    assert diff["before_header"] == diff["after_header"] == "NIC rg/nic"


def test_a_deleted_resource_is_absent_after():
    diff = state_diff({"a": 1}, None, name="route table rt")
    assert diff["after"] == "" and diff["after_header"] == "route table rt (absent)"


def test_merged_diff_prefixes_each_resource():
    merged = merged_diff([
        ("nic-0", state_diff({"f": False}, {"f": True}, name="nic-0")),
        ("nic-1", state_diff(None, {"f": True}, name="nic-1")),
    ])
    assert merged["before"] == "nic-0 f: false\nnic-1 (absent)\n"
    assert merged["after"] == "nic-0 f: true\nnic-1 f: true\n"
