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
            body = self.rfile.read(length) if length else b""
            stub.calls.append((method, path.split("?")[0]))
            if "/containers/create" in path:
                stub.bodies.append(json.loads(body))
            mode = stub.mode
            if path.endswith("/_ping"):
                self.answer(200)
            elif path.endswith("/info"):
                self.answer(200, stub.info)
            elif path.endswith("/version"):
                if mode == "version-error":
                    self.answer(500, {"message": "version refused by stub"}, "Error")
                else:
                    self.answer(200, {"Version": "stub", "ApiVersion": "1.41", "Os": "linux",
                                      "Platform": {"Name": "stub engine"}, "Components": None})
            elif "/containers/create" in path:
                if mode in ("slow", "slow-create"):
                    stub.event("create")
                    time.sleep(stub.delay)
                self.answer(201, {"Id": stub.ids.pop(0) if stub.ids else CID, "Warnings": None}, "Created")
            elif method == "GET" and len(path.split("?")[0].split("/")) == 5 and path.split("?")[0].endswith("/json"):
                # Inspect: the states a test queued (one per call, the last kept), else an exit 0.
                state = stub.states.pop(0) if len(stub.states) > 1 else (stub.states or [None])[0]
                self.answer(200, {"Id": path.split("/")[3], "State": state or {
                    "Running": False, "OOMKilled": False, "ExitCode": 0}})
            elif path.split("?")[0] == "/v1.41/containers/json":
                # The warm pool's and the sweeper's listing: what the test put in stub.listing.
                if stub.on_list:
                    stub.on_list()
                self.answer(200, stub.listing)
            elif path.split("?")[0].endswith("/attach"):
                if mode == "attach-error":
                    self.answer(500, {"message": "attach refused by stub"}, "Error")
                    continue
                if path.split("/")[3] in stub.gone:
                    self.answer(404, {"message": "No such container: gone"}, "Not Found")
                    continue
                if mode == "slow-attach":
                    stub.event("attach")
                    time.sleep(stub.delay)
                self.wfile.write(b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
                self.wfile.flush()
                self.stream(mode)
                return
            elif path.split("?")[0].endswith("/start"):
                if mode == "slow-start":
                    stub.event("start")
                    time.sleep(stub.delay)
                if mode == "start-error":
                    self.answer(500, {"message": "start refused by stub"}, "Error")
                else:
                    self.answer(204)
            elif method == "DELETE" or path.split("?")[0].endswith("/kill"):
                if method == "DELETE" and stub.on_delete:
                    stub.on_delete(path.split("?")[0].rsplit("/", 1)[-1])
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
            "silent": b"",  # the container ends without a word (what an inspect then says is stub.states)
        }.get("ok" if mode == "slow-start" else mode)
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
        self.bodies = []       # the create bodies received, parsed
        self.ids = []          # ids the next creates answer (CID when empty)
        # GET /info: an engine that enforces every limit, unless a test says otherwise.
        self.info = {"NCPU": 2, "MemoryLimit": True, "SwapLimit": True, "PidsLimit": True, "CpuCfsQuota": True,
                     "CgroupDriver": "cgroupfs", "CgroupVersion": "1", "Runtimes": {"runc": {"path": "runc"}}}
        self.listing = []      # the answer to GET /containers/json
        self.on_list = None    # called before that answer
        self.on_delete = None  # called with the id before a DELETE is answered
        self.gone = set()      # container ids whose attach answers 404
        self.states = []       # what GET /containers/ID/json answers as State, one a call, the last kept
        self.events = {}       # name: threading.Event, set when the stub reaches that step
        if os.path.exists(path):
            os.unlink(path)
        self.server = Stub(path, Handler)
        self.server.stub = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def event(self, name):
        self.events.setdefault(name, threading.Event()).set()

    def wait_for(self, name, timeout=10):
        return self.events.setdefault(name, threading.Event()).wait(timeout)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        os.unlink(self.path)
