#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The warm pool against the real engine: same answers, same limits, one run per container, no leak."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (RUNNER, Server, container_of, docker, expect, expect_error, kill_handler, main,  # noqa: E402
                     send_run, sh, sweep)

POOL = 4
DEADLINE = 3


def pool_env(count=POOL, **extra):
    e = {"DOCKER_RUN_WARM_POOL": "%s=%d" % (RUNNER, count), "DOCKER_RUN_RUNTIME_DIRECTORY": harness.RUNTIME_DIR,
         "RUN_MAX_EXECUTION_TIME": str(DEADLINE)}
    e.update(extra)
    return e


def members():
    return set(docker("ps", "-q", "--no-trunc", "--filter", "label=docker-run.pool=" + RUNNER).stdout.split())


def wait_members(n, timeout=15):
    end = time.monotonic() + timeout
    while len(members()) != n and time.monotonic() < end:
        time.sleep(0.2)
    return members()


def used_container(server, rid):
    """(container, warm) from the request's record: a Failure when there is no record."""
    return container_of(server.record(rid))


def fill(env):
    retire()  # whatever an earlier test left
    p = sweep(env)
    expect(p.returncode == 0, "sweeper ran", p.log)
    got = wait_members(env_count(env))
    if len(got) != env_count(env):
        listing = docker("ps", "-a", "--filter", "label=docker-run.pool", "--format",
                         "{{.ID}} {{.Status}} {{.Labels}}", check=False)
        expect(False, "pool filled", len(got), p.log, listing.stdout, listing.stderr)
    return got


def env_count(env):
    return int(env["DOCKER_RUN_WARM_POOL"].rsplit("=", 1)[1])


def retire():
    sweep({"DOCKER_RUN_WARM_POOL": ""})
    expect(not wait_members(0), "pool retired when no longer configured")


def test_warm_answers_like_cold():
    env = pool_env()
    fill(env)
    used = []
    with Server(env) as s:
        for payload, want in ((sh("echo Hello World"), "Hello World\n"),
                              (sh('read x; echo "Number from stdin: $x"', stdin="42"), "Number from stdin: 42\n"),
                              (sh('echo "Number from arg: $1"', command="sh main.sh 42"), "Number from arg: 42\n")):
            st, h, body = s.run(payload)
            expect(st == 200 and body == {"stdout": want, "stderr": "", "error": ""}, "warm answer", st, body)
            cid, warm = used_container(s, h["x-request-id"])
            expect(warm and cid not in used, "served by a fresh warm container", cid, warm, used)
            used.append(cid)
        # Each run's container is removed and a replacement started: POOL members again, none of the used ones.
        time.sleep(1)
        after = wait_members(POOL)
        expect(len(after) == POOL and not any(m.startswith(c) for m in after for c in used), "pool topped up",
               after, used)
    retire()


def test_concurrent_claims_never_share():
    # Sixteen runs at once on a small machine: the engine queues, so cold fallbacks need more than the
    # usual deadline and engine timeout. This test is about claims, not timeouts.
    env = pool_env(POOL, RUN_MAX_EXECUTION_TIME="20", DOCKER_UNIX_SOCKET_READ_TIMEOUT="20")
    fill(env)
    n = 16
    results = [None] * n
    with Server(env) as s:
        def one(i):
            results[i] = s.run(sh("echo %d; cat" % i, stdin="in%d" % i))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        used = []
        for i, (st, h, body) in enumerate(results):
            expect(st == 200 and body["stdout"] == "%d\nin%d" % (i, i), "concurrent answer", i, st, body)
            cid, warm = used_container(s, h["x-request-id"])
            expect(cid, "container logged", i)
            used.append(cid)
        expect(len(set(used)) == n, "no container served two runs", used)
        warm = sum(1 for st, h, _ in results if used_container(s, h["x-request-id"])[1])
        expect(warm >= 1, "some runs were warm", warm)
    retire()


