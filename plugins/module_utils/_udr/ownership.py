# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Who owns what in a shared route table (pure: no SDK, no Ansible).

The record lives in the route table's own tags, so it is written by the same
single PUT (If-Match) as the routes it describes and can never disagree with
them after a lost race:

- ``calico-azure-cluster: <cluster_name>`` marks the table as the cluster's
  (set when the module creates the table or first manages it with a
  ``cluster_name``; never overwritten when it names another cluster).
- ``calico-azure-routes.<owner>`` (then ``.2``, ``.3``...) lists, comma
  separated, the names of the routes ``<owner>`` wrote; ``<owner>`` is the
  cluster name, or ``<cluster>:<pool>`` when several node pools share one
  table. A run purges only names in its own record, never another owner's.

Azure allows 50 tags per resource and 256 characters per tag value, so a
record is sharded over several tags; one that does not fit is an error before
any write (see :func:`record_errors`).
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, List, Mapping, Optional, Set, Tuple

CLUSTER_TAG = "calico-azure-cluster"
ROUTES_TAG_PREFIX = "calico-azure-routes."

# Azure: "Each resource ... can have a maximum of 50 tag name-value pairs";
# tag names up to 512 characters, values up to 256.
MAX_TAGS = 50
MAX_TAG_VALUE = 256

# Owner names go into tag names: no '.', ':' (the separators here) nor the
# characters Azure refuses in tag names (<, >, %, &, \, ?, /).
_OWNER_PART_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")


def owner_key(cluster_name: str, node_pool: Optional[str] = None) -> str:
    return "%s:%s" % (cluster_name, node_pool) if node_pool else cluster_name


def owner_errors(cluster_name: Optional[str], node_pool: Optional[str]) -> List[str]:
    errors = []
    if node_pool and not cluster_name:
        errors.append("node_pool '%s' needs cluster_name: set cluster_name to the cluster's name" % node_pool)
    for option, value in (("cluster_name", cluster_name), ("node_pool", node_pool)):
        if value is not None and not _OWNER_PART_RE.match(value):
            errors.append(
                "%s '%s' is not usable in a tag name: use 1-63 letters, digits, '-' and '_', starting with a letter "
                "or digit" % (option, value)
            )
    return errors


def is_ownership_tag(key: str) -> bool:
    return key.lower() == CLUSTER_TAG or key.lower().startswith(ROUTES_TAG_PREFIX)


def _owner_of_tag(key: str) -> Optional[str]:
    if not key.lower().startswith(ROUTES_TAG_PREFIX):
        return None
    rest = key[len(ROUTES_TAG_PREFIX):]
    parts = rest.split(".")
    if len(parts) == 2 and parts[1].isdigit():
        return parts[0]
    return rest if len(parts) == 1 else None


def records(tags: Optional[Mapping[str, str]]) -> Dict[str, List[str]]:
    """Every owner's recorded route names, keyed by owner (shards joined, sorted as written)."""
    found = {}  # type: Dict[str, List[Tuple[int, str]]]
    for key, value in (tags or {}).items():
        owner = _owner_of_tag(key)
        if owner is None:
            continue
        parts = key[len(ROUTES_TAG_PREFIX):].split(".")
        shard = int(parts[1]) if len(parts) == 2 else 1
        found.setdefault(owner, []).append((shard, value or ""))
    result = {}
    for owner, shards in found.items():
        names = []  # type: List[str]
        for _shard, value in sorted(shards):
            names.extend(n for n in value.split(",") if n)
        result[owner] = names
    return result


def owned_by(tags: Optional[Mapping[str, str]], owner: str) -> Set[str]:
    """Lower-case route names recorded for ``owner`` (owner names compare case-insensitively)."""
    names = set()  # type: Set[str]
    for key, value in records(tags).items():
        if key.lower() == owner.lower():
            names.update(n.lower() for n in value)
    return names


