# SPDX-License-Identifier: MIT
"""harness: start the built handler under systemd-socket-activate against the
real engine, talk HTTP to it, and count what it leaves behind."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

TESTS_DIR = os.environ.get("TESTS_DIR", os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("DOCKER_RUN_BIN", os.path.join(TESTS_DIR, "..", "src", "docker-run"))
SOCKET_ACTIVATE = os.environ.get("SOCKET_ACTIVATE") or "systemd-socket-activate"
DOCKER_SOCKET = os.environ.get("DOCKER_HOST_SOCKET", "/var/run/docker.sock")
LABEL = "docker-run.managed"
TOKEN = "some-secret-token"
SKIP = 77

RUNNER = "docker-run-test/runner:latest"

# One runtime directory for every test run (claims, run slots, metrics), as one service's: the same pool
# instance from run to run, so a run's sweeps also clear what an interrupted earlier run left.
RUNTIME_DIR = os.environ.get("DOCKER_RUN_TEST_RUNTIME_DIR", "/tmp/docker-run-test-runtime")
os.makedirs(RUNTIME_DIR, mode=0o700, exist_ok=True)

# The original's reference configuration (API.md), with a short deadline for the tests.
REFERENCE = {
    "API_ACCESS_TOKEN": TOKEN,
    "DOCKER_UNIX_SOCKET_PATH": DOCKER_SOCKET,
    "DOCKER_UNIX_SOCKET_READ_TIMEOUT": "3",
    "DOCKER_UNIX_SOCKET_WRITE_TIMEOUT": "3",
    "DOCKER_CONTAINER_HOSTNAME": "glot",
    "DOCKER_CONTAINER_USER": "glot",
    "DOCKER_CONTAINER_MEMORY": "100000000",
    "DOCKER_CONTAINER_NETWORK_DISABLED": "true",
    "DOCKER_CONTAINER_ULIMIT_NOFILE_SOFT": "90",
    "DOCKER_CONTAINER_ULIMIT_NOFILE_HARD": "100",
    "DOCKER_CONTAINER_ULIMIT_NPROC_SOFT": "90",
    "DOCKER_CONTAINER_ULIMIT_NPROC_HARD": "100",
    "DOCKER_CONTAINER_CAP_DROP": "MKNOD NET_RAW NET_BIND_SERVICE",
    "DOCKER_CONTAINER_READONLY_ROOTFS": "true",
    "DOCKER_CONTAINER_TMP_DIR_PATH": "/tmp",
    "DOCKER_CONTAINER_TMP_DIR_OPTIONS": "rw,noexec,nosuid,size=65536k",
    "DOCKER_CONTAINER_WORK_DIR_PATH": "/home/glot",
    "DOCKER_CONTAINER_WORK_DIR_OPTIONS": "rw,exec,nosuid,size=131072k",
    "RUN_MAX_EXECUTION_TIME": "5",
    "RUN_MAX_OUTPUT_SIZE": "100000",
    "DOCKER_RUN_RUNTIME_DIRECTORY": RUNTIME_DIR,
}


# With DOCKER_RUN_TEST_WARM=N every server keeps a warm pool of N runner
# containers: the whole suite then runs against the warm path.
WARM = int(os.environ.get("DOCKER_RUN_TEST_WARM", "0"))


def pool_env(count=WARM):
    if not count:
        return {}
    return {"DOCKER_RUN_WARM_POOL": "%s=%d" % (RUNNER, count), "DOCKER_RUN_RUNTIME_DIRECTORY": RUNTIME_DIR}


def sweep(env=None, grace="0"):
    """One pass of the sweeper under the reference configuration (and the pool, if any), as the same pool
    instance as the test's servers: the same runtime directory."""
    e = dict(REFERENCE, PATH=os.environ.get("PATH", "/usr/bin:/bin"), DOCKER_RUN_RUNTIME_DIRECTORY=RUNTIME_DIR)
    e.update(pool_env())
    e.update(env or {})
    return subprocess.run([BIN, "--sweep", grace], env=e, capture_output=True, text=True, timeout=120)


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def docker(*args, check=True):
    return subprocess.run(["docker", *args], check=check, capture_output=True, text=True)


def engine_answers():
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(3)
        s.connect(DOCKER_SOCKET)
        s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
        ok = s.recv(64).startswith(b"HTTP/1.")
        s.close()
        return ok
    except OSError:
        return False


def require_engine():
    """The engine is the point of these tests: absent in CI is a failure, elsewhere a skip."""
    if engine_answers():
        return
    if os.environ.get("CI"):
        log("no Docker engine answers on", DOCKER_SOCKET, "(CI must start one)")
        sys.exit(1)
    log("SKIP: no Docker engine answers on", DOCKER_SOCKET)
    sys.exit(SKIP)


def ensure_images():
    subprocess.run(["bash", os.path.join(TESTS_DIR, "images", "build.sh")], check=True,
                   stdout=sys.stderr)


