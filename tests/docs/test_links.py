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
    for kind in ("action", "lookup"):
        names |= {p.stem for p in (REPO_ROOT / "plugins" / kind).glob("*.py") if p.stem != "__init__"}
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


ROLE_PREFIXES = {"udr": "udr", "calico_node": "calico_node", "cloud_provider_config": "cloud_provider_config"}


def _role_options() -> set[str]:
    """Options of the roles' argument specs, plus per-host variables the roles read (hostvars[node].udr_vm_name)."""
    import yaml

    names: set[str] = set()
    for path in (REPO_ROOT / "roles").glob("*/vars/*.yml"):
        names |= set(re.findall(r"hostvars\[[^\]]+\]\.([a-z0-9_]+)", path.read_text()))
    for role in (REPO_ROOT / "roles").iterdir():
        specs = role / "meta" / "argument_specs.yml"
        if specs.exists():
            for entry in (yaml.safe_load(specs.read_text()) or {}).get("argument_specs", {}).values():
                names |= set((entry or {}).get("options") or {})
    return names


def _shared_variables() -> set[str]:
    """calico_azure_* variables: defaults of the roles' variables, read by site.yml and the example inventory."""
    sources = list((REPO_ROOT / "roles").glob("*/defaults/main.yml")) + list((REPO_ROOT / "playbooks").rglob("*.yml"))
    return {name for path in sources for name in re.findall(r"\bcalico_azure_[a-z0-9_]+", path.read_text())}


@pytest.mark.parametrize("doc", [d for d in DOCS if d.exists() and d.name != "developer-guide.md"], ids=lambda d: d.name)
def test_every_role_variable_the_docs_name_exists(doc: Path):
    text = doc.read_text(encoding="utf-8")
    pattern = r"(?<![\w.])((?:%s)_[a-z0-9_]*[a-z0-9])\b" % "|".join(ROLE_PREFIXES)
    named = {n for n in re.findall(pattern, text) if not n.startswith("__")}
    # module and role names share the prefixes; they are checked above
    named -= {"udr_routes", "calico_node_backend"}
    unknown = sorted(named - _role_options())
    assert unknown == [], f"{doc.name} names role variables the roles neither define nor read: {unknown}"
    shared = set(re.findall(r"\bcalico_azure_[a-z0-9_]+", text)) - {"calico_azure_nodes"}  # the group name
    unknown_shared = sorted(shared - _shared_variables())
    assert unknown_shared == [], f"{doc.name} names calico_azure_* variables nothing reads: {unknown_shared}"
