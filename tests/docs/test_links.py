"""The docs' links resolve, and the names they give users exist.

- Every relative link in README.md and docs/*.md points at a file of the
  repository, and every ``#anchor`` at a heading of the target (GitHub's
  anchor rules: lower case, punctuation dropped, spaces to hyphens).
- Every ``calico.azure.<name>`` the docs mention is a module, a role, a
  filter or the ``site`` playbook of the collection, and the user guide names
  every module and every role.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((REPO_ROOT / "docs").glob("*.md")) + [REPO_ROOT / "README.md"]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)


def github_anchor(heading: str) -> str:
    # the rendered text: code spans and emphasis markers gone (underscores in words stay)
    text = heading.strip().replace("`", "").replace("*", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    out = set()
    for match in re.finditer(r"^#{1,6}\s+(.+?)\s*#*$", text, re.M):
        anchor = github_anchor(match.group(1))
        count = seen.get(anchor, 0)
        out.add(anchor if count == 0 else f"{anchor}-{count}")
        seen[anchor] = count + 1
    return out


def links(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return [m.group(1) for m in LINK.finditer(text)]


def test_github_anchor_rules():
    assert github_anchor("Your own playbooks: module_defaults") == "your-own-playbooks-module_defaults"
    assert github_anchor('Azure: "Microsoft Azure Resource Manager" credential') == (
        "azure-microsoft-azure-resource-manager-credential"
    )
    assert github_anchor("Route table: `azure_udr_routes`, role `udr`") == "route-table-azure_udr_routes-role-udr"


@pytest.mark.parametrize("doc", [d for d in DOCS if d.exists()], ids=lambda d: d.name)
def test_relative_links_and_anchors_resolve(doc: Path):
    broken = []
    for target in links(doc):
        if re.match(r"^[a-z]+:", target):  # https:, mailto:
            continue
        file_part, _hash, anchor = target.partition("#")
        target_path = (doc.parent / file_part).resolve() if file_part else doc
        if not target_path.exists():
            broken.append(f"{target}: no file {target_path.relative_to(REPO_ROOT) if target_path.is_relative_to(REPO_ROOT) else target_path}")
            continue
        if anchor and target_path.suffix == ".md" and anchor not in anchors(target_path):
            broken.append(f"{target}: no heading with anchor #{anchor} in {target_path.name}")
    assert broken == []


def _collection_names() -> set[str]:
    names = {p.stem for p in (REPO_ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__"}
    names |= {p.name for p in (REPO_ROOT / "roles").iterdir() if p.is_dir()}
    names |= {p.stem for p in (REPO_ROOT / "plugins" / "filter").glob("*.yml")}
    names |= {p.stem for p in (REPO_ROOT / "playbooks").glob("*.yml")}
    names.add("azure")  # the action group: group/calico.azure.azure
    return names


@pytest.mark.parametrize("doc", [d for d in DOCS if d.exists()], ids=lambda d: d.name)
def test_every_calico_azure_name_in_the_docs_exists(doc: Path):
    mentioned = set(re.findall(r"(?<!ansible_collections\.)calico\.azure\.([a-z_][a-z0-9_]*)", doc.read_text(encoding="utf-8")))
    assert mentioned - _collection_names() == set()


def test_the_user_guide_names_every_module_and_role():
    guide = (REPO_ROOT / "docs" / "user-guide.md").read_text(encoding="utf-8")
    modules = {p.stem for p in (REPO_ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__"}
    roles = {p.name for p in (REPO_ROOT / "roles").iterdir() if p.is_dir()}
    missing = sorted(n for n in modules | roles if f"calico.azure.{n}" not in guide)
    assert missing == []
