# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Label selectors (equality- and set-based) and the field selectors every resource supports."""

from __future__ import annotations

import re

from .errors import bad_request

_SET = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*(?:(notin|in)\s*\(([^)]*)\)|(==|=|!=)\s*([A-Za-z0-9._-]*))?\s*$")


def _split(selector: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in selector:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts


def label_matcher(selector: str | None):
    """A predicate over a labels dict; raises 400 BadRequest on a selector the API server would refuse."""
    if not selector:
        return lambda labels: True
    tests = []
    for term in _split(selector):
        match = _SET.match(term)
        if not match:
            raise bad_request(f"unable to parse requirement: {term.strip()!r}")
        negate, key, set_op, values, eq_op, value = match.groups()
        if set_op:
            choices = {v.strip() for v in values.split(",") if v.strip()}
            if set_op == "in":
                tests.append(lambda labels, k=key, c=choices: labels.get(k) in c)
            else:
                tests.append(lambda labels, k=key, c=choices: labels.get(k) not in c)
        elif eq_op:
            if eq_op == "!=":
                tests.append(lambda labels, k=key, v=value: labels.get(k) != v)
            else:
                tests.append(lambda labels, k=key, v=value: labels.get(k) == v)
        elif negate:
            tests.append(lambda labels, k=key: k not in labels)
        else:
            tests.append(lambda labels, k=key: k in labels)
    return lambda labels: all(test(labels or {}) for test in tests)


def field_matcher(selector: str | None, namespaced: bool):
    """``metadata.name`` (and ``metadata.namespace`` for namespaced types) with =, == and !=."""
    if not selector:
        return lambda obj: True
    tests = []
    for term in _split(selector):
        match = re.match(r"^\s*([A-Za-z.]+)\s*(==|=|!=)\s*(.*?)\s*$", term)
        if not match:
            raise bad_request(f"invalid selector: '{selector}'; can't understand '{term}'")
        field, op, value = match.groups()
        allowed = ["metadata.name"] + (["metadata.namespace"] if namespaced else [])
        if field not in allowed:
            raise bad_request(f'field label not supported: {field}')
        attr = field.split(".")[1]
        if op == "!=":
            tests.append(lambda obj, a=attr, v=value: obj["metadata"].get(a, "") != v)
        else:
            tests.append(lambda obj, a=attr, v=value: obj["metadata"].get(a, "") == v)
    return lambda obj: all(test(obj) for test in tests)
