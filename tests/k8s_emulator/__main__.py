# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the stand-in standalone: ``python -m k8s_emulator --seed FILE [--port N] [--info-file PATH]``.

Prints the base URL and the kubeconfig path, writes base_url, ca_file, kubeconfig and the
tokens as JSON to ``--info-file`` (atomically; removed on exit), and serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from .emulator import Emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m k8s_emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", help="seed file (YAML or JSON); a bare name is looked up in seeds/")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    parser.add_argument("--info-file", help="write base_url, ca_file, kubeconfig and tokens as JSON here")
    parser.add_argument("--workdir", help="directory for the CA file and kubeconfig (default: a temporary directory)")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with Emulator(seed=args.seed, host=args.host, port=args.port, workdir=args.workdir) as emu:
        info = emu.info()
        print(f"Kubernetes API stand-in listening on {info['base_url']}")
        print(f"export KUBECONFIG={info['kubeconfig']}")
        sys.stdout.flush()
        if args.info_file:
            target = Path(args.info_file)
            tmp = target.with_suffix(target.suffix + ".tmp")
            tmp.write_text(json.dumps({**info, "pid": os.getpid()}, indent=2))
            tmp.replace(target)
        stop.wait()
    if args.info_file:
        Path(args.info_file).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
