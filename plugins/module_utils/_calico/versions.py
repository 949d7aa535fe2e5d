# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which CALICO_NETWORKING_BACKEND values each Calico release accepts.

Pure: no Ansible, no SDK. The table comes from Calico's own documentation and
release notes (projectcalico/calico repository):

* ``v3.3/reference/node/configuration.md``: ``gobgp, bird, none`` (GoBGP was
  the experimental alternative to BIRD, projectcalico/calico-bgp-daemon).
* ``v3.4/reference/node/configuration.md`` and ``v3.6/...``: ``bird, none``;
  GoBGP is gone from the documented values from 3.4 on (the v3.5 page, quoted
  in the collection's reference notes, says the same).
* ``v3.7/reference/node/configuration.md``: ``bird, vxlan, none``, and the
  v3.7.0 release notes (30 Apr 2019, "Native support for VXLAN
  encapsulation", felix #1989, libcalico-go #1065). Every later release keeps
  ``bird, vxlan, none`` (manifests/calico-vxlan.yaml sets
  ``calico_backend: "vxlan"``).
"""

from __future__ import annotations

import re
from typing import FrozenSet, List, Optional, Tuple

ALL_BACKENDS = ("none", "bird", "vxlan", "gobgp")

# (first release the row applies to, backends accepted from that release on).
# Releases older than 3.0 behaved like 3.0-3.3 for this variable.
_BACKENDS_BY_RELEASE: List[Tuple[Tuple[int, int], FrozenSet[str]]] = [
    ((3, 7), frozenset({"bird", "vxlan", "none"})),
    ((3, 4), frozenset({"bird", "none"})),
    ((0, 0), frozenset({"gobgp", "bird", "none"})),
]

# Why a backend is missing from a release, with the source.
_WHY = {
    "vxlan": "VXLAN arrived in Calico 3.7 (v3.7.0 release notes, \"Native support for VXLAN encapsulation\"; "
    "v3.7 reference/node/configuration lists bird, vxlan, none)",
    "gobgp": "GoBGP was dropped after 3.3 (v3.3 reference/node/configuration lists gobgp, bird, none; "
    "v3.4 lists bird, none)",
}

_VERSION_RE = re.compile(r"^\s*v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+.][0-9A-Za-z.+-]*)?\s*$")


class CalicoVersionError(ValueError):
    """The version string is not a Calico release number."""


def parse_calico_version(text: str) -> Tuple[int, int]:
    """``"3.26"``, ``"v3.26.1"``, ``"3.28.0-0.dev"`` -> ``(major, minor)``."""
    match = _VERSION_RE.match(str(text))
    if not match:
        raise CalicoVersionError(
            "calico_version %r is not a Calico release number; use a form such as 3.26 or v3.26.1" % (text,)
        )
    return int(match.group(1)), int(match.group(2))


def _row_for(version: Tuple[int, int]) -> Tuple[Tuple[int, int], FrozenSet[str]]:
    for first, backends in _BACKENDS_BY_RELEASE:
        if version >= first:
            return first, backends
    raise AssertionError("the (0, 0) row matches every version")  # pragma: no cover


def supported_backends(version_text: str) -> FrozenSet[str]:
    """The backends the given Calico release accepts."""
    return _row_for(parse_calico_version(version_text))[1]


def backend_support_error(backend: str, version_text: Optional[str]) -> Optional[str]:
    """A message explaining why ``backend`` does not work with that release, or None."""
    if not version_text:
        return None
    version = parse_calico_version(version_text)
    backends = _row_for(version)[1]
    if backend in backends:
        return None
    return "Calico %d.%d does not support CALICO_NETWORKING_BACKEND=%s: %s. It accepts %s; choose one of them or correct calico_version." % (
        version[0],
        version[1],
        backend,
        _WHY.get(backend, "not a documented value"),
        ", ".join(sorted(backends)),
    )


# ---------------------------------------------------------------------------
# Policy-only conversion: which release the manifest is for, and the facts
# that differ between releases. Compared against Calico's own
# calico-policy-only.yaml of v3.5, v3.28.5 and v3.32.1 (../shared/calico-manifests).

# The releases these rules were derived from and checked against. A release
# outside this range is "unknown": it is converted only when its manifest has
# the shape the rules expect (see policy_only.py), never on the version alone.
OLDEST_KNOWN_RELEASE = (3, 0)
NEWEST_KNOWN_RELEASE = (3, 32)

# USE_POD_CIDR ("Configure route aggregation based on pod CIDR"): documented
# from v3.7 (v3.7 reference/node/configuration.md; the v3.7.0 release notes
# list host-local IPAM with usePodCidr for policy-only clusters). v3.28.5 and
# v3.32.1 calico-policy-only.yaml set it to "true"; v3.5's does not, and a
# v3.5 calico-node ignores it.
USE_POD_CIDR_SINCE = (3, 7)

# The calico/node image names a release: docker.io/calico/node:v3.28.5,
# quay.io/calico/node:v3.32.1, calico/node:v3.5.8.
_NODE_IMAGE_RE = re.compile(r"(?:^|/)calico/(?:node|cni):v?(\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?)\s*$")


def release_from_image(image: str) -> Optional[str]:
    """``"quay.io/calico/node:v3.32.1"`` -> ``"3.32.1"``; None for other images or tags."""
    match = _NODE_IMAGE_RE.search(str(image or ""))
    return match.group(1) if match else None


def release_is_known(version: Tuple[int, int]) -> bool:
    """True when the release lies in the range the policy-only rules were checked against."""
    return OLDEST_KNOWN_RELEASE <= version <= NEWEST_KNOWN_RELEASE


def sets_use_pod_cidr(version: Optional[Tuple[int, int]]) -> bool:
    """Whether that release's policy-only manifest sets USE_POD_CIDR (unknown: assume a current release)."""
    return version is None or version >= USE_POD_CIDR_SINCE
