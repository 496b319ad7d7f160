#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End to end: the handler under systemd-socket-activate against the real engine."""

import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (RUNNER, TOKEN, Server, container_of, docker, expect, expect_error, journal_entries,  # noqa: E402
                     journald, kill_handler, main, our_containers, parse_raw, read_to_end, send_run, sh, sweep,
                     wait_no_containers)
import harness  # noqa: E402

DEADLINE = 3  # RUN_MAX_EXECUTION_TIME for the limit tests
server = None


def setup():
    global server
    server = Server()
    server.start()


# --- the original's API documentation, with sh for python -------------------

def test_root():
    st, h, body = server.request("GET", "/", token=None)
    expect(st == 200, "GET / status", st, body)
    expect(body["name"] == "docker-run" and body["version"] and
           body["description"] == "Api for running code in transient docker containers", "GET / body", body)
    expect(h["content-type"] == "application/json", "content type", h)
    expect(h["connection"] == "keep-alive" and h["keep-alive"] == "timeout=5", "kept alive, the idle timeout said", h)


def test_version():
    st, _, body = server.request("GET", "/version")
    expect(st == 200, "GET /version", st, body)
    d = body["docker"]
    engine = json.loads(docker("version", "--format", "{{json .Server}}").stdout)
    for key in ("version", "apiVersion", "gitCommit", "goVersion", "os", "arch", "kernelVersion", "buildTime"):
        expect(isinstance(d.get(key), str), "version key " + key, d)
    expect(d["version"] == engine["Version"], "engine version", d["version"], engine["Version"])
    expect(isinstance(d["platform"]["name"], str), "platform.name", d)
    expect(d["components"] and all(set(c) == {"name", "version"} for c in d["components"]), "components", d)
    expect_error(server.request("GET", "/version", token=None), 401, "access_token")


def test_hello():
    st, _, body = server.run(sh("echo Hello World"))
    expect(st == 200 and body == {"stdout": "Hello World\n", "stderr": "", "error": ""}, "hello", st, body)


def test_stdin():
    st, _, body = server.run(sh('read x; echo "Number from stdin: $x"', stdin="42"))
    expect(st == 200 and body["stdout"] == "Number from stdin: 42\n", "stdin example", st, body)


def test_custom_command():
    st, _, body = server.run(sh('echo "Number from arg: $1"', command="sh main.sh 42"))
    expect(st == 200 and body["stdout"] == "Number from arg: 42\n", "custom command", st, body)


def test_run_instructions():
    payload = {"runInstructions": {"buildCommands": ["cp main.sh run.sh"], "runCommand": "sh run.sh"},
               "files": [{"name": "main.sh", "content": "cat; echo done"}], "stdin": "in\n"}
    st, _, body = server.run(payload)
    expect(st == 200 and body["stdout"] == "in\ndone\n", "runInstructions", st, body)


def test_runner_error_passed_through():
    st, _, body = server.run(sh("echo out; echo err >&2; exit 3"))
    expect(st == 200 and body["stdout"] == "out\n" and body["stderr"] == "err\n" and body["error"],
           "runner's own error is a 200 passed through", st, body)


def test_unicode_and_escapes():
    text = 'héllo "wörld" \\ \u2603 \t tab'
    st, _, body = server.run(sh("cat", stdin=text))
    expect(st == 200 and body["stdout"] == text, "unicode round trip", st, body)


def test_answer_when_runner_answers():
    """The answer goes out when the runner's JSON is whole, not when the container exits."""
    if harness.podman():
        # Podman can deliver a stdout frame before a stderr frame written earlier: there the exit decides
        # (README, "Podman"), and a runner that lingers after its answer runs into the deadline.
        expect_error(server.run({}, image="docker-run-test/lingers:latest"), 400, "limits.execution_time")
        return
    start = time.monotonic()
    st, _, body = server.run({}, image="docker-run-test/lingers:latest")
    took = time.monotonic() - start
    expect(st == 200 and body == {"stdout": "early", "stderr": "", "error": ""}, "early answer", st, body)
    expect(took < 0.9, "answered before the runner's later stderr", took)


