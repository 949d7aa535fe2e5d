# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the read-only contracts (``shared/``: Microsoft's REST examples, Calico's manifests) are.

They live beside the checkout, never in it: ``<checkout>/../shared``. A git worktree's
checkout may sit elsewhere than the repository it belongs to, so the main worktree's
``../shared`` is the second place looked at. ``CALICO_AZURE_SHARED`` overrides both.

A missing contract is an error, not a skip: a test that silently skips when its input
is absent passes on a machine where it tested nothing.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ENV_VAR = "CALICO_AZURE_SHARED"
CHECKOUT = Path(__file__).resolve().parents[2]


class SharedContractMissing(RuntimeError):
    """The shared/ directory (or a part a test needs) is not where it should be."""


def _main_worktree() -> Path | None:
    """The main worktree of the checkout's repository (itself unless this is a linked worktree)."""
    try:
        common = subprocess.run(
            ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
            cwd=CHECKOUT, check=True, capture_output=True, text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return Path(common).parent if common else None


def candidates() -> list[Path]:
    """The places looked at, in order."""
    if os.environ.get(ENV_VAR):
        return [Path(os.environ[ENV_VAR])]
    places = [CHECKOUT.parent / "shared"]
    main = _main_worktree()
    if main is not None and main.parent / "shared" not in places:
        places.append(main.parent / "shared")
    return places


def shared_dir(*parts: str) -> Path:
    """``shared/<parts...>``; raises SharedContractMissing naming every place looked at."""
    looked = []
    for base in candidates():
        path = base.joinpath(*parts)
        if path.exists():
            return path
        looked.append(str(path))
    raise SharedContractMissing(
        "the shared contract %s is missing: looked at %s. Put shared/ beside the checkout or set %s."
        % ("/".join(parts) or "directory", ", ".join(looked), ENV_VAR)
    )
