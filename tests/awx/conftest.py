# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Azure stand-in's fixtures (azure_emulator, azure_env, ...) for the tests here, which use them.

Imported by name rather than listed in ``pytest_plugins``: pytest accepts ``pytest_plugins``
only in the root conftest, and the unit tests (also run by ``ansible-test units``) do not
need the stand-in at all.
"""

from azure_emulator.pytest_plugin import azure_emulator, azure_emulator_server, azure_env, pytest_configure  # noqa: F401 pylint: disable=unused-import
