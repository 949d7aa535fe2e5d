# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A virtualenv with azure.azcollection and its Python requirements, beside the main venv.

azure.azcollection pins many azure-mgmt-* packages (its requirements.txt) at versions that
clash with the main venv's newer SDKs, so it gets its own venv under ``.cache/azcollection``:

    python tests/tools/azcollection_venv.py        # prints the venv's python and collections path

The collection comes from the ``ansible`` community package on PyPI (Galaxy is unreachable),
as tests/tools/install_collections.py does for kubernetes.core, but from a newer release:
``ansible`` 14.5.0 carries azure.azcollection 3.21.0. The main venv's ``ansible`` 12.3.0 has
3.12.0, whose ``cloud_environment`` cannot name a custom cloud at all (it calls an
azure-cli-core function that its own pinned azure-cli-core no longer has:
ansible-collections/azure#2157), so it could not reach the stand-in or Azure Stack. ``ansible``
14 needs Python 3.12, so the venv is made with Python 3.12 (found on PATH or under pyenv);
its modules run with that Python from the main venv's ansible-core controller (2.19 supports
3.12 targets). A venv already made from the same requirements is kept (``.installed``).

Used by tests/integration/peer_clients (azcollection's modules against the Azure stand-in)
and by the benchmarks that compare them with calico.azure's (``make azcollection-venv``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / ".cache" / "azcollection"
VENV = ROOT / "venv"
COLLECTIONS = ROOT / "collections"
COLLECTION = COLLECTIONS / "ansible_collections" / "azure" / "azcollection"
PYTHON = VENV / "bin" / "python"
ANSIBLE_PACKAGE = "ansible==14.5.0"
VENV_PYTHON = "3.12"
WHEELS = ROOT / "wheels"


def base_python(version: str = VENV_PYTHON) -> str:
    """A runnable pythonX.Y: PATH first, then pyenv's versions."""
    candidates = [shutil.which("python" + version)]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path("~/.pyenv").expanduser()))
    candidates += sorted(str(p) for p in pyenv_root.glob("versions/%s.*/bin/python%s" % (version, version)))
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                               capture_output=True, text=True, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    raise SystemExit("azcollection venv: no Python %s here (ansible %s needs it)" % (version, ANSIBLE_PACKAGE))


def install_collection(python: str) -> str:
    """Extract azure.azcollection from the ansible wheel; returns its version."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    version = ANSIBLE_PACKAGE.split("==")[1]
    wheels = sorted(WHEELS.glob("ansible-%s-*.whl" % version))
    if not wheels:
        subprocess.run([python, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(WHEELS), ANSIBLE_PACKAGE],
                       check=True)
        wheels = sorted(WHEELS.glob("ansible-%s-*.whl" % version))
    prefix = "ansible_collections/azure/azcollection/"
    with zipfile.ZipFile(wheels[-1]) as archive:
        manifest = json.loads(archive.read(prefix + "MANIFEST.json"))
        wanted = manifest["collection_info"]["version"]
        installed = COLLECTION / "MANIFEST.json"
        if not installed.is_file() or json.loads(installed.read_text())["collection_info"]["version"] != wanted:
            shutil.rmtree(COLLECTION, ignore_errors=True)
            for member in archive.namelist():
                if member.startswith(prefix) and not member.endswith("/"):
                    archive.extract(member, COLLECTIONS)
    return wanted


def stand_in_environment(emu, config_dir: str) -> dict:
    """What azcollection 3.21's users set to reach a cloud that is not built in, for the Azure stand-in.

    ``emu.env()`` (the credential as AWX injects it) plus: azure-cli-core loads its clouds from
    ``ARM_CLOUD_METADATA_URL`` (the stand-in's cloud metadata); ``AZURE_CLOUD_ENVIRONMENT`` names
    one of them by its ARM endpoint (azcollection 3.21 matches a URL against the loaded clouds'
    ``resourceManager``, it no longer fetches metadata itself); MSAL must not ask
    login.microsoftonline.com about an authority it does not know
    (``AZURE_DISABLE_INSTANCE_DISCOVERY``); urllib (the metadata fetch) trusts ``SSL_CERT_FILE``
    as requests trusts ``REQUESTS_CA_BUNDLE``. azure-cli-core caches the clouds it loaded in
    ``AZURE_CONFIG_DIR``: give each stand-in its own (its port differs per session).
    """
    env = dict(emu.env())
    env.update({
        "ARM_CLOUD_METADATA_URL": emu.metadata_url,
        "AZURE_CLOUD_ENVIRONMENT": emu.base_url + "/",
        "AZURE_DISABLE_INSTANCE_DISCOVERY": "true",
        "SSL_CERT_FILE": emu.ca_file,
        "AZURE_CONFIG_DIR": config_dir,
        "ANSIBLE_PYTHON_INTERPRETER": str(PYTHON),
    })
    return env


def main_python() -> Path:
    python = REPO / ".venv" / "bin" / "python"
    return python if python.exists() else Path(sys.executable)


def ensure() -> dict:
    python = base_python()
    version = install_collection(python)
    requirements = COLLECTION / "requirements.txt"
    spec = "%s %s" % (ANSIBLE_PACKAGE, hashlib.sha256(requirements.read_bytes()).hexdigest()[:12])
    stamp = VENV / ".installed"
    if not stamp.exists() or stamp.read_text() != spec:
        if VENV.exists():
            shutil.rmtree(VENV)
        subprocess.run([python, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-r", str(requirements)], check=True)
        stamp.write_text(spec)
    return {"python": str(PYTHON), "collections_path": str(COLLECTIONS), "azcollection": version}


if __name__ == "__main__":
    print(json.dumps(ensure(), indent=2))
