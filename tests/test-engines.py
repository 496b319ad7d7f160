#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""test-engines: each engine of tests/engines.py started once, one runner container through the raw
API on it, stopped, and nothing of it left behind.

    python3 tests/test-engines.py [name...]     names: dockerd runsc tls netns podman podman_rootless
                                                 failed_start, and repeat (not run by default: each
                                                 engine started and stopped 5 times)

Exit 0 when all ran and passed, 1 on a failure, 77 when a facility (root, a tool, the main engine
with the test images) is absent, with the reason printed; with CI set an absent facility fails."""

import http.client
import os
import shutil
import statistics
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import engines  # noqa: E402

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
RUNNER = "docker-run-test/runner:latest"
MAIN_SOCKET = engines.MAIN_SOCKET
SKIP = 77
REPEAT = int(os.environ.get("ENGINES_REPEAT", "5"))

# What the runner reports of its limits, one line each.
PROBE = ("id -u; ulimit -n; ulimit -u; cat /sys/fs/cgroup/memory/memory.limit_in_bytes; "
         "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || echo no-pids.max; "
         "touch /x 2>/dev/null && echo rw || echo ro; ls /sys/class/net | tr '\\n' ' '; echo; echo probe-done")


class Skip(Exception):
    pass


class Failure(Exception):
    pass


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def expect(cond, what, *detail):
    if not cond:
        raise Failure(what + (": " + " ".join(repr(d) for d in detail) if detail else ""))


def need(*tools):
    for t in tools:
        if shutil.which(t) is None:
            raise Skip("%s is not installed" % t)


def main_engine_answers():
    try:
        st, _ = engines.unix_api(MAIN_SOCKET, "GET", "/_ping", timeout=3)
        return st == 200
    except OSError:
        return False


def probe(e, **kw):
    """One runner container under docker-run's reference HostConfig; returns (fields, run result)."""
    r = engines.run_container(e, RUNNER, engines.sh_payload(PROBE), engines.REFERENCE_HOST_CONFIG, inspect=True,
                              **kw)
    expect(r["result"] is not None, "the runner answered JSON", r["stdout"], r["stderr"])
    out = r["result"]["stdout"].splitlines()
    expect(out and out[-1] == "probe-done", "the probe ran to its end", r["result"])
    keys = ("uid", "nofile", "nproc", "memory", "pids", "rootfs", "net")
    return dict(zip(keys, out)), r


def expect_enforced(f, r):
    """The reference limits, seen from inside and from the engine's side."""
    expect(f["uid"] == "1000", "runs as glot", f)
    expect(f["nofile"] == "90" and f["nproc"] == "90", "ulimits applied", f)
    expect(f["memory"] == "99999744", "memory limit applied", f)
    expect(f["pids"] == "100", "pids limit applied", f)
    expect(f["rootfs"] == "ro", "read-only root", f)
    expect(f["net"].split() == ["lo"], "no network but lo", f)
    hc = r["inspect"]["HostConfig"]
    expect(hc["Memory"] == 100000000 and hc["PidsLimit"] == 100, "limits in inspect", hc)


def timing(e):
    return "start %.2f s, stop %.2f s" % (e.start_seconds or 0, e.stop_seconds or 0)


# ---------------------------------------------------------------------------------------------


def test_dockerd():
    need("dockerd", "containerd")
    with engines.Dockerd() as e:
        e.load(RUNNER)
        f, r = probe(e)
        expect_enforced(f, r)
        expect(r["status"] == 101, "attach upgraded", r["status"])
    log("     dockerd: %s, a run %.3f s" % (timing(e), r["seconds"]))


