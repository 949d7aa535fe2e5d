# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTPS with a throwaway trustme CA, HTTP/1.1 keep-alive, one thread per connection (as azure_emulator)."""

from __future__ import annotations

import json
import ssl
import sys
import tempfile
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme

from . import control


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "k8s-emulator/1"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - the request log is in K8sCore
        pass

    def do_GET(self):
        self._handle()

    do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = do_GET

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.path.startswith("/_emulator/"):
            status, payload = control.handle(self.server.core, self.command, self.path, body, self.server.info_provider)
            self._send(status, {"Content-Type": "application/json"}, json.dumps(payload).encode())
            return
        try:
            status, out_headers, payload = self.server.core.handle(self.command, self.path, headers, body)
        except Exception as exc:  # noqa: BLE001 - a stand-in bug must reach the test as an answer, not a hang
            traceback.print_exc(file=sys.stderr)
            status, out_headers = 500, {"Content-Type": "application/json"}
            payload = json.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                  "message": f"k8s-emulator bug: {type(exc).__name__}: {exc}",
                                  "reason": "InternalError", "code": 500}).encode()
        self._send(status, out_headers, payload)

    def _send(self, status: int, headers: dict, payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, context: ssl.SSLContext, core):
        self.context, self.core = context, core
        self.info_provider = dict
        super().__init__(address, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        pass


class TLSServerThread:
    def __init__(self, core, host: str = "127.0.0.1", port: int = 0, workdir: str | None = None):
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="k8s-emulator-")
            workdir = self._tmp.name
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA(organization_name="k8s-emulator test CA")
        self.ca_pem = self.ca.cert_pem.bytes()
        self.ca_file = str(self.workdir / "k8s-emulator-ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)
        names = ["127.0.0.1", "localhost", "::1"] + ([host] if host not in ("127.0.0.1", "localhost", "::1") else [])
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.set_alpn_protocols(["http/1.1"])
        self.ca.issue_cert(*names).configure_cert(context)
        self.server = TLSServer((host, port), context, core)
        self.host, self.port = host, self.server.server_address[1]
        self.base_url = f"https://{host}:{self.port}"
        core.base_url = self.base_url
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="k8s-emulator", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()
