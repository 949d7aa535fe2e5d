# -*- coding: utf-8 -*-
# Copyright: (c) 2026, calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # Attributes every module of the collection declares (calico.azure.attributes),
    # plus sub-fragments to combine per module, e.g. (azure_udr_routes_info)
    #   extends_documentation_fragment:
    #     - calico.azure.attributes
    #     - calico.azure.attributes.action_group
    #     - calico.azure.attributes.check_mode_read_only
    #     - calico.azure.attributes.diff_mode_none
    # A module that changes things documents its own check_mode/diff_mode details: what
    # its prediction and its diff show differ per module.

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
"""

    ACTION_GROUP = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/calico.azure.azure) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - calico.azure.azure
"""

    CHECK_MODE_READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This module only reads, and operates the same regardless of check mode.
"""

    DIFF_MODE_NONE = r"""
options: {}
attributes:
  diff_mode:
    support: none
    details:
      - This module changes nothing, so it has no diff to show.
"""
