#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# system-test: install the built .deb in a Debian 12 container with real systemd
# as PID 1, the host engine's socket bind-mounted, and check it the way an
# operator would: systemctl, curl, journalctl, systemd-analyze, kill -9 and the
# sweeper, stop, upgrade, purge.
#
#   tests/system/system-test.sh DIR-WITH-THE-DEB
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
deb_dir=$(cd "${1:?usage: $0 DIR-WITH-THE-DEB}" && pwd)
deb=$(ls "$deb_dir"/docker-run_*_amd64.deb | head -n 1)
cache=${DOCKER_RUN_TEST_CACHE:-/var/cache/docker-run-test}
packages=systemd,systemd-sysv,dbus,libcurl4,libjson-c5,libsystemd0,curl,adduser,passwd,procps
key=$(printf '%s bookworm' "$packages" | sha256sum | cut -c1-12)
image=docker-run-test/systemd:bookworm
name=docker-run-systest-$$
runner=docker-run-test/runner:latest
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   $*"; }
not_ok() { failed=$((failed + 1)); echo "FAIL $*"; }
check() { # check DESCRIPTION COMMAND...
        local what=$1
        shift
        if "$@"; then ok "$what"; else not_ok "$what"; fi
}
inside() { docker exec "$name" "$@"; }

cleanup() {
        docker rm -f "$name" >/dev/null 2>&1 || true
}
trap cleanup EXIT

# The rootfs is cached between runs, keyed by its package list.
if [ "$(docker image inspect --format '{{index .Config.Labels "docker-run.test.rootfs"}}' "$image" 2>/dev/null)" != "$key" ]; then
        if [ ! -s "$cache/rootfs-$key.tar" ]; then
                command -v mmdebstrap >/dev/null || {
                        apt-get update -q
                        DEBIAN_FRONTEND=noninteractive apt-get install -y -q mmdebstrap
                }
                mkdir -p "$cache"
                echo "system-test: building the Debian 12 rootfs (cached in $cache)"
                # mmdebstrap picks the output format from the name: it must end in .tar.
                mmdebstrap --variant=apt --include="$packages" --mode=root bookworm "$cache/partial-$key.tar" \
                        >"$cache/mmdebstrap.log" 2>&1 || { tail -n 20 "$cache/mmdebstrap.log"; exit 1; }
                mv "$cache/partial-$key.tar" "$cache/rootfs-$key.tar"
        fi
        docker import --change 'LABEL docker-run.test=1' --change "LABEL docker-run.test.rootfs=$key" \
                "$cache/rootfs-$key.tar" "$image" >/dev/null
fi
bash "$here/../images/build.sh" >/dev/null

# systemd skips making / shared inside a container; credentials need it (they are mounted from a child namespace).
docker run -d --name "$name" --label docker-run.test=1 --cap-add SYS_ADMIN --security-opt seccomp=unconfined \
        --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup --tmpfs /run --tmpfs /run/lock \
        -v /var/run/docker.sock:/var/run/docker.sock -v "$deb_dir:/debs:ro" \
        "$image" /bin/sh -c 'mount --make-rshared / && exec /sbin/init' >/dev/null
for _ in $(seq 100); do
        state=$(inside systemctl is-system-running 2>/dev/null || true)
        case "$state" in running | degraded) break ;; esac
        sleep 0.3
done
check "systemd booted ($state)" test "$state" = running -o "$state" = degraded

# The engine's socket belongs to the host's docker group: the same gid inside.
inside groupadd -g "$(stat -c %g /var/run/docker.sock)" docker
inside dpkg -i "/debs/$(basename "$deb")" >/dev/null
check "docker-run.socket is active" test "$(inside systemctl is-active docker-run.socket)" = active
check "docker-run-sweep.timer is active" test "$(inside systemctl is-active docker-run-sweep.timer)" = active
check "the docker-run user is in the docker group" sh -c "docker exec $name id -nG docker-run | grep -qw docker"

# Short limits for the kill test; an environment token that must lose to the credential.
inside sed -i -e 's/^RUN_MAX_EXECUTION_TIME=.*/RUN_MAX_EXECUTION_TIME=3/' \
        -e 's/^DOCKER_UNIX_SOCKET_READ_TIMEOUT=.*/DOCKER_UNIX_SOCKET_READ_TIMEOUT=1/' \
        -e 's/^DOCKER_UNIX_SOCKET_WRITE_TIMEOUT=.*/DOCKER_UNIX_SOCKET_WRITE_TIMEOUT=1/' \
        -e 's/^#*API_ACCESS_TOKEN=.*/API_ACCESS_TOKEN=environment-token/' /etc/docker-run/docker-run.conf
