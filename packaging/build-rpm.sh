#!/usr/bin/env bash
# build-rpm: the RPM from the `make dist` tarball, checked with rpmlint and rpm -qlp.
#   packaging/build-rpm.sh [OUTDIR]   (default: ./dist-packages)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-dist-packages}" && cd "${1:-dist-packages}" && pwd)
spec=$top/packaging/rpm/docker-run.spec

. "$top/packaging/bootstrap.sh"
bootstrap_packages rpm rpmlint
version=$(bootstrap_dist)
cd "$top"
spec_version=$(sed -n 's/^Version: *//p' "$spec")
if [ "$version" != "$spec_version" ]; then
        echo "build-rpm: the spec says $spec_version, configure says $version" >&2
        exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{SOURCES,SPECS,BUILD,RPMS,SRPMS,BUILDROOT}
cp "docker-run-$version.tar.xz" "$work/SOURCES/"
cp packaging/sysusers.d/docker-run.conf "$work/SOURCES/docker-run.sysusers"
# Debian's rpm lacks Fedora's systemd macros (loaded from a local file for this build only), and its
# database knows none of the BuildRequires, which are Debian packages here: hence --nodeps.
rpmbuild -bb --nodeps --define "_topdir $work" \
        --define "packager docker-run developers <maintainers@docker-run.invalid>" --load "$top/packaging/rpm/macros.systemd-local" "$spec" \
        >"$work/build.log" 2>&1 || {
        tail -n 40 "$work/build.log"
        exit 1
}
rpm=$(ls "$work"/RPMS/*/docker-run-"$version"-*.rpm | grep -v debug | head -n 1)
cp "$rpm" "$out/"
rpm="$out/$(basename "$rpm")"
echo "build-rpm: $rpm"

echo "build-rpm: rpmlint"
rpmlint -r "$top/packaging/rpm/docker-run.rpmlintrc" "$spec" "$rpm" | tee "$work/rpmlint.log" || true
if ! grep -qE 'checked; 0 errors' "$work/rpmlint.log"; then
        echo "build-rpm: rpmlint reports errors" >&2
        exit 1
fi

files=$(rpm -qlp "$rpm")
missing=0
for f in /usr/sbin/docker-run /usr/lib/systemd/system/docker-run.socket /usr/lib/systemd/system/docker-run@.service \
        /usr/lib/systemd/system/docker-run-sweep.service /usr/lib/systemd/system/docker-run-sweep.timer \
        /usr/lib/sysusers.d/docker-run.conf /etc/docker-run/docker-run.conf /usr/share/man/man8/docker-run.8; do
        if ! grep -qx "$f\(\.gz\)\?" <<<"$files"; then
                echo "build-rpm: $f is not in the package" >&2
                missing=1
        fi
done
[ "$missing" -eq 0 ] && echo "build-rpm: the file list has the binary, the units, the sysusers file, the configuration and the man page"
exit "$missing"
