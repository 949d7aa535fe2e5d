"""Run the stand-in standalone: ``python -m azure_emulator --seed FILE [--port N] [--info-file PATH]``.

Prints the base URL, the CA file and ``export`` lines for the environment a
module run needs, writes the same as JSON to ``--info-file`` (for scripts such
as ``make demo``), and serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
import threading
from pathlib import Path

from .emulator import Emulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m azure_emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", help="seed file (YAML or JSON); a bare name is looked up in seeds/")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free port)")
    parser.add_argument("--info-file", help="write base_url, ca_file, identity and env as JSON here")
    parser.add_argument("--workdir", help="directory for the CA file (default: a temporary directory)")
    parser.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds LROs announce (integer)")
    args = parser.parse_args(argv)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    emu = Emulator(seed=args.seed, host=args.host, port=args.port, retry_after=args.retry_after, workdir=args.workdir)
    with emu:
        info = emu.info()
        print(f"Azure stand-in listening on {info['base_url']}")
        print(f"CA file: {info['ca_file']}")
        for name, value in info["env"].items():
            print(f"export {name}={shlex.quote(value)}")
        sys.stdout.flush()
        if args.info_file:
            target = Path(args.info_file)
            tmp = target.with_suffix(target.suffix + ".tmp")
            tmp.write_text(json.dumps({**info, "pid": os.getpid()}, indent=2))
            tmp.replace(target)  # atomic: a waiting script never reads half a file
        stop.wait()
    if args.info_file:
        Path(args.info_file).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
