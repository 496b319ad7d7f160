#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End to end: the handler behind nginx, configured with packaging/nginx/docker-run.conf as shipped.

nginx (Debian's nginx-light) runs as a foreground process of this test with its own prefix,
configuration, pid, logs and temporary directories in a temp dir, on a free loopback port; the
reference file is included as is but for the upstream address and the listen port. Behind it: a
harness Server (the handler under systemd-socket-activate), or for what nginx sends and retries,
a recorder standing in for docker-run."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (RUNNER, SKIP, TESTS_DIR, TOKEN, Server, expect, expect_error, free_port, log,  # noqa: E402
                     main, our_containers, parse_raw, read_to_end, sh, wait_no_containers)

NGINX = os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
SNIPPET = os.path.join(TESTS_DIR, "..", "packaging", "nginx", "docker-run.conf")
# What the test replaces in the snippet, each exactly once.
UPSTREAM_LINE = "server 127.0.0.1:8088;"
LISTEN_LINE = "listen 80;"

MIB = 1024 * 1024
REQUEST_TIMEOUT = 2  # SERVER_REQUEST_TIMEOUT of the server behind nginx, for the slow client
ID = re.compile(r"^[0-9a-f]{32}$")

# The main configuration around the snippet: everything in the temp dir, nothing of /etc/nginx.
MAIN_CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    log_format test '$request_id $upstream_http_x_request_id $status $request_length';
    access_log {dir}/access.log test;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/conf.d/docker-run.conf;
}}
"""


def require_nginx():
    """nginx is the point of this test: absent in CI is a failure, elsewhere a skip."""
    if os.access(NGINX, os.X_OK):
        return
    why = "no nginx at %s (Debian: apt-get install nginx-light)" % NGINX
    if os.environ.get("CI"):
        log("FAIL:", why)
        sys.exit(1)
    log("SKIP:", why)
    sys.exit(SKIP)


def snippet(upstream_port, listen_port, drop=()):
    """The reference file with the two addresses replaced and the directives in drop removed."""
    with open(SNIPPET) as f:
        text = f.read()
    for old, new in ((UPSTREAM_LINE, "server 127.0.0.1:%d;" % upstream_port),
                     (LISTEN_LINE, "listen 127.0.0.1:%d;" % listen_port)):
        expect(text.count(old) == 1, "the snippet has one " + old)
        text = text.replace(old, new)
    for directive in drop:
        text, n = re.subn(r"(?m)^\s*%s\s[^;\n]*;\s*\n" % re.escape(directive), "", text)
        expect(n == 1, "the snippet sets %s once" % directive, n)
    return text


class Nginx:
    """nginx in the foreground (daemon off), its every file in a temp dir."""

    def __init__(self, upstream_port, drop=()):
        self.upstream_port = upstream_port
        self.drop = drop
        self.dir = None
        self.proc = None
        self.addr = "127.0.0.1"  # where nginx listens: Server.request connects to it
        self.port = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="docker-run-nginx-")
        os.chmod(self.dir, 0o755)  # run as root, the workers are nobody: they create the temp files
        os.mkdir(os.path.join(self.dir, "conf.d"))
        self.port = free_port()
        with open(os.path.join(self.dir, "conf.d", "docker-run.conf"), "w") as f:
            f.write(snippet(self.upstream_port, self.port, self.drop))
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(MAIN_CONF.format(dir=self.dir))
        out = open(os.path.join(self.dir, "stderr"), "wb")
        self.proc = subprocess.Popen([NGINX, "-p", self.dir + "/", "-c", conf, "-e", self.path("error.log")],
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        out.close()
        end = time.monotonic() + 10
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited %d: %s%s" % (self.proc.returncode, self.read("stderr"),
                                                                self.read("error.log")))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not listen: " + self.read("error.log"))

    def stop(self):
        if self.proc:
            pid = self.read("nginx.pid").strip()
            if pid and int(pid) != self.proc.pid:
                log("nginx.pid says %s, we started %d" % (pid, self.proc.pid))
            self.proc.send_signal(signal.SIGTERM)  # fast shutdown: the master stops its workers
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def path(self, name):
        return os.path.join(self.dir, name)

    def read(self, name):
        try:
            with open(self.path(name), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def access(self):
        """The access log as (nginx's $request_id, docker-run's X-Request-Id, status, request length)."""
        return [tuple(line.split()) for line in self.read("access.log").splitlines()]

    def logged(self, before, timeout=5.0, upstream_id=None):
        """The line logged for docker-run's X-Request-Id upstream_id; without one, the first line logged
        after the first `before` ones. nginx logs after the answer has gone out: an earlier request's line
        may land after `before` was counted, so a test that has the id uses it."""
        end = time.monotonic() + timeout
        while True:
            lines = self.access()
            if upstream_id is not None:
                mine = [line for line in lines if len(line) > 1 and line[1] == upstream_id]
                if mine or time.monotonic() > end:
                    expect(mine, "nginx logged the request of %s" % upstream_id, lines[-5:])
                    return mine[0]
            elif len(lines) > before or time.monotonic() > end:
                expect(len(lines) > before, "nginx logged the request", lines)
                return lines[before]
            time.sleep(0.02)

    def request(self, method, path, body=None, headers=None, token=TOKEN, timeout=60):
        return Server.request(self, method, path, body=body, headers=headers, token=token, timeout=timeout)

    def run(self, payload, image=RUNNER, **kw):
        return self.request("POST", "/run", {"image": image, "payload": payload}, **kw)


class Recorder:
    """A stand-in for docker-run with HTTP/1.1 keep-alive: records every request nginx sends it, on which
    connection, and when nginx closes a connection. GET or POST /drop is read and then closed unanswered,
    as by a handler that died; anything else is answered 200 {}, the connection kept open unless the
    request was HTTP/1.0 or asked for Connection: close."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.requests = []   # dicts: conn, method, path, version, headers (lower-cased names), body
        self.answered = {}   # conn -> when its last answer was written
        self.closed = {}     # conn -> when nginx closed it
        self.conns = 0
        self.stopping = False
        threading.Thread(target=self.accept, daemon=True).start()

    def stop(self):
        self.stopping = True
        self.sock.close()

    def accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns += 1
                n = self.conns
            threading.Thread(target=self.serve, args=(c, n), daemon=True).start()

    def serve(self, c, n):
        c.settimeout(30)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = c.recv(65536)
                    if not data:
                        with self.lock:
                            self.closed[n] = time.monotonic()
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, version = lines[0].split(" ")
                headers = {}
                for line in lines[1:]:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0"))
                while len(buf) < length:
                    data = c.recv(65536)
                    if not data:
                        return
                    buf += data
                body, buf = buf[:length], buf[length:]
                with self.lock:
                    self.requests.append(dict(conn=n, method=method, path=path, version=version,
                                              headers=headers, body=body))
                if path == "/drop":
                    return
                keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n" +
                          (b"Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n" if keep else
                           b"Connection: close\r\n") + b"\r\n{}")
                with self.lock:
                    self.answered[n] = time.monotonic()
                if not keep:
                    return
        except OSError:
            return
        finally:
            c.close()

    def seen(self, method, path):
        with self.lock:
            return [r for r in self.requests if r["method"] == method and r["path"] == path]


