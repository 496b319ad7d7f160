#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""More than one engine behind one handler (DOCKER_ENGINES), and more than one handler host behind
HAProxy. The second engine is a dockerd of the test's own in a network namespace (tests/engines.py),
reached over tcp with mutual TLS as a remote engine host would be; the main engine lends its images.

What is asserted: a remote engine over TLS runs what the local one does (stdin, output up to the cap);
its identity is checked (a certificate for another name, or from another CA, is refused and nothing
runs); runs spread over both engines; when the remote engine's network goes away under load, the runs
that were on it end with the engine's errors (never a user's 4xx), every later run is served by the
other engine, /health says which engine is down, the engine is used again once it is back, and the
sweeper then leaves no container on it. With two handler hosts behind HAProxy (packaging/haproxy's
configuration), the host whose engine is gone leaves the pool on /health and the runs go on."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import engines  # noqa: E402
import harness  # noqa: E402
from harness import LABEL, RUNNER, Server, expect, main, sh  # noqa: E402

host = None  # the network namespace of the remote engine
remote = None  # its dockerd, TLS on host.addr:2376
started = []


def setup():
    global host, remote
    missing = [t for t in ("ip", "openssl", "haproxy") if not shutil.which(t)]
    if missing:
        # CI installs them (tests/run-all.sh): there, their absence is a failure
        harness.log("%s: %s not installed" % ("FAIL" if os.environ.get("CI") else "SKIP", " ".join(missing)))
        sys.exit(1 if os.environ.get("CI") else harness.SKIP)
    host = engines.NetnsHost()
    started.append(host)
    host.start()
    remote = engines.Dockerd(tls=True, netns=host, name="dockerd-remote")
    started.insert(0, remote)
    remote.start()
    remote.load(RUNNER)


def remote_name():
    return "tcp://%s:%d" % remote.tcp


def local_name():
    return "unix://" + harness.DOCKER_SOCKET


def two_engines(**extra):
    env = {"DOCKER_ENGINES": local_name() + " " + remote_name(), "DOCKER_CERT_PATH": remote.certdir,
           "RUN_MAX_EXECUTION_TIME": "5"}
    env.update(extra)
    return env


def remote_containers():
    q = urllib.parse.quote(json.dumps({"label": [LABEL]}))
    st, body = remote.api("GET", "/v1.41/containers/json?all=1&filters=" + q)
    expect(st == 200, "the remote engine lists its containers", st, body)
    return [c["Id"] for c in body]


def engine_of(server, request_id):
    recs = [r for r in server.records(request_id) if r.get("DOCKER_RUN_ENGINE")]
    return recs[-1]["DOCKER_RUN_ENGINE"] if recs else None


def set_link(up):
    """The remote engine's host on or off the network: the root side of its veth pair up or down."""
    subprocess.run(["ip", "link", "set", host.veth, "up" if up else "down"], check=True)


def health(server):
    st, _, body = server.request("GET", "/health", token=None)
    return st, body


def wait_for(cond, timeout):
    """cond() until it is true or timeout seconds pass; its last value."""
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() > end:
            return v
        time.sleep(0.2)


def test_remote_engine_over_tls():
    with Server({"DOCKER_ENGINES": remote_name(), "DOCKER_CERT_PATH": remote.certdir}) as s:
        st, _, body = s.run(sh("echo ran"))
        expect(st == 200 and body["stdout"] == "ran\n", "a run on the remote engine", st, body)
        # stdin of 90,000 bytes ends (the write side shut over TLS) and the runner sees all of it
        st, _, body = s.run(sh("wc -c", stdin="x" * 90000))
        expect(st == 200 and body["stdout"] == "90000\n", "stdin whole over TLS", st, body)
        st, _, body = s.run(sh("head -c 60000 /dev/zero | tr '\\0' y"))
        expect(st == 200 and body["stdout"] == "y" * 60000, "60,000 bytes of output over TLS", st, str(body)[:200])
        st, _, body = s.run(sh("head -c 200000 /dev/zero"))
        expect(st == 400 and body["error"] == "limits.read.size", "the output cap holds over TLS", st, body)
    expect(wait_for(lambda: not remote_containers(), 10), "nothing left on the remote engine",
           remote_containers())


