#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The sweeper against the real engine: thousands of leftovers drained in one pass, what it must keep kept,
and a grace it cannot add refused."""

import http.client
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import RUNNER, Server, docker, expect, main, our_containers, sh, sweep  # noqa: E402

TEST_LABEL = "docker-run.test"
LEFTOVERS = int(os.environ.get("DOCKER_RUN_TEST_LEFTOVERS", "2000"))
FUTURE = 50
CONNECTIONS = 4
LIST_LIMIT = 1024 * 1024  # the old handler's cap on one engine answer
SWEEP_PAGE = 200  # src/sweep.h: a progress line per this many removals


class EngineConnection(http.client.HTTPConnection):
    """HTTP/1.1 to the engine's unix socket, kept open for many requests."""

    def __init__(self, timeout=60):
        super().__init__("localhost", timeout=timeout)

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        self.sock.settimeout(self.timeout)
        self.sock.connect(harness.DOCKER_SOCKET)


def api(conn, method, path, body=None):
    headers = {}
    data = None
    if body is not None:
        data = json.dumps(body)
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()


def parallel(items, fn):
    """fn(conn, item) for every item, over CONNECTIONS connections at once; the results in order."""
    results = [None] * len(items)
    errors = []

    def worker(k):
        conn = EngineConnection()
        try:
            for i in range(k, len(items), CONNECTIONS):
                results[i] = fn(conn, items[i])
        except Exception as e:  # reported by the caller
            errors.append(e)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def create_all(labels_list):
    """Create one container of the runner per labels dict (not started), through the raw API; their ids."""
    def create(conn, labels):
        st, body = api(conn, "POST", "/containers/create", {"Image": RUNNER, "Labels": labels})
        expect(st == 201, "container created", st, body[:300])
        return json.loads(body)["Id"]
    return parallel(labels_list, create)


def exists(conn, cid):
    """Whether the engine still has the container: a 404 on inspect is removed, whatever `docker ps -a` says."""
    st, body = api(conn, "GET", "/containers/%s/json" % cid)
    expect(st in (200, 404), "inspect answered", cid, st, body[:300])
    return st == 200


def listed(label):
    """The ids the engine lists with label (every state), and the size of that answer."""
    conn = EngineConnection()
    try:
        query = urllib.parse.quote(json.dumps({"label": [label]}))
        st, body = api(conn, "GET", "/containers/json?all=1&filters=" + query)
    finally:
        conn.close()
    expect(st == 200, "list answered", st, body[:300])
    return {c["Id"] for c in json.loads(body)}, len(body)


def remove_test_containers():
    ids = sorted(listed(TEST_LABEL + "=1")[0])

    def remove(conn, cid):
        st, body = api(conn, "DELETE", "/containers/%s?force=1&v=1" % cid)
        expect(st in (204, 404), "removed", cid, st, body[:300])
    parallel(ids, remove)


def labels(deadline, **extra):
    out = {harness.LABEL: "true", "docker-run.deadline": "%d" % deadline, TEST_LABEL: "1"}
    out.update(extra)
    return out


