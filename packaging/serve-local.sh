#!/usr/bin/env bash
# serve-local: from a fresh Debian 12 machine (as root) to docker-run answering on
# 127.0.0.1:8088 with a locally built sample image (docker-run/sample:latest).
# Under systemd (PID 1) it installs the units; otherwise it runs the handler
# under systemd-socket-activate in the background (pid in /run/docker-run-serve.pid).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bootstrap.sh"

PORT=${PORT:-8088}
CONF=/etc/docker-run/docker-run.conf

bootstrap_packages
bootstrap_engine
bootstrap_build
bash "$top/tests/images/build.sh" --sample

TOKEN_FILE=/etc/docker-run/api-token
if [ ! -f "$CONF" ]; then
        install -d -m 0755 /etc/docker-run
        install -m 0640 "$top/packaging/docker-run.conf" "$CONF"
fi
if [ ! -s "$TOKEN_FILE" ]; then
        (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TOKEN_FILE")
fi

if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ]; then
        make -C "$top" install
        getent group docker >/dev/null || groupadd --system docker
        systemd-sysusers docker-run.conf
        chgrp docker-run "$CONF"
        systemctl daemon-reload
        systemctl enable --now docker-run.socket docker-run-sweep.timer
else
        if [ -f /run/docker-run-serve.pid ] && kill -0 "$(cat /run/docker-run-serve.pid)" 2>/dev/null; then
                kill "$(cat /run/docker-run-serve.pid)"
                sleep 0.5
        fi
        set -a
        . "$CONF"
        set +a
        # No systemd to pass the credential: the token travels in the environment here.
        API_ACCESS_TOKEN=$(cat "$TOKEN_FILE")
        export API_ACCESS_TOKEN
        args=(-E API_ACCESS_TOKEN)
        while IFS='=' read -r name _; do
                case "$name" in [A-Z]*) args+=(-E "$name") ;; esac
        done <"$CONF"
        nohup systemd-socket-activate -l "127.0.0.1:$PORT" -a "${args[@]}" "$top/src/docker-run" \
                >/var/log/docker-run.log 2>&1 &
        echo $! >/run/docker-run-serve.pid
fi

for _ in $(seq 50); do
        curl -sf "http://127.0.0.1:$PORT/" >/dev/null && break
        sleep 0.1
done
curl -sf "http://127.0.0.1:$PORT/"
echo
echo "docker-run serves on http://127.0.0.1:$PORT/ (token in $TOKEN_FILE); try:"
echo "  curl -s -H \"X-Access-Token: \$(cat $TOKEN_FILE)\" -H 'Content-Type: application/json' \\"
echo "    --data '{\"image\": \"docker-run/sample:latest\", \"payload\": {\"language\": \"sh\", \"files\": [{\"name\": \"main.sh\", \"content\": \"echo hello\"}]}}' \\"
echo "    http://127.0.0.1:$PORT/run"
