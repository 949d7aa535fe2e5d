# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the Kubernetes API stand-in itself (start-up, reset, request handling).

Prints one table: start-up (CA, certificate, server, kubeconfig), reset with the default seed,
with 500 nodes and with the 1.4 MB Installation CRD, and per-request times for GET/LIST/PATCH/SSA
through the kubernetes Python client over one kept-alive TLS connection, next to the server-side
handling time the request log records. Only counts are checked (exit 1 if a request failed).

Run: ``python tests/benchmarks/bench_k8s_emulator.py [--repeat N]`` (or ``make bench``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS_DIR))

from k8s_emulator import Emulator, nodes_for  # noqa: E402


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:9.2f} ms"


def main(argv: list) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args(argv)
    from kubernetes import client, config

    rows = []
    for _round in range(args.repeat):
        started = time.perf_counter()
        emu = Emulator(seed="default.yml").start()
        rows.append(("start-up (CA, cert, server, kubeconfig)", time.perf_counter() - started, None))
        try:
            for label, seed in (("reset: default seed (3 nodes)", "default.yml"),
                                ("reset: 500 nodes", nodes_for(500, pod_cidr_base="10.0.0.0/8")),
                                ("reset: Installation CRD + 1 Installation",
                                 {"crds": ["installation"], "installations": [{"spec": {"variant": "Calico"}}]})):
                started = time.perf_counter()
                emu.reset(seed)
                rows.append((label, time.perf_counter() - started, None))
            emu.reset(nodes_for(500, pod_cidr_base="10.0.0.0/8", extra={"crds": ["installation"]}))
            api = config.new_client_from_config(config_file=emu.kubeconfig)
            core = client.CoreV1Api(api)
            custom = client.CustomObjectsApi(api)
            core.read_node("node-0")  # connect once
            body = {"apiVersion": "operator.tigera.io/v1", "kind": "Installation", "metadata": {"name": "default"},
                    "spec": {"cni": {"type": "Calico"}}}
            cases = {
                "GET node": lambda i: core.read_node(f"node-{i % 500}"),
                "LIST 500 nodes": lambda i: core.list_node(),
                "LIST 500 nodes, labelSelector, limit=50": lambda i: core.list_node(limit=50, label_selector="!x"),
                "PATCH node (strategic merge)": lambda i: core.patch_node(f"node-{i % 500}",
                                                                          {"metadata": {"labels": {"n": str(i)}}}),
                "SSA Installation": lambda i: custom.patch_cluster_custom_object(
                    "operator.tigera.io", "v1", "installations", "default",
                    {**body, "spec": {"cni": {"type": "Calico"}, "calicoNetwork": {"mtu": 1400 + i % 50}}},
                    field_manager="bench", _content_type="application/apply-patch+yaml"),
            }
            for label, call in cases.items():
                emu.clear_log()
                started = time.perf_counter()
                count = args.requests if not label.startswith("LIST 500 nodes") else max(args.requests // 10, 5)
                for index in range(count):
                    call(index)
                wall = (time.perf_counter() - started) / count
                log = emu.requests()
                if any(entry["status"] >= 400 for entry in log):
                    print(f"{label}: a request failed: {[e for e in log if e['status'] >= 400][:1]}")
                    return 1
                rows.append((label, wall, statistics.median(entry["ms"] for entry in log) / 1000))
            api.close()
        finally:
            emu.stop()
    print(f"{'case':48} {'client round trip':>18} {'server handling':>18}")
    for label, wall, server in rows:
        print(f"{label:48} {_ms(wall):>18} {(_ms(server) if server is not None else ''):>18}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
