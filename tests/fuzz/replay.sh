#!/bin/sh
# replay: every seed and every kept crash through each fuzz target's replayer.
set -e
dir=${TESTS_DIR:-$(dirname "$0")/..}/fuzz
bin=tests/fuzz # the replayers are built here, in the build tree make check runs in
for t in http body stream jsontext; do
        regressions=$(ls "$dir"/regressions/"$t"-* 2>/dev/null || true)
        # shellcheck disable=SC2086
        "$bin/replay-$t" "$dir/corpus/$t" $regressions
done
