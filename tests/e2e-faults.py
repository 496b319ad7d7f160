#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Faults the real engine cannot be made to show, against a stub engine."""

import importlib.util
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import signal  # noqa: E402
import threading  # noqa: E402

import harness  # noqa: E402
from harness import Server, expect, expect_error, kill_handler, main, sh, sweep  # noqa: E402

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
        steps = [c[1].rsplit("/", 1)[-1] for c in stub.calls if "/containers/" in c[1]]
        expect(steps[:3] == ["create", "attach", "start"], "attach before start", stub.calls)
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


def test_out_of_memory_is_a_limit():
    """The container ends without the runner's answer and the engine says the OOM killer did it (how gVisor
    ends a run over its memory): 400 limits.memory, not a decode error of output never written."""
    def check(s, stub):
        # Still running at the first inspect, as right after the stream's end: asked again.
        stub.states = [{"Running": True, "OOMKilled": False, "ExitCode": 0},
                       {"Running": False, "OOMKilled": True, "ExitCode": 137}]
        answer = s.run(sh("x"), image="stub")
        expect_error(answer, 400, "limits.memory")
        expect("100000000 bytes" in answer[2]["message"] and "137" in answer[2]["message"], "says the limit", answer)
        inspects = [c for c in stub.calls if c == ("GET", "/v1.41/containers/%s/json" % stub_engine.CID)]
        expect(len(inspects) == 2, "asked until it had ended", stub.calls)
    with_stub("silent", check)


def test_silent_runner_not_out_of_memory():
    def check(s, stub):
        stub.states = [{"Running": False, "ExitCode": 0}]  # Podman's State: no OOMKilled when false
        expect_error(s.run(sh("x"), image="stub"), 500, "coderunner.stdout.decode")
    with_stub("silent", check)


def test_answered_runner_is_never_asked():
    def check(s, stub):
        expect(s.run(sh("x"), image="stub")[0] == 200, "answered")
        expect(not [c for c in stub.calls if c[1].endswith("/json") and "/containers/" + stub_engine.CID in c[1]],
               "no inspect on the answered path", stub.calls)
    with_stub("ok", check)


def test_engine_silent_after_attach():
    def check(s, stub):
        start = time.monotonic()
        expect_error(s.run(sh("x"), image="stub"), 400, "limits.execution_time")
        took = time.monotonic() - start
        expect(took < 3.5, "deadline holds when the engine goes silent", took)
    with_stub("hang", check)


def test_engine_slow_to_answer():
    """An engine too slow to create is the service's load: 503 docker.busy with Retry-After, never the user's
    fault; and the container that create may have made all the same is removed by its name."""
    def check(s, stub):
        start = time.monotonic()
        answer = s.run(sh("x"), image="stub")
        expect_error(answer, 503, "docker.busy")
        expect(int(answer[1]["retry-after"]) >= 1, "with Retry-After", answer[1])
        expect(time.monotonic() - start < 5, "engine timeout holds")
        rid = answer[1]["x-request-id"]
        for _ in range(50):
            if ("DELETE", "/v1.41/containers/docker-run-" + rid) in stub.calls:
                break
            time.sleep(0.1)
        expect(("DELETE", "/v1.41/containers/docker-run-" + rid) in stub.calls,
               "the create's container, if any, removed by name before anything else", stub.calls)
    with_stub("slow", check, env={"DOCKER_UNIX_SOCKET_READ_TIMEOUT": "1"}, delay=4)


def test_slow_start_is_not_the_users_time():
    """The deadline counts from the container's start: a start that takes longer than the whole execution
    limit (a saturated engine) leaves a hello world its full time."""
    def check(s, stub):
        st, _, body = s.run(sh("x"), image="stub")
        expect(st == 200 and body["stdout"] == "stub", "answered, not limits.execution_time", st, body)
    with_stub("slow-start", check, env={"RUN_MAX_EXECUTION_TIME": "1", "DOCKER_UNIX_SOCKET_READ_TIMEOUT": "5"},
              delay=2)


def run_in_thread(s, payload, image="stub"):
    result = []
    t = threading.Thread(target=lambda: result.append(s.run(payload, image=image)))
    t.start()
    return t, result


