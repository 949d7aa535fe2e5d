"""Real test hosts for the multi-host scenarios: sshd in network + mount namespaces.

Each host is one ``sshd`` started inside

- its own network namespace (``ip netns add``), reached from the root
  namespace through a veth pair whose root end is enslaved to a per-run bridge;
  addresses come from the benchmark range 198.18.0.0/15 (RFC 2544): the bridge
  is ``198.18.<slot>.1/24`` and host *i* is ``198.18.<slot>.<11+i>``;
- its own mount namespace (``unshare --mount --propagation private``) where
  ``/etc`` is an overlay whose upper layer lives in the run directory (so
  ``/etc/calico``, ``/etc/kubernetes`` and ``/etc/systemd/system`` can be
  created at their real default paths while the machine's ``/etc`` stays
  untouched), ``/run`` and ``/var/log`` are the host's own tmpfs, and
  ``/usr/bin/systemctl`` is a bind mount of a wrapper running :mod:`fake_systemctl`;
- its own UTS namespace, with the hostname set to the host's name.

Root logs in with a key generated for the run. Nothing here is needed after
:func:`down`: it kills every process left in each network namespace, deletes
the namespaces and the bridge, and the mount namespaces vanish with their last
process.

Every ``up`` starts clean, whatever an interrupted run left: it first tears down
the slot's leftovers (the run directory's hosts, then any network namespace, veth,
bridge or sshd of the slot that no state file names any more) and empties the
run directory, so no overlay upper layer of an earlier run (``/etc/calico`` ...)
shows through on the new hosts.

CLI (used by the molecule create/destroy playbooks)::

    python testhosts.py up   --run-dir DIR --slot N --hosts node1,node2,node3
    python testhosts.py down --run-dir DIR

``up`` prints and writes ``DIR/hosts.json``: ``{"hosts": [{"name", "address",
"netns", "pid", "port", "user", "identity_file", "etc_upper"}], ...}``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

HERE = Path(__file__).resolve().parent
FAKE_SYSTEMCTL = HERE / "fake_systemctl.py"
SSHD = "/usr/sbin/sshd"
# Unit files present on every test host: a node of a real cluster has kubelet
# installed, so the cloud-provider handler's default target must exist.
PREINSTALLED_UNITS = {
    "kubelet.service": "[Unit]\nDescription=kubelet (test host placeholder)\n\n"
    "[Service]\nExecStart=/bin/true\n\n[Install]\nWantedBy=multi-user.target\n",
}
BENCHMARK_NET = "198.18"


class TestHostError(RuntimeError):
    pass


def _run(cmd: Sequence[str], check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False, **kwargs)
    if check and proc.returncode != 0:
        raise TestHostError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def _names(slot: int) -> tuple[str, str]:
    if not 0 < slot < 255:
        raise TestHostError(f"slot must be 1..254, got {slot}")
    return f"cazbr{slot}", f"caz{slot}"


def host_address(slot: int, index: int) -> str:
    return f"{BENCHMARK_NET}.{slot}.{11 + index}"


def _keygen(path: Path) -> None:
    if not path.exists():
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)])


def _wait_for_port(address: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((address, port), timeout=1.0) as sock:
                if sock.recv(4).startswith(b"SSH"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TestHostError(f"sshd on {address}:{port} did not answer within {timeout}s")
        time.sleep(0.1)


def _sshd_config(run_dir: Path, host_dir: Path, address: str) -> Path:
    config = host_dir / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"ListenAddress {address}:22",
                f"HostKey {run_dir / 'ssh_host_ed25519_key'}",
                f"PidFile {host_dir / 'sshd.pid'}",
                f"AuthorizedKeysFile {run_dir / 'authorized_keys'}",
                "PermitRootLogin prohibit-password",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                # The run directory is not root-only by design; keys are per run.
                "StrictModes no",
                "MaxStartups 100",
                "MaxSessions 100",
                "PrintMotd no",
                "LogLevel ERROR",
                "Subsystem sftp internal-sftp",
                "",
            ]
        )
    )
    return config


def _host_script(name: str, host_dir: Path, sshd_config: Path, systemctl: Path) -> str:
    upper, work = host_dir / "etc-upper", host_dir / "etc-work"
    units = host_dir / "preinstalled-units"
    lines = [
        "set -e",
        f"hostname {name}",
        f"mount -t overlay overlay -o lowerdir=/etc,upperdir={upper},workdir={work} /etc",
        "mount -t tmpfs -o mode=0755 tmpfs /run",
        "mkdir -p /run/sshd",
        "mount -t tmpfs -o mode=0755 tmpfs /var/log",
        f"mount --bind {systemctl} /usr/bin/systemctl",
        "mkdir -p /etc/systemd/system",
        f"cp {units}/* /etc/systemd/system/",
        # Preinstalled services run, as kubelet does on a node.
        "mkdir -p /run/fake-systemctl",
        f"for unit in {units}/*; do echo '{{\"active\": true, \"enabled\": true}}' "
        "> /run/fake-systemctl/$(basename $unit).json; done",
        f"exec {SSHD} -f {sshd_config} -E {host_dir / 'sshd.log'}",
    ]
    return "\n".join(lines)


def _netns_prefix(slot: int) -> str:
    return f"calico-azure-{slot}-"


def slot_namespaces(slot: int) -> list[str]:
    """The network namespaces of a slot that exist now."""
    names = (line.split()[0] for line in _run(["ip", "netns", "list"]).stdout.splitlines() if line.strip())
    return sorted(name for name in names if name.startswith(_netns_prefix(slot)))


def slot_links(slot: int) -> list[str]:
    """The slot's bridge and root-side veths that exist now."""
    bridge, prefix = _names(slot)
    wanted = re.compile(rf"{re.escape(bridge)}|{re.escape(prefix)}h\d+")
    links = []
    for line in _run(["ip", "-o", "link", "show"]).stdout.splitlines():
        fields = line.split(":", 2)
        if len(fields) > 1:
            name = fields[1].strip().split("@", 1)[0]
            if wanted.fullmatch(name):
                links.append(name)
    return sorted(links)


