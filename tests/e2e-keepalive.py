#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Persistent connections: HTTP/1.1 keep-alive served by the same handler, pipelining in order, the idle
timeout and the request limit, Connection: close, HTTP/1.0, a client that leaves mid-run."""

import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (RUNNER, TOKEN, Server, expect, main, our_containers, sh,  # noqa: E402
                     wait_no_containers)

server = None


def setup():
    global server
    server = Server()
    server.start()


def connect(s=None):
    c = socket.create_connection(("127.0.0.1", (s or server).port), timeout=30)
    return c, b""


def read_answer(c, buf):
    """One answer off a kept-alive connection: (status, headers, body, the bytes after it)."""
    while b"\r\n\r\n" not in buf:
        chunk = c.recv(65536)
        if not chunk:
            raise EOFError("closed before an answer: %r" % buf[:200])
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    n = int(headers["content-length"])
    while len(rest) < n:
        chunk = c.recv(65536)
        if not chunk:
            raise EOFError("closed inside a body")
        rest += chunk
    return int(lines[0].split(" ")[1]), headers, rest[:n], rest[n:]


def get(path="/", extra=b""):
    return b"GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path.encode(), extra)


def run_request(payload, extra=b""):
    body = json.dumps({"image": RUNNER, "payload": payload}).encode()
    return (b"POST /run HTTP/1.1\r\nHost: x\r\nX-Access-Token: %s\r\nContent-Length: %d\r\n%s\r\n"
            % (TOKEN.encode(), len(body), extra) + body)


def closed(c, timeout=3):
    c.settimeout(timeout)
    try:
        return c.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def test_two_requests_one_connection():
    c, buf = connect()
    c.sendall(get())
    st, h, body, buf = read_answer(c, buf)
    expect(st == 200 and h["connection"] == "keep-alive" and h["keep-alive"] == "timeout=5", "kept alive", h)
    c.sendall(run_request(sh("echo second")))
    st, h2, body, buf = read_answer(c, buf)
    expect(st == 200 and json.loads(body)["stdout"] == "second\n", "a run on the same connection", st, body)
    expect(h["x-request-id"] != h2["x-request-id"], "each request its own id", h, h2)
    c.close()
    for rid in (h["x-request-id"], h2["x-request-id"]):
        server.record(rid)  # each has its record


def test_hundred_requests_then_closed():
    with Server({"SERVER_KEEPALIVE_REQUESTS": "100"}) as s:
        c, buf = connect(s)
        for i in range(100):
            c.sendall(get())
            st, h, _, buf = read_answer(c, buf)
            expect(st == 200, "answer", i, st)
            expect(h["connection"] == ("close" if i == 99 else "keep-alive"), "the hundredth closes", i, h)
        expect(closed(c), "closed after the hundredth")
        c.close()


def test_pipelined_in_order():
    c, buf = connect()
    c.sendall(get("/") + run_request(sh("echo piped")) + get("/nope") + get("/version", b"X-Access-Token: %s\r\n"
                                                                                      % TOKEN.encode()))
    answers = []
    for _ in range(4):
        st, h, body, buf = read_answer(c, buf)
        answers.append((st, json.loads(body)))
    c.close()
    expect([a[0] for a in answers] == [200, 200, 404, 200], "four answers in order", answers)
    expect(answers[1][1]["stdout"] == "piped\n" and "docker" in answers[3][1], "each its own", answers)


def test_idle_timeout():
    with Server({"SERVER_KEEPALIVE_TIMEOUT": "1"}) as s:
        c, buf = connect(s)
        c.sendall(get())
        st, h, _, buf = read_answer(c, buf)
        expect(h["keep-alive"] == "timeout=1", "the timeout announced", h)
        start = time.monotonic()
        expect(closed(c, timeout=5), "closed when idle")
        took = time.monotonic() - start
        c.close()
    expect(0.8 < took < 2.5, "after the idle timeout", took)


def test_connection_close_and_http10():
    for request, keep in ((get("/", b"Connection: close\r\n"), False),
                          (b"GET / HTTP/1.0\r\n\r\n", False),
                          (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", True)):
        c, buf = connect()
        c.sendall(request)
        st, h, _, buf = read_answer(c, buf)
        expect(st == 200 and h["connection"] == ("keep-alive" if keep else "close"), "connection", request, h)
        if keep:
            c.sendall(b"GET / HTTP/1.0\r\n\r\n")
            st, h, _, buf = read_answer(c, buf)
            expect(st == 200 and h["connection"] == "close", "a second 1.0 request", h)
        expect(closed(c), "closed when not kept alive", request)
        c.close()


def test_keepalive_off():
    with Server({"SERVER_KEEPALIVE_TIMEOUT": "0"}) as s:
        c, buf = connect(s)
        c.sendall(get())
        st, h, _, buf = read_answer(c, buf)
        expect(h["connection"] == "close" and "keep-alive" not in h, "0 turns keep-alive off", h)
        expect(closed(c), "closed")
        c.close()


def test_client_leaves_mid_run_on_a_kept_alive_connection():
    before = our_containers()
    c, buf = connect()
    c.sendall(get())
    read_answer(c, buf)
    c.sendall(run_request(sh("sleep 30")))
    time.sleep(1.5)
    c.close()
    start = time.monotonic()
    left = wait_no_containers(before, timeout=10)
    expect(not left, "its container removed", left)
    expect(time.monotonic() - start < 5, "promptly")


def test_bad_request_closes():
    """After an answer that cut its request short (413 before the body), the connection cannot go on."""
    with Server({"SERVER_MAX_REQUEST_SIZE": "100"}) as s:
        c, buf = connect(s)
        body = b"x" * 200
        c.sendall(b"POST /run HTTP/1.1\r\nContent-Length: 200\r\n\r\n" + body)
        st, h, _, buf = read_answer(c, buf)
        expect(st == 413 and h["connection"] == "close", "413 and close", st, h)
        c.close()


def teardown():
    if server:
        server.stop()


if __name__ == "__main__":
    try:
        main([v for k, v in list(globals().items()) if k.startswith("test_")], setup=setup)
    finally:
        teardown()