def owned_by_others(tags: Optional[Mapping[str, str]], owner: Optional[str]) -> Dict[str, str]:
    """Lower-case route name -> the other owner that recorded it."""
    others = {}  # type: Dict[str, str]
    for key, names in records(tags).items():
        if owner is not None and key.lower() == owner.lower():
            continue
        for name in names:
            others[name.lower()] = key
    return others


def record_tags(owner: str, names: Iterable[str]) -> Dict[str, str]:
    """The tags recording ``names`` for ``owner``: values of at most 256 characters, first one unsuffixed."""
    values = []  # type: List[str]
    current = ""
    for name in sorted(set(names), key=lambda n: n.lower()):
        candidate = name if not current else current + "," + name
        if len(candidate) > MAX_TAG_VALUE:
            values.append(current)
            current = name
        else:
            current = candidate
    if current:
        values.append(current)
    tags = {}
    for index, value in enumerate(values):
        key = ROUTES_TAG_PREFIX + owner + ("" if index == 0 else ".%d" % (index + 1))
        tags[key] = value
    return tags


def with_record(tags: Mapping[str, str], owner: str, names: Iterable[str], cluster_name: Optional[str]) -> Dict[str, str]:
    """``tags`` with ``owner``'s record replaced by ``names`` (dropped when empty) and the cluster tag set if absent."""
    result = dict((k, v) for k, v in tags.items() if _owner_of_tag(k) is None or _owner_of_tag(k).lower() != owner.lower())
    result.update(record_tags(owner, names))
    if cluster_name and not any(k.lower() == CLUSTER_TAG for k in result):
        result[CLUSTER_TAG] = cluster_name
    return result


def cluster_of(tags: Optional[Mapping[str, str]]) -> Optional[str]:
    for key, value in (tags or {}).items():
        if key.lower() == CLUSTER_TAG:
            return value
    return None


def record_errors(table_name: str, owner: str, tags: Mapping[str, str]) -> List[str]:
    """Azure's 50-tag limit, checked on the tags the PUT would send."""
    if len(tags) <= MAX_TAGS:
        return []
    mine = sum(1 for k in tags if (_owner_of_tag(k) or "").lower() == owner.lower())
    return [
        "route table '%s' would carry %d tags (%d of them record the routes of '%s', 256 characters of route names "
        "each) but Azure allows %d tags per resource; remove other tags from the table, use shorter node names, or "
        "give this node pool its own route table (name)" % (table_name, len(tags), mine, owner, MAX_TAGS)
    ]


def same_routes(first: Mapping[str, object], second: Mapping[str, object]) -> bool:
    """Same route names in two reads of one table (what a teardown decided on is still what is there)."""

    def names(table: Mapping[str, object]) -> List[str]:
        props = table.get("properties") or {}
        return sorted(str(r.get("name") or "").lower() for r in props.get("routes") or [])  # type: ignore[union-attr]

    return names(first) == names(second)


def ownership_report(tags: Optional[Mapping[str, str]], route_names: Iterable[str]) -> Dict[str, object]:
    """Who owns which route of a table, as azure_udr_routes_info returns it.

    ``cluster``: the table's cluster tag (None if unmarked); ``owners``: each owner's
    recorded route names; ``route_owners``: route name -> its owner, None for a foreign
    route (one no record names: the cloud provider's, a hand-made one...); ``foreign_routes``
    those names, in table order.
    """
    recorded = records(tags)
    owner_of = {}  # type: Dict[str, str]
    for owner in sorted(recorded, key=str.lower):
        for name in recorded[owner]:
            owner_of.setdefault(name.lower(), owner)
    names = list(route_names)
    route_owners = {name: owner_of.get(name.lower()) for name in names}
    return {
        "cluster": cluster_of(tags),
        "owners": {owner: sorted(recorded[owner], key=str.lower) for owner in recorded},
        "route_owners": route_owners,
        "foreign_routes": [name for name in names if route_owners[name] is None],
    }