token=$(inside cat /etc/docker-run/api-token)
check "a random token was generated" test "${#token}" -ge 32

post_run() { # post_run TOKEN SCRIPT -> headers and body on stdout
        local payload
        payload=$(printf '{"image": "%s", "payload": {"language": "sh", "files": [{"name": "main.sh", "content": "%s"}]}}' \
                "$runner" "$2")
        inside curl -s -D - -H "X-Access-Token: $1" -H 'Content-Type: application/json' --data "$payload" \
                http://127.0.0.1:8088/run
}

answer=$(post_run "$token" 'echo hello from systemd')
check "POST /run answers the runner's JSON" grep -qF '{"stdout":"hello from systemd\n","stderr":"","error":""}' <<<"$answer"
rid=$(sed -n 's/^X-Request-Id: \([0-9a-f]*\).*/\1/p' <<<"$answer")
check "the answer carries X-Request-Id" test -n "$rid"
check "the environment token is refused when the credential exists" \
        grep -q '"error":"access_token"' <<<"$(post_run environment-token 'echo no')"

sleep 0.5
record=$(inside journalctl -o export "DOCKER_RUN_REQUEST_ID=$rid")
for field in DOCKER_RUN_STATUS=200 DOCKER_RUN_METHOD=POST DOCKER_RUN_PATH=/run DOCKER_RUN_IMAGE=$runner \
        DOCKER_RUN_CONTAINER_ID= DOCKER_RUN_DURATION_USEC= DOCKER_RUN_START_USEC= SYSLOG_IDENTIFIER=docker-run; do
        check "journal record has $field" grep -q "^$field" <<<"$record"
done
check "the token is not in systemctl show" sh -c "! docker exec $name systemctl show docker-run@x.service docker-run.socket | grep -qF '$token'"
check "the token is not in the journal" sh -c "! docker exec $name journalctl -o export | grep -qF '$token'"

