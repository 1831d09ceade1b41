#!/bin/sh
# Registry pull benchmark: pull a realistic multi-layer image from Debian's docker-registry on
# loopback with `edgerun pull`, `skopeo copy` to an OCI directory and `podman pull`, in one
# hyperfine run; then measure how many bytes an interrupted edgerun pull fetches twice.
#
# The image: the debootstrap'd bookworm minbase tree of bench/run.sh (cached in
# $EDGERUN_BENCH_CACHE, default /var/cache/edgerun-bench; bench/run.sh builds it) split by GNU
# tar into four layers (everything but usr/ and var/; usr/ but usr/share/; usr/share/; var/),
# gzip-compressed by bench/cmd/mklayers into an OCI layout (cached beside the tree).
#
# Each command starts from an empty store (hyperfine --prepare) and is done when the image is
# usable:
#   edgerun pull      download, verify, unpack every layer (syncfs) into its layer cache, name it
#   skopeo copy       download and verify the blobs into an OCI layout directory (no unpack)
#   podman pull       download, verify, unpack into overlay storage
# The resume part (bench/cmd/pullresume) interrupts `edgerun pull` with kill -9 and SIGINT at
# 25/50/75% of the layer bytes behind a throttling proxy and counts the blob bytes served twice.
#
# bench/cmd/pulltime then splits edgerun's time into phases (manifest resolved, last layer
# downloaded and verified, image named) from its --format json events.
#
# Usage: bench/run-pull.sh EDGERUN MKLAYERS PULLRESUME PULLTIME
# Knobs: BENCH_RUNS (default 5), OUT (default out/bench), RESUME_RATE (bytes/s per download
# through the proxy, default 20000000).
set -eu
. "$(dirname "$0")/podman.sh"

EDGERUN=$(realpath "$1")
MKLAYERS=$(realpath "$2")
PULLRESUME=$(realpath "$3")
PULLTIME=$(realpath "$4")
CACHE=${EDGERUN_BENCH_CACHE:-/var/cache/edgerun-bench}
RUNS=${BENCH_RUNS:-5}
OUT=${OUT:-out/bench}
ROOTFS=$CACHE/rootfs-bookworm-minbase-full
LAYOUT=$CACHE/oci-bookworm-minbase-4layers
REF=bench/minbase:4layers

