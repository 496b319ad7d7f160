# SPDX-License-Identifier: MIT
"""stub-engine: a fake Docker Engine on a unix socket, only for the faults the
real engine cannot be made to show (a stdin frame, a broken stream, errors on
version or attach, an engine too slow to answer). Everything else is tested
against the real engine."""

import json
import os
import socket
import socketserver
import threading
import time

CID = "ab" * 32


def frame(kind, data):
    return bytes([kind, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


class Handler(socketserver.StreamRequestHandler):
    def answer(self, status, body=None, reason="OK"):
        data = json.dumps(body).encode() if body is not None else b""
        self.wfile.write(b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" %
                         (status, reason.encode(), len(data)) + data)
        self.wfile.flush()

    def handle(self):
        stub = self.server.stub
        while True:
            line = self.rfile.readline()
            if not line:
                return
            method, path, _ = line.decode().split(" ", 2)
            length = 0
            while True:
                h = self.rfile.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode().partition(":")
                if k.lower() == "content-length":
                    length = int(v)
            if length:
                self.rfile.read(length)
            stub.calls.append((method, path.split("?")[0]))
            mode = stub.mode
            if path.endswith("/_ping"):
                self.answer(200)
            elif path.endswith("/version"):
                if mode == "version-error":
                    self.answer(500, {"message": "version refused by stub"}, "Error")
                else:
                    self.answer(200, {"Version": "stub", "ApiVersion": "1.41", "Os": "linux",
                                      "Platform": {"Name": "stub engine"}, "Components": None})
            elif "/containers/create" in path:
                if mode == "slow":
                    time.sleep(stub.delay)
                self.answer(201, {"Id": CID, "Warnings": None}, "Created")
            elif path.split("?")[0].endswith("/attach"):
                if mode == "attach-error":
                    self.answer(500, {"message": "attach refused by stub"}, "Error")
                    continue
                self.wfile.write(b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
                self.wfile.flush()
                self.stream(mode)
                return
            elif path.split("?")[0].endswith("/start"):
                if mode == "start-error":
                    self.answer(500, {"message": "start refused by stub"}, "Error")
                else:
                    self.answer(204)
            elif method == "DELETE" or path.split("?")[0].endswith("/kill"):
                self.answer(204)
            else:
                self.answer(404, {"message": "no such route in stub"}, "Not Found")

    def stream(self, mode):
        # Read the payload until the handler half-closes, as a container's stdin would.
        while self.request.recv(65536):
            pass
        out = {
            "stdin-frame": frame(0, b"echoed on stdin") + frame(1, b"{}"),
            "bad-stream": frame(7, b"what"),
            "truncated": frame(1, b"{}")[:8] + b"{",
            "ok": frame(1, b'{"stdout":"stub","stderr":"","error":""}'),
        }.get(mode)
        if out is None:  # "hang": never answer, never close
            time.sleep(3600)
            return
        self.request.sendall(out)


class Stub(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class StubEngine:
    def __init__(self, path, mode="ok", delay=5):
        self.path = path
        self.mode = mode
        self.delay = delay
        self.calls = []
        if os.path.exists(path):
            os.unlink(path)
        self.server = Stub(path, Handler)
        self.server.stub = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        os.unlink(self.path)