def test_remote_identity_checked():
    # A certificate for 127.0.0.1, reached as "localhost": the name is not the certificate's.
    with engines.Dockerd(tls=True, name="dockerd-named") as named:
        addr, port = named.tcp
        with Server({"DOCKER_ENGINES": "tcp://localhost:%d" % port, "DOCKER_CERT_PATH": named.certdir}) as s:
            st, _, body = s.run(sh("echo ran"))
            expect(st >= 500 and body["error"].startswith("docker."), "another name is refused", st, body)
            text = s.log_text()
            expect("certificate" in text.lower() or "ssl" in text.lower(), "the log says it is TLS", text[-1500:])
        # Our own CA, key and certificate: the engine does not trust them, nor we it.
        other = tempfile.mkdtemp(prefix="docker-run-test-certs-")
        try:
            engines.make_certs(other, addr)
            with Server({"DOCKER_ENGINES": "tcp://%s:%d" % (addr, port), "DOCKER_CERT_PATH": other}) as s:
                st, _, body = s.run(sh("echo ran"))
                expect(st >= 500 and body["error"].startswith("docker."), "another CA is refused", st, body)
        finally:
            shutil.rmtree(other)
        q = urllib.parse.quote(json.dumps({"label": [LABEL]}))
        st, listed = named.api("GET", "/v1.41/containers/json?all=1&filters=" + q)
        expect(st == 200 and not listed, "nothing was created there", st, listed)


def run_many(s, n, concurrency, payload, results, stop=None):
    """n runs at the given concurrency; results gets (start, end, status, headers, body) for each."""
    lock = threading.Lock()
    count = [0]

    def worker():
        while True:
            with lock:
                if count[0] >= n or (stop and stop.is_set()):
                    return
                count[0] += 1
            t = time.monotonic()
            try:
                st, hdrs, body = s.run(payload, timeout=60)
            except Exception as e:  # noqa: BLE001 (a broken answer is a failure, reported below)
                st, hdrs, body = None, {}, repr(e)
            with lock:
                results.append((t, time.monotonic(), st, hdrs, body))

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    return threads


def rate(s, n, results):
    """n runs of echo at concurrency 8 on server s: runs per second (a figure for the README, not asserted)."""
    t = time.monotonic()
    for th in run_many(s, n, 8, sh("echo ok"), results):
        th.join()
    return n / (time.monotonic() - t)


def test_runs_spread_over_two_engines():
    with Server({"RUN_MAX_CONCURRENT": "8"}) as s:
        one = rate(s, 48, [])
    with Server(two_engines(RUN_MAX_CONCURRENT="8")) as s:
        results = []
        two = rate(s, 48, results)
        harness.log("# 48 runs at concurrency 8: %.1f runs/s on the main engine alone, %.1f on it and the remote"
                    " one over TLS" % (one, two))
        bad = [r for r in results if r[2] != 200 or r[4]["stdout"] != "ok\n"]
        expect(not bad, "every run answered", bad[:3])
        used = {}
        for r in results:
            e = engine_of(s, r[3].get("x-request-id"))
            used[e] = used.get(e, 0) + 1
        expect(set(used) == {local_name(), remote_name()} and min(used.values()) >= 8,
               "both engines take a share", used)


