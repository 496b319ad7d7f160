#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# clean: remove every image labelled docker-run.test=1, tagged or not, and nothing else.
set -euo pipefail

mapfile -t ids < <(docker image ls -aq --no-trunc --filter label=docker-run.test=1 | sort -u)
((${#ids[@]})) || exit 0
# -f: an image may carry several tags, all of them ours. Docker goes on past an image it cannot
# remove (one a running container uses): say so, and fail once the rest are gone.
rc=0
docker image rm -f "${ids[@]}" >/dev/null || rc=$?
left=$(docker image ls -aq --filter label=docker-run.test=1 | sort -u | wc -l)
echo "removed $((${#ids[@]} - left)) of ${#ids[@]} test image(s)"
exit "$rc"
