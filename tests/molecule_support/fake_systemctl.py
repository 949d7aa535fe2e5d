"""A stand-in for ``systemctl`` on test hosts that have no running systemd.

Test hosts are sshd processes in their own network and mount namespaces; no
service manager runs there. A wrapper running this script is
bind-mounted over ``/usr/bin/systemctl`` inside each host's mount namespace, so every caller
(``ansible.builtin.systemd_service`` included) finds it where it finds the
real one. It keeps unit state under ``/run/fake-systemctl`` (the host's own
tmpfs) and appends one JSON line per call to ``/var/log/fake-systemctl.log``
(also the host's own), which the molecule verify playbooks read to count
restarts.

It answers ``systemctl show UNIT`` with the properties systemd_service parses
(LoadState, ActiveState, SubState, UnitFileState, FragmentPath): a unit is
"loaded" when its unit file exists in one of systemd's unit directories, and
"not-found" otherwise, exactly like systemd, so a handler restarting a service
the host does not have fails as it would on a real host.
"""

import json
import os
import sys
import time

STATE_DIR = os.environ.get("FAKE_SYSTEMCTL_STATE", "/run/fake-systemctl")
LOG_FILE = os.environ.get("FAKE_SYSTEMCTL_LOG", "/var/log/fake-systemctl.log")
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system")
ACTIONS = ("start", "stop", "restart", "reload", "try-restart", "reload-or-restart", "enable", "disable")


def unit_name(name):
    return name if "." in name else name + ".service"


def unit_file(unit):
    for directory in UNIT_DIRS:
        path = os.path.join(directory, unit)
        if os.path.exists(path):
            return path
    return None


def read_state(unit):
    path = os.path.join(STATE_DIR, unit + ".json")
    if os.path.exists(path):
        with open(path) as handle:
            return json.load(handle)
    return {"active": False, "enabled": False}


def write_state(unit, state):
    os.makedirs(STATE_DIR, exist_ok=True)
    with open(os.path.join(STATE_DIR, unit + ".json"), "w") as handle:
        json.dump(state, handle)


def log_call(argv):
    os.makedirs(os.path.dirname(LOG_FILE), exist_ok=True)
    with open(LOG_FILE, "a") as handle:
        handle.write(json.dumps({"time": time.time(), "argv": argv}) + "\n")


def show(unit):
    path = unit_file(unit)
    state = read_state(unit)
    lines = ["Id=" + unit, "Names=" + unit]
    if path is None:
        lines += ["LoadState=not-found", "ActiveState=inactive", "SubState=dead", "UnitFileState="]
    else:
        lines += [
            "LoadState=loaded",
            "ActiveState=" + ("active" if state["active"] else "inactive"),
            "SubState=" + ("running" if state["active"] else "dead"),
            "UnitFileState=" + ("enabled" if state["enabled"] else "disabled"),
            "FragmentPath=" + path,
        ]
    print("\n".join(lines))
    return 0


def main(argv):
    log_call(argv)
    words = [a for a in argv if not a.startswith("-")]
    if not words:
        return 0
    command, names = words[0], [unit_name(n) for n in words[1:]]
    if command in ("daemon-reload", "daemon-reexec"):
        return 0
    if command == "show":
        return show(names[0]) if names else 0
    for unit in names:
        if unit_file(unit) is None:
            sys.stderr.write("Unit %s could not be found.\n" % unit)
            return 4 if command in ("is-active", "is-enabled") else 5
    if command == "is-active":
        active = all(read_state(u)["active"] for u in names)
        print("active" if active else "inactive")
        return 0 if active else 3
    if command == "is-enabled":
        enabled = all(read_state(u)["enabled"] for u in names)
        print("enabled" if enabled else "disabled")
        return 0 if enabled else 1
    if command == "list-unit-files":
        for unit in names:
            print("%s %s" % (unit, "enabled" if read_state(unit)["enabled"] else "disabled"))
        return 0
    if command in ACTIONS:
        for unit in names:
            state = read_state(unit)
            if command == "stop":
                state["active"] = False
            elif command == "enable":
                state["enabled"] = True
            elif command == "disable":
                state["enabled"] = False
            else:
                state["active"] = True
            write_state(unit, state)
        return 0
    sys.stderr.write("fake systemctl: unsupported command %r\n" % command)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
