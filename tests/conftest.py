"""Shared pytest set-up for every suite under tests/.

Makes two things importable without installing anything:
- ``ansible_collections.calico.azure...``: the checkout itself, through the
  collections tree the Makefile links (``.cache/collections``);
- ``azure_emulator`` and ``helpers``: the local Azure stand-in and test helpers
  that live under ``tests/``.
"""

import os
import sys
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
COLLECTIONS_DIR = REPO_ROOT / ".cache" / "collections"


def _link_collection() -> None:
    link = COLLECTIONS_DIR / "ansible_collections" / "calico" / "azure"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO_ROOT)


_link_collection()
for path in (str(TESTS_DIR), str(COLLECTIONS_DIR)):
    if path not in sys.path:
        sys.path.insert(0, path)
os.environ.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS_DIR))

# Fixtures of the stand-ins (azure_emulator, k8s_emulator, kubeconfig, ...).
pytest_plugins = [name + ".pytest_plugin" for name in ("azure_emulator", "k8s_emulator")
                  if (TESTS_DIR / name / "pytest_plugin.py").exists()]