die() { echo "bench-pull: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (a faithful tree, podman's storage): run as root"
for t in hyperfine skopeo podman docker-registry jq curl tar /usr/bin/time; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found: run make bench-deps"
done
[ -d "$ROOTFS" ] || die "$ROOTFS missing: run bench/run.sh (make bench) once to debootstrap it"
mkdir -p "$OUT"

if [ ! -f "$LAYOUT/index.json" ]; then
	echo "bench-pull: splitting $ROOTFS into four layers: $LAYOUT"
	P=$CACHE/parts.tmp
	rm -rf "$P" "$LAYOUT"
	mkdir -p "$P"
	tar -C "$ROOTFS" --numeric-owner --xattrs -cf "$P/1.tar" --exclude=./usr --exclude=./var .
	tar -C "$ROOTFS" --numeric-owner --xattrs -cf "$P/2.tar" --exclude=./usr/share ./usr
	tar -C "$ROOTFS" --numeric-owner --xattrs -cf "$P/3.tar" ./usr/share
	tar -C "$ROOTFS" --numeric-owner --xattrs -cf "$P/4.tar" ./var
	"$MKLAYERS" -o "$LAYOUT.tmp" -ref latest "$P/1.tar" "$P/2.tar" "$P/3.tar" "$P/4.tar"
	mv "$LAYOUT.tmp" "$LAYOUT"
	rm -rf "$P"
fi

T=$(mktemp -d /tmp/edgerun-bench-pull.XXXXXX)
REG_PID=
cleanup() {
	set +e
	[ -n "$REG_PID" ] && kill "$REG_PID" && wait "$REG_PID" 2>/dev/null
	podman_cleanup
	awk -v t="$T" '$2 ~ "^"t {print $2}' /proc/self/mounts | sort -r | while read -r m; do
		umount -l "$m"
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The registry: a free loopback port, storage in $T.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
REG=127.0.0.1:$PORT
cat >"$T/registry.yml" <<EOC
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $T/registry
http:
  addr: $REG
EOC
docker-registry serve "$T/registry.yml" >"$T/registry.log" 2>&1 &
REG_PID=$!
i=0
until curl -fs "http://$REG/v2/" >/dev/null; do
	i=$((i + 1))
	[ $i -lt 100 ] || die "docker-registry did not start: $(cat "$T/registry.log")"
	sleep 0.1
done
skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:latest" "docker://$REG/$REF"
size=$(skopeo inspect --raw --tls-verify=false "docker://$REG/$REF" | jq '[.layers[].size] | add')
echo "bench-pull: $REG/$REF: 4 layers, $((size / 1000000)) MB compressed"

ER="$EDGERUN --root $T/edgerun/root --state $T/edgerun/state"
podman_init

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
hyperfine --style basic --warmup 1 --runs "$RUNS" \
	--export-json "$OUT/pull.json" --export-markdown "$OUT/pull.md" \
	--prepare "rm -rf '$T/edgerun' '$T/oci' && $PODMAN rmi -af >/dev/null 2>&1; sync" \
	-n "edgerun pull" "$ER pull -q $REG/$REF" \
	-n "skopeo copy (oci dir)" "skopeo copy -q --src-tls-verify=false docker://$REG/$REF oci:$T/oci:latest" \
	-n "podman pull" "$PODMAN pull -q --tls-verify=false $REG/$REF"

echo "bench-pull: times and ratios (edgerun / other; at most 1 means edgerun is as fast or faster):"
jq -r '(.results[] | select(.command == "edgerun pull") | [.mean, .median]) as [$em, $ed]
	| .results[] | "  \(.command): mean \(.mean * 1000 | floor) ms ± \(.stddev * 1000 | floor) ms, median \(.median * 1000 | floor) ms; edgerun/this mean \(($em / .mean) * 100 | floor / 100), median \(($ed / .median) * 100 | floor / 100)"' \
	"$OUT/pull.json" | tee "$OUT/pull-summary.txt"
echo "  load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs); $(date -u +%Y-%m-%dT%H:%M:%SZ)" |
	tee -a "$OUT/pull-summary.txt"

# Peak RSS of edgerun pull of this image (4 layers unpacked at once): GNU time's %M, median of 3,
# each into a new root.
for i in 1 2 3; do
	rm -rf "$T/edgerun"
	/usr/bin/time -f %M -o "$T/rss.$i" $ER pull -q "$REG/$REF" >/dev/null || die "edgerun pull failed"
done
rm -rf "$T/edgerun"
pull_rss=$(cat "$T"/rss.* | sort -n | sed -n 2p)
echo "bench-pull: peak RSS of edgerun pull: $((pull_rss / 1024)) MiB (median of 3)" | tee -a "$OUT/pull-summary.txt"
. "$(dirname "$0")/target.sh"
target "pull: peak RSS of edgerun pull (4 layers), MiB" "$(awk -v k="$pull_rss" 'BEGIN { printf "%.1f", k / 1024 }')" "<=" 64

echo "bench-pull: edgerun pull phases:"
"$PULLTIME" -edgerun "$EDGERUN" -runs "$RUNS" "$REG/$REF" | tee -a "$OUT/pull-summary.txt"

echo "bench-pull: interrupted pulls (bytes fetched twice), $((${RESUME_RATE:-20000000} / 1000000)) MB/s per download:"
"$PULLRESUME" -edgerun "$EDGERUN" -registry "$REG" -ref "$REF" -rate "${RESUME_RATE:-20000000}" |
	tee "$OUT/pull-resume.md"