def test_sweeper_drains_thousands():
    now = int(time.time())
    started = time.monotonic()
    try:
        expired = create_all([labels(now - 3600)] * LEFTOVERS)
        future = create_all([labels(now + 3600)] * FUTURE)
        kept = create_all([labels(now - 3600, **{"docker-run.keep": "true"})])[0]
        created = time.monotonic() - started
        ours, size = listed(harness.LABEL + "=true")
        harness.log("created %d containers in %.1f s; the engine's list of ours is %d bytes"
                    % (len(expired) + len(future) + 1, created, size))
        expect(size > LIST_LIMIT, "the leftovers' list is above 1 MiB (else this test proves nothing)", size)

        began = time.monotonic()
        p = sweep()
        took = time.monotonic() - began
        harness.log("one sweep in %.1f s" % took)
        expect(p.returncode == 0, "the sweep succeeded", p.returncode, p.log[-3000:])

        still, _ = listed(TEST_LABEL + "=1")
        conn = EngineConnection()
        try:
            survivors = [c for c in expired if c in still and exists(conn, c)]
            expect(not survivors, "every expired leftover removed in one pass", len(survivors), survivors[:5],
                   p.log[-3000:])
            gone = [c for c in future if not exists(conn, c)]
            expect(not gone, "every container with a deadline ahead kept", len(gone), p.log[-3000:])
            expect(exists(conn, kept), "the DEBUG_KEEP_CONTAINER container (label docker-run.keep) kept",
                   p.log[-3000:])
        finally:
            conn.close()

        # Progress as it goes: the listing every ten pages, the removals every page's worth, and the total.
        progress = [line for line in p.log.splitlines() if "Sweep: " in line]
        removed = [int(m.group(1)) for m in (re.search(r"Sweep: (\d+) of (\d+) removed", line)
                                             for line in progress) if m]
        expect(any(re.search(r"Sweep: \d+ containers listed, \d+ to remove so far", line) for line in progress),
               "listing progress logged", progress)
        expect(len(removed) >= LEFTOVERS // SWEEP_PAGE and max(removed) >= LEFTOVERS,
               "removal progress logged", progress)
        total = [re.search(r"Sweep: (\d+) containers listed in (\d+) page\(s\), (\d+) removed", line)
                 for line in progress]
        total = [m for m in total if m]
        expect(len(total) == 1 and int(total[0].group(1)) >= LEFTOVERS + FUTURE + 1
               and int(total[0].group(3)) >= LEFTOVERS, "the pass's total logged", progress)
    finally:
        remove_test_containers()


def test_kept_container_outlives_sweeper():
    """DEBUG_KEEP_CONTAINER keeps a run's container for inspection: the sweeper leaves it too, long past its
    deadline and with no grace."""
    env = {"DEBUG_KEEP_CONTAINER": "true", "RUN_MAX_EXECUTION_TIME": "1", "DOCKER_UNIX_SOCKET_READ_TIMEOUT": "1"}
    before = our_containers()
    made = set()
    try:
        with Server(env) as s:
            st, _, body = s.run(sh("echo kept"))
            expect(st == 200 and body["stdout"] == "kept\n", "the run answered", st, body)
        made = our_containers() - before
        expect(len(made) == 1, "the run's container was kept", made)
        cid = made.pop()
        made = {cid}
        info = json.loads(docker("inspect", cid).stdout)[0]
        deadline = int(info["Config"]["Labels"]["docker-run.deadline"])
        wait = deadline + 1 - time.time()
        if wait > 0:
            time.sleep(wait)
        p = sweep(grace="0")
        expect(p.returncode == 0, "the sweep succeeded", p.returncode, p.log)
        expect(docker("inspect", cid, check=False).returncode == 0, "the kept container outlives the sweeper",
               cid, p.log)
    finally:
        for cid in made:
            docker("rm", "-f", cid, check=False)


SWEEP_GRACE_MAX_SEC = 10 * 366 * 86400


def test_sweep_refuses_overflowing_grace():
    """A grace that cannot be added to a deadline without overflow is refused before anything is removed."""
    cid = docker("create", "--label", harness.LABEL + "=true", "--label",
                 "docker-run.deadline=%d" % (int(time.time()) + 3600), "--label", TEST_LABEL + "=1",
                 RUNNER).stdout.strip()
    try:
        for grace in ("9223372036854775807", "99999999999999999999", "18446744073709551615",
                      str(SWEEP_GRACE_MAX_SEC + 1)):
            p = sweep(grace=grace)
            expect(p.returncode == 2, "grace %s refused with exit status 2" % grace, p.returncode, p.log)
            expect(docker("inspect", cid, check=False).returncode == 0,
                   "a container whose run is not over kept when the grace is %s" % grace, p.log)
        # The largest grace taken: it keeps what runs, too.
        p = sweep(grace=str(SWEEP_GRACE_MAX_SEC))
        expect(p.returncode == 0, "the largest grace taken", p.returncode, p.log)
        expect(docker("inspect", cid, check=False).returncode == 0, "a container whose run is not over kept", p.log)
    finally:
        docker("rm", "-f", cid, check=False)


if __name__ == "__main__":
    main([v for k, v in list(globals().items()) if k.startswith("test_")])