server = nginx = recorder = front = None


def setup():
    global server, nginx, recorder, front
    server = Server({"SERVER_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT)})
    server.start()
    nginx = Nginx(server.port)
    nginx.start()
    recorder = Recorder()
    front = Nginx(recorder.port)
    front.start()


def teardown():
    for n in (front, nginx):
        if n:
            n.stop()
    if recorder:
        recorder.stop()
    if server:
        server.stop()


def stdin_count(size):
    """A run that counts the bytes of its stdin."""
    return sh("cat | wc -c", stdin="x" * size)


# --- docker-run through nginx --------------------------------------------------

def test_hello():
    st, h, body = nginx.run(sh("echo Hello World"))
    expect(st == 200 and body == {"stdout": "Hello World\n", "stderr": "", "error": ""}, "hello", st, body)
    expect(h["content-type"] == "application/json", "content type", h)


def test_body_of_1_5_mib():
    """Between nginx's default limit (1 MiB) and docker-run's (2 MiB): passes and arrives whole."""
    size = 3 * MIB // 2
    st, h, body = nginx.run(stdin_count(size))
    expect(st == 200 and isinstance(body, dict) and body["stdout"].strip() == str(size),
           "1.5 MiB of stdin counted", st, body if not isinstance(body, bytes) else body[:200])
    length = int(nginx.logged(0, upstream_id=h.get("x-request-id"))[3])
    expect(MIB < length < 2 * MIB, "the request was between 1 and 2 MiB", length)


def test_request_id():
    """The answer carries docker-run's X-Request-Id; the client's own never reaches docker-run."""
    st, h, _ = nginx.request("GET", "/", token=None, headers={"X-Request-Id": "client-chosen-id"})
    expect(st == 200, "GET /", st)
    rid = h.get("x-request-id", "")
    expect(ID.match(rid), "X-Request-Id of 32 hex digits", h)
    line = nginx.logged(0, upstream_id=rid)
    nginx_id, upstream_id, status, _ = line
    expect(upstream_id == rid and status == "200", "the id is docker-run's answer", line, rid)
    log("     docker-run's id %s, nginx's %s: %s" % (rid, nginx_id, "the same" if rid == nginx_id else
                                                     "docker-run made its own"))


def test_wrong_token():
    for token in ("wrong", None):
        st, h, body = nginx.run(sh("echo no"), token=token)
        expect_error((st, h, body), 401, "access_token")
        expect(h["content-type"] == "application/json" and ID.match(h.get("x-request-id", "")),
               "docker-run's JSON answer, not nginx's page", h)


def test_too_large():
    """The configuration's choice: above SERVER_MAX_REQUEST_SIZE docker-run answers (JSON 413); nginx only
    refuses what is above its own client_max_body_size (4 MiB), with its HTML page."""
    st, h, body = nginx.run(stdin_count(3 * MIB))
    expect_error((st, h, body), 413, "request.too_large")
    expect(ID.match(h.get("x-request-id", "")), "docker-run's 413, with its X-Request-Id", h)
    st, h, body = nginx.run(stdin_count(5 * MIB))
    expect(st == 413 and h["content-type"] == "text/html" and b"413" in body and "x-request-id" not in h,
           "nginx's own 413 above 4 MiB", st, h)


def test_default_body_size_refuses_1_5_mib():
    """Without client_max_body_size, nginx's default of 1 MiB refuses the 1.5 MiB body itself."""
    with Nginx(server.port, drop=("client_max_body_size",)) as n:
        st, h, body = n.run(stdin_count(3 * MIB // 2))
        expect(st == 413 and h["content-type"] == "text/html" and isinstance(body, bytes) and b"<html>" in body,
               "nginx's HTML 413", st, h, body[:200])
        expect("x-request-id" not in h, "docker-run never saw it", h)
        expect("client intended to send too large body" in n.read("error.log"), "nginx's log says why")
        st, _, body = n.run(sh("echo small"))
        expect(st == 200 and body["stdout"] == "small\n", "a small body still passes", st, body)


def test_deadline_before_proxy_read_timeout():
    """A run that never ends gets docker-run's deadline answer, not nginx's 504."""
    start = time.monotonic()
    expect_error(nginx.run(sh("while :; do :; done")), 400, "limits.execution_time")
    expect(time.monotonic() - start < 15, "answered at the deadline", time.monotonic() - start)


def test_slow_client_buffered():
    """nginx takes the body at the client's pace; docker-run gets it at once, within SERVER_REQUEST_TIMEOUT."""
    body = json.dumps({"image": RUNNER, "payload": sh("cat | wc -c", stdin="y" * 4000)}).encode()
    head = b"POST /run HTTP/1.1\r\nHost: x\r\nX-Access-Token: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" \
        % (TOKEN.encode(), len(body))

    def drip(port, pieces):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        s.sendall(head)
        step = len(body) // 4 + 1
        for i in range(0, step * pieces, step):
            time.sleep(0.8)
            s.sendall(body[i:i + step])
        out = read_to_end(s)
        s.close()
        return parse_raw(out)

    # 3.2 s for the whole body, past SERVER_REQUEST_TIMEOUT (2 s).
    st, _, answer = drip(nginx.port, 4)
    expect(st == 200 and answer["stdout"].strip() == "4000", "a slow client through nginx", st, answer)
    # Directly, docker-run answers at its deadline, while the client is still sending.
    st, _, answer = drip(server.port, 1)
    expect(st == 408 and answer["error"] == "request.timeout", "the same client directly", st, answer)


def test_client_leaves_mid_run():
    """A client that leaves makes nginx close its connection to docker-run: the run stops, long before its
    deadline (60 s here; the client is gone before proxy_read_timeout matters)."""
    with Server({"RUN_MAX_EXECUTION_TIME": "60"}) as s, Nginx(s.port) as n:
        before = our_containers()
        body = json.dumps({"image": RUNNER, "payload": sh("sleep 90")}).encode()
        c = socket.create_connection(("127.0.0.1", n.port), timeout=10)
        c.sendall(b"POST /run HTTP/1.1\r\nHost: x\r\nX-Access-Token: %s\r\nContent-Length: %d\r\n\r\n"
                  % (TOKEN.encode(), len(body)) + body)
        end = time.monotonic() + 20
        while not our_containers() - before and time.monotonic() < end:
            time.sleep(0.1)
        expect(our_containers() - before, "the run's container was created")
        time.sleep(0.5)
        c.close()
        left_at = time.monotonic()
        line = n.logged(0)
        expect(line[2] == "499", "nginx logged the client's leaving", line)
        left = wait_no_containers(before, timeout=30)
        took = time.monotonic() - left_at
        # Without the hangup passed on, the container would stay until nginx's proxy_read_timeout (60 s).
        expect(not left and took < 20, "container removed soon after the client left", left, took)
        text = s.log_text()
        expect("client closed the connection" in text, "docker-run saw the client leave", text[-500:])
        log("     container removed %.2f s after the client left" % took)


# --- what nginx sends docker-run, and what it retries -----------------------

def test_headers_sent_upstream():
    body = json.dumps({"image": RUNNER, "payload": sh("echo x")})
    st, _, _ = front.request("POST", "/run", body=body.encode(), headers={
        "Content-Type": "application/json", "X-Forwarded-For": "203.0.113.9",
        "X-Request-Id": "client-chosen-id", "Expect": "100-continue"})
    expect(st == 200, "answered by the recorder", st)
    r = recorder.seen("POST", "/run")[-1]
    h = r["headers"]
    expect(r["version"] == "HTTP/1.1", "HTTP/1.1 upstream", r["version"])
    expect(h.get("x-forwarded-for") == "127.0.0.1", "the client's address, the client's claim replaced", h)
    expect(ID.match(h.get("x-request-id", "")), "nginx's own request id", h)
    expect("connection" not in h, "no Connection: close", h)
    expect("expect" not in h, "nginx answered the 100-continue itself", h)
    expect(h.get("x-access-token") == TOKEN, "the token passed on", h)
    expect(h.get("content-length") == str(len(body)) and r["body"] == body.encode(), "the whole body, framed", h)


def test_keepalive_reused_and_closed_first():
    for _ in range(3):
        st, _, _ = front.request("GET", "/keep")
        expect(st == 200, "GET /keep", st)
    seen = recorder.seen("GET", "/keep")[-3:]
    conn = seen[0]["conn"]
    expect(all(r["conn"] == conn for r in seen), "one upstream connection reused",
           [r["conn"] for r in seen])
    end = time.monotonic() + 10
    while conn not in recorder.closed and time.monotonic() < end:
        time.sleep(0.05)
    expect(conn in recorder.closed, "nginx closed the idle connection")
    idle = recorder.closed[conn] - recorder.answered[conn]
    expect(3.5 <= idle < 5, "closed after keepalive_timeout 4s, before docker-run's 5 s", idle)
    log("     nginx closed its idle upstream connection after %.2f s" % idle)


def test_post_not_retried():
    """A POST that failed on a reused connection is answered 502, not sent again; a GET is retried once."""
    for method in ("POST", "GET"):
        st, _, _ = front.request("GET", "/keep")
        expect(st == 200, "GET /keep", st)
        cached = recorder.seen("GET", "/keep")[-1]["conn"]
        before = len(recorder.seen(method, "/drop"))
        st, _, _ = front.request(method, "/drop", body=b"{}" if method == "POST" else None)
        expect(st == 502, method + " /drop answered 502", st)
        tries = recorder.seen(method, "/drop")[before:]
        expect(tries and tries[0]["conn"] == cached, "first sent on the reused connection", tries)
        expect(len(tries) == (1 if method == "POST" else 2), method + " tries", [t["conn"] for t in tries])


TESTS = [test_hello, test_body_of_1_5_mib, test_request_id, test_wrong_token, test_too_large,
         test_default_body_size_refuses_1_5_mib, test_deadline_before_proxy_read_timeout,
         test_slow_client_buffered, test_client_leaves_mid_run, test_headers_sent_upstream,
         test_keepalive_reused_and_closed_first, test_post_not_retried]

if __name__ == "__main__":
    require_nginx()
    try:
        main(TESTS, setup)
    finally:
        teardown()
