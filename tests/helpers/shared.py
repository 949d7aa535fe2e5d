# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the read-only contracts (../shared next to the checkout) are; a missing one fails loudly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[2]


def shared_dir(*parts: str) -> Path:
    """``$CALICO_AZURE_SHARED`` or ``<checkout>/../shared``, joined with ``parts``; fails the test when absent."""
    root = Path(os.environ.get("CALICO_AZURE_SHARED") or CHECKOUT.parent / "shared")
    path = root.joinpath(*parts)
    if not path.exists():
        pytest.fail(
            "the contract %s is missing: these tests read Calico's manifests from ../shared next to the checkout "
            "(or set CALICO_AZURE_SHARED to that directory)" % path,
            pytrace=False,
        )
    return path
