# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ansible-core matrix: `ansible-test sanity`, `ansible-test units` and ansible-lint per core, offline.

What it does, and why:

* ansible-test only works on a collection that sits at ``.../ansible_collections/<ns>/<name>``.
  The checkout is the collection root but not at such a path, so the files git would see
  (tracked + untracked-not-ignored, minus local state) are copied to
  ``.cache/sanity/ansible_collections/calico/azure``. A fresh copy every run: a stale file
  there would be tested although it no longer exists here.
* The copy gets its own empty git repository: ansible-test lists content with git from the
  nearest .git upwards, which would otherwise be the checkout's, where .cache is ignored.
* Every sanity test with requirements runs in its own virtual environment that ansible-test
  bootstraps with a pip installer script downloaded from ci-files.testing.ansible.com, which
  cannot be reached here. ansible-test reads that script from its cache
  (``~/.ansible/test/cache/get_pip_<version>.py``, the path its own error message tells users
  to save the script to) before trying the download. We point ``HOME`` at
  ``.cache/sanity/home`` (so nothing outside the checkout is touched) and write the script
  there: it embeds the wheel of the exact pip version ansible-test asks for (fetched once by
  the venv's own pip, from the configured index) and installs it from that wheel with no
  index access, which is what the official get-pip script does.
* The matrix is :data:`MATRIX` below, the one place it is written: every ansible-core major
  from the floor ``meta/runtime.yml`` claims (``requires_ansible``) to the newest on PyPI,
  each with the controller Python its venv is made with. Each core but the main venv's is
  installed into ``.cache/venv-<X.Y>`` (kept between runs; remade when its spec changes),
  and the majors run one after the other (two cores: parallel runs only fight over them).
  ``--ansible-core X.Y`` picks some. ansible-core ``devel`` is not in the matrix: it is only
  published on GitHub (no pre-release of the next major is on PyPI), which this machine
  cannot reach.
* Per core: ``ansible-test sanity`` (compile and import on every Python the core supports for
  modules that exists here, PATH or pyenv's versions, from ``tests/config.yml``'s 3.8 floor;
  ``--python X.Y`` narrows it), ``ansible-test units`` on the controller Python (with
  ``--requirements``: ansible-test's own pytest set plus tests/unit/requirements.txt) and
  ``ansible-lint --profile production --offline`` (the newest ansible-lint that supports the
  core). ``--stage`` picks some. The matrix and each cell's result and time are printed last.

Exit status: non-zero when any sanity test fails with any of the ansible-core versions.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache"
SANITY_ROOT = CACHE / "sanity"
COLLECTION_COPY = SANITY_ROOT / "ansible_collections" / "calico" / "azure"
# ansible-test keeps its per-test venvs under ~/.ansible/test/venv; shebangs of the scripts
# pip writes there must stay under Linux's 127-character limit.
SANITY_HOME = SANITY_ROOT / "home"
LONGEST_VENV_PYTHON = ".ansible/test/venv/sanity.validate-modules/3.13/0123abcd/bin/python3.13"
if len(f"#!{SANITY_HOME}/{LONGEST_VENV_PYTHON}") > 127:
    # A checkout deep enough to break them gets a short home outside it, one per checkout.
    SANITY_HOME = Path(tempfile.gettempdir()) / f"calico-azure-sanity-{hashlib.sha256(bytes(REPO)).hexdigest()[:8]}"
WHEELS = SANITY_ROOT / "wheels"

# Paths never copied: local state, not collection content.
EXCLUDED_TOP = {".venv", ".cache", ".git", ".ansible", ".pytest_cache", ".hypothesis"}
EXCLUDED_PREFIXES = ("tests/output/",)

# The matrix: ansible-core major -> the controller Python its venv is made with. The main
# venv's Python (3.11) wherever the core supports it; 2.20 and 2.21 need Python >= 3.12 on the
# controller, so the oldest such Python here. A test (tests/packaging/test_sanity_runner.py)
# checks that it starts at requires_ansible's floor.
MATRIX = {
    "2.17": "3.11",
    "2.18": "3.11",
    "2.19": "3.11",
    "2.20": "3.12",
    "2.21": "3.12",
}
STAGES = ("sanity", "units", "lint")
# ansible-lint for the lint stage, as tests/requirements.txt bounds it; pip picks the newest
# release that supports the core (ansible-lint 26 excludes ansible-core 2.17, for instance).
ANSIBLE_LINT = "ansible-lint>=24.0.0,<27.0.0"

# The lowest ansible-core the collection claims, from `requires_ansible: ">=X.Y.Z"`.
REQUIRES_ANSIBLE = re.compile(r"""requires_ansible:\s*['"]?\s*>=\s*(\d+)\.(\d+)""")

GET_PIP_TEMPLATE = '''\
"""pip {version} installer for ansible-test's sanity venvs, generated by tests/sanity/run.py.

It does what ansible-test's get-pip-{version}.py does: runs pip from the embedded pip {version}
wheel to install pip into the running interpreter. The wheel is also the only source offered
to that install (--find-links, --no-index), so bootstrapping pip needs no network.
"""
import base64
import os
import shutil
import sys
import tempfile

WHEEL_NAME = {wheel_name!r}
WHEEL_B85 = (
{data}
)


def main():
    tmpdir = tempfile.mkdtemp(prefix="get-pip-")
    try:
        wheel = os.path.join(tmpdir, WHEEL_NAME)
        with open(wheel, "wb") as handle:
            handle.write(base64.b85decode("".join(WHEEL_B85)))
        # A wheel is a zip that Python can import pip from (pip supports running this way).
        sys.path.insert(0, wheel)
        from pip._internal.cli.main import main as pip_main

        args = list(sys.argv[1:])
        wanted = []
        for flag, package in (("--no-setuptools", "setuptools"), ("--no-wheel", "wheel")):
            if flag in args:
                args.remove(flag)
            else:
                try:
                    __import__(package)
                except ImportError:
                    wanted.append(package)
        # Only pip is offered here; anything else asked for has to come from the index.
        sources = ["--find-links", tmpdir] + ([] if wanted else ["--no-index"])
        status = pip_main(["install", "--upgrade", "--force-reinstall"] + sources + args + wanted)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    sys.exit(status)


if __name__ == "__main__":
    main()
'''


def log(message: str) -> None:
    print(f"sanity: {message}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kwargs)


# --- the collection copy ---------------------------------------------------------------------


def collection_files() -> list[str]:
    """Files git would see: tracked and untracked-not-ignored, existing, minus local state."""
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, check=True, capture_output=True,
    ).stdout.decode()
    files = []
    for rel in sorted(set(filter(None, out.split("\0")))):
        if rel.split("/", 1)[0] in EXCLUDED_TOP or rel.startswith(EXCLUDED_PREFIXES):
            continue
        path = REPO / rel
        # A tracked file deleted in the working tree (or a submodule) is not content to test.
        if path.is_file() or path.is_symlink():
            files.append(rel)
    return files


def make_copy() -> int:
    if COLLECTION_COPY.exists():
        shutil.rmtree(COLLECTION_COPY)
    COLLECTION_COPY.mkdir(parents=True)
    copied = 0
    for rel in collection_files():
        target = COLLECTION_COPY / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copy2(REPO / rel, target, follow_symlinks=False)
        except FileNotFoundError:
            continue  # deleted since git listed it (a shared checkout being edited)
        copied += 1
    # ansible-test lists content with git when it finds a .git directory in the collection root
    # or any parent. Without one here it would find the checkout's, in which .cache is ignored,
    # and see no files at all. An empty repository makes it list exactly the copied files
    # (untracked, not ignored), the same set git shows in the checkout.
    run(["git", "init", "--quiet", str(COLLECTION_COPY)])
    return copied


# --- the ansible-core under test ---------------------------------------------------------------


def main_python() -> Path:
    python = REPO / ".venv" / "bin" / "python"
    return python if python.exists() else Path(sys.executable)


def claimed_minimum() -> str | None:
    """The oldest ansible-core meta/runtime.yml claims, as 'X.Y'."""
    match = REQUIRES_ANSIBLE.search((REPO / "meta" / "runtime.yml").read_text())
    return f"{match[1]}.{match[2]}" if match else None


def python_for(core: str | None) -> Path:
    """The python whose ansible-test runs the tests: the main venv's, or a venv for `core`."""
    main = main_python()
    if core is None or ansible_core_version(main).startswith(core + "."):
        return main
    if not re.fullmatch(r"\d+\.\d+", core):
        raise SystemExit(f"sanity: --ansible-core takes X.Y, not {core!r}")
    major, minor = (int(part) for part in core.split("."))
    # The newest patch release of that minor version, and ansible-lint for the lint stage.
    spec = f"ansible-core>={major}.{minor}.0,<{major}.{minor + 1}.0 {ANSIBLE_LINT}"
    # The units stage runs without --requirements (see cell()), so its pytest set is installed
    # here: ansible-test's units runner needs pytest and pytest-xdist, the tests the rest.
    units_requirements = REPO / "tests" / "unit" / "requirements.txt"
    units_spec = "pytest>=8.0.0,<10.0.0 pytest-xdist>=3.5.0,<4.0.0"
    spec += f" {units_spec} units:{hashlib.sha256(units_requirements.read_bytes()).hexdigest()[:12]}"
    venv = CACHE / f"venv-{core}"
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if not stamp.exists() or stamp.read_text() != spec:
        log(f"creating {venv} with {spec}")
        if venv.exists():
            shutil.rmtree(venv)
        controller = MATRIX.get(core)
        base = working_python(controller) if controller else None
        if base is None:
            # Not in the matrix (or its Python is missing here): the main venv's interpreter.
            base = subprocess.run(
                [str(main), "-c", "import sys; print(sys._base_executable)"],
                check=True, capture_output=True, text=True,
            ).stdout.strip()
        run([base, "-m", "venv", str(venv)])
        packages = [word for word in spec.split() if not word.startswith("units:")]
        run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *packages,
             "-r", str(units_requirements)])
        stamp.write_text(spec)
    return python


