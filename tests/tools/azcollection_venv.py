# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A virtualenv with azure.azcollection and its Python requirements, beside the main venv.

azure.azcollection pins many azure-mgmt-* packages (its requirements.txt) at versions that
clash with the main venv's newer SDKs, so it gets its own venv under ``.cache/azcollection``:

    python tests/tools/azcollection_venv.py        # prints the venv's python and collections path

The collection comes from the ``ansible`` community package on PyPI (Galaxy is unreachable),
as tests/tools/install_collections.py does for kubernetes.core: ``ansible`` 12.3.0 carries
azure.azcollection 3.12.0. The venv's ansible-core is the main venv's major. A venv already
made from the same requirements is kept (``.installed`` holds what it was made from).

Used by tests/integration/peer_clients (azcollection's modules against the Azure stand-in)
and by the benchmarks that compare them with calico.azure's (``make azcollection-venv``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import install_collections  # noqa: E402  pylint: disable=wrong-import-position

REPO = HERE.parents[1]
ROOT = REPO / ".cache" / "azcollection"
VENV = ROOT / "venv"
COLLECTIONS = ROOT / "collections"
COLLECTION = COLLECTIONS / "ansible_collections" / "azure" / "azcollection"
PYTHON = VENV / "bin" / "python"
# The main venv's ansible-core major (tests/requirements.txt caps it the same way).
ANSIBLE_CORE = "ansible-core>=2.19.0,<2.20.0"


def main_python() -> Path:
    python = REPO / ".venv" / "bin" / "python"
    return python if python.exists() else Path(sys.executable)


def ensure() -> dict:
    install_collections.install(["azure.azcollection"], COLLECTIONS, REPO / ".cache" / "wheels")
    requirements = COLLECTION / "requirements.txt"
    spec = f"{ANSIBLE_CORE} {hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]}"
    stamp = VENV / ".installed"
    if not stamp.exists() or stamp.read_text() != spec:
        if VENV.exists():
            shutil.rmtree(VENV)
        base = subprocess.run(
            [str(main_python()), "-c", "import sys; print(sys._base_executable)"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
        subprocess.run([base, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             ANSIBLE_CORE, "-r", str(requirements)],
            check=True,
        )
        stamp.write_text(spec)
    version = json.loads((COLLECTION / "MANIFEST.json").read_text())["collection_info"]["version"]
    return {"python": str(PYTHON), "collections_path": str(COLLECTIONS), "azcollection": version,
            "ansible_playbook": str(VENV / "bin" / "ansible-playbook")}


if __name__ == "__main__":
    print(json.dumps(ensure(), indent=2))
