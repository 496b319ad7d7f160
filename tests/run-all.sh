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
make -C "$top" distcheck
make -C "$top" check-system