def slot_sshd_pids(slot: int, run_dir: Path) -> list[int]:
    """sshd processes of the slot: started with a config under run_dir, or listening on the slot's range."""
    listen = f"ListenAddress {BENCHMARK_NET}.{slot}."
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        # OpenSSH retitles its listener ("sshd: /usr/sbin/sshd -f CONFIG ... [listener] ..."):
        # one argv string then, so split it into words.
        args = " ".join(a.decode(errors="replace") for a in argv if a).split()
        if not args or os.path.basename(args[0]).rstrip(":") != "sshd" or "-f" not in args[:-1]:
            continue
        config = Path(args[args.index("-f") + 1])
        try:
            ours = run_dir.resolve() in config.resolve().parents or listen in config.read_text()
        except OSError:
            ours = False
        if ours:
            pids.append(int(proc.name))
    return pids


def _alive(pid: int) -> bool:
    """Running, not a zombie its parent has yet to reap."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _kill_and_wait(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    for _attempt in range(50):
        if not _alive(pid):
            return
        time.sleep(0.1)
    raise TestHostError(f"sshd {pid} of an earlier run would not die")


def clear_slot(run_dir: Path, slot: int) -> None:
    """Remove what an earlier (perhaps killed) run of this slot left, and empty run_dir."""
    if (run_dir / "hosts.json").exists():
        try:
            down(run_dir)
        except (TestHostError, ValueError, KeyError):
            pass  # a half-written state file: the slot-wide sweep below finds the rest
    for netns in slot_namespaces(slot):
        _kill_netns_processes(netns)
        _run(["ip", "netns", "del", netns], check=False)
    for link in slot_links(slot):
        _run(["ip", "link", "del", link], check=False)
    for pid in slot_sshd_pids(slot, run_dir):
        _kill_and_wait(pid)
    if run_dir.exists():
        shutil.rmtree(run_dir)


def up(run_dir: Path, slot: int, hosts: Sequence[str]) -> dict:
    """Start one sshd test host per name on a clean slot; returns (and writes) the hosts.json data."""
    for tool in (SSHD, "/usr/sbin/ip", "/usr/bin/unshare"):
        if not os.path.exists(tool):
            raise TestHostError(f"{tool} is missing: run `make system-deps` (openssh-server iproute2 util-linux)")
    clear_slot(run_dir, slot)
    run_dir.mkdir(parents=True)
    bridge, prefix = _names(slot)
    _keygen(run_dir / "ssh_host_ed25519_key")
    _keygen(run_dir / "id_ed25519")
    shutil.copy(run_dir / "id_ed25519.pub", run_dir / "authorized_keys")
    # What the hosts run as /usr/bin/systemctl: the fake, with the hosts' own python.
    wrapper = run_dir / "systemctl"
    wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/python3 {FAKE_SYSTEMCTL} "$@"\n')
    wrapper.chmod(0o755)

    state = {"slot": slot, "bridge": bridge, "run_dir": str(run_dir), "hosts": []}
    state_file = run_dir / "hosts.json"
    if _run(["ip", "link", "show", bridge], check=False).returncode != 0:
        _run(["ip", "link", "add", bridge, "type", "bridge"])
    _run(["ip", "addr", "replace", f"{BENCHMARK_NET}.{slot}.1/24", "dev", bridge])
    _run(["ip", "link", "set", bridge, "up"])
    state_file.write_text(json.dumps(state, indent=2))

    for index, name in enumerate(hosts):
        netns = f"calico-azure-{slot}-{name}"
        veth = f"{prefix}h{index}"
        address = host_address(slot, index)
        host_dir = run_dir / "hosts" / name
        for sub in ("etc-upper", "etc-work", "preinstalled-units"):
            (host_dir / sub).mkdir(parents=True, exist_ok=True)
        for unit, text in PREINSTALLED_UNITS.items():
            (host_dir / "preinstalled-units" / unit).write_text(text)
        _run(["ip", "netns", "add", netns])
        entry = {"name": name, "address": address, "netns": netns, "veth": veth, "pid": None, "port": 22,
                 "user": "root", "identity_file": str(run_dir / "id_ed25519"),
                 "etc_upper": str(host_dir / "etc-upper")}
        state["hosts"].append(entry)
        state_file.write_text(json.dumps(state, indent=2))
        _run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns])
        _run(["ip", "link", "set", veth, "master", bridge, "up"])
        _run(["ip", "-n", netns, "addr", "add", f"{address}/24", "dev", "eth0"])
        _run(["ip", "-n", netns, "link", "set", "eth0", "up"])
        _run(["ip", "-n", netns, "link", "set", "lo", "up"])
        config = _sshd_config(run_dir, host_dir, address)
        # sshd daemonises; its mount and UTS namespaces live as long as it does.
        _run(["ip", "netns", "exec", netns, "unshare", "--mount", "--uts", "--propagation", "private",
              "sh", "-c", _host_script(name, host_dir, config, wrapper)])
        _wait_for_port(address, 22)
        entry["pid"] = int((host_dir / "sshd.pid").read_text().strip())
        state_file.write_text(json.dumps(state, indent=2))
    return state


def _kill_netns_processes(netns: str) -> None:
    for _attempt in range(50):
        pids = [int(p) for p in _run(["ip", "netns", "pids", netns], check=False).stdout.split()]
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    raise TestHostError(f"processes in network namespace {netns} would not die")


def down(run_dir: Path) -> None:
    """Stop every host of a run: kill its processes, delete namespaces and bridge."""
    state_file = run_dir / "hosts.json"
    if not state_file.exists():
        return
    state = json.loads(state_file.read_text())
    for host in state["hosts"]:
        if host.get("pid"):
            try:
                os.kill(host["pid"], signal.SIGTERM)
            except ProcessLookupError:
                pass
        if host["netns"] in _run(["ip", "netns", "list"]).stdout.split():
            _kill_netns_processes(host["netns"])
            _run(["ip", "netns", "del", host["netns"]], check=False)
        _run(["ip", "link", "del", host["veth"]], check=False)
    _run(["ip", "link", "del", state["bridge"]], check=False)
    state_file.unlink()


def ansible_host_vars(host: dict) -> dict:
    """Connection variables ansible needs for one test host."""
    return {
        "ansible_host": host["address"],
        "ansible_port": host["port"],
        "ansible_user": host["user"],
        "ansible_ssh_private_key_file": host["identity_file"],
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        "ansible_python_interpreter": "/usr/bin/python3",
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up_p = sub.add_parser("up")
    up_p.add_argument("--run-dir", type=Path, required=True)
    up_p.add_argument("--slot", type=int, required=True)
    up_p.add_argument("--hosts", required=True, help="comma-separated host names")
    down_p = sub.add_parser("down")
    down_p.add_argument("--run-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "up":
        try:
            state = up(args.run_dir, args.slot, [h for h in args.hosts.split(",") if h])
        except TestHostError as exc:
            down(args.run_dir)
            print(f"test hosts: {exc}", file=sys.stderr)
            return 1
        print(json.dumps(state, indent=2))
    else:
        down(args.run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
