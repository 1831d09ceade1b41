#!/bin/sh
# make bench: unpack one large realistic layer three ways in one hyperfine run.
#
# The layer is a Debian bookworm minbase tree (debootstrap --variant=minbase) from the apt
# mirror this machine is configured with, packed by hack/mkimage as a single gzip layer in
# an OCI layout. Tree and image are cached outside the repo in $EDGERUN_BENCH_CACHE
# (default /var/cache/edgerun-bench); delete that directory to rebuild them.
#
# Compared, each starting from an absent destination (hyperfine --prepare):
#   edgerun       bench/cmd/unpack: rootfs.Unpack of the blob (secure, fd-relative)
#   tar -xzf      GNU tar + gzip of the same blob, as root (owners kept)
#   umoci unpack  umoci unpack of the same image (also writes its mtree manifest)
# Results: out/bench/unpack.json and unpack.md; ratios are printed at the end.
#
# Usage: bench/run.sh MKIMAGE UNPACK   (paths of the built hack/mkimage and bench/cmd/unpack)
# Knobs: BENCH_RUNS (default 5), DEBIAN_MIRROR (default: from /etc/apt/sources.list*).
set -eu

MKIMAGE=$1
UNPACK=$2
CACHE=${EDGERUN_BENCH_CACHE:-/var/cache/edgerun-bench}
OUT=${BENCH_OUT:-out/bench}
RUNS=${BENCH_RUNS:-5}
SUITE=bookworm
ROOTFS=$CACHE/rootfs-$SUITE-minbase
LAYOUT=$CACHE/oci-$SUITE-minbase
DST=$CACHE/dst

if [ "$(id -u)" != 0 ]; then
	echo "bench: debootstrap and a faithful unpack (owners, device nodes) need root" >&2
	exit 1
fi

# mirror prints the URI of the first apt source that serves $SUITE.
mirror() {
	if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v suite="$SUITE" 'BEGIN { RS = ""; FS = "\n" }
		{ uri = ""; ok = 0
		  for (i = 1; i <= NF; i++) {
		    if ($i ~ /^URIs:/) { split($i, a, " "); uri = a[2] }
		    if ($i ~ /^Suites:/) { n = split($i, s, " "); for (j = 2; j <= n; j++) if (s[j] == suite) ok = 1 }
		  }
		  if (ok && uri != "") { print uri; exit } }' "$f"
	done | head -n 1 | grep . && return
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }' | grep . && return
	echo "bench: no apt source for $SUITE found: set DEBIAN_MIRROR" >&2
	return 1
}

mkdir -p "$CACHE" "$OUT"
if [ ! -d "$ROOTFS" ]; then
	url=$(mirror)
	echo "bench: debootstrap --variant=minbase $SUITE from $url into $ROOTFS (once, a few minutes)"
	rm -rf "$ROOTFS.tmp"
	debootstrap --variant=minbase "$SUITE" "$ROOTFS.tmp" "$url" >"$CACHE/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$CACHE/debootstrap.log" >&2; exit 1; }
	# Leftovers of the build that are not part of an image.
	rm -rf "$ROOTFS.tmp/var/cache/apt/archives/"*.deb "$ROOTFS.tmp/var/lib/apt/lists/"*_Packages
	mv "$ROOTFS.tmp" "$ROOTFS"
fi
if [ ! -s "$LAYOUT.blob" ] || [ ! -f "$(cat "$LAYOUT.blob")" ]; then
	echo "bench: packing $ROOTFS into the OCI layout $LAYOUT"
	"$MKIMAGE" tree -o "$LAYOUT" -ref "$SUITE" -src "$ROOTFS" >"$LAYOUT.blob.tmp"
	mv "$LAYOUT.blob.tmp" "$LAYOUT.blob"
fi
BLOB=$(cat "$LAYOUT.blob")
echo "bench: layer $BLOB: $(du -m "$BLOB" | cut -f1) MB gzip, $(tar -tzf "$BLOB" | wc -l) entries"

rm -rf "$DST"
hyperfine --style basic --warmup 1 --runs "$RUNS" \
	--prepare "rm -rf '$DST' && sync" \
	--export-json "$OUT/unpack.json" --export-markdown "$OUT/unpack.md" \
	-n edgerun "'$UNPACK' '$BLOB' '$DST'" \
	-n "tar -xzf" "mkdir '$DST' && tar -xzf '$BLOB' -C '$DST'" \
	-n "umoci unpack" "umoci unpack --image '$LAYOUT:$SUITE' '$DST'"
rm -rf "$DST"

echo "bench: mean times and ratios (other / edgerun; above 1 means edgerun is faster):"
jq -r '(.results[] | select(.command == "edgerun") | .mean) as $e
	| .results[] | "  \(.command): \(.mean * 1000 | floor) ms ± \(.stddev * 1000 | floor) ms, ratio \((.mean / $e) * 100 | floor / 100)"' \
	"$OUT/unpack.json"