def test_deadline_starts_at_claim():
    env = pool_env(1)
    fill(env)
    with Server(env) as s:
        time.sleep(DEADLINE + 1)  # the container has been up longer than the limit: only the claim counts
        start = time.monotonic()
        answer = s.run(sh("echo fast"))
        expect(answer[0] == 200 and answer[2]["stdout"] == "fast\n", "old warm container still serves", answer)
        expect(used_container(s, answer[1]["x-request-id"])[1], "it was warm")
        wait_members(1)
        start = time.monotonic()
        answer = s.run(sh("while :; do :; done"))
        took = time.monotonic() - start
        expect_error(answer, 400, "limits.execution_time")
        expect(used_container(s, answer[1]["x-request-id"])[1], "the loop ran warm")
        expect(DEADLINE - 0.5 < took < DEADLINE + 1.5, "deadline from the claim", took)
    retire()


def test_limits_hold_warm():
    # A gVisor sandbox needs some 44 host pids of its own at rest (e2e-run.py): 64 would end it.
    pids = "1024" if harness.RUNTIME == "runsc" else "64"
    env = pool_env(2, DOCKER_CONTAINER_PIDS_LIMIT=pids)
    fill(env)

    def pids_max(cid):  # as the host kernel holds it: gVisor shows no pids cgroup inside
        try:
            path = harness.host_cgroup_file(cid, "pids", "pids.max")
        except harness.Failure:
            path = harness.host_cgroup_file(cid, "", "pids.max")
        with open(path) as f:
            return f.read().strip()
    with Server(env) as s:
        (st, h, body), limit = harness.while_running(
            lambda: s.run(sh("sleep 1.5; ls /sys/class/net; touch /x 2>/dev/null || echo ro")), pids_max)
        expect(st == 200 and body["stdout"].split() == ["lo", "ro"] and limit == pids, "same limits warm",
               st, body, limit)
        expect(used_container(s, h["x-request-id"])[1], "it was warm")
        expect_error(s.run({}, image="docker-run-test/flood:latest"), 400, "limits.read.size")
    retire()


def test_other_configuration_never_claimed():
    fill(pool_env(2))
    changed = pool_env(2, DOCKER_CONTAINER_MEMORY="150000000")
    with Server(changed) as s:
        st, h, body = s.run(sh("echo cold"))
        expect(st == 200 and body["stdout"] == "cold\n", "answered", st, body)
        expect(not used_container(s, h["x-request-id"])[1], "a member of another configuration was not claimed")
    p = sweep(changed)
    expect(p.returncode == 0 and p.log.count("Removed stale warm container") == 2, "stale members retired",
           p.log)
    expect(len(wait_members(2)) == 2, "refilled under the new configuration")
    retire()


def test_empty_pool_falls_back_cold():
    env = pool_env(2)
    with Server(env) as s:
        expect(not members(), "no members yet")
        st, h, body = s.run(sh("echo still"))
        expect(st == 200 and body["stdout"] == "still\n", "cold fallback", st, body)
        expect(not used_container(s, h["x-request-id"])[1], "it was cold")
    retire()


def test_killed_warm_handler_swept():
    env = pool_env(1, DOCKER_UNIX_SOCKET_READ_TIMEOUT="1", RUN_MAX_EXECUTION_TIME="1")
    claimed = fill(env)
    with Server(env) as s:
        c = send_run(s, sh("sleep 60"))
        time.sleep(0.5)
        kill_handler(s)
        c.close()
    claims = [f for f in os.listdir(harness.RUNTIME_DIR) if f.startswith("claim-")]
    expect(len(claims) == 1 and claims[0][6:] in claimed, "the claim outlives the killed handler", claims)
    p = sweep(env)
    expect(claims[0][6:] in members(), "not swept before its deadline", p.log)
    time.sleep(5)  # the claim's deadline: 1 s run and three 1 s engine timeouts
    p = sweep(env)
    expect(claims[0][6:] not in members() and not os.path.exists(os.path.join(harness.RUNTIME_DIR, claims[0])),
           "claimed container and its claim swept", p.log)
    retire()


def claim_file(cid, runtime_dir=None):
    return os.path.join(runtime_dir or harness.RUNTIME_DIR, "claim-" + cid)


def test_empty_claim_file_means_claimed():
    """A claim file that exists means claimed, whatever it holds (a claim being written, or torn): retiring
    the pool leaves that member to its claim, judged by the file's age, and retires the other."""
    env = pool_env(2)
    got = sorted(fill(env))
    claimed, other = got
    path = claim_file(claimed)
    try:
        open(path, "w").close()
        p = sweep({"DOCKER_RUN_WARM_POOL": ""})
        expect(p.returncode == 0, "sweeper ran", p.log)
        left = wait_members(1)
        expect(left == {claimed}, "the member with an empty claim file survives, the other is retired", left,
               claimed, other, p.log)
        expect(os.path.exists(path), "its claim is left alone", p.log)
    finally:
        if os.path.exists(path):
            os.unlink(path)
    retire()