def test_runsc():
    need("dockerd", "runsc")
    with engines.Dockerd(runsc=True) as e:
        st, info = e.api("GET", "/info")
        expect("runsc" in info["Runtimes"], "runsc registered", info["Runtimes"])
        e.load(RUNNER)
        r = engines.run_container(e, RUNNER, engines.sh_payload("id -u; dmesg | head -1"),
                                  engines.REFERENCE_HOST_CONFIG, runtime="runsc", inspect=True)
        expect(r["result"] and "gVisor" in r["result"]["stdout"], "ran inside gVisor", r["stdout"], r["stderr"])
        expect(r["inspect"]["HostConfig"]["Runtime"] == "runsc", "inspect says runsc", r["inspect"]["HostConfig"])
        # The extra cost of a run, against runc on the same engine, alternating.
        times = {"runc": [], "runsc": []}
        for _ in range(int(os.environ.get("ENGINES_BENCH_RUNS", "7"))):
            for rt in times:
                r = engines.run_container(e, RUNNER, engines.sh_payload("echo hi"), engines.REFERENCE_HOST_CONFIG,
                                          runtime=rt)
                expect(r["result"] and r["result"]["stdout"] == "hi\n", "a run on " + rt, r["stdout"])
                times[rt].append(r["seconds"])
        runc, runsc = statistics.median(times["runc"]), statistics.median(times["runsc"])
        log("     runsc: a run p50 %.0f ms vs runc %.0f ms: +%.0f ms (%d runs each)"
            % (runsc * 1000, runc * 1000, (runsc - runc) * 1000, len(times["runc"])))

        # SIGHUP reloads daemon.json (setsid, not nohup): a runtime without --network=none fails to
        # start and leaves its sandbox behind, out of the engine's sight (MACHINE.md).
        config = dict(e.config)
        config["runtimes"] = dict(config["runtimes"], **{"runsc-net": {"path": "/usr/bin/runsc",
                                                                       "runtimeArgs": ["--platform=ptrace"]}})
        e.reload(config)
        end = time.monotonic() + 10
        while "runsc-net" not in e.api("GET", "/info")[1]["Runtimes"]:
            expect(time.monotonic() < end, "SIGHUP reloaded the runtimes", e.log_tail())
            time.sleep(0.1)
        try:
            engines.run_container(e, RUNNER, engines.sh_payload("echo hi"), engines.REFERENCE_HOST_CONFIG,
                                  runtime="runsc-net")
            raise Failure("runsc with a network started")
        except engines.EngineError as err:
            expect("network" in str(err), "start refused for the network", str(err))
        st, listed = e.api("GET", "/containers/json?all=1")
        left = [p for p in engines.processes_of(e.tmp) if b"runsc" in engines._read("/proc/%d/cmdline" % p)]
        log("     runsc-net: start refused; after its DELETE the engine lists %d containers, %d runsc processes live on"
            % (len(listed), len(left)))
        expect(left, "the sandbox left behind (MACHINE.md)", left)
        residue = e.residue()
        log("     runsc-net: its residue outside the temp dir: %d cgroups, %d shim sockets"
            % (len([r for r in residue if r.startswith("/sys/")]), len([r for r in residue if r.startswith("/run/")])))
    expect(e.killed_leftovers, "stop found leftovers to kill", e.killed_leftovers)
    expect(not e.residue_left, "stop cleared the residue", e.residue_left)
    log("     runsc: %s, stop killed %d leftovers" % (timing(e), len(e.killed_leftovers)))


def curl(e, url, client_cert=True):
    args = ["curl", "-sS", "--max-time", "10", "--cacert", e.certdir + "/ca.pem"]
    if client_cert:
        args += ["--cert", e.certdir + "/cert.pem", "--key", e.certdir + "/key.pem"]
    return subprocess.run(args + [url], capture_output=True, text=True)


def docker_tls(e):
    return subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                          env=engines.docker_cli_env(e.tls_env()), capture_output=True, text=True)


def test_tls():
    need("dockerd", "openssl", "curl", "docker")
    with engines.Dockerd(tls=True) as e:
        addr, port = e.tcp
        r = curl(e, "https://%s:%d/_ping" % (addr, port))
        expect(r.returncode == 0 and r.stdout == "OK", "curl with the client certificate", r.returncode, r.stderr)
        r = curl(e, "https://localhost:%d/_ping" % port)
        expect(r.returncode == 60, "the name localhost refused (curl exit 60)", r.returncode, r.stderr)
        r = curl(e, "https://%s:%d/_ping" % (addr, port), client_cert=False)
        expect(r.returncode not in (0, 60), "no client certificate refused", r.returncode, r.stderr)
        log("     tls: no client certificate: curl exit %d" % r.returncode)
        r = docker_tls(e)
        expect(r.returncode == 0 and r.stdout.strip(), "docker version over TLS", r.returncode, r.stderr)
        st, v = engines.tls_api(addr, port, e.certdir, "GET", "/version")
        expect(st == 200 and v["Version"] == r.stdout.strip(), "the API over TLS", st, v)
        e.load(RUNNER)
        f, run = probe(e)
        expect_enforced(f, run)
    log("     tls: %s" % timing(e))


