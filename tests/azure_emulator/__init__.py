"""A local stand-in for Azure Resource Manager and Entra ID, speaking the real protocol over TLS.

See README.md in this directory. Public API: :class:`Emulator` (in-process),
:class:`ControlClient` (a stand-in running in another process), ``python -m azure_emulator``.
"""

from .control import ControlClient, ControlError
from .emulator import Emulator

__all__ = ["Emulator", "ControlClient", "ControlError"]