def test_remote_engine_lost_under_load():
    payload = sh("sleep 0.3; echo ok")
    with Server(two_engines()) as s:
        results = []
        stop = threading.Event()
        threads = run_many(s, 10000, 8, payload, results, stop)
        time.sleep(4)
        cut = time.monotonic()
        set_link(False)
        try:
            time.sleep(8)
            st, body = health(s)
            by_name = {e["engine"]: e for e in (body or {}).get("engines", [])}
            expect(st == 200 and by_name.get(remote_name(), {}).get("status") == "unavailable"
                   and by_name.get(local_name(), {}).get("status") == "ok", "/health: one engine down", st, body)
            stop.set()
            for t in threads:
                t.join()
        finally:
            set_link(True)
            stop.set()
        expect(len(results) >= 100, "a load of at least 100 runs", len(results))
        before = [r for r in results if r[1] < cut]
        during = [r for r in results if r[0] < cut <= r[1]]
        after = [r for r in results if r[0] >= cut]
        expect(before and all(r[2] == 200 for r in before), "runs before the cut answered",
               [r[2:] for r in before if r[2] != 200][:3])
        expect(after and all(r[2] == 200 and r[4]["stdout"] == "ok\n" for r in after),
               "every run after the cut is served by the other engine", len(after),
               [r[2:] for r in after if r[2] != 200][:3])
        for r in during:
            if r[2] != 200:
                expect(r[2] >= 500 and r[4].get("error", "").startswith("docker."),
                       "a run caught on the lost engine ends with the engine's error", r[2:])
        expect(not [r for r in results if r[2] is None], "every request got an answer",
               [r[4] for r in results if r[2] is None][:3])
        on_remote = [r for r in after if engine_of(s, r[3].get("x-request-id")) == remote_name()]
        expect(not on_remote, "nothing after the cut ran on the lost engine", len(on_remote))
        # Back on the network: within the down mark's time and a little, runs reach it again.
        end = time.monotonic() + 30
        back = False
        while time.monotonic() < end and not back:
            st, hdrs, body = s.run(sh("echo ok"))
            expect(st == 200, "runs go on", st, body)
            back = engine_of(s, hdrs.get("x-request-id")) == remote_name()
        expect(back, "the engine is used again once it is back")
    # What the lost runs left on it (their removal could not reach it) the sweeper removes.
    p = harness.sweep(two_engines())
    expect(p.returncode == 0, "a sweep over both engines", p.log)
    expect(wait_for(lambda: not remote_containers(), 10), "the sweeper leaves none on the remote engine",
           remote_containers(), p.log)


HAPROXY_CFG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "packaging", "haproxy", "docker-run.cfg")


