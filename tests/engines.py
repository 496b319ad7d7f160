# SPDX-License-Identifier: MIT
"""engines: Docker-API engines other than the main one, each started and stopped by a test itself:
a second dockerd (runc, gVisor, TLS, inside a network namespace), rootful and rootless Podman, and
network namespaces as test hosts. Standard library only; run as root.

Every engine is a context manager. start() returns once /_ping answers (or raises EngineError with
the engine's log tail); stop() removes its containers, stops the pids it started, kills what of it
is left (any process whose command line or environment names its temp dir), unmounts what is
mounted under its temp dir and removes that dir. Nothing it made survives stop().

    with engines.Dockerd(runsc=True) as e:
        e.load(RUNNER)
        r = engines.run_container(e, RUNNER, payload, runtime="runsc")
"""

import hashlib
import http.client
import json
import os
import pwd
import random
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

TMP_PREFIX = "docker-run-engines-"
READY_TIMEOUT = float(os.environ.get("DOCKER_RUN_ENGINE_TIMEOUT", "60"))
STOP_TIMEOUT = 20.0
# Every process an engine starts inherits this variable: what of it is left after stop is found by it.
MARK = "DOCKER_RUN_ENGINE_DIR"

# gVisor works as a dockerd runtime here only this way (MACHINE.md): without --network=none the
# sandbox fails to start and leaves its processes behind.
RUNSC = {"path": "/usr/bin/runsc", "runtimeArgs": ["--platform=ptrace", "--network=none"]}
KNOWN_RUNTIMES = {"runsc": RUNSC}

# Where the test images come from.
MAIN_SOCKET = "/var/run/docker.sock"
PODMAN_USER = os.environ.get("DOCKER_RUN_PODMAN_USER", "docker-run-podman")


class EngineError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------
# HTTP to an engine


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self.unix_path)
        except OSError:
            s.close()
            raise
        self.sock = s


def tls_context(certdir):
    """A client context as the docker CLI makes it from DOCKER_CERT_PATH: ca.pem, cert.pem, key.pem."""
    ctx = ssl.create_default_context(cafile=os.path.join(certdir, "ca.pem"))
    ctx.load_cert_chain(os.path.join(certdir, "cert.pem"), os.path.join(certdir, "key.pem"))
    return ctx


def _decode(data):
    try:
        return json.loads(data)
    except ValueError:
        return data


def request(conn, method, path, body=None, headers=None):
    """One request on an http.client connection: (status, parsed JSON or raw bytes). Closes conn."""
    h = {}
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        h["Content-Type"] = "application/json"
    h.update(headers or {})
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return r.status, _decode(r.read())
    finally:
        conn.close()


def unix_api(sock, method, path, body=None, headers=None, timeout=30):
    return request(UnixHTTPConnection(sock, timeout), method, path, body, headers)


