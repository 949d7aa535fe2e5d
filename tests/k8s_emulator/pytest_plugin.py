# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""pytest fixtures for the Kubernetes API stand-in (auto-registered by tests/conftest.py).

- ``k8s_emulator``: a started :class:`~k8s_emulator.Emulator` reset for each test (one
  server per session/xdist worker). Seed: ``seeds/default.yml``, or
  ``@pytest.mark.k8s_seed(...)`` with a file name under seeds/, a path or a dict.
- ``kubeconfig``: the path of its admin kubeconfig.
"""

from __future__ import annotations

import pytest

from .emulator import Emulator
from .seed import SEEDS_DIR

DEFAULT_SEED = SEEDS_DIR / "default.yml"


def pytest_configure(config):
    config.addinivalue_line("markers", "k8s_seed(seed): seed for the k8s_emulator fixture (file name, path or dict)")


@pytest.fixture(scope="session")
def k8s_emulator_server():
    with Emulator(seed=DEFAULT_SEED) as emu:
        yield emu


@pytest.fixture
def k8s_emulator(k8s_emulator_server, request):
    marker = request.node.get_closest_marker("k8s_seed")
    k8s_emulator_server.reset(marker.args[0] if marker else DEFAULT_SEED)
    yield k8s_emulator_server


@pytest.fixture
def kubeconfig(k8s_emulator) -> str:
    return k8s_emulator.kubeconfig
