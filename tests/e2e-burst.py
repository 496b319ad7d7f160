#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Under a burst it keeps working: host-wide admission, a FIFO queue, errors that blame the right party,
nothing left behind. Bounded in count and time for CI; tests/bench/burst.py measures throughput."""

import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Server, expect, expect_error, main, our_containers, send_run, sh  # noqa: E402


def wait_handlers_gone(server, timeout=60):
    end = time.monotonic() + timeout
    while server.handlers() and time.monotonic() < end:
        time.sleep(0.2)
    return server.handlers()


def burst(server, n, concurrency, payload=None, want="burst\n"):
    """n hello worlds, concurrency at a time: (answers, transport errors)."""
    answers, errors, lock = [], [], threading.Lock()
    left = [n]

    def worker():
        while True:
            with lock:
                if left[0] == 0:
                    return
                left[0] -= 1
            try:
                a = server.run(payload or sh("echo burst"), timeout=120)
            except Exception as e:  # noqa: BLE001 - every transport error is counted and reported
                with lock:
                    errors.append(repr(e))
                continue
            with lock:
                answers.append(a)
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers, errors


def test_burst_256_at_64():
    """A classroom pressing Run: every answer is the run's or a clean 429, nothing is left behind."""
    before = our_containers()
    with Server() as s:
        start = time.monotonic()
        answers, errors = burst(s, 256, 64)
        took = time.monotonic() - start
        left_handlers = wait_handlers_gone(s)
    ok = [a for a in answers if a[0] == 200 and a[2].get("stdout") == "burst\n"]
    refused = [a for a in answers if a[0] == 429]
    other = [(a[0], a[2]) for a in answers if a not in ok and a not in refused]
    harness.log("burst: 256 at 64 in %.1f s: %d ok, %d refused (429), %d other, %d transport errors"
                % (took, len(ok), len(refused), len(other), len(errors)))
    expect(not errors, "no transport error", errors[:3])
    expect(not other, "every answer is the run's or 429", other[:3])
    expect(all(a[2].get("error") == "limits.concurrency" and int(a[1]["retry-after"]) >= 1 for a in refused),
           "each 429 is limits.concurrency with Retry-After", refused[:2])
    expect(len(ok) >= 64, "most of the burst ran", len(ok))
    expect(not left_handlers, "every handler finished", left_handlers)
    expect(not (our_containers() - before), "no container left, with no sweep", our_containers() - before)


def test_queue_is_first_come_first_served_and_survives_a_killed_waiter():
    """One slot: A runs, B and C wait in that order; B is killed with SIGKILL while it waits: C gets the slot
    as soon as A is done, not at its queue timeout."""
    with Server({"RUN_MAX_CONCURRENT": "1", "RUN_QUEUE_TIMEOUT": "30"}) as s:
        a = send_run(s, sh("sleep 2; echo a"))
        time.sleep(0.7)
        b = send_run(s, sh("echo b"))
        time.sleep(0.3)
        result = []
        t = threading.Thread(target=lambda: result.append(s.run(sh("echo c"))))
        t.start()
        time.sleep(0.5)
        pids = s.handlers()
        expect(len(pids) == 3, "three handlers: one running, two waiting", pids)
        os.kill(pids[1], signal.SIGKILL)
        b.close()
        start = time.monotonic()
        t.join(30)
        took = time.monotonic() - start
        a.close()
    expect(result and result[0][0] == 200 and result[0][2]["stdout"] == "c\n", "C ran", result)
    expect(took < 5, "as soon as A was done, not at C's queue timeout", took)
    expect(float(result[0][1]["x-docker-run-queue-wait"]) > 0.5, "C waited in the queue", result[0][1])


def test_queue_timeout_zero_refuses_at_once():
    with Server({"RUN_MAX_CONCURRENT": "1", "RUN_QUEUE_TIMEOUT": "0"}) as s:
        c = send_run(s, sh("sleep 3"))
        time.sleep(1)
        start = time.monotonic()
        answer = s.run(sh("echo"))
        took = time.monotonic() - start
        c.close()
    expect_error(answer, 429, "limits.concurrency")
    expect(took < 0.5, "at once", took)


def test_hello_behind_a_saturated_engine_is_never_out_of_time():
    """The engine is slow to create and start when saturated: that is never the user's execution time."""
    with Server({"RUN_MAX_EXECUTION_TIME": "2", "RUN_MAX_CONCURRENT": "8", "RUN_QUEUE_TIMEOUT": "30",
                 "DOCKER_UNIX_SOCKET_READ_TIMEOUT": "30"}) as s:
        answers, errors = burst(s, 48, 48, sh("echo hello"))
        wait_handlers_gone(s)
    late = [a for a in answers if a[0] == 400 and a[2].get("error") == "limits.execution_time"]
    expect(not errors and not late, "no hello world answered limits.execution_time", late[:2], errors[:2])
    expect(all(a[0] in (200, 429, 503) for a in answers), "runs, or the service's own refusals", answers[:2])


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
