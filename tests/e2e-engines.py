#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Engines that cannot do what is configured are refused before anything runs: rootless Podman on this
cgroup v1 host (which enforces no memory or pids limit and says nothing of it in the Docker API), Podman
asked for a runtime (which it ignores), an engine that does not know the runtime. Each engine is one of
the test's own (tests/engines.py), stopped at the end; the main engine lends its images."""

import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import engines  # noqa: E402
import harness  # noqa: E402
from harness import RUNNER, Server, expect, expect_error, main, sh  # noqa: E402

started = []


def require_podman():
    """Podman is the point of two of these tests: absent in CI is a failure, elsewhere a skip."""
    if shutil.which("podman"):
        return
    harness.log("%s: podman is not installed (Debian: apt-get install podman uidmap)"
                % ("FAIL" if os.environ.get("CI") else "SKIP"))
    sys.exit(1 if os.environ.get("CI") else harness.SKIP)


def engine(e):
    started.append(e)
    e.start()
    e.load(RUNNER)
    return e


def test_rootless_podman_refused_while_limits_are_set():
    e = engine(engines.Podman(rootless=True))
    with Server({"DOCKER_UNIX_SOCKET_PATH": e.socket,
                 "DOCKER_RUN_RUNTIME_DIRECTORY": harness.RUNTIME_DIR + "-rootless"}) as s:
        answer = s.run(sh("echo ran"))
        expect_error(answer, 500, "docker.limits")
        expect("rootless" in answer[2]["message"], "the answer names the cause", answer)
        text = s.log_text()
        expect("rootless on cgroup" in text and "enforces no memory or pids limit" in text,
               "the log tells the operator why", text[-1500:])
        expect(not e.api("GET", "/v1.41/containers/json?all=1")[1], "nothing was created on it",
               e.api("GET", "/v1.41/containers/json?all=1"))
    # Without a memory limit still: a run always has a process bound (the pids limit, or the nproc hard
    # limit taken as one), which this engine would not enforce either.
    with Server({"DOCKER_UNIX_SOCKET_PATH": e.socket, "DOCKER_RUN_RUNTIME_DIRECTORY": harness.RUNTIME_DIR + "-rootless",
                 "DOCKER_CONTAINER_MEMORY": "0"}) as s:
        expect_error(s.run(sh("echo ran")), 500, "docker.limits")
    # A rootful Podman on the same host, the same configuration: runs (the check refuses only what it must).
    rootful = engine(engines.Podman())
    with Server({"DOCKER_UNIX_SOCKET_PATH": rootful.socket,
                 "DOCKER_RUN_RUNTIME_DIRECTORY": harness.RUNTIME_DIR + "-podman"}) as s:
        st, _, body = s.run(sh("echo ran"))
        expect(st == 200 and body["stdout"] == "ran\n", "a rootful engine runs it", st, body)


def test_podman_refused_a_runtime():
    e = engine(engines.Podman())
    with Server({"DOCKER_UNIX_SOCKET_PATH": e.socket, "DOCKER_CONTAINER_RUNTIME": "runsc",
                 "DOCKER_RUN_RUNTIME_DIRECTORY": harness.RUNTIME_DIR + "-podman"}) as s:
        answer = s.run(sh("echo ran"))
        expect_error(answer, 500, "docker.runtime")
        expect("ignores" in answer[2]["message"] and "Podman" in answer[2]["message"], "says why", answer)
        expect(not e.api("GET", "/v1.41/containers/json?all=1")[1], "nothing was created on it")


def test_unknown_runtime_refused():
    with Server({"DOCKER_CONTAINER_RUNTIME": "no-such-runtime"}) as s:
        answer = s.run(sh("echo ran"))
        expect_error(answer, 500, "docker.runtime")
        expect("not registered" in answer[2]["message"], "says why", answer)


def teardown():
    for e in started:
        e.stop()


if __name__ == "__main__":
    require_podman()
    try:
        main([test_rootless_podman_refused_while_limits_are_set, test_podman_refused_a_runtime,
              test_unknown_runtime_refused])
    finally:
        teardown()
