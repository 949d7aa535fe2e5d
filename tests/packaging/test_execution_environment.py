# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Execution environment metadata, checked with ansible-builder against the installed tarball.

No image is built (there is no container engine here). Instead:
- ``ansible-builder introspect --sanitize`` (ansible-builder 3 sanitizes always and keeps the
  flag as a hidden no-op, so this is also what older releases do) must report exactly the collection's runtime Python
  requirements (read from requirements.txt) and system packages (read from bindep.txt);
- ``ansible-builder create`` must produce a build context for an EE definition that installs
  the tarball, and the build's own non-container steps are replayed from that context: its
  galaxy requirements install the tarball, and its introspect script (the one the image build
  runs) finds the same dependencies.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pkgtest_support import NAME, NAMESPACE, REPO_ROOT, ansible_env, run, tool
from packaging.requirements import Requirement

FROM_COLLECTION = re.compile(r"\s*#\s*from collection\s+(?P<collection>\S+)\s*$")


def requirement_lines(path: Path) -> list[str]:
    """Requirement lines of a pip or bindep file: no comments, no blank lines."""
    lines = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def normalized_pip(lines: list[str]) -> set[tuple[str, str, str]]:
    """Requirements compared by meaning: canonical name, specifier set, markers."""
    parsed = set()
    for line in lines:
        req = Requirement(line)
        parsed.add((re.sub(r"[-_.]+", "-", req.name).lower(), str(req.specifier), str(req.marker or "")))
    return parsed


def introspected(output: str) -> dict[str, list[str]]:
    """ansible-builder introspect's YAML, each entry split from its '# from collection X' tag."""
    data = yaml.safe_load(output.split("---", 1)[1]) if "---" in output else yaml.safe_load(output)
    result: dict[str, list[str]] = {}
    for kind in ("python", "system"):
        entries = []
        for entry in data.get(kind) or []:
            match = FROM_COLLECTION.search(entry)
            assert match, f"introspect entry without its collection: {entry!r}"
            assert match["collection"] == f"{NAMESPACE}.{NAME}", entry
            entries.append(entry[:match.start()].strip())
        result[kind] = entries
    return result


def ee_metadata(installed_collection: Path) -> dict:
    return yaml.safe_load((installed_collection / "meta" / "execution-environment.yml").read_text())


def test_ee_metadata_points_at_the_shipped_requirement_files(installed_collection: Path) -> None:
    meta = ee_metadata(installed_collection)
    assert meta["version"] == 1
    for kind in ("python", "system"):
        assert (installed_collection / meta["dependencies"][kind]).is_file(), f"{kind} file not in the tarball"


def test_introspect_lists_exactly_the_runtime_dependencies(collections_dir: Path, installed_collection: Path) -> None:
    meta = ee_metadata(installed_collection)
    out = run([tool("ansible-builder"), "introspect", "--sanitize", str(collections_dir)]).stdout
    found = introspected(out)

    python_file = REPO_ROOT / meta["dependencies"]["python"]
    assert normalized_pip(found["python"]) == normalized_pip(requirement_lines(python_file))
    assert len(found["python"]) == len(requirement_lines(python_file)), "a requirement was listed twice or dropped"

    system_file = REPO_ROOT / meta["dependencies"]["system"]
    assert found["system"] == requirement_lines(system_file)


def bindep_packages(profiles: list[str]) -> set[str]:
    code = (
        "import sys, json\n"
        "from bindep.depends import Depends\n"
        "deps = Depends(open(sys.argv[1]).read())\n"
        "rules = deps.active_rules(sys.argv[2:])\n"
        "print(json.dumps(sorted({rule[0] for rule in rules})))\n"
    )
    out = run([sys.executable, "-c", code, str(REPO_ROOT / "bindep.txt"), *profiles]).stdout
    return set(json.loads(out))


@pytest.mark.parametrize("platform", ["platform:rpm", "platform:dpkg"])
def test_bindep_resolves_per_platform_and_keeps_compilers_out_of_the_runtime_image(platform: str) -> None:
    runtime = bindep_packages([platform])
    with_compile = bindep_packages([platform, "compile"])
    assert runtime, f"bindep.txt installs nothing on {platform}"
    # The final image gets the runtime set; the builder stage adds [compile] ones.
    assert runtime < with_compile
    assert "gcc" in with_compile - runtime
    other = "platform:dpkg" if platform == "platform:rpm" else "platform:rpm"
    only_other = bindep_packages([other]) - runtime
    assert only_other, f"no package is specific to {other}: are the platform tags missing?"


@pytest.fixture(scope="module")
def build_context(tarball: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`ansible-builder create` for an EE that installs the tarball on a plain base image."""
    workdir = tmp_path_factory.mktemp("ee")
    shutil.copy2(tarball, workdir / tarball.name)
    definition = {
        "version": 3,
        "images": {"base_image": {"name": "quay.io/centos/centos:stream9"}},
        "dependencies": {
            "python_interpreter": {"package_system": "python3.11", "python_path": "/usr/bin/python3.11"},
            "ansible_core": {"package_pip": "ansible-core>=2.17.0,<2.20.0"},
            "ansible_runner": {"package_pip": "ansible-runner>=2.3.0,<3.0.0"},
            # Relative to the build's working directory (/build, the context's _build).
            "galaxy": {"collections": [{"name": f"collections/{tarball.name}", "type": "file"}]},
        },
        "additional_build_files": [{"src": tarball.name, "dest": "collections"}],
    }
    (workdir / "execution-environment.yml").write_text(yaml.safe_dump(definition, sort_keys=False))
    context = workdir / "context"
    run([tool("ansible-builder"), "create", "--file", "execution-environment.yml", "--context", str(context)],
        cwd=workdir)
    return context


def test_create_writes_a_build_context_that_installs_the_tarball(build_context: Path, tarball: Path) -> None:
    containerfile = next(p for p in (build_context / "Containerfile", build_context / "Dockerfile") if p.exists())
    text = containerfile.read_text()
    assert "ansible-galaxy collection install" in text and "-r requirements.yml" in text
    assert "introspect" in text, "the image build no longer introspects collection dependencies"
    assert (build_context / "_build" / "collections" / tarball.name).read_bytes() == tarball.read_bytes()


def test_build_context_steps_find_the_collection_and_its_dependencies(build_context: Path, tmp_path: Path) -> None:
    """The image build's galaxy and introspect steps, run from the generated context."""
    build_dir = build_context / "_build"
    collections = tmp_path / "collections"
    run([tool("ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "-r", "requirements.yml",
         "--collections-path", str(collections)], cwd=build_dir, env=ansible_env(collections))
    pip_out, bindep_out = tmp_path / "requirements.txt", tmp_path / "bindep.txt"
    result = subprocess.run(
        [sys.executable, str(build_dir / "scripts" / "introspect.py"), "introspect", str(collections),
         "--write-pip", str(pip_out), "--write-bindep", str(bindep_out)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert normalized_pip(requirement_lines(pip_out)) == normalized_pip(requirement_lines(REPO_ROOT / "requirements.txt"))
    assert requirement_lines(bindep_out) == requirement_lines(REPO_ROOT / "bindep.txt")
