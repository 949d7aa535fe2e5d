"""pytest fixtures for the Azure stand-in (loaded by tests/integration/conftest.py and tests/awx/conftest.py).

- ``azure_emulator``: a started :class:`~azure_emulator.Emulator` reset to a fresh
  seeded state for each test (one server per session/xdist worker, reset between
  tests for speed). Seed: ``seeds/default.yml``, or ``@pytest.mark.azure_seed(...)``
  with a seed file name/path or dict. LROs announce ``Retry-After: 0`` here so tests
  do not sleep; ``emu.set_latency(retry_after=1)`` restores Azure's pacing.
- ``azure_env``: ``azure_emulator.env()``, the environment a module run needs.
"""

from __future__ import annotations

import pytest

from .emulator import Emulator
from .seed import SEEDS_DIR

DEFAULT_SEED = SEEDS_DIR / "default.yml"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "azure_seed(seed): seed for the azure_emulator fixture (file name under seeds/, a path or a dict)"
    )


@pytest.fixture(scope="session")
def azure_emulator_server():
    """The one stand-in server of this session (or xdist worker)."""
    with Emulator(seed=DEFAULT_SEED) as emu:
        yield emu


@pytest.fixture
def azure_emulator(azure_emulator_server, request):
    marker = request.node.get_closest_marker("azure_seed")
    seed = marker.args[0] if marker else DEFAULT_SEED
    azure_emulator_server.reset(seed)
    yield azure_emulator_server


@pytest.fixture
def azure_env(azure_emulator) -> dict:
    return azure_emulator.env()
