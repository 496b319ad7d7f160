#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# build: the test images, from local files only (busybox-static, a static runner, docker import).
# Idempotent: a hash of runner.c and this script is a label; images already carrying it are kept.
# --sample also makes docker-run/sample:latest, the runner under a label clean.sh leaves alone.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
umask 022
sample=false
case "${1:-}" in
"") ;;
--sample) sample=true ;;
*)
        echo "usage: $0 [--sample]" >&2
        exit 2
        ;;
esac

busybox=${BUSYBOX:-/bin/busybox}
hash=$(cat "$here/runner.c" "$here/build.sh" | sha256sum | cut -d' ' -f1)

# name and CMD (JSON) of every test image
images=(
        "docker-run-test/runner:latest" '["/runner"]'
        "docker-run-test/stderr:latest" '["/bin/sh","-c","cat >/dev/null; echo '\''runner exploded'\'' >&2"]'
        "docker-run-test/nonjson:latest" '["/bin/sh","-c","cat >/dev/null; echo '\''this is not json'\''"]'
        "docker-run-test/drip:latest" '["/bin/sh","-c","while :; do printf x; sleep 1; done"]'
        "docker-run-test/flood:latest" '["/bin/yes"]'
        "docker-run-test/silent:latest" '["/bin/sh","-c","cat >/dev/null"]'
        "docker-run-test/stderr-first:latest" '["/bin/sh","-c","cat >/dev/null; echo '\''warned first'\'' >&2; printf '\''{\"stdout\":\"\",\"stderr\":\"\",\"error\":\"\"}'\''"]'
        "docker-run-test/lingers:latest" '["/bin/sh","-c","cat >/dev/null; printf '\''{\"stdout\":\"early\",\"stderr\":\"\",\"error\":\"\"}'\''; sleep 1; echo late >&2; sleep 100"]'
)
sample_name="docker-run/sample:latest"

# Several test programs may call us at once: one build at a time.
exec 9>"${TMPDIR:-/tmp}/docker-run-test-images.lock"
flock 9

label_of() {
        docker image inspect --format "{{index .Config.Labels \"$2\"}}" "$1" 2>/dev/null || true
}

layers_of() {
        docker image inspect --format '{{json .RootFS.Layers}}' "$1" 2>/dev/null || true
}

stale=()
for ((i = 0; i < ${#images[@]}; i += 2)); do
        [[ "$(label_of "${images[i]}" docker-run.test.hash)" == "$hash" ]] || stale+=("$i")
done
# The sample carries only its own label: it is current when it holds the runner's very layer.
sample_stale=false
if $sample && { ((${#stale[@]})) || [[ "$(label_of "$sample_name" docker-run.sample)" != 1 ]] ||
        [[ "$(layers_of "$sample_name")" != "$(layers_of "${images[0]}")" ]]; }; then
        sample_stale=true
fi
if ((${#stale[@]} == 0)) && ! $sample_stale; then
        echo "test images up to date (${hash:0:12})"
        exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root

# Built outside the source tree: it may be read-only (distcheck), and the binary is no source.
gcc -static -O2 -Wall -Wextra -o "$tmp/runner" "$here/runner.c" -ljson-c

mkdir -p "$root"/{bin,etc,home/glot,tmp,root,proc,sys,dev}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
        [[ -e "$root/bin/$applet" ]] || ln -s busybox "$root/bin/$applet"
done
# Scripts written for /usr/bin/env and friends find the same applets.
ln -s bin "$root/sbin"
mkdir -p "$root/usr"
ln -s ../bin "$root/usr/bin"
ln -s ../bin "$root/usr/sbin"
install -m 0755 "$tmp/runner" "$root/runner"
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'glot:x:1000:1000:glot:/home/glot:/bin/sh' >"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'glot:x:1000:' >"$root/etc/group"
# The handler mounts a tmpfs on /home/glot. runc gives a tmpfs the mode of the directory beneath but
# not its owner (root:root), so only a world-writable mode lets glot write there; sticky as for /tmp.
chmod 1777 "$root/home/glot"
chmod 0700 "$root/root"
chmod 1777 "$root/tmp"

# Ownership is set in the archive, not on disk: no need to be root, and the layer is reproducible.
tarflags=(--numeric-owner --sort=name --mtime=@0 -C "$root")
tar "${tarflags[@]}" --owner=0 --group=0 --exclude=./home/glot -cf "$tmp/rootfs.tar" .
tar "${tarflags[@]}" --owner=1000 --group=1000 -rf "$tmp/rootfs.tar" ./home/glot

common=(--change 'ENV PATH=/bin:/usr/bin:/sbin:/usr/sbin' --change 'WORKDIR /home/glot')

# import_image NAME CMD LABEL... — replaces NAME, dropping the image it replaces when nothing else holds it.
import_image() {
        local name=$1 cmd=$2 old new
        shift 2
        local changes=("${common[@]}" --change "CMD $cmd")
        for label in "$@"; do
                changes+=(--change "LABEL $label")
        done
        old=$(docker image inspect --format '{{.Id}}' "$name" 2>/dev/null || true)
        new=$(docker import "${changes[@]}" "$tmp/rootfs.tar" "$name")
        if [[ -n "$old" && "$old" != "$new" ]]; then
                docker image rm "$old" >/dev/null 2>&1 || true
        fi
        echo "built $name ${new:7:12}"
}

for i in "${stale[@]}"; do
        import_image "${images[i]}" "${images[i + 1]}" docker-run.test=1 "docker-run.test.hash=$hash"
done
if $sample_stale; then
        import_image "$sample_name" "${images[1]}" docker-run.sample=1
fi
