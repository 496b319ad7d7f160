#!/usr/bin/env bash
# build-deb: the Debian package from the `make dist` tarball, checked with lintian.
#   packaging/build-deb.sh [OUTDIR]   (default: ./dist-packages)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-dist-packages}" && cd "${1:-dist-packages}" && pwd)
debian=${DEBIAN_DIR:-$top/packaging/debian}

. "$top/packaging/bootstrap.sh"
bootstrap_packages debhelper dpkg-dev fakeroot lintian
version=$(bootstrap_dist)
cd "$top"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xf "docker-run-$version.tar.xz"
cp -r "$debian" "$work/docker-run-$version/debian"
(cd "$work/docker-run-$version" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) || {
        tail -n 40 "$work/build.log"
        exit 1
}
cp "$work"/docker-run_"$version"*_*.deb "$out"/
deb=$(ls "$out"/docker-run_"$version"*_"$(dpkg --print-architecture)".deb | head -n 1)
echo "build-deb: $deb"
lintian --fail-on error,warning "$deb"
echo "build-deb: lintian found no error and no warning"
