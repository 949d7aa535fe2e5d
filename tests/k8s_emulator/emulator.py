# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""``Emulator``: the Kubernetes API stand-in in a background thread of the test process.

    with Emulator(seed="default.yml") as emu:
        subprocess.run(["kubectl", "--kubeconfig", emu.kubeconfig, "get", "nodes"])
"""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from .clone import clone
from .control import ControlApi
from .core import K8sCore
from .server import TLSServerThread


class Emulator(ControlApi):
    def __init__(self, seed=None, host: str = "127.0.0.1", port: int = 0, workdir: str | None = None) -> None:
        self.core = K8sCore(seed)
        self._host, self._port, self._workdir = host, port, workdir
        self._server: TLSServerThread | None = None

    def start(self) -> "Emulator":
        if self._server is None:
            self._server = TLSServerThread(self.core, self._host, self._port, self._workdir)
            self._server.server.info_provider = self.info
            self._write_kubeconfigs()
            self._server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _call(self, operation: str, /, **kwargs):
        return clone(getattr(self.core, operation)(**kwargs))

    def _running(self) -> TLSServerThread:
        if self._server is None:
            raise RuntimeError("the emulator is not started: use `with Emulator(...) as emu` or emu.start()")
        return self._server

    @property
    def base_url(self) -> str:
        return self._running().base_url

    @property
    def ca_file(self) -> str:
        return self._running().ca_file

    @property
    def token(self) -> str:
        return self.core.admin_token

    @property
    def readonly_token(self) -> str:
        return self.core.readonly_token

    @property
    def kubeconfig(self) -> str:
        """Path of a kubeconfig (admin token, embedded CA, one context, current-context set)."""
        return str(self._running().workdir / "kubeconfig")

    @property
    def readonly_kubeconfig(self) -> str:
        """The same with the token that may only get and list."""
        return str(self._running().workdir / "kubeconfig-readonly")

    def kubeconfig_dict(self, token: str | None = None) -> dict:
        server = self._running()
        return {
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": "k8s-emulator", "cluster": {
                "server": server.base_url,
                "certificate-authority-data": base64.b64encode(server.ca_pem).decode()}}],
            "users": [{"name": "k8s-emulator-admin", "user": {"token": token or self.token}}],
            "contexts": [{"name": "k8s-emulator", "context": {"cluster": "k8s-emulator", "user": "k8s-emulator-admin",
                                                              "namespace": "default"}}],
            "current-context": "k8s-emulator",
        }

    def _write_kubeconfigs(self) -> None:
        workdir = self._running().workdir
        for name, token in (("kubeconfig", self.token), ("kubeconfig-readonly", self.readonly_token)):
            path = Path(workdir) / name
            path.write_text(yaml.safe_dump(self.kubeconfig_dict(token), sort_keys=False))
            path.chmod(0o600)

    def env(self) -> dict[str, str]:
        """What kubectl, the kubernetes client and kubernetes.core need: KUBECONFIG."""
        return {"KUBECONFIG": self.kubeconfig, "K8S_AUTH_KUBECONFIG": self.kubeconfig}

    def info(self) -> dict:
        return {"base_url": self.base_url, "ca_file": self.ca_file, "kubeconfig": self.kubeconfig,
                "readonly_kubeconfig": self.readonly_kubeconfig, "token": self.token,
                "readonly_token": self.readonly_token, "env": self.env()}
