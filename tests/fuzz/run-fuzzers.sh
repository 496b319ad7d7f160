#!/usr/bin/env bash
# run-fuzzers: build the libFuzzer targets with clang, ASan and UBSan in a
# directory of their own, run each for FUZZ_SECONDS (default 60), print the
# executions, and keep any crashing input in tests/fuzz/regressions/.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-${TMPDIR:-/tmp}/docker-run-fuzz}

command -v clang >/dev/null || {
        apt-get update -q
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends clang
}
# Built straight from the sources: the tree may be configured in place, which rules out a second
# autotools build directory (configure --enable-fuzzing does the same for a clean tree).
mkdir -p "$build"
for t in ${FUZZ_TARGETS:-http body stream jsontext}; do
        clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -D_GNU_SOURCE \
                -I"$top/src" -I"$top/tests" "$top/tests/fuzz/fuzz-$t.c" \
                "$top"/src/{http,body,stream,apierror,jsontext,parse}.c \
                $(pkg-config --cflags --libs json-c) -o "$build/fuzz-$t"
done
cd "$build"

failed=0
for t in ${FUZZ_TARGETS:-http body stream jsontext}; do
        work=$(mktemp -d)
        cp "$top/tests/fuzz/corpus/$t/"* "$work/"
        log=$work/log
        if "./fuzz-$t" -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 \
                -artifact_prefix="$work/$t-" "$work" >"$log" 2>&1; then
                status=ok
        else
                status=FOUND
                failed=1
                for crash in "$work/$t-"crash-* "$work/$t-"leak-* "$work/$t-"timeout-*; do
                        [ -f "$crash" ] || continue
                        cp "$crash" "$top/tests/fuzz/regressions/$t-crash-$(sha1sum "$crash" | cut -c1-40)"
                done
                grep -E "ERROR|SUMMARY" "$log" | head -5
        fi
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "fuzz-$t: $status, ${execs:-?} executions in ${seconds}s"
        rm -rf "$work"
done
exit "$failed"
