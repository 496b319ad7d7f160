# SPDX-License-Identifier: MIT
"""harness: start the built handler under systemd-socket-activate against the
real engine, talk HTTP to it, count what it leaves behind, and read what it logged:
from journald when /run/systemd/journal/socket exists (as the handler decides), from
its stderr otherwise, through one API (Server.records(), .record(), .messages(),
.log_text(); sweep().log)."""

import atexit
import http.client
import itertools
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

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


# With DOCKER_RUN_TEST_RUNTIME=NAME every server runs its containers under that runtime
# (DOCKER_CONTAINER_RUNTIME), as on a gVisor host: the engine must have it registered.
RUNTIME = os.environ.get("DOCKER_RUN_TEST_RUNTIME", "")
if RUNTIME:
    REFERENCE["DOCKER_CONTAINER_RUNTIME"] = RUNTIME


_engine_kind = None


def engine_kind():
    """"podman" or "dockerd": what answers on DOCKER_SOCKET, from its /version (asked once)."""
    global _engine_kind
    if _engine_kind is None:
        try:
            _engine_kind = _ask_engine_kind()
        except OSError:
            return "dockerd"
    return _engine_kind


def podman():
    return engine_kind() == "podman"


def engine_api(method, path, body=b""):
    """One HTTP/1.0 call to the engine on DOCKER_SOCKET: (status, body bytes)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    try:
        s.connect(DOCKER_SOCKET)
        s.sendall(b"%s %s HTTP/1.0\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                  % (method.encode(), path.encode(), len(body)) + body)
        data = read_to_end(s)
    finally:
        s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), rest


def _ask_engine_kind():
    return "podman" if b"Podman" in engine_api("GET", "/version")[1] else "dockerd"


def derive_image(image, cmd, base=RUNNER):
    """image: base with another CMD, labelled as a test image. Through the API's `changes` (Podman's
    commit takes no config in the body, and its answer to the docker CLI's --change is an error)."""
    import urllib.parse
    cid = docker("create", base).stdout.strip()
    try:
        repo, _, tag = image.rpartition(":")
        q = urllib.parse.urlencode([("container", cid), ("repo", repo), ("tag", tag),
                                    ("changes", "CMD " + json.dumps(cmd)), ("changes", "LABEL docker-run.test=1")])
        st, body = engine_api("POST", "/v1.41/commit?" + q, b"{}")
        if st != 201:
            raise Failure("commit of %s: %d %s" % (image, st, body[:300]))
    finally:
        docker("rm", "-f", cid)


# With DOCKER_RUN_TEST_WARM=N every server keeps a warm pool of N runner
# containers: the whole suite then runs against the warm path.
WARM = int(os.environ.get("DOCKER_RUN_TEST_WARM", "0"))


def pool_env(count=WARM):
    if not count:
        return {}
    return {"DOCKER_RUN_WARM_POOL": "%s=%d" % (RUNNER, count), "DOCKER_RUN_RUNTIME_DIRECTORY": RUNTIME_DIR}


# --- what the handler logged ------------------------------------------------------
#
# log_setup() sends to journald when its socket exists, to stderr otherwise. On stderr each
# server has its own file. In the journal, a record is the server's when its _PID is one of the
# server's handlers: each is started through sh, which appends the server's number and its own
# /proc/PID/stat (with the start time) to EXECS, then execs the handler under the same pid. A
# record belongs to the latest start of its pid before it, so a pid used again later, by another
# server of this test or before this server started, is not mistaken for one of ours.

JOURNAL_SOCKET = "/run/systemd/journal/socket"
LOG_WAIT = float(os.environ.get("DOCKER_RUN_TEST_LOG_WAIT", "10"))  # seconds, for records to arrive
LOG_DIR = tempfile.mkdtemp(prefix="docker-run-test-logs-")
atexit.register(shutil.rmtree, LOG_DIR, True)
EXECS = os.path.join(LOG_DIR, "execs")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_server_numbers = itertools.count(1)
_servers = []  # every Server made: where a leftover container's request is looked up


def journald():
    """Whether the handler logs to journald: the same test as log_setup()."""
    return os.path.exists(JOURNAL_SOCKET)


def _boot_usec():
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("btime "):
                return int(line.split()[1]) * 1000000
    raise RuntimeError("no btime in /proc/stat")


BOOT_USEC = _boot_usec()


