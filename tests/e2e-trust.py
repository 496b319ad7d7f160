#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Trust: what the answer and the payload must be exactly, and what a run must never leave or break."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (RUNNER, TOKEN, Server, docker, expect, expect_error, main, our_containers,  # noqa: E402
                     parse_raw, read_to_end, send_run, sh, sweep, wait_no_containers)

server = None
made_images = []

# Runners that answer with exactly these bytes (busybox printf, octal escapes), after reading their stdin.
PRINTERS = {
    "single-quotes": "printf \"{'stdout': 'x'}\"",
    "trailing-comma": 'printf \'{"stdout":"x",}\'',
    "comment": 'printf \'{"stdout":"x" /* c */}\'',
    "nan": 'printf \'{"n": NaN}\'',
    "infinity": 'printf \'{"n": -Infinity}\'',
    "leading-zero": 'printf \'{"n": 01}\'',
    "raw-control": 'printf \'{"s":"a\\011b"}\'',
    "invalid-utf8": 'printf \'{"s":"\\377"}\'',
}
# With RUN_WAIT_FOR_EXIT=true all of stdout is judged; answering early, the first whole object is the answer.
TRAILING = "printf '{\"a\":1}{\"b\":2}'"
# Runners with a purpose of their own.
SCRIPTS = {
    # The payload, as it arrived on stdin, inside the answer.
    "echo-payload": 'x=$(cat); printf \'{"payload":%s}\' "$x"',
    # A UTF-8 character split across two writes, then lingering: the answer must not wait for the exit.
    "utf8-split": 'cat >/dev/null; printf \'{"stdout":"caf\\303\'; sleep 0.5; '
                  'printf \'\\251","stderr":"","error":""}\'; sleep 100',
    "nul-stderr": "cat >/dev/null; printf 'a\\000b' >&2",
    # Never reads its stdin, never answers.
    "deaf-sleeper": "sleep 100",
    # 8 MiB of control bytes on stderr, each of which the error answer escapes to six.
    "stderr-flood": "cat >/dev/null; head -c 8388608 /dev/zero | tr '\\0' '\\1' >&2",
}


def image(name):
    return "docker-run-test/trust-%s:latest" % name


def make_image(name, script):
    harness.derive_image(image(name), ["/bin/sh", "-c", script])
    made_images.append(image(name))


def setup():
    global server
    for name, body in PRINTERS.items():
        make_image(name, "cat >/dev/null; " + body)
    for name, script in SCRIPTS.items():
        make_image(name, script)
    make_image("two-objects", "cat >/dev/null; " + TRAILING)
    server = Server()
    server.start()


# --- the answer is one valid JSON object, or it is not a 200 -------------------

def test_runner_output_strict():
    """json-c accepts all of these; no client can parse them: the original answered 500 stdout.decode."""
    for name in PRINTERS:
        expect_error(server.run({}, image=image(name)), 500, "coderunner.stdout.decode")


def test_whole_stdout_judged_at_exit():
    with Server({"RUN_WAIT_FOR_EXIT": "true"}) as s:
        expect_error(s.run({}, image=image("two-objects")), 500, "coderunner.stdout.decode")
    if harness.podman():  # no early answer on Podman (README, "Podman"): judged at exit there too
        expect_error(server.run({}, image=image("two-objects")), 500, "coderunner.stdout.decode")
        return
    st, _, body = server.run({}, image=image("two-objects"))
    expect(st == 200 and body == {"a": 1}, "answered early: the first whole object", st, body)


# --- the payload reaches the runner as the client sent it --------------------

def test_payload_fidelity():
    body = (b'{"image": "%s", "payload": {"n": 123456789012345678901234567890, "f": 1.5e300, "neg": -0, '
            b'"s": "\\u00e9\\/", "deep": [[[1]]]}}' % image("echo-payload").encode())
    st, _, answer = server.request("POST", "/run", body=body)
    expect(st == 200, "echoed", st, answer)
    p = answer["payload"]
    expect(p["n"] == 123456789012345678901234567890, "a big integer unaltered", p)
    expect(p["f"] == 1.5e300 and p["s"] == "\u00e9/" and p["deep"] == [[[1]]], "the rest unaltered", p)


