#!/usr/bin/env bash
# bootstrap: everything a fresh Debian 12 machine needs before docker-run can be
# built, served or tested: packages, a Docker engine that answers, a build.
# Sourced by packaging/serve-local.sh and tests/run-all.sh; run as root.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOCKER_SOCKET=${DOCKER_SOCKET:-/var/run/docker.sock}
STARTED_DOCKERD_PID=

bootstrap_packages() {
        # What building and serving need; the test suite adds its own (tests/run-all.sh).
        local pkgs=(build-essential autoconf automake pkg-config libcurl4-openssl-dev libjson-c-dev
                libsystemd-dev systemd docker.io runc containerd busybox-static python3 curl clang-format time
                "$@")
        local missing=()
        for p in "${pkgs[@]}"; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
        done
        if [ ${#missing[@]} -gt 0 ]; then
                echo "bootstrap: installing ${missing[*]}"
                apt-get update -q
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
        fi
}

engine_answers() {
        curl -sf --max-time 3 --unix-socket "$DOCKER_SOCKET" http://localhost/_ping >/dev/null 2>&1
}

# Start a dockerd of our own only when none answers; remember its pid so we stop only that one.
bootstrap_engine() {
        engine_answers && return 0
        if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && systemctl start docker 2>/dev/null; then
                for _ in $(seq 60); do engine_answers && return 0; sleep 0.5; done
        fi
        echo "bootstrap: starting dockerd"
        dockerd --iptables=false --ip-forward=false --bridge=none >/var/log/docker-run-dockerd.log 2>&1 &
        STARTED_DOCKERD_PID=$!
        for _ in $(seq 120); do
                engine_answers && return 0
                kill -0 "$STARTED_DOCKERD_PID" 2>/dev/null || break
                sleep 0.5
        done
        echo "bootstrap: dockerd did not come up; its log:" >&2
        tail -n 30 /var/log/docker-run-dockerd.log >&2
        return 1
}

stop_started_engine() {
        if [ -n "$STARTED_DOCKERD_PID" ]; then
                kill "$STARTED_DOCKERD_PID" 2>/dev/null || true
                wait "$STARTED_DOCKERD_PID" 2>/dev/null || true
                STARTED_DOCKERD_PID=
        fi
}

# The make dist tarball of this tree; prints its version.
bootstrap_dist() {
        cd "$top"
        [ -f Makefile ] || { autoreconf -fi && ./configure --prefix=/usr --sysconfdir=/etc; } >&2
        make dist >/dev/null
        sed -n 's/^PACKAGE_VERSION = //p' Makefile
}

bootstrap_build() {
        cd "$top"
        [ -x configure ] || autoreconf -fi
        [ -f Makefile ] || ./configure --prefix=/usr --sysconfdir=/etc
        make -j"$(nproc)"
}
