# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the read-only contracts live: ``../shared`` next to the checkout, or ``$CALICO_AZURE_SHARED``.

A missing contract is an error, never a skip: a contract test that cannot find
Microsoft's examples must fail, or it proves nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]


def shared_root() -> Path:
    configured = os.environ.get("CALICO_AZURE_SHARED")
    root = Path(configured) if configured else CHECKOUT.parent / "shared"
    if not (root / "azure-rest-examples").is_dir():
        raise RuntimeError(
            f"the shared contracts are missing: {root / 'azure-rest-examples'} does not exist. Put the read-only "
            f"'shared' directory next to the checkout ({CHECKOUT.parent}) or set CALICO_AZURE_SHARED to it."
        )
    return root


def rest_examples() -> Path:
    return shared_root() / "azure-rest-examples"