def stop_during(mode, step):
    """SIGTERM while the engine is busy with a step: no container is created or started after it."""
    def check(s, stub):
        t, result = run_in_thread(s, sh("x"))
        expect(stub.wait_for(step), "the handler reached " + step)
        time.sleep(0.2)
        kill_handler(s, signal.SIGTERM)
        t.join(30)
        expect(result, "an answer came")
        expect_error(result[0], 500, "internal")
        time.sleep(0.3)
        paths = [p.rsplit("/", 1)[-1] for _, p in stub.calls]
        expect("start" not in paths, "never started after the signal", stub.calls)
        expect(paths.count("create") <= 1, "at most the one create in flight", stub.calls)
        expect(("DELETE", "/v1.41/containers/" + stub_engine.CID) in stub.calls, "and it was removed", stub.calls)
    with_stub(mode, check, delay=2)


def test_stop_during_create():
    stop_during("slow-create", "create")


def test_stop_during_attach():
    stop_during("slow-attach", "attach")


POOL = {"DOCKER_RUN_WARM_POOL": "stub=1"}


def warm_labels():
    """The labels the handler gives a warm container of image "stub" (pool, instance, configuration): asked of
    the sweeper, which creates one when it fills the pool."""
    with stub_engine.StubEngine(SOCK, "ok") as stub:
        p = sweep(dict(POOL, DOCKER_UNIX_SOCKET_PATH=SOCK, RUN_MAX_EXECUTION_TIME="2"))
        expect(stub.bodies, "the sweeper created a warm container", p.log)
        return stub.bodies[0]["Labels"]


def test_warm_container_gone_runs_cold():
    """A claimed warm container that is gone by the time it is attached: the run goes cold, as if the pool
    had been empty, and the gone one is forgotten."""
    gone = "cd" * 32
    with stub_engine.StubEngine(SOCK, "ok") as stub:
        # The sweeper fills the pool of one: its container (the member the handler will claim) is gone.
        stub.ids = [gone]
        env = dict(POOL, DOCKER_UNIX_SOCKET_PATH=SOCK, RUN_MAX_EXECUTION_TIME="2")
        p = sweep(env)
        expect(stub.bodies and stub.bodies[0]["Labels"].get("docker-run.pool") == "stub", "a warm one", p.log)
        stub.listing = [{"Id": gone, "State": "running", "Labels": stub.bodies[0]["Labels"],
                         "Created": int(time.time())}]
        stub.gone = {gone}
        with Server(env) as s:
            st, _, body = s.run(sh("x"), image="stub")
            expect(st == 200 and body["stdout"] == "stub", "answered cold", st, body)
        paths = [p for _, p in stub.calls]
        expect("/v1.41/containers/%s/attach" % gone in paths and "/v1.41/containers/%s/attach" % stub_engine.CID in paths,
               "tried the warm one, then ran a cold one", stub.calls)
        expect(not os.path.exists(os.path.join(harness.RUNTIME_DIR, "claim-" + gone)), "its claim released")
    sweep({"DOCKER_RUN_WARM_POOL": ""})


def test_sweeper_claims_before_retiring():
    """A stale warm container is claimed by the sweeper before it is removed, so a handler can never claim it
    in between; one a handler has claimed is left to that handler's run."""
    labels = dict(warm_labels())
    labels["docker-run.config"] = "0000000000000000"  # created under another configuration: stale
    stale = {"Id": "ef" * 32, "State": "running", "Labels": labels, "Created": int(time.time())}
    taken = {"Id": "fe" * 32, "State": "running", "Labels": labels, "Created": int(time.time())}
    claimed_at_delete = {}

    def claim_path(cid):
        return os.path.join(harness.RUNTIME_DIR, "claim-" + cid)

    def handler_claims():
        with open(claim_path(taken["Id"]), "w") as f:
            f.write("%d\n" % (time.time() + 60))
    with stub_engine.StubEngine(SOCK, "ok") as stub:
        stub.listing = [stale, taken]
        stub.on_list = handler_claims
        stub.on_delete = lambda cid: claimed_at_delete.setdefault(cid, os.path.exists(claim_path(cid)))
        try:
            p = sweep(dict(POOL, DOCKER_UNIX_SOCKET_PATH=SOCK, RUN_MAX_EXECUTION_TIME="2"))
            expect(p.returncode == 0, "swept", p.log)
            expect(claimed_at_delete.get(stale["Id"]) is True, "the stale one was claimed when removed",
                   claimed_at_delete)
            expect(not os.path.exists(claim_path(stale["Id"])), "and its claim released after")
            expect(taken["Id"] not in claimed_at_delete, "the one a handler claimed was left", stub.calls)
        finally:
            for m in (stale, taken):
                if os.path.exists(claim_path(m["Id"])):
                    os.unlink(claim_path(m["Id"]))


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
