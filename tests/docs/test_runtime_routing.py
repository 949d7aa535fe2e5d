# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every Azure module goes through the azure_auth action (secrets out of task args, issue 13 item 4)."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
RUNTIME = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text(encoding="utf-8"))


def test_every_module_of_the_azure_group_is_routed_through_the_auth_action() -> None:
    group = RUNTIME["action_groups"]["azure"]
    routing = RUNTIME.get("plugin_routing", {}).get("modules", {})
    unrouted = [m for m in group if routing.get(m, {}).get("action_plugin") != "calico.azure.azure_auth"]
    assert unrouted == [], "add plugin_routing.modules.<m>.action_plugin: calico.azure.azure_auth for these"


def test_every_azure_module_file_is_in_the_azure_group() -> None:
    modules = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("azure_*.py"))
    assert modules == sorted(RUNTIME["action_groups"]["azure"])