def test_payload_never_altered():
    """What cannot be passed on exactly is refused, never changed."""
    for value in (b"NaN", b"-Infinity", b"Infinity", b"012", b"'x'"):
        body = b'{"image": "%s", "payload": {"n": %s}}' % (RUNNER.encode(), value)
        expect_error(server.request("POST", "/run", body=body), 400, "request.json")


def test_duplicate_keys_refused():
    body = b'{"image": "%s", "payload": {}, "payload": {"x": 1}}' % RUNNER.encode()
    expect_error(server.request("POST", "/run", body=body), 400, "request.json")


def test_nesting_128_levels():
    """The original allows 128 levels (serde_json): the body object, the payload and 126 more arrays."""
    inner = "[" * 126 + "]" * 126
    body = ('{"image": "%s", "payload": {"a": %s}}' % (image("echo-payload"), inner)).encode()
    st, _, answer = server.request("POST", "/run", body=body)
    expect(st == 200, "128 levels run", st, answer)
    inner = "[" * 127 + "]" * 127
    body = ('{"image": "%s", "payload": {"a": %s}}' % (image("echo-payload"), inner)).encode()
    expect_error(server.request("POST", "/run", body=body), 400, "request.json")


# --- the early answer does not depend on how the runner's writes are split ----

def test_early_answer_utf8_split():
    if harness.podman():
        # No early answer on Podman (README, "Podman"): this runner lingers after its answer, so the deadline
        # ends it there. The split itself is the fuzz target's and the unit tests' (body_watch).
        expect_error(server.run({}, image=image("utf8-split")), 400, "limits.execution_time")
        return
    start = time.monotonic()
    st, _, body = server.run({}, image=image("utf8-split"))
    took = time.monotonic() - start
    expect(st == 200 and body == {"stdout": "caf\u00e9", "stderr": "", "error": ""}, "answered", st, body)
    expect(took < 3, "as soon as the object was whole, not at the deadline", took)


def test_stderr_nul_whole():
    st, _, body = server.run({}, image=image("nul-stderr"))
    expect(st == 500 and body["error"] == "coderunner.stderr", "stderr", st, body)
    expect(body["message"].endswith("a\u0000b"), "the NUL and what follows it are in the message", body)


# --- HTTP as RFC 9110 and 9112 say ---------------------------------------------

def test_head_has_no_body():
    st, h, body = parse_raw(server.raw(b"HEAD / HTTP/1.1\r\n\r\n", shut=False))
    expect(st == 200 and int(h["content-length"]) > 0 and body is None, "HEAD /: GET's head, no body", st, h, body)
    st, h, body = parse_raw(server.raw(b"HEAD /run HTTP/1.1\r\n\r\n", shut=False))
    expect(st == 405 and body is None, "HEAD /run: 405, no body", st, h, body)


def test_no_continue_to_http10():
    """RFC 9110 10.1.1: a server ignores a 100-continue expectation from an HTTP/1.0 client."""
    body = json.dumps({"image": RUNNER, "payload": sh("echo ten")}).encode()
    c = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    c.sendall(b"POST /run HTTP/1.0\r\nX-Access-Token: %s\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n"
              % (TOKEN.encode(), len(body)))
    c.settimeout(0.5)
    try:
        early = c.recv(100)
    except socket.timeout:
        early = b""
    c.settimeout(10)
    c.sendall(body)
    out = early + read_to_end(c)
    c.close()
    expect(b"100 Continue" not in out, "no 100 Continue", out[:100])
    st, _, answer = parse_raw(out)
    expect(st == 200 and answer["stdout"] == "ten\n", "the run", st, answer)


