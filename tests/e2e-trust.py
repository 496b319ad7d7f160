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
}


def image(name):
    return "docker-run-test/trust-%s:latest" % name


def make_image(name, script):
    cid = docker("create", RUNNER).stdout.strip()
    try:
        docker("commit", "--change", "CMD " + json.dumps(["/bin/sh", "-c", script]), "--change",
               "LABEL docker-run.test=1", cid, image(name))
    finally:
        docker("rm", "-f", cid)
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
    start = time.monotonic()
    st, _, body = server.run({}, image=image("utf8-split"))
    took = time.monotonic() - start
    expect(st == 200 and body == {"stdout": "caf\u00e9", "stderr": "", "error": ""}, "answered", st, body)
    expect(took < 3, "as soon as the object was whole, not at the deadline", took)


def test_stderr_nul_whole():
    st, _, body = server.run({}, image=image("nul-stderr"))
    expect(st == 500 and body["error"] == "coderunner.stderr", "stderr", st, body)
    expect(body["message"].endswith("a\u0000b"), "the NUL and what follows it are in the message", body)


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
