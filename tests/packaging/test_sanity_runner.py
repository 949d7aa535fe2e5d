# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/sanity/run.py's pip bootstrap works with no index at all.

ansible-test bootstraps pip into each empty sanity venv by running its quiet_pip.py wrapper,
which runs the script named by GET_PIP. This replays that exact step against the script
run.py generates, with every package index made unreachable, so "offline" is a tested fact.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import pytest
from pkgtest_support import REPO_ROOT, run


@pytest.fixture(scope="module")
def runner():
    spec = importlib.util.spec_from_file_location("sanity_runner", REPO_ROOT / "tests" / "sanity" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bootstrap_installs_the_pip_ansible_test_wants_without_an_index(runner, tmp_path: Path, monkeypatch) -> None:
    python = runner.main_python()
    version = runner.wanted_pip_version(python)
    monkeypatch.setattr(runner, "SANITY_HOME", tmp_path / "home")
    # Fetches the pip wheel once into .cache/sanity/wheels if `make sanity` has not yet.
    script = runner.provide_get_pip(python, version)
    assert script == tmp_path / "home" / ".ansible" / "test" / "cache" / f"get_pip_{version.replace('.', '_')}.py"

    venv = tmp_path / "venv"
    run([str(python), "-m", "venv", "--without-pip", str(venv)])
    quiet_pip = Path(run([str(python), "-c", "import ansible_test, os; print(os.path.dirname(ansible_test.__file__))"])
                     .stdout.strip()) / "_util" / "target" / "setup" / "quiet_pip.py"
    env = dict(os.environ)
    env.update(
        GET_PIP=str(script),
        # No configuration files (they name extra indexes and find-links), and an index
        # that refuses connections: only the script's embedded wheel can satisfy the install.
        PIP_CONFIG_FILE=os.devnull,
        PIP_INDEX_URL="http://127.0.0.1:9/simple",
        PIP_FIND_LINKS="",
        PIP_RETRIES="0",
    )
    # The command ansible-test's requirements.py bootstrap() runs.
    result = subprocess.run(
        [str(venv / "bin" / "python"), str(quiet_pip), "--disable-pip-version-check", f"pip=={version}",
         "--no-setuptools", "--no-wheel"],
        env=env, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    installed = run([str(venv / "bin" / "python"), "-m", "pip", "--version"]).stdout
    assert installed.startswith(f"pip {version} "), installed


def test_the_matrix_runs_from_the_claimed_floor_to_consecutive_majors(runner) -> None:
    cores = list(runner.MATRIX)
    assert cores[0] == runner.claimed_minimum(), "MATRIX must start at meta/runtime.yml's requires_ansible floor"
    minors = [int(core.split(".")[1]) for core in cores]
    assert minors == list(range(minors[0], minors[0] + len(minors))), "no major of the range left out"
    for core in cores:
        ignore = REPO_ROOT / "tests" / "sanity" / f"ignore-{core}.txt"
        assert ignore.is_file(), f"ansible-test sanity {core} needs {ignore.name}"
        for line in ignore.read_text().splitlines():
            assert not line.strip() or "#" in line, f"{ignore.name}: every ignore says why: {line}"


def test_the_matrix_table_shows_every_cell(runner) -> None:
    rows = [{"version": "2.17.14", "controller": "3.11", "pythons": ["3.8", "3.12"],
             "results": {"sanity": (0, 118.2), "units": (1, 20.0)}}]
    table = runner.matrix_table(rows, ["sanity", "units"]).splitlines()
    assert table[1].split() == ["2.17.14", "3.11", "3.8", "3.12", "ok", "118", "s", "FAIL(1)", "20", "s"]
