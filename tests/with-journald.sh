#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# with-journald: run a command with a private systemd-journald, on a machine where none runs
# (no systemd as PID 1), so that the handlers it starts log to journald and journalctl reads it.
#
#   tests/with-journald.sh CMD [ARG...]     (as root; exits with CMD's status)
#
# Everything happens in a mount namespace of its own: tmpfs on /run/systemd, /run/log and, if it
# exists, /var/log/journal, so the journal's sockets and files are seen by CMD and its children
# only, and vanish with the namespace. /dev/kmsg is /dev/null in there: the private journal holds
# no kernel messages and journald writes nothing to the host's kernel log. Audit= is left unset:
# the kernel's audit state is not touched. A mount point missing on the host (/run/systemd,
# /run/log) is created first and removed afterwards; mount -n writes no /run/mount/utab. journald
# is stopped by its pid, and dies with this script if it is killed (parent-death signal).
set -euo pipefail

journald=
for j in /lib/systemd/systemd-journald /usr/lib/systemd/systemd-journald; do
        [ -x "$j" ] && journald=$j && break
done

if [ "${WITH_JOURNALD_INSIDE:-}" != 1 ]; then
        [ $# -gt 0 ] || { echo "usage: $0 CMD [ARG...]" >&2; exit 2; }
        [ -n "$journald" ] || { echo "with-journald: no systemd-journald (the systemd package)" >&2; exit 2; }
        [ "$(id -u)" = 0 ] || { echo "with-journald: needs root (a mount namespace)" >&2; exit 2; }
        if [ -S /run/systemd/journal/socket ]; then
                echo "with-journald: a journald already runs here; running the command as it is" >&2
                exec "$@"
        fi
        created=()
        for d in /run/systemd /run/log; do
                if [ ! -d "$d" ]; then
                        mkdir "$d"
                        created+=("$d")
                fi
        done
        status=0
        WITH_JOURNALD_INSIDE=1 unshare --mount --propagation private -- bash "$0" "$@" || status=$?
        for d in "${created[@]}"; do
                rmdir "$d" || echo "with-journald: $d is not empty, left in place" >&2
        done
        exit "$status"
fi

# Inside the namespace.
mount -n -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run/systemd
mount -n -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run/log
if [ -d /var/log/journal ]; then
        mount -n -t tmpfs -o mode=2755,nosuid,nodev tmpfs /var/log/journal
fi
if [ -e /dev/kmsg ]; then
        mount -n --bind /dev/null /dev/kmsg
fi
mkdir /run/systemd/journald.conf.d
# Sorted last among the drop-ins: it wins over the host's settings.
cat >/run/systemd/journald.conf.d/zz-with-journald.conf <<'EOF'
[Journal]
Storage=volatile
Audit=
RateLimitBurst=0
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
EOF

setpriv --pdeathsig TERM -- "$journald" >/run/systemd/with-journald.log 2>&1 &
jpid=$!
stop_journald() {
        kill -TERM "$jpid" 2>/dev/null || return 0
        for _ in $(seq 100); do
                kill -0 "$jpid" 2>/dev/null || break
                sleep 0.1
        done
        kill -KILL "$jpid" 2>/dev/null || true
        wait "$jpid" 2>/dev/null || true
}
trap stop_journald EXIT

# Ready when a record sent the way the handler sends it (the native socket) can be read back.
probe="with-journald-$$-$RANDOM"
ready=
for _ in $(seq 100); do
        if [ -S /run/systemd/journal/socket ]; then
                [ -n "$ready" ] || printf 'MESSAGE=%s\nSYSLOG_IDENTIFIER=with-journald\n' "$probe" | logger --journald
                ready=sent
                if journalctl -q -o cat SYSLOG_IDENTIFIER=with-journald 2>/dev/null | grep -qx "$probe"; then
                        ready=yes
                        break
                fi
        fi
        kill -0 "$jpid" 2>/dev/null || break
        sleep 0.1
done
if [ "$ready" != yes ]; then
        echo "with-journald: journald did not come up (pid $jpid):" >&2
        cat /run/systemd/with-journald.log >&2
        exit 1
fi
echo "with-journald: journald $jpid up, journal in /run/log/journal of a private mount namespace" >&2

status=0
"$@" || status=$?
stop_journald
trap - EXIT
exit "$status"