def test_leading_crlf_ignored():
    """RFC 9112 2.2: empty lines before the request line are ignored."""
    st, _, body = parse_raw(server.raw(b"\r\n\r\nGET / HTTP/1.1\r\n\r\n", shut=False))
    expect(st == 200 and body["name"] == "docker-run", "answered", st, body)


def test_request_line_limit_same_however_segmented():
    """A bad byte early in a request line over the 8 KiB limit: one answer whether it arrives whole or in
    pieces."""
    line = b"GET /\x01" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n"
    answers = []
    for size in (len(line), 1000, 7):
        c = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        try:
            for i in range(0, len(line), size):
                c.sendall(line[i:i + size])
                time.sleep(0.001)
        except OSError:
            pass  # answered and closed before the rest arrived
        answers.append(parse_raw(read_to_end(c))[0])
        c.close()
    expect(len(set(answers)) == 1, "the same status for every segmentation", answers)


# --- the engine socket's write timeout, the original's meaning ----------------

def test_write_timeout():
    """A container that takes none of its payload: after DOCKER_UNIX_SOCKET_WRITE_TIMEOUT, the original's
    answer (400 docker.container.stream.payload.serialize), not the deadline."""
    with Server({"DOCKER_UNIX_SOCKET_WRITE_TIMEOUT": "1", "RUN_MAX_EXECUTION_TIME": "10"}) as s:
        start = time.monotonic()
        answer = s.run(sh("true", stdin="z" * 1900000), image=image("deaf-sleeper"))
        took = time.monotonic() - start
    expect_error(answer, 400, "docker.container.stream.payload.serialize")
    expect(took < 6, "at the write timeout, not the deadline", took)


# --- SERVER_LISTEN_ADDR as an operator means it --------------------------------

def test_listen_addr_on_dual_stack_socket():
    with Server({"SERVER_LISTEN_ADDR": "127.0.0.1"}, listen="[::]") as s:
        s.env["SERVER_LISTEN_PORT"] = str(s.port)
        st, _, body = s.request("GET", "/", token=None)
        expect(st == 200, "127.0.0.1 reached over [::] (::ffff:127.0.0.1) is 127.0.0.1", st, body)


# --- the handler's memory: a documented function of the limits, and the unit's limit respected ----------

