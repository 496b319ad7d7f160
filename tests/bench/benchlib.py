# SPDX-License-Identifier: MIT
"""benchlib: what the benchmark scripts share: percentiles, the requests they send, an HTTP/1.1
client that reads one answer at a time off a connection, and a clean-up that removes every process,
container and image a benchmark made, also on Ctrl-C or SIGTERM."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402

HELLO = {"language": "sh", "files": [{"name": "main.sh", "content": "echo Hello World"}]}
HELLO_STDOUT = "Hello World\n"
# Every process a benchmark starts carries this variable (value: the benchmark's own token): what of
# them is left at the end is found by it, and only those are stopped.
MARK = "DOCKER_RUN_BENCH"


def pct(values, p):
    """The p-th percentile (nearest rank) of values; None when there are none."""
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def fmt(value, spec="%.1f", none="-"):
    return none if value is None else spec % value


def run_request(image, payload=HELLO, token=harness.TOKEN, close=True):
    """POST /run as raw bytes; Connection: close unless close=False."""
    body = json.dumps({"image": image, "payload": payload}).encode()
    return (b"POST /run HTTP/1.1\r\nHost: bench\r\nX-Access-Token: %s\r\nContent-Type: application/json\r\n"
            b"%sContent-Length: %d\r\n\r\n" % (token.encode(), b"Connection: close\r\n" if close else b"",
                                               len(body)) + body)


def get_request(path, close=True):
    return b"GET %s HTTP/1.1\r\nHost: bench\r\n%s\r\n" % (path.encode(), b"Connection: close\r\n" if close else b"")


class ConnectionClosed(Exception):
    pass


def read_response(sock, buffered=b""):
    """One HTTP/1.1 answer off sock: (status, headers with lower-case names, body bytes, bytes read
    past it). The body is Content-Length long, or lasts until the peer closes when there is none."""
    data = buffered
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionClosed("closed after %d bytes, before the end of an answer's head" % len(data))
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    rest = bytearray(rest)  # appended to in place: a body of many megabytes stays linear
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        n = int(headers["content-length"])
        while len(rest) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionClosed("closed %d bytes into a %d-byte body" % (len(rest), n))
            rest += chunk
        return status, headers, bytes(rest[:n]), bytes(rest[n:])
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return status, headers, bytes(rest), b""
        rest += chunk


def keeps_alive(headers):
    return "close" not in headers.get("connection", "").lower()


def error_code(body):
    """The "error" member of a JSON answer, or None."""
    try:
        parsed = json.loads(body) if isinstance(body, (bytes, str)) else body
    except ValueError:
        return None
    return parsed.get("error") if isinstance(parsed, dict) else None


def server_idle(server, timeout=10.0):
    """Wait until no handler of server (a harness.Server) runs: a warm run's replacement starts after
    its answer. Returns whether it became idle in time."""
    end = time.monotonic() + timeout
    path = "/proc/%d/task/%d/children" % (server.proc.pid, server.proc.pid)
    while time.monotonic() < end:
        try:
            if not open(path).read().split():
                return True
        except OSError:
            return True
        time.sleep(0.02)
    return False


def test_images():
    """The test images' names, as tests/images/build.sh lists them."""
    text = open(os.path.join(harness.TESTS_DIR, "images", "build.sh")).read()
    return sorted(set(re.findall(r'"(docker-run-test/[a-z0-9-]+:[a-z0-9.-]+)"', text)))


def image_exists(name):
    return harness.docker("image", "inspect", name, check=False).returncode == 0


def labelled_containers():
    """Every container labelled docker-run.managed on the benchmark's engine: id -> (state, whether it is
    a member of a warm pool not claimed by a run)."""
    out = harness.docker("ps", "-a", "--no-trunc", "--filter", "label=" + harness.LABEL, "--format",
                         '{{.ID}} {{.State}} {{.Label "docker-run.pool"}}', check=False).stdout
    found = {}
    for line in out.splitlines():
        cid, _, rest = line.partition(" ")
        state, _, pool = rest.partition(" ")
        claimed = os.path.exists(os.path.join(harness.RUNTIME_DIR, "claim-" + cid))
        found[cid] = (state, bool(pool) and not claimed)
    return found