def ansible_core_version(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import ansible.release as r; print(r.__version__)"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()


def wanted_pip_version(python: Path) -> str:
    """The pip version ansible-test bootstraps into its venvs (read from ansible-test itself)."""
    code = (
        "import types, sys\n"
        "from ansible_test._internal.python_requirements import get_venv_packages\n"
        "v = '%d.%d' % sys.version_info[:2]\n"
        "print(get_venv_packages(types.SimpleNamespace(version=v))['pip'])\n"
    )
    return subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True).stdout.strip()


def provide_get_pip(python: Path, pip_version: str) -> Path:
    """Write the bootstrap script where ansible-test looks before it tries to download it."""
    script = SANITY_HOME / ".ansible" / "test" / "cache" / f"get_pip_{pip_version.replace('.', '_')}.py"
    if script.exists():
        return script
    WHEELS.mkdir(parents=True, exist_ok=True)
    wheels = sorted(WHEELS.glob(f"pip-{pip_version}-*.whl"))
    if not wheels:
        log(f"fetching the pip {pip_version} wheel with the venv's pip")
        run([str(python), "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--only-binary", ":all:", "--dest", str(WHEELS), f"pip=={pip_version}"])
        wheels = sorted(WHEELS.glob(f"pip-{pip_version}-*.whl"))
    if not wheels:
        raise SystemExit(f"sanity: pip download produced no pip-{pip_version} wheel in {WHEELS}")
    wheel = wheels[-1]
    encoded = base64.b85encode(wheel.read_bytes()).decode("ascii")
    data = "\n".join(f"    {encoded[i:i + 96]!r}," for i in range(0, len(encoded), 96))
    script.parent.mkdir(parents=True, exist_ok=True)
    # Written under a temporary name first, so an interrupted run never leaves half a script
    # that ansible-test would then trust.
    with tempfile.NamedTemporaryFile("w", dir=script.parent, delete=False, suffix=".tmp") as handle:
        handle.write(GET_PIP_TEMPLATE.format(version=pip_version, wheel_name=wheel.name, data=data))
    os.replace(handle.name, script)
    log(f"wrote pip {pip_version} bootstrap script {script}")
    return script


