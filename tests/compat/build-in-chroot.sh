#!/usr/bin/env bash
# build-in-chroot: the tree configured, built warning-free and unit-tested in a Debian SUITE chroot.
#   tests/compat/build-in-chroot.sh SUITE      (bullseye, bookworm, trixie, ...; as root)
# The chroot is made once by mmdebstrap and kept in $CHROOT_CACHE/chroot-SUITE (default
# /var/cache/docker-run-test), keyed by the suite and the package list; CHROOT_REFRESH=1 makes it anew.
# A clean copy of the working tree (git's files) is bootstrapped with the suite's own autotools. Only
# Makefile.am's UNIT_TESTS run: the end-to-end tests need an engine. Every mount lives in a private
# mount namespace, so none outlives the script however it ends.
# The in_chroot commands are for the chroot's shell: single quotes keep them from this one.
# shellcheck disable=SC2016
set -euo pipefail

suite=${1:-}
if ! [[ $suite =~ ^[a-z]+$ ]]; then
        echo "usage: $0 SUITE (a Debian suite name such as bullseye, bookworm or trixie)" >&2
        exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
        echo "build-in-chroot: needs root (mmdebstrap, chroot, mount namespaces)" >&2
        exit 2
fi

top=$(cd "$(dirname "$0")/../.." && pwd)
if ! git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
        echo "build-in-chroot: $top is not a git checkout, whose files it copies" >&2
        exit 2
fi
cache=${CHROOT_CACHE:-/var/cache/docker-run-test}
root=$cache/chroot-$suite
packages=gcc,libc6-dev,make,autoconf,automake,pkg-config,libcurl4-openssl-dev,libjson-c-dev,libsystemd-dev
key=$(printf '%s\n' "$suite" "--variant=apt" "$packages" | sha256sum | cut -d' ' -f1)
logs=$(mktemp -d)
started=$SECONDS

say() { echo "build-in-chroot $suite: $*"; }

fail() {
        local log=$1
        shift
        say "FAILED: $*" >&2
        tail -n 60 "$log" >&2
        exit 1
}

# Refuses to cross into anything still mounted below the directory.
remove_tree() {
        if findmnt -rn -o TARGET | grep -q -F "$1/"; then
                echo "build-in-chroot: something is mounted below $1, not removing it" >&2
                return 1
        fi
        rm -rf --one-file-system "$1"
}

cleanup() {
        [ -d "$root/build" ] && remove_tree "$root/build"
        rm -rf "$logs"
}
trap cleanup EXIT

if ! command -v mmdebstrap >/dev/null; then
        say "installing mmdebstrap"
        apt-get update -q >"$logs/apt.log" 2>&1 || fail "$logs/apt.log" "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap \
                >>"$logs/apt.log" 2>&1 || fail "$logs/apt.log" "apt-get install mmdebstrap"
fi

mkdir -p "$cache"
exec 9>"$cache/chroot-$suite.lock"
flock 9 # one run per suite at a time: they share the chroot

if [ -n "${CHROOT_REFRESH:-}" ] || [ "$(cat "$root/.docker-run-key" 2>/dev/null)" != "$key" ]; then
        say "creating the chroot in $root"
        for d in "$root" "$root.new"; do
                [ ! -e "$d" ] || remove_tree "$d"
        done
        unshare --mount --propagation private \
                mmdebstrap --variant=apt --include="$packages" "$suite" "$root.new" >"$logs/mmdebstrap.log" 2>&1 ||
                fail "$logs/mmdebstrap.log" "mmdebstrap"
        echo "$key" >"$root.new/.docker-run-key"
        mv "$root.new" "$root"
        say "chroot made in $((SECONDS - started)) s"
else
        say "using the cached chroot in $root"
fi

# A clean copy of the working tree: git's files, tracked or new, without build outputs.
[ ! -e "$root/build" ] || remove_tree "$root/build"
mkdir -p "$root/build/src"
(
        cd "$top"
        git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
                if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi # skip files deleted in the tree
        done | tar --null -T - -cf -
) | tar -C "$root/build/src" -xf -

in_chroot() {
        unshare --mount --propagation private --pid --fork --kill-child --mount-proc="$root/proc" \
                chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
                sh -c "cd /build/src && $*"
}

built=$SECONDS
in_chroot 'echo "gcc $(gcc -dumpfullversion), libcurl $(pkg-config --modversion libcurl),' \
        'json-c $(pkg-config --modversion json-c), autoconf $(autoconf --version | sed -n "1s/.* //p"),' \
        'automake $(automake --version | sed -n "1s/.* //p")"' >"$logs/versions.log" 2>&1 ||
        fail "$logs/versions.log" "the chroot does not run"
say "$(cat "$logs/versions.log")"
in_chroot 'autoreconf -fi' >"$logs/autoreconf.log" 2>&1 || fail "$logs/autoreconf.log" "autoreconf"
in_chroot './configure --prefix=/usr --sysconfdir=/etc' >"$logs/configure.log" 2>&1 ||
        fail "$logs/configure.log" "configure"
# The program and every check program (the unit tests, the fuzz replayers), so no warning hides.
in_chroot 'make -j"$(nproc)" all && make -j"$(nproc)" check TESTS=' >"$logs/make.log" 2>&1 ||
        fail "$logs/make.log" "make"
if grep -q ': warning:' "$logs/make.log"; then
        grep -A 3 ': warning:' "$logs/make.log" >"$logs/warnings.log"
        fail "$logs/warnings.log" "the build has compiler warnings"
fi
# UNIT_TESTS is expanded by make itself, so the list is Makefile.am's whatever it holds.
in_chroot 'make check TESTS="\$(UNIT_TESTS)" || { cat test-suite.log; exit 1; }' >"$logs/check.log" 2>&1 ||
        fail "$logs/check.log" "unit tests"
passed=$(grep -c '^PASS: ' "$logs/check.log" || true)
[ "$passed" -gt 0 ] || fail "$logs/check.log" "no unit test ran"
say "$passed unit tests pass ($(grep '^PASS: ' "$logs/check.log" | cut -d' ' -f2 | paste -sd' ')); build and tests took $((SECONDS - built)) s, $((SECONDS - started)) s in all"
