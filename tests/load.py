#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""load: N requests at concurrency C through systemd-socket-activate, mixing good runs, limit breaches
and bad requests. Asserts correctness only (every answer the contract's, nothing left behind, memory
back); prints throughput and latency percentiles, which are the benchmark.

    tests/load.py [--runs N] [--concurrency C]     (defaults small for CI; e.g. --runs 500 --concurrency 16)
"""

import argparse
import os
import random
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import RUNNER, Server, our_containers, require_engine, ensure_images, sh  # noqa: E402


def kinds():
    """Each kind: a request and the one answer the contract gives it."""
    return {
        "hello": (lambda s: s.run(sh("echo hello")), (200, None, "hello\n")),
        "stdin": (lambda s: s.run(sh("cat", stdin="echo me")), (200, None, "echo me")),
        "loop": (lambda s: s.run(sh("while :; do :; done")), (400, "limits.execution_time", None)),
        "flood": (lambda s: s.run({}, image="docker-run-test/flood:latest"), (400, "limits.read.size", None)),
        "token": (lambda s: s.run(sh("echo"), token="wrong"), (401, "access_token", None)),
        "json": (lambda s: s.request("POST", "/run", body=b"{nope"), (400, "request.json", None)),
        "image": (lambda s: s.run(sh("echo"), image="docker-run-test/missing:latest"),
                  (400, "docker.container.create", None)),
        "route": (lambda s: s.request("GET", "/nope"), (404, "route.not_found", None)),
    }


def mem_available():
    for line in open("/proc/meminfo"):
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) // 1024
    return 0


def handlers(server):
    return open("/proc/%d/task/%d/children" % (server.proc.pid, server.proc.pid)).read().split()


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=60)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    require_engine()
    ensure_images()

    table = kinds()
    rng = random.Random(args.seed)
    # Mostly good runs, as in life; every kind at least once.
    plan = list(table) + [rng.choice(["hello", "hello", "hello", "stdin", "stdin", "loop", "flood", "token",
                                      "json", "image", "route"]) for _ in range(max(0, args.runs - len(table)))]
    rng.shuffle(plan)
    results, lock, wrong = {k: [] for k in table}, threading.Lock(), []
    before_mem, before = mem_available(), our_containers()

    # Engine timeouts generous enough for a queue of C container starts on a small machine.
    env = {"RUN_MAX_EXECUTION_TIME": "5", "DOCKER_UNIX_SOCKET_READ_TIMEOUT": "30", "DOCKER_CONTAINER_PIDS_LIMIT": "64"}
    with Server(env) as server:
        queue = list(enumerate(plan))

        def worker():
            while True:
                with lock:
                    if not queue:
                        return
                    i, kind = queue.pop()
                fn, (status, code, stdout) = table[kind]
                t = time.monotonic()
                try:
                    st, _, body = fn(server)
                except Exception as e:  # noqa: BLE001 - an exception is a wrong answer, counted
                    st, body = None, repr(e)
                took = time.monotonic() - t
                ok = st == status and isinstance(body, dict) and (
                    body.get("error") == code if code else body.get("stdout") == stdout)
                with lock:
                    results[kind].append(took)
                    if not ok:
                        wrong.append((i, kind, st, body))

        start = time.monotonic()
        threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - start
        end = time.monotonic() + 15
        while handlers(server) and time.monotonic() < end:
            time.sleep(0.2)
        left_handlers = handlers(server)
    left = harness.wait_no_containers(before, timeout=15)
    time.sleep(2)
    after_mem = mem_available()

    print("load: %d requests at concurrency %d in %.1f s: %.1f requests/s" % (len(plan), args.concurrency, wall,
                                                                          len(plan) / wall))
    print("  %-8s %6s %9s %9s %9s %9s" % ("kind", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"))
    for kind, times in results.items():
        if times:
            print("  %-8s %6d %9.0f %9.0f %9.0f %9.0f" % (kind, len(times), pct(times, 50), pct(times, 90),
                                                          pct(times, 99), max(times) * 1000))
    print("  MemAvailable before %d MiB, after %d MiB" % (before_mem, after_mem))

    checks = [
        ("every answer is the contract's for its kind", not wrong, wrong[:5]),
        ("no container left", not left, left),
        ("no handler process left", not left_handlers, left_handlers),
        ("memory back (within 300 MiB)", after_mem >= before_mem - 300, (before_mem, after_mem)),
    ]
    failed = 0
    for what, ok, detail in checks:
        print("%s %s%s" % ("ok  " if ok else "FAIL", what, "" if ok else ": %r" % (detail,)))
        failed += not ok
    print("%d passed, %d failed" % (len(checks) - failed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
