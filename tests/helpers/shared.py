# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where the read-only contracts (``shared/``: Microsoft's REST examples, Calico's manifests) are.

They live beside the checkout, never in it: ``<checkout>/../shared``. A git worktree's
checkout may sit elsewhere than the repository it belongs to, so the main worktree's
``../shared`` is the second place looked at. The copy tests/sanity/run.py makes for
ansible-test (under the checkout's ``.cache``, run with a filtered environment) looks where
the checkout it was copied from looks. ``CALICO_AZURE_SHARED`` overrides them all.

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


def _main_worktree(checkout: Path) -> Path | None:
    """The main worktree of the checkout's repository (itself unless this is a linked worktree)."""
    try:
        common = subprocess.run(
            ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"],
            cwd=checkout, check=True, capture_output=True, text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return Path(common).parent if common else None


def candidates() -> list[Path]:
    """The places looked at, in order."""
    if os.environ.get(ENV_VAR):
        return [Path(os.environ[ENV_VAR])]
    checkouts = [CHECKOUT]
    if ".cache" in CHECKOUT.parts:  # a copy under a checkout's .cache: that checkout too
        checkouts.append(Path(*CHECKOUT.parts[:CHECKOUT.parts.index(".cache")]))
    places: list[Path] = []
    for checkout in checkouts:
        main = _main_worktree(checkout)
        for place in (checkout.parent / "shared", main.parent / "shared" if main else None):
            if place is not None and place not in places:
                places.append(place)
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