def instance_members():
    """Every running warm container of the runner's pool: id -> its docker-run.instance label ('' if none)."""
    out = docker("ps", "--no-trunc", "--filter", "label=docker-run.pool=" + RUNNER, "--format",
                 '{{.ID}} {{.Label "docker-run.instance"}}').stdout
    return dict((line.split(" ", 1) + [""])[:2] for line in out.splitlines() if line.strip())


def retire_in(runtime_dir):
    p = sweep({"DOCKER_RUN_WARM_POOL": "", "DOCKER_RUN_RUNTIME_DIRECTORY": runtime_dir})
    expect(p.returncode == 0, "sweeper ran for " + runtime_dir, p.log)


def test_services_never_share_pools():
    """Two services on one engine with different runtime directories (their claims are not each other's):
    each fills, claims and retires only its own pool."""
    dirs = {"a": harness.RUNTIME_DIR + "-a", "b": harness.RUNTIME_DIR + "-b"}
    # The engine's timeout generous: a refill that fails under load is no part of this test (see topped_up).
    envs = {k: pool_env(2, DOCKER_RUN_RUNTIME_DIRECTORY=d, DOCKER_UNIX_SOCKET_READ_TIMEOUT="10")
            for k, d in dirs.items()}
    for d in dirs.values():
        os.makedirs(d, mode=0o700, exist_ok=True)
        retire_in(d)  # whatever an interrupted earlier run left
    retire()
    try:
        pools = {}
        for k in ("a", "b"):
            before = set(instance_members())
            p = sweep(envs[k])
            expect(p.returncode == 0, "sweeper ran for " + k, p.log)
            wait_members(len(before) + 2)
            now = instance_members()
            pools[k] = set(now) - before
            expect(len(pools[k]) == 2, "pool %s filled by its own sweep, beside the other's" % k, pools, p.log)
        instances = {k: {instance_members()[c] for c in pools[k]} for k in pools}
        expect(all(len(v) == 1 and "" not in v for v in instances.values()) and instances["a"] != instances["b"],
               "each pool's members carry their service's instance", instances)
        instance = {k: v.pop() for k, v in instances.items()}

        def topped_up(servers):
            """Both pools whole before a request: a handler tops up its own after its run, and should that fail
            (the engine slow under load), the service's own sweep does."""
            for j in ("a", "b"):
                if sum(1 for inst in instance_members().values() if inst == instance[j]) < 2:
                    harness.log("pool %s short; its handlers said: %s" % (
                        j, [m for m in servers[j].messages() if "warm" in m.lower()][-3:]))
                    p = sweep(envs[j])
                    expect(p.returncode == 0, "sweeper topped up " + j, p.log)
            return wait_members(4)

        with Server(envs["a"]) as sa, Server(envs["b"]) as sb:
            servers = {"a": sa, "b": sb}
            for i in range(3):
                for k in ("a", "b"):
                    topped_up(servers)
                    snapshot = instance_members()
                    st, h, body = servers[k].run(sh("echo %s%d" % (k, i)))
                    expect(st == 200 and body["stdout"] == "%s%d\n" % (k, i), "answered", k, i, st, body)
                    cid, warm = used_container(servers[k], h["x-request-id"])
                    expect(cid and warm, "a warm run", k, i, cid, warm)
                    owner = [inst for c, inst in snapshot.items() if c.startswith(cid)]
                    expect(owner == [instance[k]], "server %s used a member of its own pool" % k, cid, owner,
                           instance, snapshot)
            topped_up(servers)
        b_members = {c for c, inst in instance_members().items() if inst == instance["b"]}
        expect(len(b_members) == 2, "b's pool whole", instance_members())
        retire_in(dirs["a"])
        after = instance_members()
        expect(instance["a"] not in after.values(), "a's pool retired", after)
        expect(set(after) == b_members, "b's members untouched when a's pool is retired", after, b_members)
    finally:
        for d in dirs.values():
            retire_in(d)
    expect(not wait_members(0), "both pools retired")


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