def our_containers():
    """Our containers that serve or served a run: every one but the unclaimed members of a warm pool."""
    out = docker("ps", "-aq", "--no-trunc", "--filter", "label=" + LABEL).stdout.split()
    pool = set(docker("ps", "-aq", "--no-trunc", "--filter", "label=docker-run.pool").stdout.split())
    return {c for c in out if c not in pool or os.path.exists(os.path.join(RUNTIME_DIR, "claim-" + c))}


def wait_no_containers(before=frozenset(), timeout=10.0):
    """Removal happens after the answer: give it a moment, then report what is left."""
    end = time.monotonic() + timeout
    while True:
        left = our_containers() - set(before)
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """The handler under systemd-socket-activate, one process per connection."""

    def __init__(self, env=None, unset=(), inetd=False, binary=None, listen="127.0.0.1"):
        self.env = dict(REFERENCE)
        self.env.update(pool_env())
        self.env.update(env or {})
        for k in unset:
            self.env.pop(k, None)
        self.inetd = inetd
        self.listen = listen
        self.binary = binary or BIN
        self.port = None
        self.proc = None
        self.logfile = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.port = free_port()
        args = [SOCKET_ACTIVATE, "-l", "%s:%d" % (self.listen, self.port)]
        args += ["-a", "--inetd"] if self.inetd else ["-a"]
        for k in self.env:
            args += ["-E", k]
        args.append(self.binary)
        self.logfile = tempfile.TemporaryFile()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        env.update(self.env)
        self.proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=self.logfile)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("systemd-socket-activate did not listen")

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def logs(self):
        self.logfile.seek(0)
        return self.logfile.read().decode(errors="replace")

    def request(self, method, path, body=None, headers=None, token=TOKEN, timeout=60):
        """An ordinary client: returns (status, headers dict, parsed JSON or raw bytes)."""
        h = {}
        if token is not None:
            h["X-Access-Token"] = token
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
        finally:
            c.close()
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = data
        return r.status, hdrs, parsed

    def run(self, payload, image=RUNNER, **kw):
        return self.request("POST", "/run", {"image": image, "payload": payload}, **kw)

    def raw(self, data, timeout=30, shut=True):
        """Send raw bytes; returns everything the server wrote until it closed."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        try:
            s.sendall(data)
            if shut:
                s.shutdown(socket.SHUT_WR)
            return read_to_end(s)
        finally:
            s.close()


def read_to_end(sock):
    """Everything the peer sends until it closes."""
    out = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return out
        out += chunk


def send_run(server, payload, image=RUNNER):
    """A run request sent on a connection left open: the caller decides how it ends."""
    c = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    body = json.dumps({"image": image, "payload": payload}).encode()
    c.sendall(b"POST /run HTTP/1.1\r\nX-Access-Token: %s\r\nContent-Length: %d\r\n\r\n"
              % (TOKEN.encode(), len(body)) + body)
    return c


def kill_handler(server, sig=signal.SIGKILL):
    """kill -9 (or another signal) of the one handler process serving a request."""
    children = open("/proc/%d/task/%d/children" % (server.proc.pid, server.proc.pid)).read().split()
    expect(len(children) == 1, "one handler running", children)
    os.kill(int(children[0]), sig)


def parse_raw(out):
    """Split a raw answer into (status, headers, JSON body)."""
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, json.loads(body) if body else None


def sh(script, stdin=None, **extra):
    p = {"language": "sh", "files": [{"name": "main.sh", "content": script}]}
    if stdin is not None:
        p["stdin"] = stdin
    p.update(extra)
    return p


class Failure(Exception):
    pass


def expect(cond, what, *detail):
    if not cond:
        raise Failure(what + (": " + " ".join(repr(d) for d in detail) if detail else ""))


def expect_error(answer, status, code):
    st, _, body = answer
    expect(st == status and isinstance(body, dict) and body.get("error") == code,
           "expected %d %s" % (status, code), st, body)
    expect(isinstance(body.get("message"), str) and body["message"], "error without message", body)


def main(tests, setup=None):
    """Run the named test functions in order and print the closing 'N passed, N failed' line."""
    require_engine()
    ensure_images()
    if WARM:
        p = sweep()
        expect(p.returncode == 0, "filling the warm pool", p.stderr)
    before = our_containers()
    if setup:
        setup()
    only = set(sys.argv[1:])
    passed = failed = 0
    for t in tests:
        if only and t.__name__ not in only:
            continue
        start = time.monotonic()
        try:
            t()
            passed += 1
            log("ok   %-45s %.2fs" % (t.__name__, time.monotonic() - start))
        except Exception:
            failed += 1
            log("FAIL %-45s %.2fs" % (t.__name__, time.monotonic() - start))
            log(traceback.format_exc())
    if WARM:
        # A pool no longer configured is retired by the sweeper: that is also how the suite cleans up.
        sweep({"DOCKER_RUN_WARM_POOL": ""})
        before = set()
    left = wait_no_containers(before)
    if left:
        failed += 1
        log("FAIL containers left behind:", left)
        for cid in left:
            docker("rm", "-f", cid, check=False)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
