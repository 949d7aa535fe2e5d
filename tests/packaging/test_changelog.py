# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Changelog fragments lint, and a release's notes generate (in a throwaway copy).

``antsibull-changelog release`` rewrites changelogs/ and deletes the fragments, so it runs on
a copy of what git sees; the checkout is never touched.
"""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

import pytest
import yaml
from pkgtest_support import BIN_DIR, REPO_ROOT, git_visible_files, run, tool


def galaxy_version() -> str:
    return str(yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())["version"])


def module_version_added(path: Path) -> str | None:
    """version_added from a module's DOCUMENTATION, read without importing the module."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "DOCUMENTATION" for t in node.targets):
            return str((yaml.safe_load(ast.literal_eval(node.value)) or {}).get("version_added"))
    return None


def role_version_added(path: Path) -> str | None:
    """version_added of a role's main entry point (meta/argument_specs.yml)."""
    specs = (yaml.safe_load(path.read_text()) or {}).get("argument_specs", {})
    main = specs.get("main") or {}
    return str(main["version_added"]) if "version_added" in main else None


def changelog_env() -> dict[str, str]:
    env = dict(os.environ)
    # antsibull-changelog finds plugins by running ansible-doc, which must be the venv's.
    env["PATH"] = os.pathsep.join([str(BIN_DIR), env.get("PATH", "")])
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    return env


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    root = tmp_path / "calico.azure"
    for rel in git_visible_files(REPO_ROOT):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, root / rel)
    return root


def test_fragments_lint() -> None:
    run([tool("antsibull-changelog"), "lint"], cwd=REPO_ROOT, env=changelog_env())


def test_release_notes_generate_with_every_fragment_and_new_module(copy: Path) -> None:
    version = galaxy_version()
    fragments_dir = copy / "changelogs" / "fragments"
    fragments = {}
    for path in sorted(fragments_dir.glob("*.y*ml")):
        fragments[path.name] = yaml.safe_load(path.read_text()) or {}

    run([tool("antsibull-changelog"), "release", "--version", version], cwd=copy, env=changelog_env())

    changes = yaml.safe_load((copy / "changelogs" / "changelog.yaml").read_text())
    release = changes["releases"][version]
    notes = (copy / "CHANGELOG.md").read_text()
    # The Markdown writer escapes the dots of the version heading.
    assert f"## v{version}".replace(".", "\\.") in notes

    # Every non-trivial fragment entry is in the release, in its section.
    for name, sections in fragments.items():
        for section, entries in sections.items():
            if section == "trivial":
                continue
            recorded = release.get("changes", {}).get(section, [])
            for entry in entries if isinstance(entries, list) else [entries]:
                assert entry in recorded, f"{name}: {section} entry missing from the release"

    # Modules and roles whose version_added is this release are announced as new.
    new_modules = {p.stem for p in (copy / "plugins" / "modules").glob("*.py")
                   if p.name != "__init__.py" and module_version_added(p) == version}
    assert {m["name"] for m in release.get("modules", [])} == new_modules
    new_roles = {p.parent.parent.name for p in (copy / "roles").glob("*/meta/argument_specs.yml")
                 if role_version_added(p) == version}
    assert {r["name"] for r in release.get("objects", {}).get("role", [])} == new_roles
    if new_modules:
        assert "New Modules" in notes
