#!/bin/sh
# test-metrics-promtool: promtool's parser and linter accept a rendering with every family.
set -e
bin=tests # the sample writer is built here, in the build tree make check runs in
if ! command -v promtool >/dev/null 2>&1; then
        echo "promtool not found in PATH (Debian package prometheus), skipping"
        exit 77
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/test-metrics-promtool.XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$bin/metrics-sample" "$dir/run" >"$dir/sample.prom"
cat "$dir/sample.prom"
families=$(grep -c '^# TYPE ' "$dir/sample.prom")
if [ "$families" -ne 11 ]; then
        echo "expected 11 families, got $families"
        exit 1
fi
# Every family has a sample that is not zero.
awk '/^# TYPE / { seen[$3] = 0; next }
        /^#/ { next }
        { name = $1; sub(/\{.*/, "", name); base = name; sub(/_(bucket|sum|count)$/, "", base)
          if ($NF + 0 != 0) { seen[name] = 1; seen[base] = 1 } }
        END { for (f in seen) if (!seen[f]) { print "no sample other than zero in " f; bad = 1 }
              exit bad }' "$dir/sample.prom"
promtool check metrics <"$dir/sample.prom"
echo "promtool check metrics: ok"
