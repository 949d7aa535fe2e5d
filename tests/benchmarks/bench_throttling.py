"""Benchmark: azure_nic_forwarding on 100 NICs through a throttled subscription write budget (issue 13 item 7).

The stand-in's write bucket is small (ARM's 429 SubscriptionRequestsThrottled with Retry-After once it is
empty); the module runs with its default parallelism. The floor is the time the bucket allows:
(writes - bucket) / refill rate. Printed per case: NICs left without forwarding (must be 0), writes accepted,
throttled answers, wall time, floor and wall/floor. Exit 1 when a NIC is left unchanged or the module fails.

Run: ``python tests/benchmarks/bench_throttling.py`` (or ``make bench``).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Dict, List

TESTS_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS_DIR))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from azure_emulator import Emulator  # noqa: E402
from bench_nic_forwarding import NODES, SUBSCRIPTION, run_module, seed  # noqa: E402

CASES = [
    # (title, bucket, refill per second, module args beyond the targets)
    ("bucket 5, 2/s, default max_parallel", 5, 2.0, {}),
    ("bucket 20, 5/s, default max_parallel", 20, 5.0, {}),
]


def nic_id(index: int) -> str:
    return "/subscriptions/%s/resourceGroups/rg-cluster/providers/Microsoft.Network/networkInterfaces/node-%d-nic" % (
        SUBSCRIPTION, index)


def measure(emu: Emulator, title: str, bucket: int, refill: float, extra: Dict[str, Any]) -> Dict[str, Any]:
    emu.reset(seed(NODES))
    emu.set_rate_limits(write_bucket=bucket, write_refill_per_s=refill)
    emu.clear_log()
    args = dict({"resource_group": "rg-cluster", "vms": ["node-%d" % i for i in range(NODES)]}, **extra)
    started = time.monotonic()
    output = run_module(emu.env(), args)
    wall = time.monotonic() - started
    log = [e for e in emu.requests() if e["kind"] == "arm" and e["method"] in ("PUT", "PATCH")]
    left = sum(1 for i in range(NODES)
               if not emu.get_resource(nic_id(i))["properties"].get("enableIPForwarding"))
    accepted = sum(1 for e in log if e["status"] in (200, 201, 202))
    floor = max(0.0, (accepted - bucket) / refill)
    return {"case": title, "failed": bool(output.get("failed")), "msg": output.get("msg", ""), "left": left,
            "writes": accepted, "throttled": sum(1 for e in log if e["status"] == 429), "wall": wall, "floor": floor}


def main() -> int:
    rows: List[Dict[str, Any]] = []
    with Emulator(seed=seed(NODES)) as emu:
        for title, bucket, refill, extra in CASES:
            rows.append(measure(emu, title, bucket, refill, extra))
    print("%-40s %6s %6s %9s %8s %8s %9s" % ("case (100 NICs)", "left", "writes", "throttled", "wall s", "floor s",
                                             "wall/floor"))
    for row in rows:
        ratio = row["wall"] / row["floor"] if row["floor"] else float("nan")
        print("%-40s %6d %6d %9d %8.1f %8.1f %9.2f" % (row["case"], row["left"], row["writes"], row["throttled"],
                                                       row["wall"], row["floor"], ratio))
    bad = [row for row in rows if row["failed"] or row["left"]]
    for row in bad:
        print("FAILED: %s: %d NICs left, %s" % (row["case"], row["left"], row["msg"]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
