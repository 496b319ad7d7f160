#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Faults the real engine cannot be made to show, against a stub engine."""

import importlib.util
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
from harness import Server, expect, expect_error, main, sh  # noqa: E402

spec = importlib.util.spec_from_file_location("stub_engine", os.path.join(here, "stub-engine.py"))
stub_engine = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stub_engine)

SOCK = "/tmp/docker-run-stub-%d.sock" % os.getpid()


def with_stub(mode, fn, env=None, **kw):
    with stub_engine.StubEngine(SOCK, mode, **kw) as stub:
        e = {"DOCKER_UNIX_SOCKET_PATH": SOCK, "RUN_MAX_EXECUTION_TIME": "2"}
        e.update(env or {})
        with Server(e) as s:
            fn(s, stub)


def test_stub_ok_and_removed():
    def check(s, stub):
        st, _, body = s.run(sh("x"), image="stub")
        expect(st == 200 and body["stdout"] == "stub", "stub run", st, body)
        time.sleep(0.3)
        expect(("DELETE", "/v1.41/containers/" + stub_engine.CID) in stub.calls, "removed", stub.calls)
        expect([c[1].rsplit("/", 1)[-1] for c in stub.calls[:3]] == ["create", "attach", "start"],
               "attach before start", stub.calls)
    with_stub("ok", check)


def test_stdin_frame():
    def check(s, stub):
        answer = s.run(sh("x"), image="stub")
        expect_error(answer, 500, "coderunner.stdin")
        expect("echoed on stdin" in answer[2]["message"], "stdin text", answer)
    with_stub("stdin-frame", check)


def test_bad_stream_type():
    with_stub("bad-stream", lambda s, _: expect_error(s.run(sh("x"), image="stub"), 500,
                                                      "docker.container.stream.read"))


def test_truncated_stream():
    with_stub("truncated", lambda s, _: expect_error(s.run(sh("x"), image="stub"), 500,
                                                     "docker.container.stream.read"))


def test_attach_refused():
    def check(s, stub):
        expect_error(s.run(sh("x"), image="stub"), 500, "docker.container.attach")
        time.sleep(0.3)
        expect(any(m == "DELETE" for m, _ in stub.calls), "removed after attach failed", stub.calls)
    with_stub("attach-error", check)


def test_start_refused():
    with_stub("start-error", lambda s, _: expect_error(s.run(sh("x"), image="stub"), 500,
                                                       "docker.container.start"))


def test_version_refused():
    with_stub("version-error", lambda s, _: expect_error(s.request("GET", "/version"), 500, "docker.version"))


def test_engine_silent_after_attach():
    def check(s, stub):
        start = time.monotonic()
        expect_error(s.run(sh("x"), image="stub"), 400, "limits.execution_time")
        took = time.monotonic() - start
        expect(took < 3.5, "deadline holds when the engine goes silent", took)
    with_stub("hang", check)


def test_engine_slow_to_answer():
    def check(s, stub):
        start = time.monotonic()
        expect_error(s.run(sh("x"), image="stub"), 500, "docker.unixsocket")
        expect(time.monotonic() - start < 5, "engine timeout holds")
    with_stub("slow", check, env={"DOCKER_UNIX_SOCKET_READ_TIMEOUT": "1"}, delay=4)


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
