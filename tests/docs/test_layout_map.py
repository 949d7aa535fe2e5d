# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The developer guide's map and the tree agree.

The map (the first code block of docs/developer-guide.md) must name every file under
``plugins/`` and ``roles/*/tasks/``, every directory directly under ``tests/`` and every
top-level entry (dot-files aside), and everything it names must exist. The tree is what git
sees: tracked files plus untracked ones that are not ignored, so a new file fails the test
before it is committed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = REPO_ROOT / "docs" / "developer-guide.md"
# An entry's name starts within the first 24 columns; deeper text continues a description.
ENTRY_COLUMNS = 24


def map_entries(text: str) -> set[str]:
    """The paths the map names (directories end with '/'), from its indentation."""
    block = re.search(r"^```\n(.*?)^```", text, re.S | re.M)
    assert block, "docs/developer-guide.md has no map (a ``` block)"
    entries: set[str] = set()
    stack: list[tuple[int, str]] = []  # (indent, directory path)
    for line in block.group(1).splitlines():
        indent = len(line) - len(line.lstrip(" "))
        if not line.strip() or indent >= ENTRY_COLUMNS:
            continue
        name = line.split()[0]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = (stack[-1][1] if stack else "") + name
        entries.add(path)
        if name.endswith("/"):
            stack.append((indent, path))
            # "udr/tasks/" names udr/ as well.
            parts = path.rstrip("/").split("/")
            entries.update("/".join(parts[:i]) + "/" for i in range(1, len(parts)))
    return entries


def tree_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT, check=True, capture_output=True,
    ).stdout.decode()
    return sorted(f for f in set(out.split("\0")) if f and (REPO_ROOT / f).exists())


def required_entries(files: list[str]) -> set[str]:
    """What the map must name, given the tree's files."""
    wanted = set()
    for path in files:
        parts = path.split("/")
        if parts[0].startswith("."):
            if len(parts) > 1:
                wanted.add(parts[0] + "/")
            continue
        wanted.add(parts[0] + ("/" if len(parts) > 1 else ""))
        if parts[0] == "plugins":
            wanted.add(path)
        elif parts[0] == "roles" and len(parts) == 4 and parts[2] == "tasks":
            wanted.add(path)
        elif parts[0] == "tests" and len(parts) > 2:
            wanted.add(f"tests/{parts[1]}/")
    # The dot-directories are local state or tooling, except .ci (what CI runs).
    return {w for w in wanted if not w.startswith(".") or w == ".ci/"}


def missing_and_stale(entries: set[str], files: list[str]) -> tuple[list[str], list[str]]:
    existing = set(files) | {"/".join(f.split("/")[:i]) + "/" for f in files for i in range(1, f.count("/") + 1)}
    missing = sorted(required_entries(files) - entries)
    stale = sorted(e for e in entries if e not in existing)
    return missing, stale


def test_the_map_names_every_file_and_only_files_that_exist() -> None:
    missing, stale = missing_and_stale(map_entries(GUIDE.read_text(encoding="utf-8")), tree_files())
    assert missing == [], "add these to the map in docs/developer-guide.md"
    assert stale == [], "the map names these, which do not exist"


def test_a_new_file_without_an_entry_fails() -> None:
    entries = map_entries(GUIDE.read_text(encoding="utf-8"))
    files = tree_files()
    for new in ("plugins/modules/azure_new.py", "plugins/module_utils/_udr/extra.py",
                "roles/udr/tasks/extra.yml", "tests/newsuite/test_x.py", "NEWS.md"):
        missing, _stale = missing_and_stale(entries, files + [new])
        assert new in missing or new.rsplit("/", 1)[0] + "/" in missing, new
    # Files below the listed granularity need no entry of their own.
    for deep in ("tests/unit/udr/test_more.py", "docs/more.md", "roles/udr/defaults/other.yml"):
        assert missing_and_stale(entries, files + [deep])[0] == [], deep


def test_the_parser_reads_nesting_and_continuations() -> None:
    text = "```\na/  x\n  b.py  y\n" + " " * ENTRY_COLUMNS + "continued z.py\n  c/d/\n    e.yml\nf.md\n```\n"
    assert map_entries(text) == {"a/", "a/b.py", "a/c/", "a/c/d/", "a/c/d/e.yml", "f.md"}
