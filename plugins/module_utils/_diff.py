# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one diff shape every module of the collection returns for ``--diff``.

FOR INTERNAL COLLECTION USE ONLY: this module util is private to calico.azure
and may change without notice.

Pure: no SDK, no Ansible. Ansible renders ``{before, after, before_header,
after_header}`` as a unified diff; giving it text (not dicts, which it would
dump as JSON, nor a ``prepared`` string, which it prints as is) makes every
module's diff read the same: one line per thing that can change, a header
naming what it is, ``(absent)`` for what does not exist.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, Mapping, Optional, Tuple

ABSENT = "(absent)"


def text_diff(before: Optional[str], after: Optional[str], *, name: str) -> Dict[str, str]:
    """The diff of one text (a file); ``None`` is a text that does not exist."""
    return {
        "before": before or "",
        "after": after or "",
        "before_header": name if before is not None else "%s %s" % (name, ABSENT),
        "after_header": name if after is not None else "%s %s" % (name, ABSENT),
    }


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[%s]" % ", ".join(_value(v) for v in value)
    return str(value)


def state_lines(state: Optional[Mapping[str, Any]]) -> Optional[str]:
    """``key: value`` lines, sorted by key, one per thing that can change; None stays None."""
    if state is None:
        return None
    return "".join("%s: %s\n" % (key, _value(state[key])) for key in sorted(state))


def state_diff(before: Optional[Mapping[str, Any]], after: Optional[Mapping[str, Any]], *, name: str) -> Dict[str, str]:
    """The diff of a resource's owned state, flattened to lines (``routes/node-1.prefix: 10.244.1.0/24``)."""
    return text_diff(state_lines(before), state_lines(after), name=name)


def merged_diff(diffs: Iterable[Tuple[str, Dict[str, str]]], *, name: Optional[str] = None) -> Dict[str, str]:
    """One diff of several resources (e.g. the NICs of one run): each one's lines under its name.

    ``name`` (``network interfaces``) heads both sides; without it they are ``before`` and ``after``.
    """
    before, after = [], []
    for resource, diff in diffs:
        before.extend("%s %s" % (resource, line) for line in diff["before"].splitlines() or [ABSENT])
        after.extend("%s %s" % (resource, line) for line in diff["after"].splitlines() or [ABSENT])
    return {
        "before": "".join(line + "\n" for line in before),
        "after": "".join(line + "\n" for line in after),
        "before_header": name or "before",
        "after_header": name or "after",
    }
