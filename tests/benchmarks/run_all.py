"""Run every benchmark script (tests/benchmarks/bench_*.py) and print their tables.

``make bench`` runs this. Each benchmark is a standalone script that prints its
own tables and exits non-zero when it could not measure; this runner starts
them one after the other (never in parallel: they time things), passes their
output through as it comes, and ends with a one-line summary per script.
Extra arguments are passed to every benchmark (for example ``--repeat 3``).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent


def main(argv: list) -> int:
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if not scripts:
        print("run_all: no tests/benchmarks/bench_*.py found", file=sys.stderr)
        return 1
    summary = []
    for script in scripts:
        print("=" * 100)
        print("%s" % script.relative_to(BENCH_DIR.parents[1]))
        print("=" * 100, flush=True)
        started = time.monotonic()
        rc = subprocess.call([sys.executable, str(script)] + list(argv), cwd=str(BENCH_DIR.parents[1]))
        summary.append((script.name, rc, time.monotonic() - started))
    print("=" * 100)
    for name, rc, wall in summary:
        print("%-40s %-8s %7.1f s" % (name, "ok" if rc == 0 else "FAILED (%d)" % rc, wall))
    return 0 if all(entry[1] == 0 for entry in summary) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