# --- the Pythons to test on -------------------------------------------------------------------


def supported_pythons(python: Path) -> list[str]:
    """The Python versions this ansible-test supports for modules (controller and remote-only)."""
    code = "from ansible_test._internal.constants import SUPPORTED_PYTHON_VERSIONS as v; print(' '.join(v))"
    return subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True).stdout.split()


def working_python(version: str) -> str | None:
    """A runnable interpreter for `version`: from PATH, else from pyenv's versions directory.

    ansible-test looks for `pythonX.Y` on PATH and trusts what it finds; a pyenv shim for a
    version that is installed but not selected is found there yet fails when run, so each
    candidate is tried before it is offered.
    """
    candidates = [shutil.which(f"python{version}")]
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path("~/.pyenv").expanduser()))
    candidates += sorted(str(p) for p in pyenv_root.glob(f"versions/{version}.*/bin/python{version}"))
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return str(Path(candidate).resolve())
    return None


def link_pythons(wanted: list[str]) -> tuple[Path, list[str], list[str]]:
    """A directory of pythonX.Y links for ansible-test's PATH; returns it, found and missing."""
    bin_dir = SANITY_ROOT / "bin"
    if bin_dir.exists():
        shutil.rmtree(bin_dir)
    bin_dir.mkdir(parents=True)
    found, missing = [], []
    for version in wanted:
        interpreter = working_python(version)
        if interpreter is None:
            missing.append(version)
            continue
        (bin_dir / f"python{version}").symlink_to(interpreter)
        found.append(version)
    return bin_dir, found, missing