def peak_rss_kib(env, payload, image):
    """The handler's own peak RSS serving one run, in inetd mode under tests/bench/rusage.c (wait4)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench"))
    import cost
    import tempfile
    body = json.dumps({"image": image, "payload": payload}).encode()
    request = (b"POST /run HTTP/1.1\r\nX-Access-Token: %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
               % (TOKEN.encode(), len(body)) + body)
    with tempfile.TemporaryDirectory() as tmp:
        status, _, kib = cost.rusage_once(dict(harness.REFERENCE, **env), request, tmp)
    return status, kib


def test_memory_bound():
    """config_memory_bound(): 16 MiB, the request and the output cap. An 8 MiB stderr of control bytes cost the
    old handler 139 MiB (and its answer, escaped, is 48 MiB)."""
    cap = 9 * 1024 * 1024
    status, kib = peak_rss_kib({"RUN_MAX_OUTPUT_SIZE": str(cap)}, {}, image("stderr-flood"))
    expect(status == 500, "answered coderunner.stderr", status)
    bound = 16 * 1024 + 2 * 1024 + cap // 1024
    # AddressSanitizer's shadow memory and quarantine are no part of the bound (distcheck's build).
    if "libasan" in subprocess.run(["ldd", harness.BIN], capture_output=True, text=True).stdout:
        harness.log("# %s is built with AddressSanitizer: peak RSS %d KiB not held to the bound" % (harness.BIN, kib))
        return
    expect(kib <= bound, "peak RSS within the documented bound", kib, bound)


def test_memory_beyond_the_unit_refused():
    """A configuration whose bound is above the handler's cgroup memory limit (MemoryMax=) is refused as a
    configuration error, naming the variables and the limit, instead of failing the largest runs."""
    with harness.MemoryCgroup(48 * 1024 * 1024) as cg:
        with Server({"RUN_MAX_OUTPUT_SIZE": str(40 * 1024 * 1024)}, cgroup=cg.procs) as s:
            expect_error(s.run(sh("echo")), 500, "config")
            text = s.log_text()
            expect("RUN_MAX_OUTPUT_SIZE" in text and "MemoryMax" in text, "the log says why", text[-500:])
        with Server(cgroup=cg.procs) as s:
            st, _, body = s.run(sh("echo fits"))
            expect(st == 200 and body["stdout"] == "fits\n", "the shipped limits fit in 48 MiB", st, body)


# --- one user's run must not break another's ------------------------------------

def shipped_configuration():
    """packaging/docker-run.conf as the shell reads it (serve-local.sh), with the test's own engine, token
    and runtime directory."""
    conf = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "packaging", "docker-run.conf")
    out = subprocess.run(["env", "-i", "bash", "-c", 'set -a; . "$1"; env -0', "x", conf], capture_output=True,
                         check=True).stdout.decode()
    env = dict(kv.split("=", 1) for kv in out.split("\0") if "=" in kv)
    keep = {k: v for k, v in env.items() if k.startswith(("DOCKER_", "RUN_", "SERVER_", "DEBUG_"))}
    keep.update(DOCKER_UNIX_SOCKET_PATH=harness.DOCKER_SOCKET, API_ACCESS_TOKEN=TOKEN,
                DOCKER_RUN_RUNTIME_DIRECTORY=harness.RUNTIME_DIR, DOCKER_UNIX_SOCKET_READ_TIMEOUT="20")
    if harness.podman():
        # What the README tells a Podman operator where root lacks CAP_SYS_RESOURCE (this machine): Podman
        # raises an unset RLIMIT_NPROC past what the host lets it, and no container starts. High, so that
        # it never counts (the pids cgroup does).
        keep.update(DOCKER_CONTAINER_ULIMIT_NPROC_SOFT="30000", DOCKER_CONTAINER_ULIMIT_NPROC_HARD="30000")
    return keep


def test_fork_bomb_leaves_other_runs_alone():
    """RLIMIT_NPROC counts every process of the uid on the host: with the original's nproc 100, one run's fork
    bomb made every concurrent run of the same user fail to fork. The shipped configuration bounds each run
    by its own pids cgroup instead."""
    env = shipped_configuration()
    with Server(env, unset=[k for k in harness.REFERENCE if k not in env and k.startswith("DOCKER_CONTAINER_")]) as s:
        bomb = []
        t = threading.Thread(target=lambda: bomb.append(s.run(sh("b() { b | b & }; b; sleep 4"))))
        t.start()
        time.sleep(2)  # the bomb has filled its container's pids cgroup
        results = [None] * 4

        def other(i):
            results[i] = s.run(sh("for n in 1 2 3 4 5 6 7 8 9 10; do sh -c 'echo $n' >/dev/null || exit 9; done; "
                                  "echo done %d" % i))
        others = [threading.Thread(target=other, args=(i,)) for i in range(len(results))]
        for o in others:
            o.start()
        for o in others:
            o.join()
        t.join()
    for i, (st, _, body) in enumerate(results):
        expect(st == 200 and body.get("stdout") == "done %d\n" % i and not body.get("stderr"),
               "a run beside the fork bomb forked as usual", i, st, body)


def teardown():
    if server:
        server.stop()
    for name in made_images:
        docker("rmi", "-f", name, check=False)


if __name__ == "__main__":
    try:
        main([v for k, v in list(globals().items()) if k.startswith("test_")], setup=setup)
    finally:
        teardown()
