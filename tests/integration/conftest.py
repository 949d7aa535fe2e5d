# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The stand-ins' fixtures (azure_emulator, azure_env, k8s_emulator, kubeconfig, ...) for the tests here.

Imported by name rather than listed in ``pytest_plugins``: pytest accepts ``pytest_plugins``
only in the root conftest, and the unit tests (also run by ``ansible-test units``) do not
need the stand-in at all.
"""

from azure_emulator import pytest_plugin as _azure_plugin
from azure_emulator.pytest_plugin import azure_emulator, azure_emulator_server, azure_env  # noqa: F401 pylint: disable=unused-import
from k8s_emulator import pytest_plugin as _k8s_plugin
from k8s_emulator.pytest_plugin import k8s_emulator, k8s_emulator_server, kubeconfig  # noqa: F401 pylint: disable=unused-import


def pytest_configure(config):
    # Both plugins register their seed markers.
    _azure_plugin.pytest_configure(config)
    _k8s_plugin.pytest_configure(config)