def test_wait_for_exit_as_the_original():
    with Server({"RUN_WAIT_FOR_EXIT": "true", "RUN_MAX_EXECUTION_TIME": "3"}) as s:
        # Waiting for the exit, a runner that lingers after its answer runs into the deadline.
        expect_error(s.run({}, image="docker-run-test/lingers:latest"), 400, "limits.execution_time")
        st, _, body = s.run(sh("echo waited"))
        expect(st == 200 and body["stdout"] == "waited\n", "ordinary runs unchanged", st, body)


# --- tokens ------------------------------------------------------------------

def test_tokens():
    for token in (None, "", "wrong", TOKEN + "x", TOKEN[:-1], TOKEN.upper()):
        expect_error(server.run(sh("echo no"), token=token), 401, "access_token")
    st, _, _ = server.run(sh("echo yes"), token=TOKEN)
    expect(st == 200, "right token", st)


def test_token_never_logged():
    wrong = "a-wrong-token-value"
    refused = server.run(sh("echo x"), token=wrong)
    expect_error(refused, 401, "access_token")
    st, h, _ = server.run(sh("echo x"))
    expect(st == 200, "the right token", st)
    # Looking where the handler logs: both requests' records are found there first.
    for answer in (refused, (st, h)):
        rec = server.record(answer[1]["x-request-id"])
        expect(" -> %d " % answer[0] in rec["MESSAGE"], "the request's record", rec)
    text = server.log_text()
    expect(refused[1]["x-request-id"] in text and h["x-request-id"] in text, "the records are in the text", text)
    for token in (TOKEN, wrong):
        expect(token not in text, "token in the log", token, text)
        if journald():
            # Every field of every record since the server started, whoever sent it.
            leaked = [e for e in journal_entries([], server.started) if token in json.dumps(e)]
            expect(not leaked, "token in the journal", token, leaked)


# --- routes and malformed requests -------------------------------------------

def test_routes():
    expect_error(server.request("GET", "/nope"), 404, "route.not_found")
    expect_error(server.request("GET", "/run"), 405, "route.method_not_allowed")
    expect_error(server.request("POST", "/", body=b"{}"), 405, "route.method_not_allowed")
    expect_error(server.request("DELETE", "/version"), 405, "route.method_not_allowed")
    st, _, _ = server.request("GET", "/?x=1", token=None)
    expect(st == 200, "query string ignored", st)


def test_bad_bodies():
    cases = [
        (b"", "request.json"),
        (b"{", "request.json"),
        (b"not json", "request.json"),
        (b"[]", "request.json"),
        (b'{"image": "x"} trailing', "request.json"),
        (b'{"payload": {}}', "request.image"),
        (b'{"image": 42, "payload": {}}', "request.image"),
        (b'{"image": "", "payload": {}}', "request.image"),
        (b'{"image": "a b", "payload": {}}', "request.image"),
        (b'{"image": "a\\u0000b", "payload": {}}', "request.image"),
        (b'{"image": "x"}', "request.payload"),
        (b'{"image": "x", "payload": []}', "request.payload"),
        (b'{"image": "x", "payload": "s"}', "request.payload"),
        (b'{"image": "x", "payload": {"a": "\xff\xfe"}}', "request.json"),
        (b'{"image": "x", "payload": ' + b'[' * 200 + b']' * 200 + b'}', "request.json"),
    ]
    for body, code in cases:
        expect_error(server.request("POST", "/run", body=body), 400, code)


def test_body_with_whitespace():
    body = "\n  " + json.dumps({"image": RUNNER, "payload": sh("echo ws")}) + "\r\n"
    st, _, answer = server.request("POST", "/run", body=body.encode())
    expect(st == 200 and answer["stdout"] == "ws\n", "whitespace around the body", st, answer)


