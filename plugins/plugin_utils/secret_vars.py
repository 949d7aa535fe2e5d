# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Secrets read from variables as data, never as templates (controller side).

FOR INTERNAL COLLECTION USE ONLY.

A variable's raw value is taken as the secret, except when the whole value is
one Jinja expression: a bare variable name (``"{{ vault_sp_secret }}"``) is
followed to that variable's raw value, any other expression
(``"{{ lookup('ansible.builtin.env', 'AZURE_SECRET') }}"``) is rendered once.
Text around or inside a secret (``Ab{{ 7*6 }}c``) is never rendered.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping

# The whole value is one {{ ... }} expression (nothing before or after it, no second one).
_ONE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)
_BARE_NAME = re.compile(r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*$")
MAX_REFERENCES = 10


class SecretVariableError(ValueError):
    pass


def resolve_secret(value: Any, variables: Mapping[str, Any], render: Callable[[str], Any], what: str) -> Any:
    """The secret ``value`` stands for (see the module docstring); None and "" stay as they are."""
    for _hop in range(MAX_REFERENCES):
        if value is None:
            return None
        text = value if isinstance(value, str) else None
        if text is None:
            # An encrypted vault value and the like: text without any template of its own.
            return str(value)
        match = _ONE_EXPRESSION.match(text)
        if match is None:
            return str(text)
        name = _BARE_NAME.match(match.group("expr"))
        if name is None:
            return render(text)
        if name.group("name") not in variables:
            raise SecretVariableError("%s refers to the variable %s, which is not defined." % (what, name.group("name")))
        what = name.group("name")
        value = variables[what]
    raise SecretVariableError("%s: more than %d variable references in a row." % (what, MAX_REFERENCES))