def remove_containers(ids):
    """docker rm -f each; one the engine no longer finds counts as removed (MACHINE.md's ghosts).
    Returns the ids it could not remove."""
    left = []
    for cid in ids:
        r = harness.docker("rm", "-f", cid, check=False)
        if r.returncode != 0 and "No such container" not in r.stderr:
            left.append(cid)
    return left


def join_all(threads, timeout=30.0):
    """Join threads, waiting at most timeout seconds in all."""
    end = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


class Cleanup:
    """Records what the engine holds when a benchmark starts; finish() stops what of the benchmark's
    processes still runs (handlers found by MARK: they remove their own containers on SIGTERM), then
    removes the containers, the test images and the temp dirs that were not there before. SIGTERM is
    turned into KeyboardInterrupt, so that a `finally: cleanup.finish()` runs on it as on Ctrl-C."""

    def __init__(self):
        self.token = "%d.%d" % (os.getpid(), time.time_ns())
        os.environ[MARK] = self.token  # for the docker CLI and every other child
        signal.signal(signal.SIGTERM, _raise_interrupt)
        self.containers_before = set(labelled_containers())
        self.images_before = {name for name in test_images() if image_exists(name)}
        self.tmp = tempfile.mkdtemp(prefix="docker-run-bench-")
        self.dirs = [self.tmp, harness.RUNTIME_DIR]
        self.done = False

    def env(self):
        """To add to a handler's environment (harness.Server passes only what it is given)."""
        return {MARK: self.token}

    def processes(self):
        """Pids of running processes that carry our mark, this one aside."""
        needle = ("%s=%s" % (MARK, self.token)).encode()
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open("/proc/%s/environ" % pid, "rb") as f:
                    if needle in f.read().split(b"\0"):
                        found.append(int(pid))
            except OSError:
                pass
        return found

    def stop_processes(self, timeout=20.0):
        """SIGTERM to each, SIGKILL to what is left after timeout: (how many were running, pids killed)."""
        pids = self.processes()
        stopped = len(pids)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        end = time.monotonic() + timeout
        while pids and time.monotonic() < end:
            time.sleep(0.1)
            pids = self.processes()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return stopped, pids

    def new_containers(self):
        return {cid: state for cid, state in labelled_containers().items() if cid not in self.containers_before}

    def finish(self, quiet=False):
        if self.done:
            return
        self.done = True
        # A second Ctrl-C must not stop the clean-up half way.
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            stopped, killed = self.stop_processes()
            # Runs whose removal the handlers or the engine (docker run --rm) had begun; warm ones wait for
            # no one. Whatever is left then is ours to remove.
            end = time.monotonic() + 3
            left = self.new_containers()
            while any(not warm for _, warm in left.values()) and time.monotonic() < end:
                time.sleep(0.2)
                left = self.new_containers()
            remove_containers(left)
            end = time.monotonic() + 10
            stuck = list(self.new_containers())
            while stuck and time.monotonic() < end:  # "removal already in progress" ends by itself
                time.sleep(0.2)
                stuck = remove_containers(self.new_containers())
            images = [name for name in test_images() if name not in self.images_before and image_exists(name)]
            for name in images:
                harness.docker("image", "rm", "-f", name, check=False)
            for d in self.dirs:
                shutil.rmtree(d, ignore_errors=True)
            if not quiet or stopped or left or stuck:
                print("clean-up: %d process(es) of ours stopped (%d killed), %d container(s) removed%s, "
                      "%d test image(s) removed" % (stopped, len(killed), len(left) - len(stuck),
                                                    " (%d could not be: %s)" % (len(stuck), stuck) if stuck else "",
                                                    len(images)), flush=True)
        finally:
            signal.signal(signal.SIGINT, old)


def command_line():
    return " ".join(["python3"] + [a if re.fullmatch(r"[\w./=,:+-]+", a) else "'%s'" % a for a in sys.argv])


def copy_image(image, socket_path):
    """docker save IMAGE from the benchmark's engine | docker load into the engine on socket_path."""
    r = subprocess.run("docker -H unix://%s save %s | docker -H unix://%s load"
                       % (harness.DOCKER_SOCKET, image, socket_path), shell=True, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("loading %s into %s: %s" % (image, socket_path, r.stderr.strip()))


def connect(port, timeout=60):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s
