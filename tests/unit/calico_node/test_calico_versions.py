"""Which backends each Calico release accepts (sources cited in _calico_versions)."""

from __future__ import annotations

import pytest

from ansible_collections.calico.azure.plugins.module_utils._calico.versions import (
    CalicoVersionError,
    backend_support_error,
    parse_calico_version,
    supported_backends,
)


@pytest.mark.parametrize(
    "version, backends",
    [
        ("2.6", {"gobgp", "bird", "none"}),
        ("3.3", {"gobgp", "bird", "none"}),
        ("v3.3.7", {"gobgp", "bird", "none"}),
        ("3.4", {"bird", "none"}),
        ("3.5.8", {"bird", "none"}),
        ("3.6", {"bird", "none"}),
        ("3.7", {"bird", "vxlan", "none"}),
        ("v3.7.0", {"bird", "vxlan", "none"}),
        ("3.26", {"bird", "vxlan", "none"}),
        ("3.30.0-0.dev", {"bird", "vxlan", "none"}),
    ],
)
def test_backends_by_release(version, backends):
    assert supported_backends(version) == backends


def test_refusal_explains_the_release_boundary():
    message = backend_support_error("vxlan", "3.6")
    assert message.startswith("Calico 3.6 does not support CALICO_NETWORKING_BACKEND=vxlan: VXLAN arrived in Calico 3.7")
    assert message.endswith("It accepts bird, none; choose one of them or correct calico_version.")
    assert "VXLAN arrived in Calico 3.7" in backend_support_error("vxlan", "3.3")
    assert "GoBGP was dropped after 3.3" in backend_support_error("gobgp", "3.5")
    assert "GoBGP was dropped after 3.3" in backend_support_error("gobgp", "v3.28.2")
    assert backend_support_error("gobgp", "3.3") is None and backend_support_error("vxlan", "3.7") is None


def test_none_is_accepted_everywhere_and_no_version_means_no_check():
    for version in ("2.6", "3.3", "3.5", "3.7", "3.30"):
        assert backend_support_error("none", version) is None
    assert backend_support_error("gobgp", None) is None
    assert backend_support_error("gobgp", "") is None


@pytest.mark.parametrize("bad", ["latest", "3", "three.seven", "3.x", "v"])
def test_unparsable_versions(bad):
    with pytest.raises(CalicoVersionError, match="not a Calico release number"):
        parse_calico_version(bad)
