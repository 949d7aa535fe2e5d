# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every module's --diff has the one shape of module_utils/_diff.py.

Each module's builder is run on a small change and its result checked for the four keys
Ansible renders as a unified diff, text on both sides and one ``name: value`` line per
thing that changes; and no plugin builds a diff of its own (a ``prepared`` string or a
``before_header`` written by hand) instead of calling _diff.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ansible_collections.calico.azure.plugins.module_utils._diff import text_diff
from ansible_collections.calico.azure.plugins.module_utils._nic.ip_configs import pod_configurations_diff
from ansible_collections.calico.azure.plugins.module_utils._nic.transform import forwarding_diff
from ansible_collections.calico.azure.plugins.module_utils._udr import logic as udr
from ansible_collections.calico.azure.plugins.module_utils._vmss import plan as vmss

PLUGINS = Path(__file__).resolve().parents[3] / "plugins"
NIC_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/node-0-nic"
RECORD = {"name": "node-0-nic", "id": NIC_ID, "resource_group": "rg", "vm": "node-0",
          "forwarding_before": False, "forwarding_after": True, "changed": True}
TABLE = {"properties": {"routes": [{"name": "node-0", "properties": {
    "addressPrefix": "10.244.0.0/24", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.240.0.4"}}]}}
# One line per thing that can change: ``[<resource> ]<key>: <value>``.
STATE_LINE = re.compile(r"^(\S.* )?[\w./-]+: \S.*$")

from ansible_collections.calico.azure.plugins.module_utils._udr_cluster import resolve as udr_cluster  # noqa: E402

BUILDERS = {
    "azure_udr_routes": lambda: udr.table_diff("rt", None, udr.table_state(TABLE, [])),
    "azure_nic_forwarding": lambda: forwarding_diff([RECORD]),
    "azure_nic_ip_configs": lambda: pod_configurations_diff(
        [dict(RECORD, added=["ipconfig-pod-01"], ip_configurations=[{"name": "ipconfig-pod-01", "address": "10.240.0.9"}])],
        {NIC_ID.lower(): []}),
    "azure_vmss_forwarding": lambda: vmss.scale_sets_diff(
        vmss.model_diff("pool", ["pool-nic"], True, ["0"], "Manual") + [vmss.vm_nic_diff("flex", RECORD)]),
    "azure_udr_cluster": lambda: udr_cluster.build_diff(
        udr.table_diff("rt", None, udr.table_state(TABLE, [])), vmss.model_diff("pool", ["pool-nic"], True, ["0"], "Manual")),
}


@pytest.mark.parametrize("module", sorted(BUILDERS))
def test_each_module_diff_is_text_with_headers_and_state_lines(module):
    diff = BUILDERS[module]()
    assert set(diff) == {"before", "after", "before_header", "after_header"}
    assert all(isinstance(value, str) for value in diff.values())
    assert diff["before_header"] and diff["after_header"]
    assert diff["before"] != diff["after"]
    for side in ("before", "after"):
        assert diff[side] == "" or diff[side].endswith("\n")
        bad = [line for line in diff[side].splitlines() if not STATE_LINE.match(line) and not line.endswith("(absent)")]
        assert bad == [], "%s %s: lines not in the key: value shape" % (module, side)


def test_the_file_modules_diff_is_the_file_text():
    diff = text_diff("A=1\n", "A=2\n", name="/etc/calico/calico.env")
    assert set(diff) == {"before", "after", "before_header", "after_header"}
    assert diff["before_header"] == diff["after_header"] == "/etc/calico/calico.env"


def test_every_plugin_builds_its_diff_with_the_one_helper():
    """A diff written by hand (Ansible's ``prepared`` or its own headers) would be a second style."""
    own = []
    for path in sorted(PLUGINS.rglob("*.py")):
        if path.name == "_diff.py":
            continue
        text = path.read_text(encoding="utf-8")
        if re.search(r"""["']prepared["']|before_header""", text):
            own.append(str(path.relative_to(PLUGINS)))
        if re.search(r"""\["diff"\]\s*=\s*(\{|dict\()""", text):
            own.append(str(path.relative_to(PLUGINS)))
    assert own == []


def test_every_module_that_supports_diff_mode_has_a_builder_here():
    """A new module with diff_mode support must join BUILDERS (or use text_diff, as the file modules do)."""
    modules = {}
    for path in sorted((PLUGINS / "modules").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        if 'result["diff"]' in text:
            modules[path.stem] = "text_diff(" in text
    assert {name for name, uses_text_diff in modules.items() if not uses_text_diff} <= set(BUILDERS)
    assert {"calico_node_backend", "calico_policy_only_manifest", "node_file"} <= {name for name, t in modules.items() if t}
