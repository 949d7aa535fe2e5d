"""HTTPS server: TLS with a throwaway trustme CA, HTTP/1.1 keep-alive, one thread per connection.

Two details matter for speed with the Azure SDK: ``disable_nagle_algorithm``
(without it every answer waits ~40 ms for the client's delayed ACK), and a
Content-Length on every answer so connections stay open between requests.
"""

from __future__ import annotations

import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme

from . import control
from .core import EmulatorCore
from .responses import Response


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "azure-emulator/1"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - the request log is in EmulatorCore
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
        core: EmulatorCore = self.server.core
        body = self._read_body()
        headers = {k.lower(): v for k, v in self.headers.items()}
        pending = core.process(self.command, self.path, headers)
        pending.body = body
        if pending.area == "control":
            self._send(control.handle(core, pending, body, self.server.info_provider))
            return
        if core.settings.request_ms:
            time.sleep(core.settings.request_ms / 1000.0)
        fault = pending.take_fault()
        if fault is not None and fault.kind == "reset":
            pending.log(None, 0, "reset")
            self._reset_connection()
            return
        if fault is not None and fault.kind == "apply_then_reset":
            # The write is applied (stored, LRO started), then the answer is lost on the wire.
            try:
                response = pending.respond(body)
            except Exception:  # noqa: BLE001 - a stand-in bug must not hide behind the injected reset
                traceback.print_exc(file=sys.stderr)
                response = None
            entry = pending.log(response, 0, "apply_then_reset")
            core.arm_mutations(entry)
            self._reset_connection()
            core.apply_armed_mutations()
            return
        if fault is not None:
            subscription = pending.path.split("/")[2] if pending.path.lower().startswith("/subscriptions/") else None
            response = Response(fault.status, fault.error_body(subscription), fault.headers(subscription))
        else:
            try:
                response = pending.respond(body)
            except Exception as exc:  # noqa: BLE001 - a stand-in bug must reach the test as an answer, not a hang
                traceback.print_exc(file=sys.stderr)
                response = Response(500, {"error": {"code": "EmulatorBug", "message": f"{type(exc).__name__}: {exc}"}})
        # Log first: a client may read the log as soon as it has the answer.
        entry = pending.log(response, response.status, str(fault.status) if fault else None)
        core.arm_mutations(entry)
        self._send(response)
        core.apply_armed_mutations()

    def _send(self, response: Response) -> None:
        payload = response.payload()
        self.send_response(response.status)
        has_type = any(k.lower() == "content-type" for k in response.headers)
        if payload and not has_type:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def _reset_connection(self) -> None:
        # SO_LINGER 0 makes close() send a TCP RST: the client sees "connection reset by peer".
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            # Closing without unwrap(): no TLS close_notify, just the RST.
            self.connection.close()
        except OSError:
            pass


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, context: ssl.SSLContext, core: EmulatorCore):
        self.context = context
        self.core = core
        self.info_provider = dict  # replaced by Emulator.info once started
        super().__init__(address, Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        # The handshake runs on first read, in the connection's own thread, so one slow
        # or failing client never blocks accept().
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        # Clients that reject our certificate or drop connections are expected in tests; stay quiet.
        pass


class TLSServerThread:
    """Certificates, the listening server and its thread."""

    def __init__(self, core: EmulatorCore, host: str = "127.0.0.1", port: int = 0, workdir: str | None = None):
        self.core = core
        self._tmp = None
        if workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="azure-emulator-")
            workdir = self._tmp.name
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA(organization_name="azure-emulator test CA")
        self.ca_file = str(self.workdir / "azure-emulator-ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)
        # Valid for loopback and for the address it is bound to (e.g. a bridge address that
        # hosts in network namespaces reach), so clients verify it wherever they connect from.
        names = ["127.0.0.1", "localhost", "::1"] + ([host] if host not in ("127.0.0.1", "localhost", "::1") else [])
        server_cert = self.ca.issue_cert(*names)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_cert.configure_cert(context)
        self.server = TLSServer((host, port), context, core)
        self.host = host
        self.port = self.server.server_address[1]
        self.base_url = f"https://{host}:{self.port}"
        core.base_url = self.base_url
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, name="azure-emulator", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
        if self._tmp is not None:
            self._tmp.cleanup()
