#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""cost: what one handler process costs per request, and GET / over socket activation. Prints figures;
asserts nothing. bench.py calls it; on its own:

    python3 tests/bench/cost.py [--runs N] [--callgrind-runs N] [--image IMAGE] [--quick]

- Instructions per request (valgrind --tool=callgrind, exact from run to run): the handler in inetd
  mode, its connection one end of a socket pair on stdin and stdout; the total, the share spent in the
  dynamic loader's own object (ld-linux: relocation, symbol look-up) and in all the code that runs
  outside main() (the loader, the libraries' constructors, exit).
- CPU time (ru_utime + ru_stime, microseconds) and peak RSS (ru_maxrss) from wait4() of the handler,
  median of N. The handler is started by a small C program (rusage.c, compiled here) rather than by
  Python: Linux counts a forked copy of Python's memory in its child's ru_maxrss, whatever it execs.
- GET / on one kept-alive HTTP/1.1 connection (when the handler keeps connections), and on a new
  connection each time through systemd-socket-activate; GET /health the same when it is served.
"""

import argparse
import collections
import os
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def cases(image):
    """(name, request bytes, expected status, whether it needs the warm pool)."""
    wrong = benchlib.run_request(image, token="wrong-token")
    return [
        ("GET /", benchlib.get_request("/"), 200, False),
        ("401 POST /run (wrong token)", wrong, 401, False),
        ("404 GET /nope", benchlib.get_request("/nope"), 404, False),
        ("POST /run cold", benchlib.run_request(image), 200, False),
        ("POST /run warm", benchlib.run_request(image), 200, True),
    ]


def serve_once(argv, env, request, timeout=60):
    """Run argv with one end of a socket pair as its stdin and stdout, send request, read one answer,
    close our end and wait for the process. Returns the answer's status (None if there was none)."""
    ours, theirs = socket.socketpair()
    ours.settimeout(timeout)
    e = dict(env, PATH=os.environ.get("PATH", "/usr/bin:/bin"))
    p = subprocess.Popen(argv, stdin=theirs, stdout=theirs, stderr=subprocess.DEVNULL, env=e)
    theirs.close()
    status = None
    try:
        ours.sendall(request)
        status = benchlib.read_response(ours)[0]
    except (OSError, benchlib.ConnectionClosed):
        pass
    finally:
        ours.close()
        p.wait()
    return status


class Callgrind:
    """Self cost per object, and main()'s inclusive cost, from a callgrind.out file."""

    def __init__(self, path):
        names = {"ob": {}, "fn": {}}
        kind = {"ob": "ob", "cob": "ob", "fn": "fn", "cfn": "fn"}
        self.total = None
        self.by_object = collections.Counter()
        self.main = 0
        ob = fn = None
        after_calls = False
        with open(path) as f:
            for line in f:
                c = line[:1]
                if c.isdigit() or c in "+-*":
                    parts = line.split()
                    cost = int(parts[1]) if len(parts) > 1 else 0
                    if after_calls:  # the inclusive cost of the call just named
                        after_calls = False
                        if fn == "main":
                            self.main += cost
                        continue
                    self.by_object[ob] += cost
                    if fn == "main":
                        self.main += cost
                    continue
                if line.startswith("calls="):
                    after_calls = True
                    continue
                if line.startswith(("summary:", "totals:")):
                    self.total = int(line.split()[1])
                    continue
                key, eq, rest = line.rstrip("\n").partition("=")
                if not eq or key not in kind:
                    continue
                # name compression: "(id) name" the first time, "(id)" after
                table = names[kind[key]]
                if rest.startswith("("):
                    ident, _, name = rest[1:].partition(")")
                    name = name.strip()
                    if name:
                        table[ident] = name
                    else:
                        name = table.get(ident, "?")
                else:
                    name = rest
                if key == "ob":
                    ob = name
                elif key == "fn":
                    fn = name
        if self.total is None:
            self.total = sum(self.by_object.values())

    def loader(self):
        """Self cost in the dynamic loader's object (ld-linux-*.so, ld-*.so)."""
        return sum(v for ob, v in self.by_object.items() if ob and os.path.basename(ob).startswith("ld-"))

    def outside_main(self):
        return self.total - self.main if self.main else None

    def top_objects(self, n=4):
        return [(os.path.basename(ob or "?"), v) for ob, v in self.by_object.most_common(n)]


def callgrind_once(env, request, tmp, tag):
    out = os.path.join(tmp, "callgrind.%s.out" % tag)
    status = serve_once(["valgrind", "--tool=callgrind", "-q", "--callgrind-out-file=" + out, harness.BIN],
                        env, request, timeout=120)
    cg = Callgrind(out)
    os.unlink(out)
    return status, cg


def rusage_helper(tmp):
    """rusage.c compiled into tmp (once)."""
    binary = os.path.join(tmp, "rusage")
    if not os.path.exists(binary):
        subprocess.run([os.environ.get("CC", "cc"), "-O2", "-o", binary, os.path.join(HERE, "rusage.c")],
                       check=True)
    return binary


def rusage_once(env, request, tmp):
    """(status, CPU µs, peak RSS KiB) of one handler process serving request."""
    out = os.path.join(tmp, "rusage.out")
    status = serve_once([rusage_helper(tmp), out, harness.BIN], env, request)
    user, system, rss, _ = (int(x) for x in open(out).read().split())
    os.unlink(out)
    return status, user + system, rss


def handler_cost(image, runs, callgrind_runs, pool_env, tmp, extra_env=None):
    """The table of instructions, CPU and peak RSS per request."""
    env = dict(harness.REFERENCE, **(extra_env or {}))
    rows = []
    for name, request, want, warm in cases(image):
        e = dict(env, **pool_env) if warm else env
        cgs, statuses = [], collections.Counter()
        for i in range(callgrind_runs):
            if warm:
                harness.sweep(pool_env)
            st, cg = callgrind_once(e, request, tmp, "%d.%d" % (len(rows), i))
            statuses[st] += 1
            cgs.append(cg)
        cpu, rss = [], []
        for _ in range(runs):
            if warm:
                harness.sweep(pool_env)
            st, us, kib = rusage_once(e, request, tmp)
            statuses[st] += 1
            cpu.append(us)
            rss.append(kib)
        rows.append((name, want, statuses, cgs, cpu, rss))

    print("Handler cost per request (inetd mode, one process per request; instructions: callgrind, median of "
          "%d; CPU and peak RSS: wait4(), median of %d):" % (callgrind_runs, runs))
    print("  %-28s %13s %7s %7s %7s %8s %8s %7s %8s" % (
        "", "instructions", "spread", "/ GET /", "ld.so", "!main()", "CPU us", "/ GET /", "RSS KiB"))
    base_ins = statistics.median(cg.total for cg in rows[0][3]) if rows[0][3] else None
    base_cpu = statistics.median(rows[0][4]) if rows[0][4] else None
    for name, want, statuses, cgs, cpu, rss in rows:
        ins = [cg.total for cg in cgs]
        med = statistics.median(ins) if ins else None
        spread = (max(ins) - min(ins)) / med * 100 if ins and med else None
        loader = statistics.median(cg.loader() / cg.total for cg in cgs) * 100 if cgs else None
        outside = [cg.outside_main() / cg.total for cg in cgs if cg.outside_main() is not None]
        c = statistics.median(cpu) if cpu else None
        print("  %-28s %13s %6s%% %7s %6s%% %7s%% %8s %8s %8s" % (
            name, "-" if med is None else "{:,.0f}".format(med), benchlib.fmt(spread, "%.2f"),
            benchlib.fmt(med / base_ins if med and base_ins else None, "%.3f"), benchlib.fmt(loader),
            benchlib.fmt(statistics.median(outside) * 100 if outside else None), benchlib.fmt(c, "%.0f"),
            benchlib.fmt(c / base_cpu if c and base_cpu else None, "%.2f"),
            benchlib.fmt(statistics.median(rss) if rss else None, "%.0f")))
        wrong = {st: n for st, n in statuses.items() if st != want}
        if wrong:
            print("  %-28s   answers other than %d: %s" % ("", want, wrong))
    print("  (spread: (max - min) / median of the instruction counts; ld.so: self cost in the dynamic loader's "
          "object ld-linux; !main(): all that runs outside main(): the loader's start-up relocations and look-ups, "
          "the libraries' constructors, exit; CPU: ru_utime + ru_stime)")
    if rows and rows[0][3]:
        top = rows[0][3][0].top_objects(5)
        print("  GET / by object (self cost): " + ", ".join("%s %.1f%%" % (ob, v / rows[0][3][0].total * 100)
                                                           for ob, v in top))
    return rows


def keepalive(server, runs, path="/"):
    """GET path on kept-alive connections: per-request ms, the first request of each connection left out.

    The handler closes a connection after SERVER_KEEPALIVE_REQUESTS answers (100 by default) and says so
    with Connection: close on the last one; the client then opens the next, as any client does. A handler
    that closes before answering twice on one connection does not keep connections alive at all.
    Returns (times, connections, None) or (None, None, the reason)."""
    times, connections = [], 0
    while len(times) < runs:
        s = benchlib.connect(server.port, timeout=30)
        connections += 1
        buffered, answered = b"", 0
        try:
            while len(times) < runs:
                t = time.monotonic()
                s.sendall(benchlib.get_request(path, close=False))
                status, headers, _, buffered = benchlib.read_response(s, buffered)
                if answered:
                    times.append((time.monotonic() - t) * 1000)
                answered += 1
                if status != 200:
                    return None, None, "answered %d" % status
                if not benchlib.keeps_alive(headers):
                    if answered < 2:
                        return None, None, "not supported: the handler answers Connection: %s" % headers.get(
                            "connection")
                    break
        except (OSError, benchlib.ConnectionClosed) as e:
            return None, None, "not supported: the connection ended after %d answer(s) (%s)" % (answered, e)
        finally:
            s.close()
    return times, connections, None


def new_connections(server, runs, path="/"):
    times, statuses = [], collections.Counter()
    for _ in range(runs):
        t = time.monotonic()
        st, _, _ = server.request("GET", path, token=None)
        times.append((time.monotonic() - t) * 1000)
        statuses[st] += 1
    return times, statuses


def get_latency(server, runs):
    """GET / (and GET /health if served): a new connection each time vs one reused connection."""
    print("GET over socket activation, %d requests each (ms):" % runs)
    print("  %-44s %8s %8s %10s" % ("", "p50", "p99", "p50 / new"))
    for path in ("/", "/health"):
        new, statuses = new_connections(server, runs if path == "/" else 1, path)
        if statuses.get(200, 0) != sum(statuses.values()):
            print("  GET %-40s %s" % (path, "not served: answered %s" % dict(statuses)))
            continue
        if path != "/":
            new, statuses = new_connections(server, runs, path)
        base = statistics.median(new)
        print("  GET %-40s %8.2f %8.2f %10.2f" % (path + ", new connection each time", base, benchlib.pct(new, 99),
                                                  1.0))
        reused, connections, why = keepalive(server, runs, path)
        if why:
            print("  GET %-40s %s" % (path + ", reused connection", why))
        else:
            med = statistics.median(reused)
            print("  GET %-40s %8.2f %8.2f %10.2f" % ("%s, reused (%d conn.)" % (path, connections), med,
                                                      benchlib.pct(reused, 99), med / base))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=11, help="handler processes per request kind for CPU/RSS")
    ap.add_argument("--callgrind-runs", type=int, default=3)
    ap.add_argument("--get-runs", type=int, default=200, help="GET / requests for the latency rows")
    ap.add_argument("--image", default=harness.RUNNER)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.callgrind_runs, args.get_runs = 3, 1, 50
    harness.require_engine()
    cleanup = benchlib.Cleanup()
    try:
        harness.ensure_images()
        pool = {"DOCKER_RUN_WARM_POOL": "%s=1" % args.image, "DOCKER_RUN_RUNTIME_DIRECTORY": harness.RUNTIME_DIR}
        print("command:", benchlib.command_line())
        handler_cost(args.image, args.runs, args.callgrind_runs, pool, cleanup.tmp, cleanup.env())
        with harness.Server(cleanup.env()) as server:
            get_latency(server, args.get_runs)
    except KeyboardInterrupt:
        print("cost: interrupted", flush=True)
        sys.exit(130)
    finally:
        cleanup.finish()


if __name__ == "__main__":
    main()
