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


def handler_cost(env, request):
    """CPU time and peak RSS of one handler process, run directly on a socket pair (inetd style)."""
    import tempfile
    ours, theirs = socket.socketpair()
    e = dict(env, PATH=os.environ.get("PATH", "/usr/bin:/bin"))
    # GNU time forks the handler from itself: a fork of this Python process would count Python's memory.
    with tempfile.NamedTemporaryFile("r") as out:
        p = subprocess.Popen(["/usr/bin/time", "-o", out.name, "-f", "%U %S %M", harness.BIN], stdin=theirs,
                             stdout=theirs, stderr=subprocess.DEVNULL, env=e)
        theirs.close()
        ours.sendall(request)
        ours.shutdown(socket.SHUT_WR)
        while ours.recv(65536):
            pass
        p.wait()
        ours.close()
        user, system, rss = out.read().split()[-3:]
    return (float(user) + float(system)) * 1000, int(rss)


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


def throughput(fn, concurrency, total):
    """Runs per second with `concurrency` clients doing `total` runs in all."""
    import threading
    left = [total]
    lock = threading.Lock()
    errors = []

    def worker():
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - reported, not raised: this is a benchmark
                errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print("  errors at concurrency %d: %d (%s)" % (concurrency, len(errors), errors[0]))
    return total / (time.monotonic() - start)


def run_body(image):
    body = json.dumps({"image": image, "payload": PAYLOAD}).encode()
    return (b"POST /run HTTP/1.1\r\nX-Access-Token: %s\r\nContent-Length: %d\r\n\r\n"
            % (harness.TOKEN.encode(), len(body)) + body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--image", default=harness.RUNNER)
    ap.add_argument("--pool", type=int, default=4, help="warm containers kept for the image")
    ap.add_argument("--throughput-runs", type=int, default=32, help="runs per throughput measurement")
    args = ap.parse_args()
    harness.require_engine()
    harness.ensure_images()

    pool = {"DOCKER_RUN_WARM_POOL": "%s=%d" % (args.image, args.pool),
            "DOCKER_RUN_RUNTIME_DIRECTORY": harness.RUNTIME_DIR}
    harness.sweep(pool)
    # Generous engine timeouts: at concurrency 16 on a small machine the engine itself queues.
    slow = {"RUN_MAX_EXECUTION_TIME": "30", "DOCKER_UNIX_SOCKET_READ_TIMEOUT": "20"}
    with harness.Server(slow) as cold, harness.Server(dict(pool, **slow)) as warm:
        fns = {
            "raw engine calls": lambda: raw_run(args.image),
            "docker run --rm -i": lambda: cli_run(args.image),
            "docker-run cold": lambda: service_run(cold, args.image),
            "docker-run warm": lambda: service_run(warm, args.image),
            "GET / (socket activation)": lambda: cold.request("GET", "/", token=None),
        }
        results = {name: [] for name in fns}
        for fn in fns.values():
            fn()  # warm caches once
        # Interleave the contenders round by round, so drifts in machine load hit all alike.
        for _ in range(args.runs):
            for name, fn in fns.items():
                results[name] += measure(fn, 1)
                if name == "docker-run warm":
                    time.sleep(0.3)  # let the handler's replacement start, as between real requests
        floor = statistics.median(results["raw engine calls"])
        print("Latency of a hello-world run, %d runs each, image %s:" % (args.runs, args.image))
        print("  %-28s %10s %10s %12s" % ("", "p50 ms", "p99 ms", "p50 / raw"))
        for name, times in results.items():
            times.sort()
            med = statistics.median(times)
            print("  %-28s %10.1f %10.1f %12.2f" % (name, med, pct(times, 99), med / floor))

        print("Throughput, runs/s (%d runs per cell; warm pool of %d):" % (args.throughput_runs, args.pool))
        print("  %-28s %10s %10s %10s" % ("concurrency", "1", "4", "16"))
        for name in ("raw engine calls", "docker-run cold", "docker-run warm"):
            row = []
            for c in (1, 4, 16):
                if name == "docker-run warm":
                    harness.sweep(pool)
                row.append(throughput(fns[name], c, args.throughput_runs))
            print("  %-28s %10.1f %10.1f %10.1f" % (name, *row))

        env = dict(harness.REFERENCE)
        print("Handler cost per request (one process, median of 5):")
        for name, e, req in (("GET /", env, b"GET / HTTP/1.0\r\n\r\n"),
                             ("POST /run cold", env, run_body(args.image)),
                             ("POST /run warm", dict(env, **pool), run_body(args.image))):
            costs = []
            for _ in range(5):
                if name.endswith("warm"):
                    harness.sweep(pool)
                costs.append(handler_cost(e, req))
            print("  %-28s CPU %6.1f ms   peak RSS %6d KiB" % (name, statistics.median(c[0] for c in costs),
                                                                max(c[1] for c in costs)))
    harness.sweep({"DOCKER_RUN_WARM_POOL": ""})
    left = harness.wait_no_containers()
    if left:
        print("containers left:", left)


if __name__ == "__main__":
    main()