def test_netns():
    need("dockerd", "ip", "nsenter", "openssl", "curl", "docker")
    with engines.NetnsHost() as h:
        out = subprocess.run(["ip", "-n", h.name, "-o", "-4", "addr"], capture_output=True, text=True).stdout
        expect(h.addr + "/24" in out and "127.0.0.1/8" in out, "addresses and lo inside", out)
        with engines.Dockerd(tls=True, netns=h) as e:
            expect(e.tcp == (h.addr, 2376), "listening on the namespace's address", e.tcp)
            r = docker_tls(e)
            expect(r.returncode == 0, "docker version from the root namespace over the veth", r.returncode, r.stderr)
            # The file system is shared: a process in the namespace reaches unix sockets of both engines.
            for sock in (e.socket, MAIN_SOCKET):
                r = subprocess.run(h.exec_args(["curl", "-sS", "--max-time", "5", "--unix-socket", sock,
                                                "http://localhost/_ping"]), capture_output=True, text=True)
                expect(r.returncode == 0 and r.stdout == "OK", "from the namespace to " + sock, r.returncode, r.stderr)
            e.load(RUNNER)
            f, run = probe(e)
            expect_enforced(f, run)
        log("     netns: host up %.2f s; dockerd in it: %s" % (h.start_seconds, timing(e)))
    log("     netns: host down %.2f s" % h.stop_seconds)


def ping_headers(e):
    c = engines.UnixHTTPConnection(e.socket, 10)
    try:
        c.request("GET", "/_ping")
        r = c.getresponse()
        r.read()
        return {k.lower(): v for k, v in r.getheaders()}
    finally:
        c.close()


def test_podman():
    need("podman")
    with engines.Podman() as e:
        st, v = e.api("GET", "/v1.41/version")
        names = [c["Name"] for c in v.get("Components", [])]
        expect(st == 200 and "Podman Engine" in names, "Podman recognisable by /version", names)
        h = ping_headers(e)
        st, info = e.api("GET", "/v1.41/info")
        log("     podman: /version Components %s; /_ping Server %r, Libpod-Api-Version %r; /info Rootless %r"
            % (names, h.get("server"), h.get("libpod-api-version"), info.get("Rootless")))
        e.load(RUNNER)
        f, r = probe(e)
        expect_enforced(f, r)
        expect(r["status"] == 101, "attach upgraded", r["status"])
        log("     podman: a run %.3f s, DELETE retried %d times %s" % (r["seconds"], len(e.delete_retries),
                                                                     e.delete_retries[:1]))
    expect(not os.path.exists(engines.BLOB_INFO_CACHE) or e.had_var_lib_containers, "blob-info cache removed")
    log("     podman: %s" % timing(e))


def test_podman_rootless():
    need("podman", "newuidmap", "newgidmap", "useradd")
    with engines.Podman(rootless=True) as e:
        st, info = e.api("GET", "/info")
        st2, libpod = e.api("GET", "/v4.0.0/libpod/info")
        e.load(RUNNER)
        f, r = probe(e)
        hc = r["inspect"]["HostConfig"]
        facts = {"/info MemoryLimit": info.get("MemoryLimit"), "/info PidsLimit": info.get("PidsLimit"),
                 "/info Rootless": info.get("Rootless"), "/info SecurityOptions": info.get("SecurityOptions"),
                 "libpod host.security.rootless": libpod["host"]["security"]["rootless"],
                 "libpod host.cgroupControllers": libpod["host"]["cgroupControllers"],
                 "create Warnings": r["create"].get("Warnings"), "inspect Memory": hc.get("Memory"),
                 "inspect PidsLimit": hc.get("PidsLimit"), "inspect Ulimits": hc.get("Ulimits"),
                 "inside": f}
        for k, val in facts.items():
            log("     podman-rootless: %s = %r" % (k, val))
        expect(f["uid"] == "1000" and f["rootfs"] == "ro" and f["net"].split() == ["lo"], "the basics hold", f)
        # What MACHINE.md says, and what a limit check can look at.
        expect(libpod["host"]["security"]["rootless"] is True and libpod["host"]["cgroupControllers"] == [],
               "libpod info tells", libpod["host"]["security"], libpod["host"]["cgroupControllers"])
        expect(info.get("Rootless") is True, "/info has Rootless: true", info.get("Rootless"))
        expect(hc.get("Memory") == 0 and hc.get("PidsLimit") == 0, "inspect shows the limits dropped", hc)
        expect(f["memory"] != "99999744", "no memory limit inside (if there is one now, MACHINE.md is out of date)", f)
    log("     podman-rootless: %s" % timing(e))


def test_failed_start():
    """A dockerd that cannot start: a prompt error with its log tail, and nothing left."""
    need("dockerd")
    began = time.monotonic()
    try:
        with engines.Dockerd(config={"no-such-option": True}):
            raise Failure("dockerd started with a bad daemon.json")
    except engines.EngineError as err:
        expect("no-such-option" in str(err), "the log tail says why", str(err)[-500:])
    expect(time.monotonic() - began < 10, "at once", time.monotonic() - began)

    # An engine that never answers: the bounded wait ends with the log tail, and stop() ends it.
    class Mute(engines.Engine):
        name = "mute"

        def start(self):
            self._make_tmp()
            self.socket = self.tmp + "/never.sock"
            self._spawn(["sh", "-c", "echo mute engine up; exec sleep 600"])
            self.wait_ready()

    m = Mute()
    m.ready_timeout = 1
    began = time.monotonic()
    try:
        with m:
            raise Failure("a mute engine answered")
    except engines.EngineError as err:
        expect("within 1 s" in str(err) and "mute engine up" in str(err), "timeout with the log tail", str(err))
    expect(time.monotonic() - began < 5, "bounded", time.monotonic() - began)


