# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install the collections calico.azure depends on into a collections tree, offline from Galaxy.

Galaxy is not reachable from the machines this project runs on; PyPI is. The
``ansible`` community package on PyPI carries a released copy of every
collection of the Ansible package, so this script downloads that one wheel
(no dependencies) and extracts the collections asked for:

    python tests/tools/install_collections.py --dest .cache/collections kubernetes.core

A collection already extracted at the wanted version is left alone.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

# The community package whose collection copies are used (pip resolves it for the
# running Python; 12.x supports Python 3.11 and ansible-core 2.19).
ANSIBLE_PACKAGE = "ansible==12.3.0"


def _wheel(cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob("ansible-*.whl"))
    wanted = ANSIBLE_PACKAGE.split("==")[1]
    for wheel in wheels:
        if wheel.name.startswith("ansible-%s-" % wanted):
            return wheel
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", str(cache), ANSIBLE_PACKAGE],
        check=True,
    )
    return next(w for w in cache.glob("ansible-%s-*.whl" % wanted))


def _installed_version(path: Path) -> str:
    manifest = path / "MANIFEST.json"
    if not manifest.is_file():
        return ""
    return json.loads(manifest.read_text())["collection_info"]["version"]


def install(names: list[str], dest: Path, cache: Path) -> None:
    wheel = _wheel(cache)
    with zipfile.ZipFile(wheel) as archive:
        members = archive.namelist()
        for name in names:
            namespace, collection = name.split(".")
            prefix = "ansible_collections/%s/%s/" % (namespace, collection)
            manifest = json.loads(archive.read(prefix + "MANIFEST.json"))
            version = manifest["collection_info"]["version"]
            target = dest / "ansible_collections" / namespace / collection
            if target.is_symlink():
                raise SystemExit("%s is a link (a checkout?): refusing to replace it" % target)
            if _installed_version(target) == version:
                continue
            shutil.rmtree(target, ignore_errors=True)
            for member in members:
                if member.startswith(prefix) and not member.endswith("/"):
                    archive.extract(member, dest)
            print("installed %s %s into %s" % (name, version, dest))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, required=True, help="collections path (holds ansible_collections/)")
    parser.add_argument("--cache", type=Path, default=Path(".cache/wheels"), help="where the wheel is kept")
    parser.add_argument("collections", nargs="+", help="namespace.name")
    args = parser.parse_args()
    install(args.collections, args.dest, args.cache)


if __name__ == "__main__":
    main()