security=$(inside systemd-analyze security --no-pager docker-run@x.service | tail -n 1)
echo "     systemd-analyze security docker-run@.service: ${security#*: }"
exposure=$(sed -n 's/.*exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$security")
check "exposure $exposure is at most 2.0" awk "BEGIN { exit !($exposure <= 2.0) }"

# kill -9 of a handler mid-run leaves its container; the sweeper's next pass removes it.
before=$(docker ps -aq --filter label=docker-run.managed | sort)
inside sh -c "curl -s -m 30 -H 'X-Access-Token: $token' -H 'Content-Type: application/json' \
        --data '{\"image\": \"$runner\", \"payload\": {\"language\": \"sh\", \"files\": [{\"name\": \"main.sh\", \"content\": \"sleep 60\"}]}}' \
        http://127.0.0.1:8088/run >/dev/null 2>&1 &"
sleep 1.5
unit=$(inside systemctl list-units --plain --no-legend 'docker-run@*' | awk '{ print $1 }' | head -n 1)
pid=$(inside systemctl show -p MainPID --value "$unit")
check "a handler is running ($unit)" test "${pid:-0}" -gt 0
inside kill -9 "$pid"
sleep 1
leaked=$(comm -13 <(echo "$before") <(docker ps -aq --filter label=docker-run.managed | sort))
check "kill -9 left its container behind" test -n "$leaked"
inside mkdir -p /etc/systemd/system/docker-run-sweep.service.d
inside sh -c 'printf "[Service]\nExecStart=\nExecStart=/usr/sbin/docker-run --sweep 0\n" >/etc/systemd/system/docker-run-sweep.service.d/grace.conf'
inside systemctl daemon-reload
sleep 6 # past the container's deadline label: the run's 3 s and three 1 s engine timeouts
inside systemctl start docker-run-sweep.service
check "the sweeper removed it" test -z "$(docker ps -aq --filter "id=$leaked")"
check "the sweep is in the journal" sh -c "docker exec $name journalctl -u docker-run-sweep.service | grep -q 'Removed leftover container'"

# Behind a reverse proxy every connection comes from one address: 40 at once from 127.0.0.1 are all served.
served=$(inside bash -c 'trap "" PIPE; fds=(); for i in $(seq 40); do exec {fd}<>/dev/tcp/127.0.0.1/8088 || exit 1; fds+=("$fd"); done
        sleep 1; n=0
        for fd in "${fds[@]}"; do printf "GET / HTTP/1.0\r\n\r\n" >&"$fd"; head -c 12 <&"$fd" | grep -q "HTTP/1.1 200" && n=$((n + 1)); done
        echo "$n"' || true)
check "40 connections from one source are all served ($served)" test "$served" = 40

# A configuration the unit's MemoryMax= cannot hold (the output cap alone above 64M) is refused, and says so.
inside sh -c 'echo RUN_MAX_OUTPUT_SIZE=100000000 >>/etc/docker-run/docker-run.conf'
check "an output cap above MemoryMax= is a configuration error" \
        sh -c "docker exec $name curl -s http://127.0.0.1:8088/ | grep -q '\"error\":\"config\"'"
sleep 0.5
check "the journal says to lower it or raise MemoryMax=" \
        sh -c "docker exec $name journalctl -t docker-run | grep -q 'RUN_MAX_OUTPUT_SIZE.*MemoryMax='"
inside sed -i '$d' /etc/docker-run/docker-run.conf

# Without the credential file, as the README tells an operator who sets API_ACCESS_TOKEN instead: the
# handler serves with the environment's token and the sweeper, which needs no token, still runs.
inside rm /etc/docker-run/api-token
inside mkdir -p /etc/systemd/system/docker-run@.service.d
inside sh -c 'printf "[Service]\nLoadCredential=\n" >/etc/systemd/system/docker-run@.service.d/no-credential.conf'
inside systemctl daemon-reload
check "without the credential, API_ACCESS_TOKEN serves" \
        grep -qF '{"stdout":"env token\n","stderr":"","error":""}' <<<"$(post_run environment-token 'echo env token')"
check "without the credential, the sweep succeeds" inside systemctl start docker-run-sweep.service
check "the sweep's result is success" test "$(inside systemctl show -p Result --value docker-run-sweep.service)" = success
inside rm -rf /etc/systemd/system/docker-run@.service.d
inside sh -c "umask 077 && printf '%s' '$token' >/etc/docker-run/api-token"
inside systemctl daemon-reload

# Each example of the shipped configuration, uncommented, read by systemd's EnvironmentFile= rules: the
# handler accepts it and sees exactly what it sees when a shell sources the same file.
examples=$(mktemp -d)
python3 "$here/../test-conf-examples.py" --emit "$examples"
docker cp "$examples" "$name:/conf-examples" >/dev/null
for f in "$examples"/*.conf; do
        base=$(basename "$f")
        want=$(env -i PATH=/usr/bin:/bin bash -c 'set -a; . "$1"; set +a; export API_ACCESS_TOKEN=${API_ACCESS_TOKEN:-t}; exec "$2" --check-config' \
                check "$f" "${DOCKER_RUN_BIN:-$here/../../src/docker-run}" 2>&1) || true
        got=$(inside systemd-run --wait --pipe --quiet -p EnvironmentFile="/conf-examples/$base" \
                -p Environment=API_ACCESS_TOKEN=t /usr/sbin/docker-run --check-config 2>&1) || got="failed: $got"
        check "systemd reads $base as the shell does" test "$got" = "$want"
done
rm -rf "$examples"

inside systemctl stop docker-run.socket
check "a stopped socket refuses requests" sh -c "! docker exec $name curl -s -m 5 http://127.0.0.1:8088/"

# Upgrade: the same package again brings the socket back.
inside dpkg -i "/debs/$(basename "$deb")" >/dev/null
check "after reinstalling, the socket is active" test "$(inside systemctl is-active docker-run.socket)" = active
check "after reinstalling, GET / answers" sh -c "docker exec $name curl -sf http://127.0.0.1:8088/ | grep -q docker-run"
check "the token survived the upgrade" test "$(inside cat /etc/docker-run/api-token)" = "$token"

inside rm -rf /etc/systemd/system/docker-run-sweep.service.d
inside dpkg --purge docker-run >/dev/null
check "purge removes the user" sh -c "! docker exec $name getent passwd docker-run"
check "purge removes the units" test -z "$(inside systemctl list-unit-files --no-legend 'docker-run*')"
check "purge removes /etc/docker-run" sh -c "! docker exec $name test -e /etc/docker-run"
check "no container of ours is left" test "$(docker ps -aq --filter label=docker-run.managed | sort)" = "$before"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
