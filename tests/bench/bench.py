#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench: hello-world latency of docker-run beside the raw engine calls and the
docker CLI, measured side by side in one run. Prints figures; asserts nothing.

    python3 tests/bench/bench.py [--runs N] [--image IMAGE]

Needs a running engine, the built handler (DOCKER_RUN_BIN) and the test images.
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402

PAYLOAD = {"language": "sh", "files": [{"name": "main.sh", "content": "echo Hello World"}]}


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path)


def engine(conn, method, path, body=None):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    conn.request(method, "/v1.41" + path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = conn.getresponse()
    data = r.read()
    if r.status >= 300:
        raise RuntimeError("%s %s: %d %s" % (method, path, r.status, data[:200]))
    return json.loads(data) if data else None


def create_body(image):
    c = harness.REFERENCE
    return {
        "Hostname": c["DOCKER_CONTAINER_HOSTNAME"], "User": c["DOCKER_CONTAINER_USER"],
        "AttachStdin": True, "AttachStdout": True, "AttachStderr": True, "Tty": False,
        "OpenStdin": True, "StdinOnce": True, "Image": image, "NetworkDisabled": True,
        "Labels": {harness.LABEL: "true"},
        "HostConfig": {
            "Memory": int(c["DOCKER_CONTAINER_MEMORY"]), "MemorySwap": int(c["DOCKER_CONTAINER_MEMORY"]),
            "PidsLimit": 100, "CapDrop": c["DOCKER_CONTAINER_CAP_DROP"].split(),
            "Ulimits": [{"Name": "nofile", "Soft": 90, "Hard": 100}, {"Name": "nproc", "Soft": 90, "Hard": 100}],
            "ReadonlyRootfs": True, "SecurityOpt": ["no-new-privileges"], "NetworkMode": "none",
            "Tmpfs": {"/tmp": c["DOCKER_CONTAINER_TMP_DIR_OPTIONS"],
                      "/home/glot": c["DOCKER_CONTAINER_WORK_DIR_OPTIONS"]},
        },
    }


def raw_run(image):
    """The floor: create, attach, start, write, read to EOF, remove, back to back on the socket."""
    conn = UnixHTTPConnection(harness.DOCKER_SOCKET)
    cid = engine(conn, "POST", "/containers/create", create_body(image))["Id"]
    a = socket.socket(socket.AF_UNIX)
    a.connect(harness.DOCKER_SOCKET)
    a.sendall(b"POST /v1.41/containers/%s/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"
              b"Host: localhost\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n" % cid.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += a.recv(4096)
    out = head.split(b"\r\n\r\n", 1)[1]
    engine(conn, "POST", "/containers/%s/start" % cid)
    a.sendall(json.dumps(PAYLOAD).encode())
    a.shutdown(socket.SHUT_WR)
    while True:
        chunk = a.recv(65536)
        if not chunk:
            break
        out += chunk
    a.close()
    engine(conn, "DELETE", "/containers/%s?v=1&force=1" % cid)
    conn.close()
    if b"Hello World" not in out:
        raise RuntimeError("raw run: unexpected output %r" % out[:200])


def cli_run(image):
    c = harness.REFERENCE
    p = subprocess.run(["docker", "run", "--rm", "-i", "--label", harness.LABEL + "=true", "--network", "none",
                        "--user", c["DOCKER_CONTAINER_USER"], "--memory", c["DOCKER_CONTAINER_MEMORY"],
                        "--read-only", "--tmpfs", "/home/glot:" + c["DOCKER_CONTAINER_WORK_DIR_OPTIONS"],
                        "--tmpfs", "/tmp:" + c["DOCKER_CONTAINER_TMP_DIR_OPTIONS"], image],
                       input=json.dumps(PAYLOAD), capture_output=True, text=True)
    if "Hello World" not in p.stdout:
        raise RuntimeError("docker run: %s %s" % (p.stdout, p.stderr))


def service_run(server, image):
    st, _, body = server.run(PAYLOAD, image=image)
    if st != 200 or body.get("stdout") != "Hello World\n":
        raise RuntimeError("docker-run: %s %s" % (st, body))


def measure(fn, runs):
    times = []
    for _ in range(runs):
        t = time.monotonic()
        fn()
        times.append((time.monotonic() - t) * 1000)
    times.sort()
    return times


def pct(times, p):
    return times[min(len(times) - 1, int(round(p / 100 * (len(times) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--image", default=harness.RUNNER)
    args = ap.parse_args()
    harness.require_engine()
    harness.ensure_images()

    with harness.Server({"RUN_MAX_EXECUTION_TIME": "15"}) as server:
        rows = []
        # Interleave the contenders round by round, so drifts in machine load hit all alike.
        results = {"raw engine calls": [], "docker run --rm -i": [], "docker-run (cold)": [],
                   "GET / (socket activation)": []}
        fns = {
            "raw engine calls": lambda: raw_run(args.image),
            "docker run --rm -i": lambda: cli_run(args.image),
            "docker-run (cold)": lambda: service_run(server, args.image),
            "GET / (socket activation)": lambda: server.request("GET", "/", token=None),
        }
        for fn in fns.values():
            fn()  # warm caches once
        for _ in range(args.runs):
            for name, fn in fns.items():
                results[name] += measure(fn, 1)
        floor = statistics.median(results["raw engine calls"])
        print("hello world, %d runs each, image %s" % (args.runs, args.image))
        print("%-28s %10s %10s %12s" % ("", "p50 ms", "p99 ms", "p50 / raw"))
        for name, times in results.items():
            times.sort()
            med = statistics.median(times)
            print("%-28s %10.1f %10.1f %12.2f" % (name, med, pct(times, 99), med / floor))
            rows.append((name, med))
    left = harness.wait_no_containers()
    if left:
        print("containers left:", left)


if __name__ == "__main__":
    main()