class Haproxy:
    """packaging/haproxy/docker-run.cfg as is, but for its bind address, server lines and log lines."""

    def __init__(self, servers):
        self.servers = servers  # name -> (address, port)
        self.proc = None
        self.tmp = None
        self.port = None

    def __enter__(self):
        self.tmp = tempfile.mkdtemp(prefix="docker-run-test-haproxy-")
        self.port = harness.free_port()
        lines = []
        for line in open(HAPROXY_CFG).read().splitlines():
            w = line.split()
            if w[:1] == ["log"]:
                continue
            if w[:1] == ["bind"]:
                line = "    bind 127.0.0.1:%d" % self.port
            if w[:1] == ["server"]:
                if not self.servers:
                    continue
                line = "\n".join("    server %s %s:%d" % (name, *addr) for name, addr in self.servers.items())
                self.servers = None
            lines.append(line)
        cfg = os.path.join(self.tmp, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = open(os.path.join(self.tmp, "haproxy.log"), "w+")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", cfg], stdout=self.log, stderr=subprocess.STDOUT)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                expect(self.proc.poll() is None, "haproxy runs", self.log_text())
                time.sleep(0.05)
        raise RuntimeError("haproxy did not listen: " + self.log_text())

    def log_text(self):
        self.log.seek(0)
        return self.log.read()

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()
        shutil.rmtree(self.tmp)


class Via:
    """A client of HAProxy, for run_many: what Server.run does, to HAProxy's port."""

    def __init__(self, port):
        self.addr = "127.0.0.1"
        self.port = port

    def run(self, payload, timeout=60):
        return Server.request(self, "POST", "/run", {"image": RUNNER, "payload": payload}, timeout=timeout)


def runs_served(server):
    return sum(1 for r in server.records() if r.get("MESSAGE", "").startswith("POST /run"))


def test_two_hosts_behind_haproxy_one_engine_lost():
    """Two handler hosts in network namespaces of their own, each socket-activated on its address with its
    own engine: host 1 the main engine, host 2 the remote one (over TLS, in its namespace). Host 2's engine
    stops answering (SIGSTOP: a hung dockerd) under load through HAProxy."""
    with engines.NetnsHost() as host1, \
            Server({"RUN_MAX_EXECUTION_TIME": "5"}, netns=host1) as one, \
            Server({"DOCKER_ENGINES": remote_name(), "DOCKER_CERT_PATH": remote.certdir,
                    "RUN_MAX_EXECUTION_TIME": "5",
                    "DOCKER_RUN_RUNTIME_DIRECTORY": harness.RUNTIME_DIR + "-host2"}, netns=host) as two, \
            Haproxy({"host1": (one.addr, one.port), "host2": (two.addr, two.port)}) as proxy:
        via = Via(proxy.port)
        # both hosts in the pool: the first checks pass at once
        expect(wait_for(lambda: via.run(sh("echo ok"))[0] == 200, 10), "a run through HAProxy")
        results = []
        stop = threading.Event()
        threads = run_many(via, 10000, 8, sh("sleep 0.3; echo ok"), results, stop)
        time.sleep(4)
        served = (runs_served(one), runs_served(two))
        cut = time.monotonic()
        remote.proc.send_signal(signal.SIGSTOP)
        try:
            time.sleep(14)
            stop.set()
            for t in threads:
                t.join()
        finally:
            remote.proc.send_signal(signal.SIGCONT)
            stop.set()
        expect(len(results) >= 100, "a load of at least 100 runs", len(results))
        expect(min(served) >= 4, "both hosts served runs before the engine stopped", served)
        before = [r for r in results if r[1] < cut]
        expect(before and all(r[2] == 200 for r in before), "runs before the stop answered",
               [r[2:] for r in before if r[2] != 200][:3])
        # Host 2 leaves the pool after two failed checks 2 s apart, each failing when its /health's ping
        # of the hung engine times out (DOCKER_UNIX_SOCKET_READ_TIMEOUT, 3 s here) or HAProxy's check does.
        window = 2 * 2 + 3 + 2
        late = [r for r in results if r[0] >= cut + window]
        expect(late and all(r[2] == 200 and r[4]["stdout"] == "ok\n" for r in late),
               "once host 2 is out of the pool every run is served", len(late),
               [r[2:] for r in late if r[2] != 200][:3], proxy.log_text()[-2000:])
        failed = [r for r in results if r[2] != 200]
        for r in failed:
            # the engine's errors; or, for a run that waited in host 2's queue behind runs stuck on the
            # hung engine, 429 limits.concurrency (with Retry-After): by then HAProxy sends it elsewhere
            expect(r[2] is not None and isinstance(r[4], dict) and (
                   (r[2] >= 500 and r[4].get("error", "").startswith("docker."))
                   or (r[2] == 429 and r[4].get("error") == "limits.concurrency" and "retry-after" in r[3])),
                   "a run lost with host 2's engine ends with a documented error", r[2:])
        harness.log("# %d runs, %d before the stop, %d failed with host 2's engine (%s), %d after %d s all served"
                    % (len(results), len(before), len(failed), sorted({r[4]["error"] for r in failed}), len(late),
                       window))
        # The engine answers again: three good checks and host 2 serves again.
        n = runs_served(two)
        end = time.monotonic() + 30
        while time.monotonic() < end and runs_served(two) == n:
            st, _, body = via.run(sh("echo ok"))
            expect(st == 200, "runs go on", st, body)
            time.sleep(0.2)
        expect(runs_served(two) > n, "host 2 serves again once its engine answers")
    p = harness.sweep(two_engines())
    expect(p.returncode == 0, "a sweep over both engines", p.log)
    expect(wait_for(lambda: not remote_containers(), 10), "nothing left on the remote engine", remote_containers())


def teardown():
    for e in started:
        e.stop()


if __name__ == "__main__":
    try:
        main([test_remote_engine_over_tls, test_remote_identity_checked, test_runs_spread_over_two_engines,
              test_remote_engine_lost_under_load, test_two_hosts_behind_haproxy_one_engine_lost], setup=setup)
    finally:
        teardown()
