# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A local stand-in for the Kubernetes API server, speaking its protocol over TLS.

See README.md here. Public API: :class:`Emulator`, :class:`ControlClient`, :func:`nodes_for`,
``python -m k8s_emulator``.
"""

from .control import ControlClient, ControlError
from .emulator import Emulator
from .seed import installation_crd, nodes_for, vm_provider_id, vmss_provider_id

__all__ = ["Emulator", "ControlClient", "ControlError", "nodes_for", "installation_crd", "vm_provider_id",
           "vmss_provider_id"]
