# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the policy-only conversion of Calico's manifests, and the YAML alias bound.

Cases:
- every manifest under ../shared/calico-manifests (CPU seconds of one conversion, median of --repeat);
- "billion laughs" documents of 10 levels with 7 and 13 aliases per level (0.5-1 KB): refused, and how
  long the refusal takes. Unbounded, the result check of the manifest editor took 61-102 s of CPU on
  such a file (issue 13, item 8).

Target: every refusal in well under a second (printed; the test suite asserts a loose bound).

Run: ``python tests/benchmarks/bench_calico_policy_only.py [--repeat N]`` (or ``make bench``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TESTS_DIR.parent
sys.path.insert(0, str(REPO_ROOT / ".cache" / "collections"))

from ansible_collections.calico.azure.plugins.module_utils._calico.manifest import ManifestError  # noqa: E402
from ansible_collections.calico.azure.plugins.module_utils._calico.policy_only import convert  # noqa: E402


def cpu(function, repeat):
    times = []
    for _round in range(repeat):
        started = time.process_time()
        function()
        times.append(time.process_time() - started)
    return statistics.median(times)


def bomb(fan_out, levels=10):
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", "  name: lol", "data:",
             "  l0: &l0 [%s]" % ",".join(['"lol"'] * fan_out)]
    lines += ["  l%d: &l%d [%s]" % (i, i, ",".join(["*l%d" % (i - 1)] * fan_out)) for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    shared = Path(os.environ.get("CALICO_AZURE_SHARED") or REPO_ROOT.parent / "shared") / "calico-manifests"
    if not shared.is_dir():
        print("no %s: set CALICO_AZURE_SHARED" % shared, file=sys.stderr)
        return 1
    print("%-40s %10s %8s %8s" % ("manifest", "size KB", "changes", "CPU s"))
    for path in sorted(shared.glob("*/*.yaml")):
        if "crd" in path.name:
            continue
        text = path.read_text(encoding="utf-8")
        result = convert(text, str(path))
        seconds = cpu(lambda: convert(text, str(path)), args.repeat)
        print("%-40s %10.1f %8d %8.3f" % ("%s/%s" % (path.parent.name, path.name), len(text) / 1024,
                                          len(result.changes), seconds))
    print()
    print("%-40s %10s %8s %8s" % ("billion laughs (10 levels)", "size KB", "refused", "CPU s"))
    host = (shared / "v3.28.5" / "calico.yaml").read_text(encoding="utf-8")
    for fan_out in (7, 13):
        text = host + "---\n" + bomb(fan_out)

        def refuse():
            try:
                convert(text, "bomb.yaml")
            except ManifestError as exc:
                return "billion laughs" in str(exc)
            return False

        refused = refuse()
        seconds = cpu(refuse, args.repeat)
        print("%-40s %10.2f %8s %8.3f" % ("x%d per level (+ v3.28.5 calico.yaml)" % fan_out, len(bomb(fan_out)) / 1024,
                                          "yes" if refused else "NO", seconds))
        if not refused:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