# --- running ansible-test ------------------------------------------------------------------------


def sanity_env(python: Path, pythons_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Keep the user's pip configuration (index, proxy, certificates) and pip cache (downloads
    # of pylint & co. are the slow part) although HOME moves.
    env.setdefault("XDG_CONFIG_HOME", str(Path("~/.config").expanduser()))
    env.setdefault("PIP_CACHE_DIR", str(Path("~/.cache/pip").expanduser()))
    env["HOME"] = str(SANITY_HOME)
    # ansible-test sets up its own collection search path; an inherited one (the Makefile's
    # symlink to the checkout) would let ansible find files outside the copy under test.
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    env.pop("ANSIBLE_COLLECTIONS_PATHS", None)
    env["PATH"] = os.pathsep.join([str(python.parent), str(pythons_dir), env.get("PATH", "")])
    return env


def python_version(python: Path) -> str:
    return subprocess.run(
        [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()


def lint_env(python: Path) -> dict[str, str]:
    """ansible-lint runs in the checkout (its .ansible-lint) with the core's tools first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(python.parent), env.get("PATH", "")])
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(CACHE / "collections"))
    return env


def cell(core: str | None, only_python: str | None, stages: list[str], extra: list[str]) -> dict:
    """The stages for one ansible-core: a row of the matrix (version, Pythons, stage -> (status, s))."""
    python = python_for(core)
    version = ansible_core_version(python)
    controller = python_version(python)
    count = make_copy()
    log(f"copied {count} files to {COLLECTION_COPY}")
    provide_get_pip(python, wanted_pip_version(python))

    wanted = [only_python] if only_python else supported_pythons(python)
    pythons_dir, found, missing = link_pythons(wanted)
    if missing:
        # ansible-test itself only warns and skips the multi-version tests (compile, import)
        # for these; say it plainly, so a short run is not mistaken for a full one.
        log(f"no interpreter for Python {', '.join(missing)}: compile/import are not run on "
            f"{'it' if len(missing) == 1 else 'them'}")
    ansible_test = str(python.parent / "ansible-test")
    commands = {
        "sanity": ([ansible_test, "sanity", "--color", "no"] + (["--python", only_python] if only_python else [])
                   + extra, COLLECTION_COPY, sanity_env(python, pythons_dir)),
        # The controller Python only: the units test the controller-side logic and the stand-in.
        # No --requirements: the venvs already hold pytest & co. (the main venv is shared, and
        # ansible-test would install its own pins into it).
        "units": ([ansible_test, "units", "--color", "no", "--python", controller],
                  COLLECTION_COPY, sanity_env(python, pythons_dir)),
        "lint": ([str(python.parent / "ansible-lint"), "--profile", "production", "--offline", "--nocolor", "-q"],
                 REPO, lint_env(python)),
    }
    results = {}
    for stage in stages:
        cmd, cwd, env = commands[stage]
        log(f"ansible-core {version} (controller Python {controller}), {stage}: {' '.join(cmd[1:])}")
        started = time.monotonic()
        status = subprocess.run(cmd, cwd=cwd, env=env, check=False).returncode
        results[stage] = (status, time.monotonic() - started)
    return {"version": version, "controller": controller, "pythons": found, "results": results}


def matrix_table(rows: list[dict], stages: list[str]) -> str:
    lines = ["ansible-core  controller  target Pythons (sanity)      " + "".join(f"{s:<18}" for s in stages)]
    for row in rows:
        cells = ""
        for stage in stages:
            status, seconds = row["results"][stage]
            cells += f"{('ok' if status == 0 else f'FAIL({status})') + f' {seconds:.0f} s':<18}"
        lines.append(f"{row['version']:<14}{row['controller']:<12}{' '.join(row['pythons']):<29}{cells}")
    return "\n".join(lines)


@contextlib.contextmanager
def exclusive_run():
    """Serialize runs: engineers sharing a checkout share .cache/sanity, and one run's fresh copy
    would otherwise replace the tree another run's ansible-test is reading."""
    SANITY_ROOT.mkdir(parents=True, exist_ok=True)
    with open(SANITY_ROOT / "lock", "w", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("another sanity run is using .cache/sanity; waiting for it to finish")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--ansible-core", metavar="X.Y", action="append",
                        help="test with this ansible-core (repeatable); one other than the main venv's is "
                             "installed into .cache/venv-X.Y. Default: every core of MATRIX")
    parser.add_argument("--main-venv", action="store_true",
                        help="only the main venv's ansible-core (make units: ansible-test units beside pytest)")
    parser.add_argument("--stage", choices=STAGES, action="append",
                        help="run this stage (repeatable). Default: " + ", ".join(STAGES))
    parser.add_argument("--python", metavar="X.Y",
                        help="run the sanity tests on this Python only (default: every Python the "
                             "ansible-core supports for modules that this machine has)")
    parser.add_argument("ansible_test_args", nargs=argparse.REMAINDER,
                        help="extra arguments for ansible-test sanity after '--', e.g. -- --test pep8")
    args = parser.parse_args(argv)
    extra = [a for a in args.ansible_test_args if a != "--"]
    stages = [s for s in STAGES if s in (args.stage or STAGES)]

    floor = claimed_minimum()
    if floor not in MATRIX:
        raise SystemExit(f"sanity: requires_ansible's floor {floor} is not in MATRIX: add it")
    main_version = ansible_core_version(main_python())
    cores: list[str | None] = []
    for core in [None] if args.main_venv else (args.ansible_core or list(MATRIX)):
        if core is not None and main_version.startswith(core + "."):
            core = None  # the main venv already has that version
        if core not in cores:
            cores.append(core)
    started = time.monotonic()
    with exclusive_run():
        rows = [cell(core, args.python, stages, extra) for core in cores]

    log("matrix run (ansible-core devel: not on PyPI, not run):\n" + matrix_table(rows, stages))
    log(f"matrix: {time.monotonic() - started:.0f} s in all")
    return max(status for row in rows for status, _seconds in row["results"].values())


if __name__ == "__main__":
    sys.exit(main())
