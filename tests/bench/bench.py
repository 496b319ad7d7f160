#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench: hello-world latency of docker-run beside the raw engine calls and the docker CLI, measured
side by side in one run; throughput; what one handler process costs (cost.py); GET / over socket
activation; with --runsc, runc and gVisor side by side on one engine. Prints figures; asserts nothing.

    python3 tests/bench/bench.py [--runs N] [--image IMAGE] [--quick] [--runsc] [--only SECTION,...]

Sections: latency, throughput, cost, get, runsc (the last only with --runsc or --only). --quick
is a smoke run of about a minute. Every container, test image and process the benchmark makes is
removed at the end, also on Ctrl-C or SIGTERM. Needs a running engine (DOCKER_HOST_SOCKET, the docker
CLI's DOCKER_HOST), the built handler (DOCKER_RUN_BIN) and the test images; --runsc needs runsc.
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
import cost  # noqa: E402
from benchlib import harness  # noqa: E402

PAYLOAD = benchlib.HELLO
SECTIONS = ("latency", "throughput", "cost", "get", "runsc")
# glotcode/docker-run's README, "Performance": Python hello world, min-max read off httpstat by hand on
# a $5 Linode VM (another machine, another language): quoted as published.
PUBLISHED = {"runc": "250-350", "runsc": "450-570"}


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


def create_body(image, runtime=None):
    c = harness.REFERENCE
    body = {
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
    if runtime:
        body["HostConfig"]["Runtime"] = runtime
    return body


def raw_run(image, sock=None, runtime=None):
    """The floor: create, attach, start, write, read to EOF, remove, back to back on the socket."""
    sock = sock or harness.DOCKER_SOCKET
    conn = UnixHTTPConnection(sock)
    cid = engine(conn, "POST", "/containers/create", create_body(image, runtime))["Id"]
    a = socket.socket(socket.AF_UNIX)
    a.connect(sock)
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
    if st != 200 or body.get("stdout") != benchlib.HELLO_STDOUT:
        raise RuntimeError("docker-run: %s %s" % (st, body))


def measure(fn, runs):
    times = []
    for _ in range(runs):
        t = time.monotonic()
        fn()
        times.append((time.monotonic() - t) * 1000)
    times.sort()
    return times


def throughput(fn, concurrency, total):
    """Runs per second with `concurrency` clients doing `total` runs in all."""
    left = [total]
    lock = threading.Lock()
    errors = []

    def worker():
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - reported, not raised: this is a benchmark
                errors.append(e)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    start = time.monotonic()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    except KeyboardInterrupt:
        with lock:
            left[0] = 0
        benchlib.join_all(threads)  # what they are making, the clean-up must see
        raise
    if errors:
        print("  errors at concurrency %d: %d (%s)" % (concurrency, len(errors), errors[0]))
    return total / (time.monotonic() - start)


def latency_and_throughput(args, cleanup, sections):
    pool = {"DOCKER_RUN_WARM_POOL": "%s=%d" % (args.image, args.pool),
            "DOCKER_RUN_RUNTIME_DIRECTORY": harness.RUNTIME_DIR}
    harness.sweep(pool)
    # Generous engine timeouts: at concurrency 16 on a small machine the engine itself queues.
    slow = dict(cleanup.env(), RUN_MAX_EXECUTION_TIME="30", DOCKER_UNIX_SOCKET_READ_TIMEOUT="20")
    with harness.Server(slow) as cold, harness.Server(dict(pool, **slow)) as warm:
        fns = {
            "raw engine calls": lambda: raw_run(args.image),
            "docker run --rm -i": lambda: cli_run(args.image),
            "docker-run cold": lambda: service_run(cold, args.image),
            "docker-run warm": lambda: service_run(warm, args.image),
            "GET / (socket activation)": lambda: cold.request("GET", "/", token=None),
        }
        if "latency" in sections:
            results = {name: [] for name in fns}
            for fn in fns.values():
                fn()  # warm caches once
            benchlib.server_idle(warm)
            # Interleave the contenders round by round, so drifts in machine load hit all alike.
            for _ in range(args.runs):
                for name, fn in fns.items():
                    results[name] += measure(fn, 1)
                    if name == "docker-run warm":
                        benchlib.server_idle(warm)  # its replacement starts after the answer, as between requests
            floor = statistics.median(results["raw engine calls"])
            print("Latency of a hello-world run, %d runs each, image %s:" % (args.runs, args.image))
            print("  %-28s %10s %10s %12s" % ("", "p50 ms", "p99 ms", "p50 / raw"))
            for name, times in results.items():
                med = statistics.median(times)
                print("  %-28s %10.1f %10.1f %12.2f" % (name, med, benchlib.pct(times, 99), med / floor))

        if "throughput" in sections:
            levels = (1, 4, 16)
            print("Throughput, runs/s (%d runs per cell; warm pool of %d):" % (args.throughput_runs, args.pool))
            print("  %-28s" % "concurrency" + "".join("%10d" % c for c in levels))
            for name in ("raw engine calls", "docker-run cold", "docker-run warm"):
                row = []
                for c in levels:
                    if name == "docker-run warm":
                        benchlib.server_idle(warm)
                        harness.sweep(pool)
                    row.append(throughput(fns[name], c, args.throughput_runs))
                print("  %-28s" % name + "".join("%10.1f" % r for r in row))
            benchlib.server_idle(warm)


def gvisor(args, cleanup):
    """runc and runsc side by side on one dockerd that has both, interleaved round by round."""
    import engines  # tests/engines.py

    print("gVisor: starting a dockerd with runsc registered (engines.Dockerd(runsc=True))", flush=True)
    with engines.Dockerd(runsc=True) as e:
        benchlib.copy_image(args.image, e.socket)
        base = dict(cleanup.env(), DOCKER_UNIX_SOCKET_PATH=e.socket, RUN_MAX_EXECUTION_TIME="30",
                    DOCKER_UNIX_SOCKET_READ_TIMEOUT="20")
        runtimes = {"runc": {}, "runsc": {"DOCKER_CONTAINER_RUNTIME": "runsc"}}
        # The two pools cannot share an engine: a sweep retires warm containers made under another
        # configuration. Each warm run is preceded by a sweep of its own, which (re)fills a pool of one.
        pools = {rt: dict(base, DOCKER_RUN_WARM_POOL="%s=1" % args.image,
                          DOCKER_RUN_RUNTIME_DIRECTORY=cleanup.tmp, **extra) for rt, extra in runtimes.items()}
        servers = []
        try:
            cold = {}
            warm = {}
            for rt, extra in runtimes.items():
                cold[rt] = harness.Server(dict(base, **extra))
                servers.append(cold[rt])
                warm[rt] = harness.Server(pools[rt])
                servers.append(warm[rt])
            for s in servers:
                s.start()

            def warm_run(rt):
                harness.sweep(pools[rt])
                return lambda: service_run(warm[rt], args.image)

            rows = {
                "raw engine calls": lambda rt: (None, lambda: raw_run(args.image, e.socket,
                                                                      "runsc" if rt == "runsc" else None)),
                "docker-run cold": lambda rt: (None, lambda: service_run(cold[rt], args.image)),
                "docker-run warm": lambda rt: (warm[rt], warm_run(rt)),
            }
            results = {(row, rt): [] for row in rows for rt in runtimes}
            for r in range(args.runsc_runs + 1):  # the first round warms caches, unmeasured
                for row, prepare in rows.items():
                    for rt in runtimes:
                        server, fn = prepare(rt)
                        t = time.monotonic()
                        fn()
                        took = (time.monotonic() - t) * 1000
                        if r:
                            results[row, rt].append(took)
                        if server:
                            benchlib.server_idle(server)
        finally:
            for s in servers:
                s.stop()
        print("runc and gVisor side by side: one dockerd with runsc registered (--platform=ptrace "
              "--network=none), %d rounds interleaved, image %s (ms):" % (args.runsc_runs, args.image))
        print("  %-20s %9s %9s %8s %10s %10s %8s %13s %12s" % (
            "", "runc p50", "runc p99", "/ raw", "runsc p50", "runsc p99", "/ raw", "runsc - runc", "runsc / runc"))
        raw = {rt: statistics.median(results["raw engine calls", rt]) for rt in runtimes}
        for row in rows:
            a, b = results[row, "runc"], results[row, "runsc"]
            ma, mb = statistics.median(a), statistics.median(b)
            print("  %-20s %9.1f %9.1f %8.2f %10.1f %10.1f %8.2f %13.1f %12.2f" % (
                row, ma, benchlib.pct(a, 99), ma / raw["runc"], mb, benchlib.pct(b, 99), mb / raw["runsc"],
                mb - ma, mb / ma))
        print("  %-20s %9s %9s %8s %10s %10s %8s %13s %12s" % (
            "glotcode/docker-run", PUBLISHED["runc"], "", "", PUBLISHED["runsc"], "", "", "+200", "1.6-1.8"))
        print("  (the last row as published in its README: Python hello world, min-max by hand with httpstat on a "
              "$5 Linode VM; another machine and language)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="rounds of the latency table")
    ap.add_argument("--image", default=harness.RUNNER)
    ap.add_argument("--pool", type=int, default=4, help="warm containers kept for the image")
    ap.add_argument("--throughput-runs", type=int, default=32, help="runs per throughput measurement")
    ap.add_argument("--cost-runs", type=int, default=11, help="handler processes per kind for CPU and RSS")
    ap.add_argument("--callgrind-runs", type=int, default=3, help="callgrind runs per request kind")
    ap.add_argument("--get-runs", type=int, default=200, help="GET / requests per row of the GET table")
    ap.add_argument("--runsc", action="store_true", help="also runc and gVisor side by side (a dockerd of its own)")
    ap.add_argument("--runsc-runs", type=int, default=10, help="rounds of the gVisor table")
    ap.add_argument("--only", help="comma-separated sections: " + ",".join(SECTIONS))
    ap.add_argument("--quick", action="store_true", help="a smoke run of about a minute")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.throughput_runs, args.cost_runs, args.callgrind_runs = 3, 6, 3, 1
        args.get_runs, args.runsc_runs = 30, 3
    sections = set(args.only.split(",")) if args.only else set(SECTIONS) - {"runsc"}
    if args.runsc:
        sections.add("runsc")
    unknown = sections - set(SECTIONS)
    if unknown:
        ap.error("unknown section(s): %s" % ", ".join(sorted(unknown)))
    harness.require_engine()
    cleanup = benchlib.Cleanup()
    began = time.monotonic()
    try:
        harness.ensure_images()
        print("command:", benchlib.command_line(), flush=True)
        if sections & {"latency", "throughput"}:
            latency_and_throughput(args, cleanup, sections)
        if "cost" in sections:
            pool = {"DOCKER_RUN_WARM_POOL": "%s=1" % args.image, "DOCKER_RUN_RUNTIME_DIRECTORY": harness.RUNTIME_DIR}
            cost.handler_cost(args.image, args.cost_runs, args.callgrind_runs, pool, cleanup.tmp, cleanup.env())
        if "get" in sections:
            with harness.Server(cleanup.env()) as server:
                cost.get_latency(server, args.get_runs)
        if "runsc" in sections:
            gvisor(args, cleanup)
    except KeyboardInterrupt:
        print("bench: interrupted", flush=True)
        sys.exit(130)
    finally:
        cleanup.finish()
        print("bench: %.0f s" % (time.monotonic() - began))


if __name__ == "__main__":
    main()
