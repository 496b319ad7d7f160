#!/usr/bin/env bash
# run-all: from a fresh Debian 12 machine (as root) to the whole test suite passing.
#
# More than `make check`: it installs packages, starts a Docker engine when none answers (and stops only
# that one), and runs, in order: the format check; make check (unit tests, then the end-to-end suite
# against the real engine); the log-reading end-to-end files again under a private journald; the
# contract and limits files once more under gVisor and against Podman; the unit tests in Debian 11 and 13
# chroots (mmdebstrap); distcheck, built with ASan and UBSan, running the unit tests and the core
# end-to-end files; each fuzz target for a bounded time; the .deb and .rpm and the system test in a
# privileged container with real systemd that uses the host's engine socket; a small load test. It
# leaves no container, image or process of its own behind. Meant for a CI machine or a
# developer's test host, not for a production host: it installs packages and starts engines.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../packaging/bootstrap.sh"

t0=$(date +%s)
# Everything the suite needs is installed below: a test that finds a facility absent fails, never skips.
export CI=${CI:-1}
section() { # section NAME: a timestamped heading, so CI's log shows where the time goes
        echo
        echo "=== run-all: $* ($(($(date +%s) - t0)) s)"
}

section packages
# nginx-light: tests/e2e-nginx.py runs nginx in front of the handler (its own files, never /etc/nginx);
# prometheus: promtool checks GET /metrics; runsc, podman, uidmap and its friends: the suite under gVisor
# and against Podman (rootless too); haproxy, openssl and iproute2: e2e-scale's remote engine over TLS in
# a network namespace, two hosts.
bootstrap_packages nginx-light prometheus runsc podman uidmap slirp4netns fuse-overlayfs haproxy openssl iproute2
section engine
bootstrap_engine
trap 'bash "$top/tests/images/clean.sh" || true; stop_started_engine' EXIT
section build
bootstrap_build
make -C "$top" check-format

section "make check"
make -C "$top" -j"$(nproc)" check || { cat "$top"/test-suite.log; exit 1; }

# The files that read the handler's log, once more with journald running, so they hold both ways.
section "log-reading tests under journald"
for f in e2e-run.py e2e-pool.py; do
        DOCKER_RUN_BIN="$top/src/docker-run" TESTS_DIR="$top/tests" SOCKET_ACTIVATE=$(command -v systemd-socket-activate) \
                bash "$top/tests/with-journald.sh" python3 "$top/tests/$f"
done

# The end-to-end files of the contract and the limits once more under gVisor and against Podman, each on
# an engine of its own (tests/engines.py run). Left out, with the reason: e2e-faults (its engine is a stub:
# no runtime is involved), e2e-sweep, e2e-burst and e2e-nginx (about the handler and the engine's load,
# not the runtime), e2e-run-warm (e2e-run again with a pool, which e2e-pool covers per runtime),
# e2e-engines and e2e-scale (each starts the engines it is about), and against Podman the one battery
# test that runs a dockerd of its own (it says so).
runtime_files="tests/e2e-run.py tests/e2e-trust.py tests/e2e-battery.py tests/e2e-controls.py tests/e2e-pool.py
        tests/e2e-keepalive.py"
section "the end-to-end files under gVisor (runsc)"
(cd "$top" && DOCKER_RUN_BIN="$top/src/docker-run" python3 tests/engines.py run dockerd --runsc -- $runtime_files)
section "the end-to-end files against Podman"
(cd "$top" && DOCKER_RUN_BIN="$top/src/docker-run" python3 tests/engines.py run podman -- $runtime_files)

section "Debian 11 and 13 builds"
for suite in bullseye trixie; do
        bash "$top/tests/compat/build-in-chroot.sh" "$suite"
done

# The tarball, built with ASan and UBSan: the unit tests and the core end-to-end files.
section "distcheck with sanitizers"
unit=$(make -s -C "$top" print-unit-tests)
make -C "$top" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-sanitizers \
        TESTS="$unit tests/fuzz/replay.sh tests/e2e-run.py tests/e2e-faults.py tests/e2e-trust.py"

# Each fuzz target for a bounded time; a crash is kept in tests/fuzz/regressions/ and fails the run.
section fuzzers
FUZZ_SECONDS=${FUZZ_SECONDS:-25} bash "$top/tests/fuzz/run-fuzzers.sh"

section "packages and the system test"
make -C "$top" check-system

# Load through socket activation, small for CI (tests/load.py --runs 500 --concurrency 16 on demand).
section "load"
DOCKER_RUN_BIN="$top/src/docker-run" python3 "$top/tests/load.py" --runs "${LOAD_RUNS:-60}" --concurrency 8
section "done"