def tls_api(addr, port, certdir, method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPSConnection(addr, port, timeout=timeout, context=tls_context(certdir))
    return request(conn, method, path, body, headers)


# ---------------------------------------------------------------------------------------------
# Clean-up helpers: only what names our own temp dir is ours.


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def _ancestors():
    """This process and its ancestors: never ours to kill, whatever their environment says."""
    pids = set()
    pid = os.getpid()
    while pid > 1 and pid not in pids:
        pids.add(pid)
        stat = _read("/proc/%d/stat" % pid)
        if not stat:
            break
        pid = int(stat.rsplit(b")", 1)[-1].split()[1])
    return pids


def _root_names(pid, needle):
    """Whether the root file system of pid is mounted from under tmp (a container's overlay)."""
    for line in _read("/proc/%d/mountinfo" % pid).split(b"\n"):
        fields = line.split(b" ")
        if len(fields) > 4 and fields[4] == b"/" and needle in line:
            return True
    return False


def processes_of(tmp):
    """Pids of the engine's processes: those that inherited MARK=tmp from what we started, those
    whose command line names a file under tmp (a shim, a sandbox), and those whose root is an
    overlay from under tmp (its containers'). Never this process or its ancestors. (An environment
    that merely names tmp, DOCKER_HOST=unix://tmp/... of a client, is not the engine's.)"""
    needle = os.fsencode(tmp.rstrip("/") + "/")
    mark = os.fsencode("%s=%s" % (MARK, tmp))
    skip = _ancestors()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in skip:
            continue
        cmdline = _read("/proc/%s/cmdline" % name)
        environ = _read("/proc/%s/environ" % name)
        if needle in cmdline or mark in environ.split(b"\0") or _root_names(int(name), needle):
            found.append(int(name))
    return found


def shim_socket(pid):
    """The socket a containerd-shim-runc-v2 listens on (/run/containerd/s/HASH, as containerd 1.6
    names it: sha256 of ADDRESS/NAMESPACE/ID); None for any other process."""
    args = _read("/proc/%d/cmdline" % pid).split(b"\0")
    if not args or not args[0].endswith(b"containerd-shim-runc-v2"):
        return None
    opts = dict(zip(args[1::2], args[2::2]))
    try:
        key = opts[b"-address"] + b"/" + opts[b"-namespace"] + b"/" + opts[b"-id"]
    except KeyError:
        return None
    return "/run/containerd/s/" + hashlib.sha256(key).hexdigest()


def cgroup_mounts():
    """Mount points of the cgroup hierarchies (v1 and the v2 one beside them)."""
    found = []
    for line in _read("/proc/self/mountinfo").decode(errors="replace").splitlines():
        left, _, right = line.partition(" - ")
        if right.split(" ")[0] in ("cgroup", "cgroup2"):
            found.append(_unescape_mount(left.split(" ")[4]))
    return found


def _container_cgroups(pid):
    """The cgroups of pid named by a container id (docker/ID and the like): what a killed sandbox
    leaves behind. Never the cgroup of anything else."""
    found = set()
    for line in _read("/proc/%d/cgroup" % pid).decode(errors="replace").splitlines():
        path = line.split(":", 2)[-1]
        base = os.path.basename(path)
        if len(base) == 64 and all(c in "0123456789abcdef" for c in base):
            found.add(path)
    return found


def remove_cgroups(paths):
    """rmdir each cgroup path in every hierarchy, the deepest first; one still in use stays."""
    for path in sorted(paths, key=len, reverse=True):
        for mp in cgroup_mounts():
            try:
                os.rmdir(mp + path)
            except OSError:
                pass


def kill_processes_of(tmp, timeout=10.0):
    """SIGKILL every process processes_of(tmp) finds until none is left, then remove the sockets of
    the shims and the container cgroups among them (a killed shim leaves its socket, a killed
    sandbox its cgroups); returns the pids killed."""
    killed = []
    sockets = set()
    cgroups = set()
    end = time.monotonic() + timeout
    while True:
        pids = processes_of(tmp)
        # A zombie still shows its environment; it is gone once its parent reaps it.
        pids = [p for p in pids if _state(p) not in ("Z", "")]
        if not pids:
            for path in sockets:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
            remove_cgroups(cgroups)
            return killed
        if time.monotonic() > end:
            raise EngineError("processes of %s survive SIGKILL: %s" % (tmp, pids))
        for p in pids:
            path = shim_socket(p)
            if path:
                sockets.add(path)
            cgroups |= _container_cgroups(p)
            try:
                os.kill(p, signal.SIGKILL)
                if p not in killed:
                    killed.append(p)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def _state(pid):
    stat = _read("/proc/%d/stat" % pid)
    if not stat:
        return ""
    return stat.rsplit(b")", 1)[-1].split()[0].decode()


def _unescape_mount(field):
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mounts_under(path, mountinfo="/proc/self/mountinfo"):
    """Mount points at or below path, in this mount namespace, the deepest first."""
    path = path.rstrip("/")
    found = set()
    for line in _read(mountinfo).decode(errors="replace").splitlines():
        fields = line.split(" ")
        if len(fields) > 4:
            mp = _unescape_mount(fields[4])
            if mp == path or mp.startswith(path + "/"):
                found.add(mp)
    return sorted(found, key=len, reverse=True)


def unmount_under(path):
    """umount -R what is mounted under path (lazily if busy); EngineError if anything is left."""
    for _ in range(3):
        mps = mounts_under(path)
        if not mps:
            return
        tops = [m for m in mps if not any(m != o and m.startswith(o + "/") for o in mps)]
        for m in tops:
            if subprocess.run(["umount", "-R", m], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-R", "-l", m], capture_output=True)
    left = mounts_under(path)
    if left:
        raise EngineError("mounts left under %s: %s" % (path, left))


def remove_tree(path):
    """rm -rf of a temp dir, refused while anything is mounted below it (rm would cross into it)."""
    if not os.path.exists(path):
        return
    unmount_under(path)
    shutil.rmtree(path, ignore_errors=True)
    if os.path.exists(path):
        raise EngineError("could not remove " + path)


def _start_time(pid):
    stat = _read("/proc/%d/stat" % pid)
    return stat.rsplit(b")", 1)[-1].split()[19].decode() if stat else None


def _write_owner(tmp):
    """Who made tmp: pid and start time of this process (a pid alone may be reused)."""
    with open(tmp + "/owner", "w") as f:
        f.write("%d %s\n" % (os.getpid(), _start_time(os.getpid())))


def _owner_alive(tmp):
    try:
        pid, started = _read(tmp + "/owner").decode().split()
        return _start_time(int(pid)) == started
    except ValueError:
        # No owner yet: being made right now, or not ours to judge.
        return True


def sweep_stale():
    """Clean up after engines and hosts whose test process died before stop(): for every
    /tmp/TMP_PREFIX* dir whose owner is gone, what stop() would have done (an engine that still
    answers is asked to remove its containers first). Returns the dirs swept."""
    swept = []
    # Rootful Podman last: its global leftovers stay while any other podman runs.
    for d in sorted(os.listdir("/tmp"), key=lambda d: (d.startswith(TMP_PREFIX + "podman-"), d)):
        tmp = "/tmp/" + d
        if not d.startswith(TMP_PREFIX) or not os.path.isdir(tmp) or _owner_alive(tmp):
            continue
        record = _read(tmp + "/netns").decode().split()
        if len(record) == 2 or d.startswith(TMP_PREFIX + "netns-"):
            h = NetnsHost()
            h.tmp = tmp
            h.name, h.veth = record if len(record) == 2 else (None, None)
            h.stop()
        else:
            _adopt(tmp).stop()
        swept.append(tmp)
    return swept


def _adopt(tmp):
    """An engine for a temp dir a dead test left: as much of it as stop() needs."""
    if os.path.exists(tmp + "/daemon.json"):
        e = Dockerd()
        e.socket = tmp + "/docker.sock"
        e.exec_root = tmp + "/exec"
    elif os.path.exists(tmp + "/containers.conf"):
        e = Podman(rootless=os.path.basename(tmp).startswith(TMP_PREFIX + "rlpodman-"))
        e.socket = tmp + "/podman.sock"
        try:
            with open(tmp + "/had.json") as f:
                had = json.load(f)
            e.had_var_lib_containers, e.had_libpod_parent = had["var_lib_containers"], had["libpod_parent"]
        except (OSError, ValueError, KeyError):
            pass
        try:
            with open(tmp + "/root/overlay-containers/containers.json") as f:
                e.container_ids.update(c["id"] for c in json.load(f))
        except (OSError, ValueError, KeyError, TypeError):
            pass
    else:
        e = Engine()
    e.tmp = tmp
    e.logpath = tmp + "/engine.log"
    return e


def free_port(addr="127.0.0.1"):
    s = socket.socket()
    s.bind((addr, 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------------------------------------
# The common engine


class Engine:
    """An engine on a unix socket in a temp dir of its own. A subclass's start() makes the dir
    (_make_tmp), sets self.socket, starts the engine (_spawn) and waits for it (wait_ready)."""

    name = "engine"
    tag = None  # the temp dir's name part, when not the name
    residue_seen = []  # what any stop() could not clear, for a test to check

    def __init__(self):
        self.tmp = None
        self.socket = None
        self.proc = None
        self.logfile = None
        self.start_seconds = None
        self.stop_seconds = None
        self.killed_leftovers = []
        # DELETE answers other than 2xx/404 that remove_container retried
        self.delete_retries = []
        self.ready_timeout = READY_TIMEOUT
        # ids of every container this engine was seen to hold: what residue() looks for
        self.container_ids = set()
        self.residue_left = []

    # context manager: a failed start cleans up before the exception goes on
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def _make_tmp(self):
        self.tmp = tempfile.mkdtemp(prefix="%s%s-" % (TMP_PREFIX, self.tag or self.name), dir="/tmp")
        os.chmod(self.tmp, 0o711)
        _write_owner(self.tmp)
        self.logpath = os.path.join(self.tmp, "engine.log")

    def _spawn(self, args, env=None, **kw):
        e = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), MARK: self.tmp}
        e.update(env or {})
        self.logfile = open(self.logpath, "ab")
        # Its working directory is its temp dir: conmon writes a file "oom" into its own (inherited)
        # one when a container is OOM-killed.
        kw.setdefault("cwd", self.tmp)
        # A session of its own (setsid): no terminal's SIGHUP, and a SIGHUP we send reloads dockerd.
        self.proc = subprocess.Popen(args, env=e, stdin=subprocess.DEVNULL, stdout=self.logfile,
                                     stderr=subprocess.STDOUT, start_new_session=True, **kw)

    def log_tail(self, lines=30):
        if not self.tmp:
            return ""
        data = _read(self.logpath).decode(errors="replace").splitlines()
        return "\n".join(data[-lines:])

    def ping(self, timeout=2):
        try:
            st, body = unix_api(self.socket, "GET", "/_ping", timeout=timeout)
            return st == 200
        except OSError:
            return False

    def ready(self):
        return self.ping()

    def wait_ready(self, timeout=None):
        timeout = self.ready_timeout if timeout is None else timeout
        end = time.monotonic() + timeout
        while True:
            if self.ready():
                return
            if self.proc.poll() is not None:
                raise EngineError("%s exited (status %s) before it answered; its log:\n%s"
                                  % (self.name, self.proc.returncode, self.log_tail()))
            if time.monotonic() > end:
                raise EngineError("%s did not answer /_ping on %s within %.0f s; its log:\n%s"
                                  % (self.name, self.socket, timeout, self.log_tail()))
            time.sleep(0.05)

    def api(self, method, path, body=None, headers=None, timeout=30):
        return unix_api(self.socket, method, path, body, headers, timeout)

    def docker_env(self):
        """Environment for the docker CLI to talk to this engine."""
        return {"DOCKER_HOST": "unix://" + self.socket}

    def docker(self, *args, check=True, **kw):
        """The docker CLI against this engine."""
        return subprocess.run(["docker", *args], env=docker_cli_env(self.docker_env()), check=check,
                              capture_output=True, text=True, **kw)

    def load(self, *images):
        """docker save IMAGE... from the main engine | docker load into this one."""
        r = subprocess.run("docker -H unix://%s save %s | docker -H unix://%s load"
                           % (MAIN_SOCKET, " ".join(images), self.socket),
                           shell=True, capture_output=True, text=True, env=docker_cli_env())
        if r.returncode != 0:
            raise EngineError("loading %s into %s: %s" % (images, self.name, r.stderr.strip()))

    def remove_containers(self, timeout=30):
        """Force-remove every container the engine knows; a 404 is removed."""
        try:
            st, body = self.api("GET", "/containers/json?all=1", timeout=10)
        except OSError:
            return
        if st != 200 or not isinstance(body, list):
            return
        for c in body:
            self.container_ids.add(c["Id"])
            remove_container(self, c["Id"], timeout=timeout)

    def stop_engine(self):
        """Stop the process we started: SIGTERM, then SIGKILL after STOP_TIMEOUT."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def stop(self):
        if not self.tmp:
            return
        began = time.monotonic()
        try:
            if self.socket and (self.proc is None or self.proc.poll() is None) and self.ping():
                self.remove_containers()
            self.stop_engine()
            self.killed_leftovers = kill_processes_of(self.tmp)
            self.residue_left = self.clear_residue()
            Engine.residue_seen += self.residue_left
            self.cleanup_extra()
        finally:
            if self.logfile:
                self.logfile.close()
                self.logfile = None
            remove_tree(self.tmp)
            self.tmp = None
            self.proc = None
            self.stop_seconds = time.monotonic() - began

    def residue(self):
        """What the containers this engine knew may leave outside its temp dir when their processes
        were killed rather than stopped: cgroups named by their ids (and for Dockerd, shim sockets)."""
        found = []
        for cid in self.container_ids:
            for mp in cgroup_mounts():
                for name in ("docker/" + cid, "libpod_parent/libpod-" + cid, "libpod_parent/libpod-conmon-" + cid):
                    if os.path.isdir("%s/%s" % (mp, name)):
                        found.append("%s/%s" % (mp, name))
        return found

    def clear_residue(self):
        """Kill what still runs in the residue's cgroups (processes of our own containers), then
        rmdir them and unlink the sockets; returns what stays."""
        end = time.monotonic() + 10
        for path in self.residue():
            if not os.path.isdir(path):
                try:
                    os.unlink(path)
                except OSError:
                    pass
                continue
            while True:
                pids = [int(p) for p in _read(path + "/cgroup.procs").split() if _state(int(p)) not in ("Z", "")]
                if not pids or time.monotonic() > end:
                    break
                for p in pids:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                time.sleep(0.05)
            try:
                os.rmdir(path)
            except OSError:
                pass
        return self.residue()

    def cleanup_extra(self):
        pass


def docker_cli_env(extra=None):
    """Our environment without the docker CLI's own variables, plus extra."""
    env = dict(os.environ)
    for k in ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT"):
        env.pop(k, None)
    env.update(extra or {})
    return env


# ---------------------------------------------------------------------------------------------
# TLS certificates, laid out as the docker CLI expects (DOCKER_CERT_PATH=dir)


def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise EngineError("openssl %s: %s" % (args[0], r.stderr.strip()))


def make_certs(certdir, addr, key="ec"):
    """A CA (ca.pem), a server certificate for IP:addr (server-cert.pem, server-key.pem) and a client
    certificate (cert.pem, key.pem) signed by it, in certdir. key: "ec" (P-256, quick) or "rsa"."""
    os.makedirs(certdir, mode=0o700, exist_ok=True)
    days = "2"
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if key == "ec" else ["-newkey", "rsa:2048"]

    def key_and_csr(key, csr, cn):
        _openssl("req", "-new", *newkey, "-nodes", "-keyout", key, "-subj", "/CN=" + cn, "-out", csr, cwd=certdir)

    _openssl("req", "-x509", "-new", *newkey, "-nodes", "-keyout", "ca-key.pem",
             "-subj", "/CN=docker-run test CA", "-days", days, "-out", "ca.pem", cwd=certdir)
    for base, cn, ext in (
            ("server", addr, "subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n" % addr),
            ("client", "docker-run test client", "extendedKeyUsage=clientAuth\n")):
        key, cert = ("server-key.pem", "server-cert.pem") if base == "server" else ("key.pem", "cert.pem")
        key_and_csr(key, base + ".csr", cn)
        with open(os.path.join(certdir, base + ".ext"), "w") as f:
            f.write(ext)
        _openssl("x509", "-req", "-in", base + ".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                 "-set_serial", str(random.randrange(1, 2**62)), "-days", days, "-extfile", base + ".ext",
                 "-out", cert, cwd=certdir)
        os.unlink(os.path.join(certdir, base + ".csr"))
        os.unlink(os.path.join(certdir, base + ".ext"))
    for f in os.listdir(certdir):
        os.chmod(os.path.join(certdir, f), 0o600 if "key" in f else 0o644)


# ---------------------------------------------------------------------------------------------
# Network namespaces as test hosts


def _ip(*args, check=True):
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise EngineError("ip %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def _remove_netns(name, veth):
    """Delete the veth pair (from our end) and the namespace; EngineError if it stays."""
    if veth:
        _ip("link", "del", veth, check=False)
    _ip("netns", "del", name, check=False)
    if os.path.exists("/run/netns/" + name):
        raise EngineError("netns %s is still there" % name)


class NetnsHost:
    """A network namespace joined to the root one by a veth pair: ROOT_ADDR (10.231.N.1/24) on our
    side, ADDR (10.231.N.2/24) inside, lo up. N is the first free one from 1 unless given."""

    def __init__(self, name=None, addr=None):
        self.want_name = name
        self.want_addr = addr
        self.name = None
        self.addr = None
        self.root_addr = None
        self.veth = None
        self.tmp = None
        self.start_seconds = None
        self.stop_seconds = None

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        began = time.monotonic()
        # A record of ours, for sweep_stale should this process die before stop().
        self.tmp = tempfile.mkdtemp(prefix=TMP_PREFIX + "netns-", dir="/tmp")
        _write_owner(self.tmp)
        candidates = [int(self.want_addr.split(".")[2])] if self.want_addr else range(1, 255)
        for n in candidates:
            veth = "vdr%d" % n
            # ip link add fails on a name in use: that is our lock on N, among tests running at once.
            if _ip("link", "add", veth, "type", "veth", "peer", "name", veth + "p", check=False).returncode:
                continue
            name = self.want_name or "docker-run-%d" % n
            if _ip("netns", "add", name, check=False).returncode:
                _ip("link", "del", veth, check=False)
                if self.want_name:
                    raise EngineError("ip netns add %s failed (in use?)" % name)
                continue
            self.veth, self.name = veth, name
            break
        else:
            raise EngineError("no free 10.231.N.0/24 for a network namespace")
        with open(self.tmp + "/netns", "w") as f:
            f.write("%s %s\n" % (self.name, self.veth))
        self.root_addr = "10.231.%d.1" % n
        self.addr = self.want_addr or "10.231.%d.2" % n
        peer = self.veth + "p"
        _ip("link", "set", peer, "netns", self.name)
        _ip("addr", "add", self.root_addr + "/24", "dev", self.veth)
        _ip("link", "set", self.veth, "up")
        _ip("-n", self.name, "addr", "add", self.addr + "/24", "dev", peer)
        _ip("-n", self.name, "link", "set", peer, "up")
        _ip("-n", self.name, "link", "set", "lo", "up")
        self.start_seconds = time.monotonic() - began

    def stop(self):
        if not self.tmp:
            return
        began = time.monotonic()
        if self.name:
            _remove_netns(self.name, self.veth)
            self.name = None
        remove_tree(self.tmp)
        self.tmp = None
        self.stop_seconds = time.monotonic() - began

    def path(self):
        return "/run/netns/" + self.name

    def exec_args(self, args):
        """args run inside the namespace by ip netns exec (a mount namespace of its own, a fresh /sys)."""
        return ["ip", "netns", "exec", self.name, *args]

    def enter_args(self, args):
        """args run inside the namespace's network only (the root mount namespace: its mounts are ours)."""
        return ["nsenter", "--net=" + self.path(), *args]


# ---------------------------------------------------------------------------------------------
# A second dockerd


class Dockerd(Engine):
    """dockerd beside the main one: its own data root, exec root, pid file, unix socket and
    daemon.json. runtimes: a dict of daemon.json runtimes, or names from KNOWN_RUNTIMES; runsc=True
    adds gVisor. tls=True also listens on tcp with --tlsverify (self.tcp = (addr, port), self.certdir
    for the client). netns: a started NetnsHost to run the engine in (TLS on its address, port 2376)."""

    name = "dockerd"

    def __init__(self, runtimes=None, runsc=False, tls=False, netns=None, config=None, name=None):
        super().__init__()
        if name:
            self.name = name
        rt = {}
        if isinstance(runtimes, dict):
            rt.update(runtimes)
        else:
            for r in runtimes or ():
                rt[r] = KNOWN_RUNTIMES[r]
        if runsc:
            rt["runsc"] = RUNSC
        self.config = dict(config or {})
        if rt:
            self.config["runtimes"] = rt
        self.tls = tls
        self.netns = netns
        self.tcp = None
        self.certdir = None
        self.pidfile = None

    def write_config(self, config=None):
        if config is not None:
            self.config = config
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=2)

    def reload(self, config=None):
        """Write daemon.json anew (if given) and SIGHUP the engine: it reloads e.g. its runtimes."""
        self.write_config(config)
        self.proc.send_signal(signal.SIGHUP)

    def start(self):
        began = time.monotonic()
        self._make_tmp()
        t = self.tmp
        self.socket = t + "/docker.sock"
        self.exec_root = t + "/exec"
        self.pidfile = t + "/dockerd.pid"
        self.config_path = t + "/daemon.json"
        self.write_config()
        args = ["dockerd", "--data-root", t + "/data", "--exec-root", self.exec_root, "--pidfile", self.pidfile,
                "-H", "unix://" + self.socket, "--config-file", self.config_path,
                "--iptables=false", "--ip-forward=false", "--bridge=none"]
        if self.tls:
            addr = self.netns.addr if self.netns else "127.0.0.1"
            port = 2376 if self.netns else free_port(addr)
            self.tcp = (addr, port)
            self.certdir = t + "/certs"
            make_certs(self.certdir, addr)
            c = self.certdir
            args += ["-H", "tcp://%s:%d" % self.tcp, "--tlsverify", "--tlscacert", c + "/ca.pem",
                     "--tlscert", c + "/server-cert.pem", "--tlskey", c + "/server-key.pem"]
        if self.netns:
            args = self.netns.enter_args(args)
        self._spawn(args)
        self.wait_ready()
        self.start_seconds = time.monotonic() - began

    def ready(self):
        if not self.ping():
            return False
        if self.tcp:
            try:
                st, _ = tls_api(*self.tcp, self.certdir, "GET", "/_ping", timeout=2)
                return st == 200
            except (OSError, ssl.SSLError):
                return False
        return True

    def tls_env(self):
        """Environment for the docker CLI over TLS."""
        return {"DOCKER_HOST": "tcp://%s:%d" % self.tcp, "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": self.certdir}

    def residue(self):
        found = super().residue()
        address = self.exec_root + "/containerd/containerd.sock"
        for cid in self.container_ids:
            path = "/run/containerd/s/" + hashlib.sha256(("%s/moby/%s" % (address, cid)).encode()).hexdigest()
            if os.path.lexists(path):
                found.append(path)
        return found

    def stop_engine(self):
        # Tasks containerd still holds, whether or not dockerd lists them (a sandbox that failed).
        tasks = self.exec_root + "/containerd/daemon/io.containerd.runtime.v2.task/moby"
        if os.path.isdir(tasks):
            self.container_ids.update(os.listdir(tasks))
        # dockerd stops the containerd it started on SIGTERM; should it not, its pid file says which.
        super().stop_engine()
        pid = _read(self.tmp + "/exec/containerd/containerd.pid").strip()
        if pid.isdigit() and int(pid) in processes_of(self.tmp):
            os.kill(int(pid), signal.SIGTERM)


# ---------------------------------------------------------------------------------------------
# Podman


def ensure_user(name=PODMAN_USER):
    """The rootless test user, with /etc/subuid and /etc/subgid ranges: created if absent and kept
    (like an installed package) so that tests running at once share it. Returns its pwd entry."""
    import fcntl
    # One test at a time: a lock on this very file leaves no lock file behind.
    with open(os.path.abspath(__file__), "rb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            r = subprocess.run(["useradd", "--create-home", "--shell", "/usr/sbin/nologin",
                                "--comment", "docker-run rootless Podman tests", name],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise EngineError("useradd %s: %s" % (name, r.stderr.strip()))
            pw = pwd.getpwnam(name)
        for f, flag in (("/etc/subuid", "--add-subuids"), ("/etc/subgid", "--add-subgids")):
            lines = _read(f).decode().splitlines()
            if any(line.split(":")[0] in (name, str(pw.pw_uid)) for line in lines):
                continue
            top = max([int(l.split(":")[1]) + int(l.split(":")[2]) for l in lines if l.count(":") == 2]
                      + [100000])
            r = subprocess.run(["usermod", flag, "%d-%d" % (top, top + 65535), name], capture_output=True,
                               text=True)
            if r.returncode != 0:
                raise EngineError("usermod %s %s: %s" % (flag, name, r.stderr.strip()))
        return pw


class Podman(Engine):
    """podman system service on a unix socket, all its state under the temp dir (storage, run root,
    libpod tmp dir, volumes, events, file locks, network config). rootless=True runs it as the test
    user (ensure_user) with XDG_RUNTIME_DIR in the temp dir; root reaches its socket as any."""

    def __init__(self, rootless=False, name=None):
        super().__init__()
        self.rootless = rootless
        self.name = name or ("podman-rootless" if rootless else "podman")
        # Rootless Podman refuses a run root longer than 50 characters: a short temp dir.
        self.tag = "rlpodman" if rootless else None
        self.user = None
        self.env = {}
        self.had_var_lib_containers = True
        self.had_libpod_parent = True

    def start(self):
        began = time.monotonic()
        self.had_var_lib_containers = os.path.lexists("/var/lib/containers")
        self.had_libpod_parent = any(os.path.isdir(m + "/libpod_parent") for m in cgroup_mounts())
        self._make_tmp()
        t = self.tmp
        # For sweep_stale: what this engine is answerable for outside its dir.
        with open(t + "/had.json", "w") as f:
            json.dump({"var_lib_containers": self.had_var_lib_containers, "libpod_parent": self.had_libpod_parent}, f)
        self.socket = t + "/podman.sock"
        run = t + "/run"
        env = {"HOME": t + "/home", "TMPDIR": t + "/tmp", "XDG_CONFIG_HOME": t + "/home/.config",
               "XDG_DATA_HOME": t + "/home/.local/share", "XDG_RUNTIME_DIR": t + "/xdg",
               "CONTAINERS_CONF": t + "/containers.conf", "CONTAINERS_STORAGE_CONF": t + "/storage.conf",
               "CONTAINERS_REGISTRIES_CONF": t + "/registries.conf"}
        for d in ("home", "tmp", "xdg", "root", "run", "libpod", "volumes", "networks"):
            os.makedirs(os.path.join(t, d), mode=0o700)
        with open(env["CONTAINERS_CONF"], "w") as f:
            f.write(_PODMAN_CONF.format(t=t))
        with open(env["CONTAINERS_STORAGE_CONF"], "w") as f:
            f.write(_STORAGE_CONF.format(t=t))
        with open(env["CONTAINERS_REGISTRIES_CONF"], "w") as f:
            f.write("unqualified-search-registries = []\nshort-name-mode = \"disabled\"\n")
        args = ["podman", "--root", t + "/root", "--runroot", run, "--tmpdir", t + "/libpod",
                "--volumepath", t + "/volumes", "--network-config-dir", t + "/networks",
                "--cgroup-manager", "cgroupfs", "--events-backend", "file", "--storage-driver", "overlay",
                "system", "service", "--time=0", "unix://" + self.socket]
        kw = {}
        if self.rootless:
            pw = ensure_user()
            self.user = pw
            env["USER"] = env["LOGNAME"] = pw.pw_name
            for root, dirs, files in os.walk(t):
                for x in dirs + files:
                    os.chown(os.path.join(root, x), pw.pw_uid, pw.pw_gid)
            os.chown(t, pw.pw_uid, pw.pw_gid)
            # setuid straight to the user, as runuser -u does but without its PAM session and its
            # parent process (which turns our SIGTERM into a 2 s wait and a SIGKILL): our pid is
            # podman's own.
            kw = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        self.env = env
        self._spawn(args, env, **kw)
        self.wait_ready()
        self.start_seconds = time.monotonic() - began

    def podman(self, *args, check=True):
        """The podman CLI as a remote client of this service."""
        return subprocess.run(["podman", "--url", "unix://" + self.socket, *args], env=dict(os.environ, **self.env),
                              check=check, capture_output=True, text=True)

    def cleanup_extra(self):
        # Rootful, Podman's image library keeps its blob-info cache in /var/lib/containers/cache
        # whatever its storage (no flag or conf moves it): remove it if this engine made it and no
        # other podman runs now. Anything else found there stays. The same for /libpod_parent.
        if self.rootless:
            return
        for name in os.listdir("/proc"):
            if name.isdigit() and _read("/proc/%s/comm" % name).strip() == b"podman":
                return
        # Its cgroupfs manager makes /libpod_parent in every hierarchy and leaves it.
        if not self.had_libpod_parent:
            remove_cgroups(["/libpod_parent/conmon", "/libpod_parent"])
        if self.had_var_lib_containers:
            return
        try:
            os.unlink(BLOB_INFO_CACHE)
            os.rmdir(os.path.dirname(BLOB_INFO_CACHE))
            os.rmdir(os.path.dirname(os.path.dirname(BLOB_INFO_CACHE)))
        except OSError:
            pass


BLOB_INFO_CACHE = "/var/lib/containers/cache/blob-info-cache-v1.boltdb"

_PODMAN_CONF = """\
[containers]
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{t}/events.log"
lock_type = "file"
static_dir = "{t}/root/libpod"
tmp_dir = "{t}/libpod"
volume_path = "{t}/volumes"
runtime = "runc"

[network]
network_backend = "cni"
network_config_dir = "{t}/networks"
"""

_STORAGE_CONF = """\
[storage]
driver = "overlay"
graphroot = "{t}/root"
runroot = "{t}/run"
"""


# ---------------------------------------------------------------------------------------------
# One run through the raw API, as docker-run does it


def remove_container(engine, cid, timeout=30):
    """DELETE ?force=1 until gone: a 404 is removed; Podman may answer 500 "container state
    improper" right after an exit (MACHINE.md), so a 500 is retried."""
    end = time.monotonic() + timeout
    while True:
        try:
            st, body = engine.api("DELETE", "/containers/%s?force=1" % cid, timeout=timeout)
        except OSError as e:
            st, body = None, str(e)
        if st in (200, 204, 404):
            return st
        engine.delete_retries.append((st, body))
        if time.monotonic() > end:
            raise EngineError("DELETE %s on %s: %s %s" % (cid, engine.name, st, body))
        time.sleep(0.1)


def demux(data):
    """Split a multiplexed attach stream into (stdout, stderr) bytes."""
    out, err = b"", b""
    i = 0
    while i + 8 <= len(data):
        kind, size = data[i], int.from_bytes(data[i + 4:i + 8], "big")
        chunk = data[i + 8:i + 8 + size]
        if kind == 2:
            err += chunk
        else:
            out += chunk
        i += 8 + size
    return out, err


def _attach(sock_path, cid, timeout):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    s.sendall(b"POST /containers/%s/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n"
              b"Host: localhost\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n"
              % cid.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise EngineError("attach: connection closed in the answer's head: %r" % head)
        head += chunk
    head, _, rest = head.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if status not in (101, 200):
        raise EngineError("attach answered %d: %r" % (status, head + rest))
    return s, status, rest


def run_container(engine, image, payload, host_config=None, runtime=None, user="glot", inspect=False,
                  timeout=30, keep=False, wait=True):
    """create (attach before start, StdinOnce), attach, start, write the JSON payload, half-close,
    read the multiplexed stream to its end, wait (unless wait=False: the DELETE follows the stream's
    end at once, as docker-run does), remove (unless keep). Returns a dict: id, status (attach answer),
    exit (StatusCode), stdout, stderr (bytes), result (stdout parsed as JSON, or None), seconds,
    create (the create answer) and, with inspect=True, inspect (GET /containers/ID/json before start)."""
    began = time.monotonic()
    hc = {"NetworkMode": "none"}
    hc.update(host_config or {})
    if runtime:
        hc["Runtime"] = runtime
    spec = {"Image": image, "User": user, "AttachStdin": True, "AttachStdout": True, "AttachStderr": True,
            "OpenStdin": True, "StdinOnce": True, "Tty": False, "NetworkDisabled": True, "HostConfig": hc}
    st, created = engine.api("POST", "/containers/create", spec, timeout=timeout)
    if st != 201:
        raise EngineError("create on %s answered %s: %s" % (engine.name, st, created))
    cid = created["Id"]
    engine.container_ids.add(cid)
    r = {"id": cid, "create": created}
    try:
        if inspect:
            _, r["inspect"] = engine.api("GET", "/containers/%s/json" % cid, timeout=timeout)
        s, r["status"], data = _attach(engine.socket, cid, timeout)
        try:
            st, body = engine.api("POST", "/containers/%s/start" % cid, timeout=timeout)
            if st not in (204, 304):
                raise EngineError("start on %s answered %s: %s" % (engine.name, st, body))
            s.sendall(json.dumps(payload).encode() if not isinstance(payload, bytes) else payload)
            s.shutdown(socket.SHUT_WR)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        r["exit"] = None
        if wait:
            st, waited = engine.api("POST", "/containers/%s/wait" % cid, timeout=timeout)
            r["exit"] = waited.get("StatusCode") if isinstance(waited, dict) else None
        r["stdout"], r["stderr"] = demux(data)
        try:
            r["result"] = json.loads(r["stdout"])
        except ValueError:
            r["result"] = None
    finally:
        if not keep:
            remove_container(engine, cid, timeout=timeout)
    r["seconds"] = time.monotonic() - began
    return r


def sh_payload(script, stdin=None):
    p = {"language": "sh", "files": [{"name": "main.sh", "content": script}]}
    if stdin is not None:
        p["stdin"] = stdin
    return p


# The HostConfig docker-run sends under the reference configuration of API.md (src/container.c).
REFERENCE_HOST_CONFIG = {
    "Memory": 100000000,
    "MemorySwap": 100000000,
    "PidsLimit": 100,
    "Privileged": False,
    "CapAdd": [],
    "CapDrop": ["MKNOD", "NET_RAW", "NET_BIND_SERVICE"],
    "Ulimits": [{"Name": "nofile", "Soft": 90, "Hard": 100}, {"Name": "nproc", "Soft": 90, "Hard": 100}],
    "ReadonlyRootfs": True,
    "Tmpfs": {"/tmp": "rw,noexec,nosuid,size=65536k", "/home/glot": "rw,exec,nosuid,size=131072k"},
    "SecurityOpt": ["no-new-privileges"],
    "NetworkMode": "none",
}


# ---------------------------------------------------------------------------------------------
# What engines could leave behind, to compare before and after


GLOBAL_PATHS = ("/var/lib/containers", "/run/containers", "/run/libpod", "/run/podman", "/etc/cni/net.d/cni.lock",
                "/var/lib/cni", "/run/runsc", "/var/run/runsc")


def leak_snapshot():
    """Everything of ours an engine might leave: mounts, processes and temp dirs that name
    TMP_PREFIX, our network namespaces and veths, Podman's global paths, cgroup parent and shm
    locks. (Container cgroups and shim sockets are global and other engines' come and go: each
    engine checks those of its own containers, Engine.residue.)"""
    snap = {}
    snap["mounts"] = sorted(l for l in _read("/proc/self/mountinfo").decode(errors="replace").splitlines()
                            if TMP_PREFIX in l or "/run/netns/docker-run-" in l)
    procs = []
    needle = os.fsencode("/tmp/" + TMP_PREFIX)
    mark = os.fsencode("%s=/tmp/%s" % (MARK, TMP_PREFIX))
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != os.getpid():
            if needle in _read("/proc/%s/cmdline" % name) or mark in _read("/proc/%s/environ" % name):
                if _state(int(name)) not in ("Z", ""):
                    procs.append("%s %s" % (name, _read("/proc/%s/cmdline" % name).replace(b"\0", b" ")[:200]
                                            .decode(errors="replace")))
    snap["processes"] = sorted(procs)
    snap["tmp"] = sorted(f for f in os.listdir("/tmp") if f.startswith(TMP_PREFIX) and not f.endswith(".lock"))
    snap["netns"] = sorted(f for f in (os.listdir("/run/netns") if os.path.isdir("/run/netns") else [])
                           if f.startswith("docker-run-"))
    snap["links"] = sorted(l.split(":")[1].strip().split("@")[0] for l in
                           subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout.splitlines()
                           if l.split(":")[1].strip().startswith("vdr"))
    snap["global"] = sorted(p for p in GLOBAL_PATHS if os.path.lexists(p))
    snap["cgroups"] = sorted(m + "/libpod_parent" for m in cgroup_mounts() if os.path.isdir(m + "/libpod_parent"))
    snap["shm"] = sorted(f for f in os.listdir("/dev/shm") if "libpod" in f)
    return snap


def leak_diff(before, after):
    """What after has that before had not, per kind."""
    return {k: sorted(set(after[k]) - set(before[k])) for k in after if set(after[k]) - set(before[k])}


# ---------------------------------------------------------------------------------------------
# By hand: python3 tests/engines.py serve dockerd|podman [--runsc] [--tls] [--netns] [--rootless]
#          python3 tests/engines.py sweep


def _serve(argv):
    kind, opts = argv[0], set(argv[1:])
    images = os.environ.get("ENGINE_IMAGES", "docker-run-test/runner:latest").split()
    host = NetnsHost() if "--netns" in opts else None
    if kind == "dockerd":
        engine = Dockerd(runsc="--runsc" in opts, tls="--tls" in opts or host is not None, netns=host)
    elif kind == "podman":
        engine = Podman(rootless="--rootless" in opts)
    else:
        raise SystemExit("usage: engines.py serve dockerd|podman [--runsc] [--tls] [--netns] [--rootless]")
    done = []
    signal.signal(signal.SIGTERM, lambda *a: done.append(1))
    signal.signal(signal.SIGINT, lambda *a: done.append(1))
    try:
        if host:
            host.start()
        engine.start()
        engine.load(*images)
        print("# %s up in %.2f s; for the docker CLI and the tests:" % (engine.name, engine.start_seconds))
        print("export DOCKER_HOST=unix://%s DOCKER_HOST_SOCKET=%s" % (engine.socket, engine.socket))
        if getattr(engine, "tcp", None):
            print("# over TLS: export " + " ".join("%s=%s" % kv for kv in engine.tls_env().items()))
        print("# Ctrl-C or SIGTERM %d stops it" % os.getpid(), flush=True)
        while not done:
            signal.pause()
    finally:
        engine.stop()
        if host:
            host.stop()
        print("# stopped in %.2f s" % (engine.stop_seconds or 0))


def _run_suite(argv):
    """engines.py run dockerd|podman [--runsc] -- FILE...: the end-to-end FILEs, one after the other, against
    an engine of their own (runsc registered and DOCKER_RUN_TEST_RUNTIME=runsc with --runsc), its own
    runtime dir and its own test images; the engine stopped after. Exit status 1 when any file failed."""
    if "--" not in argv:
        raise SystemExit("usage: engines.py run dockerd|podman [--runsc] -- FILE...")
    at = argv.index("--")
    kind, opts, files = argv[0], set(argv[1:at]), argv[at + 1:]
    runsc = "--runsc" in opts
    if kind == "dockerd":
        engine = Dockerd(runsc=runsc)
    elif kind == "podman" and not runsc:
        engine = Podman()
    else:
        raise SystemExit("engines.py run: dockerd [--runsc] or podman")
    name = "runsc" if runsc else kind
    env = dict(os.environ, DOCKER_RUN_TEST_RUNTIME_DIR="/tmp/docker-run-test-runtime-" + name)
    env.pop("DOCKER_RUN_TEST_RUNTIME", None)
    if runsc:
        env["DOCKER_RUN_TEST_RUNTIME"] = "runsc"
    failed = []
    began = time.monotonic()
    try:
        engine.start()
        env.update(DOCKER_HOST="unix://" + engine.socket, DOCKER_HOST_SOCKET=engine.socket)
        here = os.path.dirname(os.path.abspath(__file__))
        subprocess.run(["bash", os.path.join(here, "images", "build.sh")], env=env, check=True)
        print("# %s up in %.1f s: %s" % (name, engine.start_seconds, " ".join(files)), flush=True)
        for f in files:
            t = time.monotonic()
            p = subprocess.run(["python3", f], env=env, capture_output=True, text=True)
            last = (p.stdout.strip().splitlines() or ["(no output)"])[-1]
            print("%s %s on %s: %s (%.0f s)" % ("PASS" if p.returncode == 0 else "FAIL", os.path.basename(f), name,
                                                 last, time.monotonic() - t), flush=True)
            if p.returncode != 0:
                failed.append(f)
                print(p.stdout + p.stderr, flush=True)
    finally:
        engine.stop()
    print("# %s: %d of %d file(s) passed in %.0f s" % (name, len(files) - len(failed), len(files),
                                                       time.monotonic() - began), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    import sys
    if sys.argv[1:2] == ["sweep"]:
        for d in sweep_stale():
            print("swept", d)
    elif sys.argv[1:2] == ["serve"] and len(sys.argv) > 2:
        _serve(sys.argv[2:])
    elif sys.argv[1:2] == ["run"] and len(sys.argv) > 2:
        sys.exit(_run_suite(sys.argv[2:]))
    else:
        raise SystemExit(__doc__.split("\n\n")[0] + "\n\nusage: engines.py serve dockerd|podman [--runsc] [--tls] "
                         "[--netns] [--rootless] | run dockerd|podman [--runsc] -- FILE... | sweep")
