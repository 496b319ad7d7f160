#!/usr/bin/env bash
# run-all: from a fresh Debian 12 machine (as root) to the whole test suite passing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../packaging/bootstrap.sh"

bootstrap_packages
bootstrap_engine
trap 'bash "$top/tests/images/clean.sh" || true; stop_started_engine' EXIT
bootstrap_build
make -C "$top" check-format
make -C "$top" -j"$(nproc)" check || { cat "$top"/test-suite.log; exit 1; }
# The tarball, built with ASan and UBSan, passes the whole suite again.
make -C "$top" distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-sanitizers
# Each fuzz target for a bounded time; a crash is kept in tests/fuzz/regressions/ and fails the run.
FUZZ_SECONDS=${FUZZ_SECONDS:-40} bash "$top/tests/fuzz/run-fuzzers.sh"
make -C "$top" check-system
# Load through socket activation, small for CI (tests/load.py --runs 500 --concurrency 16 on demand).
DOCKER_RUN_BIN="$top/src/docker-run" python3 "$top/tests/load.py" --runs "${LOAD_RUNS:-60}" --concurrency 8