def test_repeat():
    """Each engine started and stopped REPEAT times in a row, checking for leaks after each."""
    kinds = [("dockerd", lambda: engines.Dockerd(), ("dockerd",)),
             ("dockerd+runsc+tls", lambda: engines.Dockerd(runsc=True, tls=True), ("dockerd", "runsc", "openssl")),
             ("podman", lambda: engines.Podman(), ("podman",)),
             ("podman-rootless", lambda: engines.Podman(rootless=True), ("podman", "newuidmap"))]
    ran = 0
    for name, make, tools in kinds:
        if any(shutil.which(t) is None for t in tools):
            log("     repeat: %s skipped (%s absent)" % (name, [t for t in tools if shutil.which(t) is None]))
            continue
        starts, stops = [], []
        for i in range(REPEAT):
            before = engines.leak_snapshot()
            with make() as e:
                if i == 0:
                    e.load(RUNNER)
                    probe(e)
            starts.append(e.start_seconds)
            stops.append(e.stop_seconds)
            left = engines.leak_diff(before, engines.leak_snapshot())
            expect(not left, "%s round %d left" % (name, i + 1), left)
        ran += 1
        log("     repeat: %-18s x%d start %.2f/%.2f/%.2f s, stop %.2f/%.2f/%.2f s (min/p50/max)"
            % (name, REPEAT, min(starts), statistics.median(starts), max(starts), min(stops),
               statistics.median(stops), max(stops)))
    if shutil.which("ip"):
        ups, downs = [], []
        for i in range(REPEAT):
            before = engines.leak_snapshot()
            with engines.NetnsHost() as h:
                name = h.name
            ups.append(h.start_seconds)
            downs.append(h.stop_seconds)
            left = engines.leak_diff(before, engines.leak_snapshot())
            expect(not left and not os.path.exists("/run/netns/" + name), "netns round %d left" % (i + 1), left)
        ran += 1
        log("     repeat: %-18s x%d up %.2f s, down %.2f s (p50)" % ("netns host", REPEAT, statistics.median(ups),
                                                                     statistics.median(downs)))
    if not ran:
        raise Skip("no engine is installed")


DEFAULT = [test_dockerd, test_runsc, test_tls, test_netns, test_podman, test_podman_rootless, test_failed_start]
ALL = DEFAULT + [test_repeat]


def main():
    names = sys.argv[1:]
    by_name = {t.__name__[len("test_"):]: t for t in ALL}
    unknown = [n for n in names if n not in by_name and "test_" + n not in (t.__name__ for t in ALL)]
    if unknown:
        log("unknown test(s): %s; known: %s" % (" ".join(unknown), " ".join(by_name)))
        return 2
    tests = [by_name[n.replace("test_", "", 1)] for n in names] if names else DEFAULT
    reason = None
    if os.geteuid() != 0:
        reason = "needs root"
    elif shutil.which("docker") is None or not main_engine_answers():
        reason = "no Docker engine answers on %s (the test images come from it)" % MAIN_SOCKET
    if reason:
        log("SKIP: " + reason)
        return 1 if os.environ.get("CI") else SKIP
    subprocess.run(["bash", os.path.join(TESTS_DIR, "images", "build.sh")], check=True, stdout=sys.stderr)
    for d in engines.sweep_stale():
        log("swept what a dead test left: " + d)
    passed = failed = skipped = 0
    for t in tests:
        before = engines.leak_snapshot()
        began = time.monotonic()
        try:
            t()
            left = engines.leak_diff(before, engines.leak_snapshot())
            if engines.Engine.residue_seen:
                left["residue"] = engines.Engine.residue_seen
                engines.Engine.residue_seen = []
            expect(not left, "left behind", left)
            passed += 1
            log("ok   %-25s %.2fs" % (t.__name__, time.monotonic() - began))
        except Skip as s:
            skipped += 1
            log("SKIP %-25s %s" % (t.__name__, s))
        except Exception:
            failed += 1
            log("FAIL %-25s %.2fs" % (t.__name__, time.monotonic() - began))
            log(traceback.format_exc())
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    if failed or (skipped and os.environ.get("CI")):
        return 1
    return SKIP if skipped else 0


if __name__ == "__main__":
    sys.exit(main())
