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
# The end-to-end suite ran above; the tarball is checked with the unit tests.
make -C "$top" distcheck TESTS="tests/test-http tests/test-config tests/test-stream tests/test-apierror"
make -C "$top" check-system