def _stat_start(stat):
    """(pid, start time in usec of the realtime clock, state) from a /proc/PID/stat line."""
    head, _, tail = stat.rpartition(")")
    fields = tail.split()
    return int(head.split("(")[0]), BOOT_USEC + int(fields[19]) * 1000000 // CLOCK_TICKS, fields[0]


def _execs():
    """Every handler start so far: (pid, start usec, server number)."""
    try:
        with open(EXECS) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        number, _, stat = line.partition(" ")
        pid, start, _ = _stat_start(stat)
        out.append((pid, start, int(number)))
    return out


def _alive(pid, start):
    try:
        with open("/proc/%d/stat" % pid) as f:
            p, s, state = _stat_start(f.read())
    except (FileNotFoundError, ProcessLookupError):
        return False
    return s == start and state not in ("Z", "X")


def _value(v):
    """journalctl -o json: a string, null, a byte array (not UTF-8) or a list of those."""
    if isinstance(v, list) and all(isinstance(b, int) for b in v):
        return bytes(v).decode(errors="replace")
    if isinstance(v, list):
        return "\n".join(_value(x) for x in v)
    return "" if v is None else v


def journal_entries(matches, since_usec):
    """The journal's entries (dicts of strings) matching all of FIELD=value matches (the same
    field repeated: any of its values) and received at or after since_usec."""
    args = ["journalctl", "-q", "--no-pager", "-o", "json", "--since", "@%d" % (since_usec // 1000000)]
    p = subprocess.run(args + list(matches), capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise Failure("journalctl failed: %s" % p.stderr.strip())
    out = []
    for line in p.stdout.splitlines():
        e = {k: _value(v) for k, v in json.loads(line).items()}
        if int(e["__REALTIME_TIMESTAMP"]) >= since_usec:
            out.append(e)
    return out


def journal_barrier(timeout=LOG_WAIT):
    """Return once journald has stored everything sent to it before: a marker sent on the same
    socket as the handler's records, read back. Fails if it never shows (journalctl cannot read
    the system journal: root or the systemd-journal group is needed)."""
    mark = uuid.uuid4().hex
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    try:
        s.sendto(b"MESSAGE=docker-run test barrier\nSYSLOG_IDENTIFIER=docker-run-test\n"
                 b"DOCKER_RUN_TEST_BARRIER=%s\n" % mark.encode(), JOURNAL_SOCKET)
    finally:
        s.close()
    end = time.monotonic() + timeout
    while True:
        p = subprocess.run(["journalctl", "-q", "--no-pager", "-o", "cat", "DOCKER_RUN_TEST_BARRIER=" + mark],
                           capture_output=True, text=True, timeout=60)
        if p.stdout.strip():
            return
        if time.monotonic() > end:
            raise Failure("journald runs (%s) but journalctl does not show what was sent to it within %.0f s: "
                          "%s (reading the system journal needs root or the systemd-journal group)"
                          % (JOURNAL_SOCKET, timeout, p.stderr.strip() or "no error"))
        time.sleep(0.05)


def _stderr_records(text):
    """The stderr form of log.c, "<PRIORITY>MESSAGE" a line; a request's record carries its id
    in the message, "(request ID", taken as DOCKER_RUN_REQUEST_ID. Other lines are not records:
    systemd-socket-activate's own, or a sanitizer's report (log_text() has them)."""
    out = []
    for line in text.splitlines():
        m = re.match(r"<(\d)>(.*)$", line)
        if not m:
            continue
        r = {"_TRANSPORT": "stderr", "PRIORITY": m.group(1), "MESSAGE": m.group(2)}
        rid = re.search(r"\(request ([0-9A-Za-z-]+)", r["MESSAGE"])
        if rid:
            r["DOCKER_RUN_REQUEST_ID"] = rid.group(1)
        engine = re.search(r", engine (\S+)\)$", r["MESSAGE"])  # named when there are several
        if engine:
            r["DOCKER_RUN_ENGINE"] = engine.group(1)
        out.append(r)
    return out


def render(records):
    """Records as text: "<PRIORITY>MESSAGE", then each other field indented as FIELD=value."""
    lines = []
    for r in records:
        lines.append("<%s>%s" % (r.get("PRIORITY", ""), r.get("MESSAGE", "")))
        lines += ["    %s=%s" % (k, v) for k, v in sorted(r.items()) if k not in ("PRIORITY", "MESSAGE")]
    return "\n".join(lines) + ("\n" if lines else "")


def container_of(record):
    """(the 12 first hex digits of the container that served the run, whether it was warm), from
    the MESSAGE of its record, "..., container ID[, warm])"; (None, False) when it names none."""
    m = re.search(r", container ([0-9a-f]{12})(, warm)?\)", record.get("MESSAGE", ""))
    return (m.group(1), bool(m.group(2))) if m else (None, False)


def sweep(env=None, grace="0"):
    """One pass of the sweeper under the reference configuration (and the pool, if any), as the same pool
    instance as the test's servers (the same runtime directory); the result's .log is what it logged, on
    stderr or in the journal (render() of its records)."""
    e = dict(REFERENCE, PATH=os.environ.get("PATH", "/usr/bin:/bin"), DOCKER_RUN_RUNTIME_DIRECTORY=RUNTIME_DIR)
    e.update(pool_env())
    e.update(env or {})
    since = time.time_ns() // 1000
    p = subprocess.Popen([BIN, "--sweep", grace], env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise
    result = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    result.log = err
    if journald():
        journal_barrier()
        result.log += render(journal_entries(["_PID=%d" % p.pid], since))
    return result


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


def host_cgroup_file(cid, controller, name):
    """The host's file `name` of a running container's cgroup for `controller` (cgroup v1's hierarchy
    that has it, else v2's): the limits as the kernel holds them, the same under runc and gVisor (whose
    sandbox shows none of them inside)."""
    pid = int(docker("inspect", "--format", "{{.State.Pid}}", cid).stdout.strip() or 0)
    expect(pid > 0, "container %s runs" % cid[:12])
    mounts = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.rstrip("\n").partition(" - ")
            fstype, _, opts = right.split(" ", 2)
            if fstype == "cgroup":
                for c in opts.split(" ")[-1].split(","):
                    mounts[c] = left.split(" ")[4]
            elif fstype == "cgroup2":
                mounts.setdefault("", left.split(" ")[4])
    with open("/proc/%d/cgroup" % pid) as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if controller in ctrls.split(",") and controller in mounts:
                return os.path.join(mounts[controller], path.lstrip("/"), name)
        f.seek(0)
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if ctrls == "" and "" in mounts and os.path.exists(os.path.join(mounts[""], path.lstrip("/"), name)):
                return os.path.join(mounts[""], path.lstrip("/"), name)
    raise Failure("no %s cgroup file %s for container %s" % (controller, name, cid[:12]))


def while_running(call, fn, timeout=20):
    """call() makes a run (server.run(...)); once its container runs (the only one of ours running),
    fn(container id). Returns (call's answer, what fn returned)."""
    import threading
    before = running_containers()
    answer = []
    t = threading.Thread(target=lambda: answer.append(call()))
    t.start()
    end = time.monotonic() + timeout
    try:
        while True:
            new = running_containers() - before
            if new:
                expect(len(new) == 1, "one run of ours running", new)
                result = fn(new.pop())
                break
            expect(t.is_alive() and time.monotonic() < end, "the run's container showed up running", answer)
            time.sleep(0.05)
    finally:
        t.join(timeout)
    expect(answer, "the run answered")
    return answer[0], result


def running_containers():
    """Our run containers that are running now, warm pool members that are not claimed left out."""
    out = set(docker("ps", "-q", "--no-trunc", "--filter", "label=" + LABEL).stdout.split())
    pool = set(docker("ps", "-q", "--no-trunc", "--filter", "label=docker-run.pool").stdout.split())
    return {c for c in out if c not in pool or os.path.exists(os.path.join(RUNTIME_DIR, "claim-" + c))}


class MemoryCgroup:
    """A memory cgroup of the test's own with a limit, as systemd's MemoryMax= makes one (cgroup v1's memory
    controller, else v2's): procs is the file to write a pid into."""

    def __init__(self, limit):
        self.limit = limit
        self.path = None

    def __enter__(self):
        name = "docker-run-test-%d" % os.getpid()
        for base, limit_file in (("/sys/fs/cgroup/memory", "memory.limit_in_bytes"), ("/sys/fs/cgroup", "memory.max")):
            if os.path.exists(os.path.join(base, limit_file)) or os.path.exists(os.path.join(base, "cgroup.controllers")):
                path = os.path.join(base, name)
                try:
                    os.mkdir(path)
                    with open(os.path.join(path, limit_file), "w") as f:
                        f.write(str(self.limit))
                except OSError:
                    if os.path.isdir(path):
                        os.rmdir(path)
                    continue
                self.path = path
                self.procs = os.path.join(path, "cgroup.procs")
                return self
        raise RuntimeError("no memory cgroup can be made here")

    def __exit__(self, *exc):
        # Its processes have exited (the server is stopped first); an empty cgroup is removed with rmdir.
        for _ in range(50):
            try:
                os.rmdir(self.path)
                return
            except OSError:
                time.sleep(0.1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """The handler under systemd-socket-activate, one process per connection."""

    def __init__(self, env=None, unset=(), inetd=False, binary=None, listen="127.0.0.1", cgroup=None, netns=None):
        self.number = next(_server_numbers)
        _servers.append(self)
        self.started = None  # usec of the realtime clock
        self.env = dict(REFERENCE)
        self.env.update(pool_env())
        self.env.update(env or {})
        for k in unset:
            self.env.pop(k, None)
        self.inetd = inetd
        # netns: a started engines.NetnsHost to serve from, as another host would (on its address)
        self.netns = netns
        self.listen = netns.addr if netns else listen
        self.addr = netns.addr if netns else "127.0.0.1"  # where a client connects
        self.cgroup = cgroup  # a cgroup.procs file the handlers are to run under
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
        # sh records the handler's pid and start, then becomes it (see EXECS); PWD is its own addition.
        args += ["/bin/sh", "-c", 'unset PWD; read -r s </proc/$$/stat; echo "%d $s" >>%s; exec "$0"'
                 % (self.number, shlex.quote(EXECS)), self.binary]
        if self.netns:
            args = self.netns.enter_args(args)
        self.logfile = tempfile.TemporaryFile()
        if self.started is None:
            self.started = time.time_ns() // 1000
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        env.update(self.env)
        self.proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=self.logfile)
        if self.cgroup:
            with open(self.cgroup, "w") as f:
                f.write(str(self.proc.pid))  # the handlers it starts inherit it
        end = time.monotonic() + 10
        while time.monotonic() < end:
            try:
                socket.create_connection((self.addr, self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("systemd-socket-activate did not listen")

    def handlers(self):
        """The pids of the handlers running now, oldest first."""
        try:
            pids = open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)).read().split()
        except OSError:
            return []
        started = {}
        for pid in pids:
            try:
                started[int(pid)] = int(open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()[19])
            except (OSError, ValueError, IndexError):
                pass
        return sorted(started, key=started.get)

    def stop(self):
        """Stop listening, then wait (bounded) for the handlers still at work: removing their containers and
        giving back their run slots, which the next test's server shares."""
        if self.proc:
            left = self.handlers()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            end = time.monotonic() + 40
            while left and time.monotonic() < end:
                left = [p for p in left if os.path.exists("/proc/%d" % p)]
                time.sleep(0.05)

    def _stderr(self):
        self.logfile.seek(0)
        return self.logfile.read().decode(errors="replace")

    def _handlers(self):
        """(pid, start) of each handler this server started."""
        return [(pid, start) for pid, start, n in _execs() if n == self.number]

    def _settle(self, end):
        """Wait until no handler of ours runs (each logs last, after its answer and the container's
        removal), then, with journald, until it has stored what they sent. Bounded by end: a
        handler still running then is left to the caller's retry."""
        while time.monotonic() < end:
            children = []
            if self.proc:
                try:
                    with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                        children = f.read().split()
                except FileNotFoundError:
                    pass
            if not children and not any(_alive(pid, start) for pid, start in self._handlers()):
                break
            time.sleep(0.05)
        if journald():
            journal_barrier(max(1.0, end - time.monotonic()))

    def _journal_records(self):
        pids = {pid for pid, _ in self._handlers()}
        if not pids or not journald():
            return []
        starts = {}
        for pid, start, n in _execs():
            starts.setdefault(pid, []).append((start, n))
        out = []
        for e in journal_entries(["_PID=%d" % pid for pid in sorted(pids)], self.started):
            t = int(e["__REALTIME_TIMESTAMP"])
            # The latest start of this pid before the record. A second of slack: a start time is
            # whole clock ticks after a boot time of whole seconds, mapped to the realtime clock as it
            # is now. Far below the time a pid takes to come back.
            before = [(s, n) for s, n in starts[int(e["_PID"])] if s <= t + 1000000]
            if before and max(before)[1] == self.number:
                out.append(e)
        return out

    def records(self, request_id=None, timeout=LOG_WAIT):
        """The records the server's handlers logged, oldest first, each a dict of its fields
        (MESSAGE, PRIORITY, DOCKER_RUN_*, journald's _PID, _TRANSPORT...; from stderr: _TRANSPORT
        "stderr", MESSAGE, PRIORITY and DOCKER_RUN_REQUEST_ID from the message). With request_id,
        only that request's, waiting up to timeout seconds for one to arrive."""
        end = time.monotonic() + timeout
        while True:
            self._settle(end)
            found = self._journal_records() + _stderr_records(self._stderr())
            if request_id is None:
                return found
            found = [r for r in found if r.get("DOCKER_RUN_REQUEST_ID") == request_id]
            if found or time.monotonic() >= end:
                return found
            time.sleep(0.1)

    def record(self, request_id, timeout=LOG_WAIT):
        """The record of one request (its last, should there be more); a Failure if there is none."""
        found = self.records(request_id, timeout)
        expect(found, "the record of request %s, looked for %s" % (
            request_id, "in the journal (and on stderr)" if journald() else "on stderr (no journald)"),
            self.log_text()[-2000:])
        return found[-1]

    def messages(self):
        """The MESSAGE of each record, requests' and the service's own ("Invalid configuration: ...")."""
        return [r.get("MESSAGE", "") for r in self.records()]

    def log_text(self):
        """All the server's handlers logged as text: every field of their journal records, then
        their stderr as written."""
        self._settle(time.monotonic() + LOG_WAIT)
        return render(self._journal_records()) + self._stderr()

    def request(self, method, path, body=None, headers=None, token=TOKEN, timeout=60):
        """An ordinary client: returns (status, headers dict, parsed JSON or raw bytes)."""
        h = {}
        if token is not None:
            h["X-Access-Token"] = token
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        c = http.client.HTTPConnection(self.addr, self.port, timeout=timeout)
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
        s = socket.create_connection((self.addr, self.port), timeout=timeout)
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
    c = socket.create_connection((server.addr, server.port), timeout=10)
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


_engine_lock = None


def lock_engine():
    """Hold, until this process ends, the lock of the engine on DOCKER_SOCKET: the end-to-end files
    share an engine and each asserts that no container of ours is left when it ends, so on one engine
    they run one after the other, however make schedules them (`make -j check`, a TESTS= subset).
    Files against different engines (another dockerd, Podman) run side by side."""
    global _engine_lock
    if _engine_lock is None:
        import fcntl
        import hashlib
        name = hashlib.sha256(os.path.realpath(DOCKER_SOCKET).encode()).hexdigest()[:16]
        _engine_lock = open(os.path.join(tempfile.gettempdir(), "docker-run-e2e-%s.lock" % name), "a")
        t = time.monotonic()
        fcntl.flock(_engine_lock, fcntl.LOCK_EX)
        if time.monotonic() - t > 1:
            print("# waited %.0f s for the engine (another end-to-end file used it)" % (time.monotonic() - t))


def drop_stale_claims():
    """Claim files an earlier, aborted run of the suite left in the test runtime directories, for containers
    the engine no longer has: the pool tests count claims. Only files older than a minute, under our lock."""
    have = set(docker("ps", "-aq", "--no-trunc").stdout.split())
    for d in (RUNTIME_DIR, RUNTIME_DIR + "-a", RUNTIME_DIR + "-b"):
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for n in names:
            path = os.path.join(d, n)
            if n.startswith("claim-") and n[6:] not in have and time.time() - os.path.getmtime(path) > 60:
                log("# a stale claim of an earlier run removed:", path)
                os.unlink(path)


def main(tests, setup=None):
    """Run the named test functions in order and print the closing 'N passed, N failed' line."""
    lock_engine()
    require_engine()
    drop_stale_claims()
    ensure_images()
    if WARM:
        p = sweep()
        expect(p.returncode == 0, "filling the warm pool", p.log)
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
            p = docker("inspect", "--format", "{{.Name}} {{json .State}} {{json .Config.Labels}}", cid, check=False)
            log("  %s: %s" % (cid[:12], (p.stdout or p.stderr).strip()))
            rid = (re.search(r'"docker-run.request-id":"([0-9a-f]+)"', p.stdout or "") or [None, None])[1]
            for srv in _servers if rid else ():
                if srv.logfile:
                    for r in srv.records(rid, timeout=0):
                        log("  its request's record: %s" % r.get("MESSAGE"))
            docker("rm", "-f", cid, check=False)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)
