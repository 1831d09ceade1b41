#!/bin/sh
# powercut-stage.sh DIR EDGERUN IMAGES MKIMAGE BUSYBOX: fill DIR with what the power-cut VM carries
# besides busybox and the modules (hack/vm/initramfs.sh copies DIR to /): no test binaries, but
#   usr/local/bin/edgerun          the binary under test
#   images/{busybox,sensor}        the test images' OCI layouts, for `edgerun load`
#   usr/bin/docker-registry        Debian's registry (a Go binary linked against glibc: its loader
#   lib64/, lib/x86_64-linux-gnu/  and libc, as ldd lists them, come along)
#   etc/docker/registry/config.yml the registry on 127.0.0.1:5000 in the guest, serving
#   var/lib/registry/              pc/pulled:latest: a busybox image built with another epoch, so
#                                  its blobs are not the loaded busybox's and every pull downloads
#   powercut.sh                    the guest's side of the leg (hack/vm/powercut-guest.sh)
# The registry's storage is filled here on the host: docker-registry on a free loopback port, and
# skopeo copies the image into it (both from `hack/deps.sh test`).
set -eu
dir=$1
edgerun=$2
images=$3
mkimage=$4
busybox=$5
here=$(cd "$(dirname "$0")" && pwd)

rm -rf "$dir"
mkdir -p "$dir/usr/local/bin" "$dir/usr/bin" "$dir/etc/docker/registry" "$dir/var/lib/registry" "$dir/images"
cp "$edgerun" "$dir/usr/local/bin/edgerun"
cp -a "$images/busybox" "$images/sensor" "$dir/images/"
cp "$here/powercut-guest.sh" "$dir/powercut.sh"

reg=$(command -v docker-registry) || { echo "powercut-stage.sh: docker-registry not found (hack/deps.sh test)" >&2; exit 1; }
command -v skopeo >/dev/null || { echo "powercut-stage.sh: skopeo not found (hack/deps.sh test)" >&2; exit 1; }
cp "$reg" "$dir/usr/bin/docker-registry"
# The shared libraries it needs, at the paths the loader looks for them.
ldd "$reg" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
	mkdir -p "$dir$(dirname "$lib")"
	cp -L "$lib" "$dir$lib"
done
cat >"$dir/etc/docker/registry/config.yml" <<'EOF'
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:5000
EOF

tmp=$(mktemp -d "${TMPDIR:-/tmp}/edgerun-powercut-stage.XXXXXX")
pid=
cleanup() {
	[ -z "$pid" ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
	rm -rf "$tmp"
}
trap cleanup EXIT
"$mkimage" busybox -o "$tmp/pulled" -ref pc/pulled:latest -epoch 86400 -bin "$busybox" >/dev/null
# A free port: try a few random ones (other builds may run registries on this machine too).
tries=0
while :; do
	tries=$((tries + 1))
	port=$(awk -v s="$$$tries" 'BEGIN { srand(s); print 20000 + int(rand() * 40000) }')
	sed "s/127.0.0.1:5000/127.0.0.1:$port/" "$dir/etc/docker/registry/config.yml" |
		sed "s|/var/lib/registry|$dir/var/lib/registry|" >"$tmp/config.yml"
	docker-registry serve "$tmp/config.yml" >"$tmp/registry.log" 2>&1 &
	pid=$!
	up=
	for _ in $(seq 50); do
		if "$busybox" wget -q -O /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null; then up=1; break; fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	[ -z "$up" ] || break
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=
	[ "$tries" -lt 10 ] || { echo "powercut-stage.sh: docker-registry did not start: $(cat "$tmp/registry.log")" >&2; exit 1; }
done
skopeo copy -q --dest-tls-verify=false "oci:$tmp/pulled:pc/pulled:latest" "docker://127.0.0.1:$port/pc/pulled:latest"
echo "powercut-stage.sh: $dir: edgerun, images $(ls "$dir/images" | tr '\n' ' ')and docker-registry with pc/pulled:latest ($(du -sh "$dir/var/lib/registry" | cut -f1))"