def test_bad_http():
    for raw in (b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\nHost: x\n\n", b"get / HTTP/1.1\r\n\r\n",
                b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
                b"POST /run HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"):
        st, _, body = parse_raw(server.raw(raw))
        expect(st == 400 and body["error"] == "request.http", "bad http", raw, st, body)
    st, _, body = parse_raw(server.raw(b"GET / HTTP/2.0\r\n\r\n"))
    expect(st == 505, "http version", st, body)
    st, _, body = parse_raw(server.raw(b"POST /run HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"))
    expect(st == 501 and body["error"] == "request.transfer_encoding", "gzip refused", st, body)
    st, _, body = parse_raw(server.raw(b"POST /run HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n"
                                       b"\r\n{}"))
    expect(st == 400 and body["error"] == "request.http", "chunked and length refused", st, body)
    st, _, body = parse_raw(server.raw(b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n\r\n"))
    expect(st == 414, "long uri", st, body)
    st, _, body = parse_raw(server.raw(b"GET / HTTP/1.1\r\n" + b"X-A: b\r\n" * 100 + b"\r\n"))
    expect(st == 431, "too many headers", st, body)


def test_incomplete_request():
    st, _, body = parse_raw(server.raw(b"POST /run HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}"))
    expect(st == 400 and body["error"] == "request.http", "body cut short", st, body)


def test_http10_and_pipelining():
    out = server.raw(b"GET / HTTP/1.0\r\n\r\nGET /nope HTTP/1.1\r\n\r\n")
    expect(out.count(b"HTTP/1.1 ") == 1, "one answer only", out)
    st, _, body = parse_raw(out)
    expect(st == 200 and body["name"] == "docker-run", "HTTP/1.0", st, body)


def test_expect_continue():
    body = json.dumps({"image": RUNNER, "payload": sh("cat | wc -c", stdin="x" * 5000)}).encode()
    s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    s.sendall(b"POST /run HTTP/1.1\r\nHost: x\r\nX-Access-Token: %s\r\nExpect: 100-continue\r\n"
              b"Content-Length: %d\r\n\r\n" % (TOKEN.encode(), len(body)))
    interim = s.recv(100)
    expect(interim == b"HTTP/1.1 100 Continue\r\n\r\n", "100 Continue", interim)
    s.sendall(body)
    out = read_to_end(s)
    s.close()
    st, _, answer = parse_raw(out)
    expect(st == 200 and answer["stdout"].strip() == "5000", "body after 100-continue", st, answer)


def test_chunked_body():
    body = json.dumps({"image": RUNNER, "payload": sh("echo chunked")}).encode()
    chunks = b"".join(b"%x;n=%d\r\n%s\r\n" % (len(body[i:i + 7]), i, body[i:i + 7]) for i in range(0, len(body), 7))
    out = server.raw(b"POST /run HTTP/1.1\r\nHost: x\r\nX-Access-Token: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
                     % TOKEN.encode() + chunks + b"0\r\nX-Trailer: t\r\n\r\n", shut=False)
    st, _, answer = parse_raw(out)
    expect(st == 200 and answer["stdout"] == "chunked\n", "chunked body", st, answer)


def test_request_size_limit():
    with Server({"SERVER_MAX_REQUEST_SIZE": "1000"}) as small:
        big = {"image": RUNNER, "payload": sh("echo", stdin="x" * 2000)}
        expect_error(small.request("POST", "/run", big), 413, "request.too_large")
        st, _, _ = small.run(sh("echo fits"))
        expect(st == 200, "small request fits", st)


def test_request_timeout():
    with Server({"SERVER_REQUEST_TIMEOUT": "1"}) as slow:
        start = time.monotonic()
        out = slow.raw(b"POST /run HTTP/1.1\r\nContent-Length: 100\r\n\r\n{", shut=False)
        took = time.monotonic() - start
        st, _, body = parse_raw(out)
        expect(st == 408 and body["error"] == "request.timeout", "408", st, body)
        expect(took < 3, "408 at the request deadline", took)


# --- configuration -----------------------------------------------------------

def test_config_missing_variable():
    with Server(unset=["DOCKER_CONTAINER_MEMORY"]) as bad:
        expect_error(bad.run(sh("echo")), 500, "config")
        expect_error(bad.request("GET", "/", token=None), 500, "config")
        expect_error(bad.request("GET", "/version", token=None), 500, "config")
        # As documented: what is not a request for one of the routes keeps its own answer.
        expect_error(bad.request("GET", "/nope"), 404, "route.not_found")
        expect_error(bad.request("GET", "/run"), 405, "route.method_not_allowed")
        st, _, body = parse_raw(bad.raw(b"GET / HTTP/1.1\nHost: x\n\n"))
        expect(st == 400 and body["error"] == "request.http", "malformed request", st, body)
        said = config_messages(bad)
        expect(said and all("DOCKER_CONTAINER_MEMORY" in m for m in said), "the log names the variable", said)


def config_messages(s):
    """What the handlers said of their configuration: logged with no request id."""
    return [m for m in s.messages() if m.startswith("Invalid configuration: ")]


def test_config_malformed_variable():
    for var, value in (("RUN_MAX_EXECUTION_TIME", "ten"), ("DOCKER_CONTAINER_NETWORK_DISABLED", "yes"),
                       ("SERVER_LISTEN_PORT", "70000")):
        with Server({var: value}) as bad:
            expect_error(bad.run(sh("echo")), 500, "config")
            said = config_messages(bad)
            expect(said and all(var in m for m in said), "the log names " + var, said)


def test_config_server_variables():
    with Server({"SERVER_LISTEN_ADDR": "127.0.0.1", "SERVER_WORKER_THREADS": "10"}) as s:
        s.env["SERVER_LISTEN_PORT"] = str(s.port)
        st, _, _ = s.request("GET", "/", token=None)
        expect(st == 200, "consistent SERVER_* accepted", st)
    with Server({"SERVER_LISTEN_ADDR": "127.0.0.1", "SERVER_LISTEN_PORT": "1"}) as s:
        expect_error(s.request("GET", "/", token=None), 500, "config")


def test_libcurl_missing():
    """libcurl is loaded only by a request that talks to the engine: without it GET / still answers, and the
    engine routes say clearly what is missing."""
    import tempfile
    lib = subprocess.run(["sh", "-c", "readlink -f $(ldconfig -p | awk '/libcurl.so.4 /{print $NF; exit}')"],
                         capture_output=True, text=True).stdout.strip()
    expect(lib, "libcurl.so.4 is installed here")
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
        # A mount namespace of the handler's own, where the library is an empty file.
        f.write('#!/bin/sh\nexec unshare -m sh -c \'mount --bind /dev/null "$1" && shift && exec "$@"\' sh %s %s\n'
                % (lib, harness_bin()))
        wrapper = f.name
    os.chmod(wrapper, 0o755)
    try:
        # Without a pool: a warm run needs no libcurl before its answer, but its removal does.
        with Server(binary=wrapper, unset=["DOCKER_RUN_WARM_POOL"]) as s:
            st, _, body = s.request("GET", "/", token=None)
            expect(st == 200 and body["name"] == "docker-run", "GET / needs no libcurl", st, body)
            for answer in (s.run(sh("echo")), s.request("GET", "/version")):
                expect_error(answer, 500, "internal")
                expect("libcurl.so.4 could not be loaded" in answer[2]["message"], "says what is missing", answer)
    finally:
        os.unlink(wrapper)


def harness_bin():
    import harness
    return harness.BIN


def test_engine_socket_absent():
    with Server({"DOCKER_UNIX_SOCKET_PATH": "/nonexistent/docker.sock"}) as s:
        expect_error(s.run(sh("echo")), 500, "docker.unixsocket")
        expect_error(s.request("GET", "/version"), 500, "docker.unixsocket")


def test_engine_socket_not_listening():
    path = "/tmp/docker-run-test-%d.sock" % os.getpid()
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(path)
    try:
        with Server({"DOCKER_UNIX_SOCKET_PATH": path}) as s:
            expect_error(s.run(sh("echo")), 500, "docker.unixsocket")
    finally:
        dead.close()
        os.unlink(path)


def test_missing_image():
    expect_error(server.run(sh("echo"), image="docker-run-test/does-not-exist:latest"), 400,
                 "docker.container.create")


def test_bad_user_fails_start():
    with Server({"DOCKER_CONTAINER_USER": "nosuchuser"}) as s:
        # Podman looks the user up when attaching, before any start: nothing ran either way.
        code = "docker.container.attach" if harness.podman() else "docker.container.start"
        expect_error(s.run(sh("echo")), 500, code)


def test_image_allowlist():
    with Server({"RUN_IMAGE_ALLOWLIST": RUNNER}) as s:
        st, _, _ = s.run(sh("echo ok"))
        expect(st == 200, "allowed image", st)
        expect_error(s.run(sh("echo"), image="docker-run-test/silent:latest"), 403, "request.image.not_allowed")
        # Exact name:tag: the same image without its tag is another name.
        expect_error(s.run(sh("echo"), image=RUNNER.rsplit(":", 1)[0]), 403, "request.image.not_allowed")


def test_empty_allowlist_refused():
    """Written to lock the service down, an empty allow-list must not open it to every image."""
    for value in ("", "   "):
        with Server({"RUN_IMAGE_ALLOWLIST": value}) as s:
            expect_error(s.run(sh("echo")), 500, "config")
            said = config_messages(s)
            expect(said and all("RUN_IMAGE_ALLOWLIST" in m and "remove the variable" in m for m in said),
                   "the log tells the operator what to do", said)


# --- misbehaving runners -------------------------------------------------------

def test_runner_stderr():
    answer = server.run(sh("echo"), image="docker-run-test/stderr:latest")
    expect_error(answer, 500, "coderunner.stderr")
    expect("runner exploded" in answer[2]["message"], "stderr text in message", answer)


def test_stderr_before_the_answer_always_counts():
    """A runner that writes to stderr and then its JSON: coderunner.stderr every time, on every engine,
    however the engine orders the two streams' frames (Podman may send the stdout frame first)."""
    answers = [server.run(sh("echo"), image="docker-run-test/stderr-first:latest") for _ in range(30)]
    wrong = [a for a in answers if a[0] != 500 or a[2].get("error") != "coderunner.stderr"]
    expect(not wrong, "%d of 30 answered otherwise" % len(wrong), wrong[:3])
    expect(all("warned first" in a[2]["message"] for a in answers), "the stderr in the message", answers[0])


def test_runner_nonjson():
    expect_error(server.run(sh("echo"), image="docker-run-test/nonjson:latest"), 500, "coderunner.stdout.decode")


def test_runner_silent():
    expect_error(server.run(sh("echo"), image="docker-run-test/silent:latest"), 500, "coderunner.stdout.decode")


# --- limits that hold ------------------------------------------------------------

limits = None


# Under gVisor (runsc) the pids cgroup and the process ulimit mean other things (README, "gVisor"):
# the cgroup bounds the sandbox's own host threads and processes (about 44 at rest and 9 more for each
# process of the code, measured here), and when it refuses one the whole sandbox ends at once;
# RLIMIT_NPROC is enforced by gVisor itself, inside each sandbox alone. Each process of the code also
# costs the sandbox about 0.9 MiB of the memory limit. The limits that hold there are the README's.
GVISOR = harness.RUNTIME == "runsc"
PIDS, NPROC = ("1024", "32") if GVISOR else ("64", "10000")
PROCESSES = 32 if GVISOR else 64  # what the configuration lets the code have


def limit_server():
    global limits
    if limits is None:
        limits = Server({"RUN_MAX_EXECUTION_TIME": str(DEADLINE), "DOCKER_CONTAINER_PIDS_LIMIT": PIDS,
                         "DOCKER_CONTAINER_ULIMIT_NPROC_SOFT": NPROC,
                         "DOCKER_CONTAINER_ULIMIT_NPROC_HARD": NPROC})
        limits.start()
    return limits


def timed(fn):
    start = time.monotonic()
    answer = fn()
    return answer, time.monotonic() - start


def test_deadline_infinite_loop():
    answer, took = timed(lambda: limit_server().run(sh("while :; do :; done")))
    expect_error(answer, 400, "limits.execution_time")
    expect(DEADLINE - 0.5 < took < DEADLINE + 1.5, "answered at the deadline", took)


def test_deadline_slow_drip():
    # One byte a second: a per-read timeout would never fire; the wall-clock deadline does.
    answer, took = timed(lambda: limit_server().run({}, image="docker-run-test/drip:latest"))
    expect_error(answer, 400, "limits.execution_time")
    expect(DEADLINE - 0.5 < took < DEADLINE + 1.5, "drip stopped at the deadline", took)


def test_deadline_kills_container():
    before = our_containers()
    answer = limit_server().run(sh("sleep 100"))
    expect_error(answer, 400, "limits.execution_time")
    left = wait_no_containers(before, timeout=5)
    expect(not left, "container removed after the deadline", left)


def test_output_flood():
    answer, took = timed(lambda: server.run({}, image="docker-run-test/flood:latest"))
    expect_error(answer, 400, "limits.read.size")
    expect(took < 5, "flood stopped early", took)


def test_output_cap_boundary():
    # The runner prints {"stdout":"<n x a>","stderr":"","error":""}: 36 bytes of frame plus n.
    cap = 100000
    overhead = len(json.dumps({"stdout": "", "stderr": "", "error": ""}, separators=(",", ":")))
    n = cap - overhead
    st, _, body = server.run(sh("head -c %d /dev/zero | tr '\\0' a" % n))
    expect(st == 200 and len(body["stdout"]) == n, "exactly at the cap", st, str(body)[:200])
    expect_error(server.run(sh("head -c %d /dev/zero | tr '\\0' a" % (n + 1))), 400, "limits.read.size")


def test_fork_bomb():
    s = limit_server()
    if not GVISOR:  # inside gVisor there is no pids cgroup to read
        st, _, body = s.run(sh("cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max"))
        expect(st == 200 and body["stdout"].strip() == "64", "pids cgroup limit", st, body)
    # Processes until fork fails (the subshell ends there), counted from outside it. They end on their own
    # soon after: under gVisor a sandbox left with dozens of processes can take half a minute to remove.
    st, _, body = s.run(sh("( i=0; while sleep 5 </dev/null >/dev/null 2>&1 & do i=$((i+1)); echo $i > /tmp/n; "
                           "done ) 2>/dev/null; cat /tmp/n"))
    expect(st == 200 and 10 < int(body["stdout"] or 0) < PROCESSES, "processes bounded", st, body)
    answer, took = timed(lambda: s.run(sh("b() { b | b & }; b; sleep 100")))
    expect(answer[0] in (200, 400), "fork bomb answered", answer)
    expect(took < DEADLINE + 1.5, "fork bomb contained within the deadline", took)
    st, _, body = s.run(sh("echo alive"))
    expect(st == 200 and body["stdout"] == "alive\n", "host still serves", st, body)


def test_memory_hog():
    s = limit_server()
    if not GVISOR:  # inside gVisor the memory cgroup is the sandbox's, on the host
        st, _, body = s.run(sh("cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || "
                               "cat /sys/fs/cgroup/memory.max"))
        expect(st == 200 and int(body["stdout"]) <= 100000000, "memory cgroup limit", st, body)
    # Doubling a string in the shell: 200 MB is twice the limit.
    st, _, body = s.run(sh("x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; "
                           "while :; do x=$x$x; done"))
    expect(st in (200, 400), "memory hog answered", st, body)
    if st == 200:  # runc: the kernel killed the shell, and the runner said so
        expect(body["error"], "memory hog was killed", body)
    else:  # the runner itself was killed (gVisor's sandbox always is): the engine's word
        expect(body["error"] == "limits.memory", "answered as the memory limit", st, body)
    expect(not GVISOR or st == 400, "under gVisor the sandbox ends whole", st, body)


def test_container_as_configured():
    """Inspect a kept container: every limit exactly as configured."""
    with Server({"DEBUG_KEEP_CONTAINER": "true", "DOCKER_CONTAINER_PIDS_LIMIT": "77",
                 "DOCKER_CONTAINER_CAP_ADD": "SYS_PTRACE"}) as s:
        st, h, body = s.run(sh("id -un; hostname"))
        expect(st == 200 and body["stdout"] == "glot\nglot\n", "user and hostname", st, body)
        name, _ = container_of(s.record(h["x-request-id"]))
        expect(name, "the record names the kept container", s.record(h["x-request-id"]))
        try:
            info = json.loads(docker("inspect", name).stdout)[0]
        finally:
            docker("rm", "-f", name, check=False)
    hc = info["HostConfig"]
    expect(hc["Memory"] == 100000000 and hc["MemorySwap"] == 100000000, "memory without hidden swap", hc)
    expect(hc["PidsLimit"] == 77, "pids limit", hc["PidsLimit"])
    expect("no-new-privileges" in hc["SecurityOpt"], "no-new-privileges", hc["SecurityOpt"])
    # Podman answers its own name for whatever runtime it runs ("oci"); it ignores HostConfig.Runtime.
    expect(hc["Runtime"] == ("oci" if harness.podman() else harness.RUNTIME or "runc"), "runtime", hc["Runtime"])
    expect(set(hc["CapDrop"]) == {"MKNOD", "NET_RAW", "NET_BIND_SERVICE"}, "cap drop", hc["CapDrop"])
    expect(hc["CapAdd"] == ["SYS_PTRACE"], "cap add", hc["CapAdd"])
    expect(hc["ReadonlyRootfs"] is True, "read-only rootfs", hc)
    tmpfs = {"/tmp": "rw,noexec,nosuid,size=65536k", "/home/glot": "rw,exec,nosuid,size=131072k"}
    if harness.podman():  # Podman adds options of its own after ours, and tmpfs of its own (/run, /var/tmp)
        got = {k: v for k, v in hc["Tmpfs"].items() if k in tmpfs}
        expect(got.keys() == tmpfs.keys() and all(got[k].startswith(tmpfs[k] + ",") for k in tmpfs), "tmpfs",
               hc["Tmpfs"])
    else:
        expect(hc["Tmpfs"] == tmpfs, "tmpfs", hc["Tmpfs"])
    # Podman's inspect has no NetworkDisabled: its NetworkMode says it (and test_network_disabled checks).
    expect(hc["NetworkMode"] == "none" and (harness.podman() or info["Config"]["NetworkDisabled"] is True),
           "network", hc)
    # Podman names them RLIMIT_NPROC and the like
    ul = {u["Name"].lower().replace("rlimit_", ""): (u["Soft"], u["Hard"]) for u in hc["Ulimits"]}
    expect(ul == {"nofile": (90, 100), "nproc": (90, 100)}, "ulimits", ul)
    expect(info["Config"]["Labels"].get("docker-run.managed") == "true", "label", info["Config"]["Labels"])
    expect(info["State"]["Running"] is False, "kept container was stopped", info["State"])


def test_readonly_root_and_tmpfs():
    st, _, body = server.run(sh("touch /x 2>/dev/null && echo root-writable; echo w > f && cat f; "
                                "echo t > /tmp/t && cat /tmp/t"))
    expect(st == 200 and body["stdout"] == "w\nt\n", "read-only root, writable tmpfs", st, body)


def test_network_disabled():
    st, _, body = server.run(sh("ls /sys/class/net"))
    expect(st == 200 and body["stdout"].split() == ["lo"], "only loopback", st, body)


# --- clients that go away and other socket activation modes -----------------------

def test_client_disconnects_mid_run():
    before = our_containers()
    s = send_run(server, sh("sleep 30"))
    time.sleep(1.5)
    s.close()
    start = time.monotonic()
    left = wait_no_containers(before, timeout=8)
    expect(not left, "container removed after the client left", left)
    expect(time.monotonic() - start < 5, "removed promptly, not at the deadline")


def test_inetd_mode():
    with Server(inetd=True) as s:
        st, _, body = s.run(sh("echo inetd"))
        expect(st == 200 and body["stdout"] == "inetd\n", "inetd", st, body)


def test_concurrent_runs():
    results = [None] * 6

    def one(i):
        results[i] = server.run(sh("echo %d" % i))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, (st, _, body) in enumerate(results):
        expect(st == 200 and body["stdout"] == "%d\n" % i, "concurrent run", i, st, body)


def test_log_record():
    st, h, _ = server.run(sh("echo logged"))
    rid = h["x-request-id"]
    rec = server.record(rid)
    # Where log_setup() sends it: journald when its socket exists, stderr only then if it failed.
    expect(rec["_TRANSPORT"] == ("journal" if journald() else "stderr"), "logged where expected", rec)
    expect(rec["PRIORITY"] == "6" and rec["MESSAGE"].startswith("POST /run image=%s -> 200 in " % RUNNER)
           and container_of(rec)[0], "the record's message", rec)
    if journald():
        want = {"DOCKER_RUN_STATUS": "200", "DOCKER_RUN_METHOD": "POST", "DOCKER_RUN_PATH": "/run",
                "DOCKER_RUN_IMAGE": RUNNER, "SYSLOG_IDENTIFIER": "docker-run"}
        expect(all(rec.get(k) == v for k, v in want.items()), "the record's fields", want, rec)
        expect(rec["DOCKER_RUN_CONTAINER_ID"].startswith(container_of(rec)[0]), "the container's id", rec)
        for k in ("DOCKER_RUN_REMOTE", "DOCKER_RUN_DURATION_USEC", "DOCKER_RUN_START_USEC"):
            expect(rec.get(k), "the record has " + k, rec)


def test_trusted_proxy_names_the_client():
    """From a trusted proxy the journal names the client X-Forwarded-For gives, the proxy and its request id;
    from anyone else the header is not believed. The fields are journald's: on stderr only the message."""
    hdrs = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7", "X-Request-Id": "proxy-7"}
    with Server({"DOCKER_RUN_TRUSTED_PROXIES": "127.0.0.1"}) as trusting, Server() as other:
        st, h, _ = trusting.request("GET", "/", headers=hdrs)
        rec = trusting.record(h["x-request-id"])
        st2, h2, _ = other.request("GET", "/", headers=hdrs)
        rec2 = other.record(h2["x-request-id"])
    expect(st == 200 and st2 == 200, "answered", st, st2)
    if journald():
        expect(rec.get("DOCKER_RUN_REMOTE") == "203.0.113.7" and rec.get("DOCKER_RUN_PROXY", "").startswith("127.0.0.1")
               and rec.get("DOCKER_RUN_PROXY_REQUEST_ID") == "proxy-7", "the client behind the proxy", rec)
        expect(rec2.get("DOCKER_RUN_REMOTE", "").startswith("127.0.0.1") and "DOCKER_RUN_PROXY" not in rec2
               and "DOCKER_RUN_PROXY_REQUEST_ID" not in rec2, "an untrusted X-Forwarded-For ignored", rec2)


def test_sweeper_removes_only_expired():
    now = int(time.time())
    made = {}
    for name, deadline in (("expired", now - 100), ("running", now + 3600)):
        made[name] = docker("create", "--label", "docker-run.managed=true", "--label",
                            "docker-run.deadline=%d" % deadline, RUNNER).stdout.strip()
    try:
        p = sweep()
        expect(p.returncode == 0, "sweep ran", p.returncode, p.log)
        left = our_containers()
        expect(made["expired"] not in left, "expired container removed", p.log)
        expect(made["running"] in left, "running container kept", p.log)
        expect("Removed leftover container " + made["expired"] in p.log, "removal logged", p.log)
    finally:
        for cid in made.values():
            docker("rm", "-f", cid, check=False)


def test_handler_killed_then_swept():
    with Server({"RUN_MAX_EXECUTION_TIME": "1", "DOCKER_UNIX_SOCKET_READ_TIMEOUT": "1"}) as s:
        before = our_containers()
        c = send_run(s, sh("sleep 60"))
        # Killed once its container exists (a fixed 0.7 s was too short for Podman on a busy host).
        end = time.monotonic() + 10
        while not (our_containers() - before) and time.monotonic() < end:
            time.sleep(0.05)
        kill_handler(s)
        c.close()
        time.sleep(0.5)
        leaked = our_containers() - before
        expect(len(leaked) == 1, "kill -9 leaves the container", leaked)
        # Past its deadline label (the run's 1 s and the engine timeouts after it), in whole seconds, and half
        # a second more: time() is the kernel's coarse clock, a few ms behind gettimeofday at a second's turn.
        label = docker("inspect", "--format", '{{index .Config.Labels "docker-run.deadline"}}', *leaked).stdout.strip()
        # A claimed warm container has no label: its claim's deadline is the claim's time plus the run's
        # 1 s and three engine timeouts of 1 s, and it was claimed by now.
        deadline = int(label) if label else int(time.time()) + 4
        time.sleep(max(0.0, deadline + 1.5 - time.time()))
        p = sweep()
        expect(p.returncode == 0, "sweep ran", p.log)
        expect(not (our_containers() & leaked), "sweeper removed it", p.log)


def teardown_servers():
    if limits:
        limits.stop()
    if server:
        server.stop()


if __name__ == "__main__":
    tests = [v for k, v in list(globals().items()) if k.startswith("test_")]
    try:
        main(tests, setup=setup)
    finally:
        teardown_servers()
