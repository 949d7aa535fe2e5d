# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The plugin docs are complete and agree with what the code needs.

- Every RETURN value, nested ones included, has a ``sample`` (the community's docs
  standard; antsibull-docs renders it), or a ``contains`` whose values have one.
- Every doc fragment (and sub-fragment) is used by some module: an unused one is
  documentation nobody reads.
- The Python requirements are written once: the Azure SDK floors in
  ``_azure.errors.REQUIREMENTS`` (the constant the "not installed" message's pip command is
  made of) are exactly requirements.txt's lines, and each module's ``requirements`` doc
  (the ``calico.azure.azure`` fragment, calico_node_backend's own) names requirements.txt's
  floors. Every third-party package the plugins import is declared in requirements.txt.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.calico.azure.plugins.module_utils._azure.errors import REQUIREMENTS

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted((REPO_ROOT / "plugins" / "modules").glob("*.py"))
FRAGMENTS = sorted(p for p in (REPO_ROOT / "plugins" / "doc_fragments").glob("*.py") if p.name != "__init__.py")
REQUIREMENT = re.compile(r"^([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][^,\s]*)")
# Import name -> pip name for the third-party packages the plugins may import. PyYAML and
# Jinja2 are ansible-core's own requirements, so never declared here.
PIP_NAME = {
    "azure.identity": "azure-identity",
    "azure.core": "azure-core",
    "azure.mgmt.core": "azure-mgmt-core",
    "requests": "requests",
    "urllib3": "urllib3",
    "ruamel.yaml": "ruamel.yaml",
    "kubernetes": "kubernetes",
}
PROVIDED_BY_ANSIBLE_CORE = {"yaml", "jinja2"}


def doc_strings(path: Path) -> dict[str, str]:
    """Module-level (or class-level, for fragments) string constants by name."""
    found = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value.value
    return found


def floors(lines) -> dict[str, str]:
    out = {}
    for line in lines:
        match = REQUIREMENT.match(line.strip())
        if match:
            out[match[1].lower()] = match[2]
    return out


def requirements_txt() -> dict[str, str]:
    return floors(l for l in (REPO_ROOT / "requirements.txt").read_text().splitlines() if not l.startswith("#"))


def values_without_sample(returns: dict, prefix: str = "") -> list[str]:
    missing = []
    for name, spec in (returns or {}).items():
        # A dict or list of dicts documents its shape with `contains`, whose leaves have samples.
        if "sample" not in spec and not spec.get("contains"):
            missing.append(prefix + name)
        missing += values_without_sample(spec.get("contains") or {}, prefix + name + ".")
    return missing


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.stem)
def test_every_return_value_has_a_sample(module: Path) -> None:
    returns = yaml.safe_load(doc_strings(module)["RETURN"])
    assert values_without_sample(returns) == [], f"{module.name}: RETURN values without a sample"


def test_every_doc_fragment_is_used() -> None:
    used = set()
    for module in MODULES:
        doc = yaml.safe_load(doc_strings(module)["DOCUMENTATION"])
        used.update(doc.get("extends_documentation_fragment") or [])
    declared = set()
    for fragment in FRAGMENTS:
        for name in doc_strings(fragment):
            base = f"calico.azure.{fragment.stem}"
            declared.add(base if name == "DOCUMENTATION" else f"{base}.{name.lower()}")
    assert sorted(declared - used) == [], "doc fragments no module extends: use them or remove them"


def test_the_sdk_floors_are_requirements_txt_lines() -> None:
    lines = {line.strip() for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()}
    assert [r for r in REQUIREMENTS if r not in lines] == [], "_azure.errors.REQUIREMENTS and requirements.txt disagree"


def test_the_azure_fragment_names_requirements_txt_floors() -> None:
    doc = yaml.safe_load(doc_strings(REPO_ROOT / "plugins" / "doc_fragments" / "azure.py")["DOCUMENTATION"])
    documented = floors(doc["requirements"])
    declared = requirements_txt()
    azure_layer = [floors([r]) for r in REQUIREMENTS] + [{"requests": declared["requests"]}, {"urllib3": declared["urllib3"]}]
    wanted = {name: floor for entry in azure_layer for name, floor in entry.items()}
    assert documented == {**wanted, "python": documented.get("python")}, "the azure fragment's requirements"
    assert documented["python"] == "3.8", "the target Python floor (tests/config.yml's python_requires)"


def test_calico_node_backend_names_the_ruamel_floor() -> None:
    doc = yaml.safe_load(doc_strings(REPO_ROOT / "plugins" / "modules" / "calico_node_backend.py")["DOCUMENTATION"])
    assert floors(doc["requirements"]) == {"ruamel.yaml": requirements_txt()["ruamel.yaml"]}


def third_party_imports() -> set[str]:
    names = set()
    for path in (REPO_ROOT / "plugins").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    stdlib = sys.stdlib_module_names
    return {n for n in names if n.split(".")[0] not in stdlib and n.split(".")[0] not in ("ansible", "ansible_collections", "__future__")}


def test_every_imported_package_is_declared() -> None:
    declared = requirements_txt()
    undeclared = []
    for name in sorted(third_party_imports()):
        if name.split(".")[0] in PROVIDED_BY_ANSIBLE_CORE or name == "azure":
            continue
        pip = next((PIP_NAME[k] for k in sorted(PIP_NAME, key=len, reverse=True) if name == k or name.startswith(k + ".")), None)
        if pip is None or pip.lower() not in declared:
            undeclared.append(name)
    assert undeclared == [], "imported by plugins/ but not in requirements.txt (add it, and to PIP_NAME here)"
