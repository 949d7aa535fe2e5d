# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Galaxy tarball: what goes in, and that the installed collection documents itself.

Expected contents are derived from the tree (git's view of it, modules under
plugins/modules, roles under roles/), so the tests stay right as content lands.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
import tarfile
from pathlib import Path

import pytest
import yaml
from pkgtest_support import VISIBLE_AT_BUILD, REPO_ROOT, ansible_env, build, git_visible_files, run, tool

# What ansible-galaxy itself never packs (ansible/galaxy/collection/__init__.py), on top of
# galaxy.yml's build_ignore.
GALAXY_DEFAULT_IGNORES = ["MANIFEST.json", "FILES.json", "galaxy.yml", "galaxy.yaml", ".git", "*.pyc",
                          "*.retry", "tests/output", "calico-azure-*.tar.gz"]
GALAXY_IGNORED_DIR_NAMES = {"CVS", ".bzr", ".hg", ".git", ".svn", "__pycache__", ".tox"}
# Local state by name, wherever it sits: none of it may ever ship.
LOCAL_STATE_NAMES = {".venv", "venv", ".cache", "__pycache__", ".pytest_cache", ".hypothesis", ".ansible",
                     ".git", ".tox", ".molecule"}


def tarball_files(path: Path) -> set[str]:
    with tarfile.open(path) as tar:
        return {m.name for m in tar.getmembers() if m.isfile()}


def build_ignore_patterns() -> list[str]:
    galaxy = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())
    return GALAXY_DEFAULT_IGNORES + list(galaxy.get("build_ignore") or [])


def galaxy_ignores(rel: str, patterns: list[str]) -> bool:
    """Whether ansible-galaxy's walk skips `rel`: a pattern matches it or one of its directories."""
    parts = rel.split("/")
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        if depth < len(parts) and parts[depth - 1] in GALAXY_IGNORED_DIR_NAMES:
            return True
        if any(fnmatch.fnmatch(prefix, pattern) for pattern in patterns):
            return True
    return False


def modules_in_tree() -> set[str]:
    return {f"calico.azure.{p.stem}" for p in (REPO_ROOT / "plugins" / "modules").glob("*.py")
            if p.name != "__init__.py"}


def roles_in_tree() -> set[str]:
    roles = REPO_ROOT / "roles"
    return {f"calico.azure.{p.name}" for p in roles.iterdir()
            if p.is_dir() and ((p / "tasks").is_dir() or (p / "meta").is_dir())} if roles.is_dir() else set()


def ansible_doc(collections_dir: Path, *args: str) -> dict:
    result = run([tool("ansible-doc"), "--json", *args], env=ansible_env(collections_dir), cwd=collections_dir)
    return json.loads(result.stdout)


# --- contents ------------------------------------------------------------------------------------


def test_tarball_holds_exactly_the_collection_files_git_sees(tarball: Path, pytestconfig: pytest.Config) -> None:
    patterns = build_ignore_patterns()
    expected = {rel for rel in pytestconfig.stash[VISIBLE_AT_BUILD] if not galaxy_ignores(rel, patterns)}
    shipped = tarball_files(tarball) - {"MANIFEST.json", "FILES.json"}
    extra = sorted(shipped - expected)
    assert not extra, f"shipped although git ignores them (local state?): {extra}"
    missing = sorted(expected - shipped)
    assert not missing, f"collection files missing from the tarball: {missing}"


def test_tarball_carries_no_local_state(tarball: Path) -> None:
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    offending = [n for n in names
                 if LOCAL_STATE_NAMES & set(n.split("/")) or n.startswith("tests/output")
                 or n.endswith((".pyc", ".tar.gz"))]
    assert not offending, f"local state in the tarball: {offending}"


def plant(root: Path, pattern: str, nested_in: str) -> list[str]:
    """Create files that the .gitignore line `pattern` ignores, at the root and (unanchored) nested."""
    name = pattern.rstrip("/").lstrip("/")
    concrete = name.replace("**", "planted").replace("*", "planted")
    anchored = pattern.startswith("/") or "/" in name
    bases = [""] if anchored else ["", nested_in + "/"]
    planted = []
    for base in bases:
        rel = base + (concrete + "/planted.txt" if pattern.endswith("/") else concrete)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("local state, must not ship\n")
        planted.append(rel)
    return planted


def test_build_leaves_out_everything_gitignore_calls_local_state(tmp_path: Path) -> None:
    """A tree full of venvs, caches and test output (every .gitignore line, at the root and
    nested) still builds a tarball with none of it: build_ignore covers what .gitignore does."""
    source = tmp_path / "src" / "calico" / "azure"
    for rel in git_visible_files(REPO_ROOT):
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, source / rel)
    shutil.copy2(REPO_ROOT / "galaxy.yml", source / "galaxy.yml")
    lines = [line.strip() for line in (REPO_ROOT / ".gitignore").read_text().splitlines()]
    planted = []
    for line in lines:
        if line and not line.startswith(("#", "!")):
            planted += plant(source, line, nested_in="tests/unit")
    run(["git", "init", "--quiet", str(source)])
    ignored = set(filter(None, run(["git", "ls-files", "-z", "--others", "--ignored", "--exclude-standard"],
                                   cwd=source).stdout.split("\0")))
    assert set(planted) <= ignored, f"planting went wrong: git does not ignore {sorted(set(planted) - ignored)}"

    leaked = sorted(tarball_files(build(source, tmp_path / "dist")) & ignored)
    assert not leaked, f"galaxy.yml build_ignore lets local state into the tarball: {leaked}"


# --- the installed collection ------------------------------------------------------------------------


def test_ansible_doc_lists_every_module(collections_dir: Path) -> None:
    listed = set(ansible_doc(collections_dir, "-t", "module", "-l", "calico.azure"))
    assert listed == modules_in_tree()


def test_every_module_documents_itself_from_the_installed_tarball(collections_dir: Path) -> None:
    modules = sorted(modules_in_tree())
    if not modules:
        pytest.skip("no modules under plugins/modules yet")
    docs = ansible_doc(collections_dir, "-t", "module", *modules)
    for module in modules:
        doc = docs[module]["doc"]
        # Rendering needs the doc fragments packed too; an option list proves they resolved.
        assert doc["short_description"] and doc["options"], module
        assert docs[module]["examples"] and docs[module]["return"] is not None, module


def test_ansible_doc_lists_every_role(collections_dir: Path) -> None:
    listed = set(ansible_doc(collections_dir, "-t", "role", "-l", "calico.azure"))
    # A role without meta/argument_specs.yml is not listed: that makes this fail, as it should.
    assert listed == roles_in_tree()


def test_every_role_documents_its_entry_point(collections_dir: Path) -> None:
    roles = sorted(roles_in_tree())
    if not roles:
        pytest.skip("no roles under roles/ yet")
    docs = ansible_doc(collections_dir, "-t", "role", *roles)
    for role in roles:
        main = docs[role]["entry_points"].get("main")
        assert main and main.get("short_description"), f"{role} has no documented main entry point"
