#!/bin/sh
# make bench: unpack one large realistic layer three ways in one hyperfine run.
#
# The layer is a Debian bookworm minbase tree (debootstrap --variant=minbase) from the apt
# mirror this machine is configured with, packed by hack/mkimage as a single gzip layer in
# an OCI layout. Tree and image are cached outside the repo in $EDGERUN_BENCH_CACHE
# (default /var/cache/edgerun-bench); delete that directory to rebuild them.
#
# Compared, each starting from an absent destination (hyperfine --prepare):
#   edgerun          bench/cmd/unpack: rootfs.Unpack of the blob (secure, fd-relative) + syncfs
#   edgerun nosync   the same without the syncfs (benchmark-only; not durable)
#   edgerun cache    rootfs.Cache.Ensure of the blob (the path `edgerun load` takes)
#   tar -xzf         GNU tar + gzip of the same blob, as root (owners kept)
#   tar -xzf + sync  the same, then sync -f (syncfs) for durability like edgerun's
#   umoci unpack     umoci unpack of the same image (also writes its mtree manifest)
# Results: out/bench/unpack.json and unpack.md; ratios are printed at the end.
#
# Usage: bench/run.sh MKIMAGE UNPACK   (paths of the built hack/mkimage and bench/cmd/unpack)
# Knobs: BENCH_RUNS (default 5), DEBIAN_MIRROR (default: from /etc/apt/sources.list*),
# BENCH_DST (default $CACHE/dst; e.g. a tmpfs path to take the disk out of the comparison).
set -eu

MKIMAGE=$1
UNPACK=$2
CACHE=${EDGERUN_BENCH_CACHE:-/var/cache/edgerun-bench}
OUT=${BENCH_OUT:-out/bench}
RUNS=${BENCH_RUNS:-5}
SUITE=bookworm
# The "-full" key: the tree is kept exactly as debootstrap leaves it (its .debs in
# var/cache/apt/archives and the apt lists included), about 95 MB gzip and 6,800 entries, as
# issue 2 asks. Earlier trees without them (key "minbase", 48 MB) are not reused.
ROOTFS=$CACHE/rootfs-$SUITE-minbase-full
LAYOUT=$CACHE/oci-$SUITE-minbase-full
DST=${BENCH_DST:-$CACHE/dst}

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
	mv "$ROOTFS.tmp" "$ROOTFS"
fi
if [ ! -s "$LAYOUT.blob" ] || [ ! -f "$(cat "$LAYOUT.blob")" ]; then
	echo "bench: packing $ROOTFS into the OCI layout $LAYOUT"
	"$MKIMAGE" tree -o "$LAYOUT" -ref "$SUITE" -src "$ROOTFS" >"$LAYOUT.blob.tmp"
	mv "$LAYOUT.blob.tmp" "$LAYOUT.blob"
fi
BLOB=$(cat "$LAYOUT.blob")
echo "bench: layer $BLOB: $(($(stat -c %s "$BLOB") / 1000000)) MB gzip, $(tar -tzf "$BLOB" | wc -l) entries"

# The layer's diff ID, for the cache mode: index -> manifest -> config -> rootfs.diff_ids[0].
blobpath() { echo "$LAYOUT/blobs/$(echo "$1" | tr : /)"; }
manifest=$(jq -r '.manifests[0].digest' "$LAYOUT/index.json")
config=$(jq -r '.config.digest' "$(blobpath "$manifest")")
DIFFID=$(jq -r '.rootfs.diff_ids[0]' "$(blobpath "$config")")

# Every command writes below $DST on the same filesystem, starting from an absent $DST with
# the previous run's pages flushed (--prepare). "edgerun" is the shipped behaviour: the
# unpack plus the one syncfs(2) per layer that makes it durable; tar and umoci leave dirty
# pages to the kernel, so "edgerun nosync" (benchmark-only mode) and "tar -xzf + sync" give
# the like-for-like pairs. "edgerun cache" is the whole Cache.Ensure path (diff ID check,
# staging dir, marker, syncfs, rename).
rm -rf "$DST"
hyperfine --style basic --warmup 1 --runs "$RUNS" \
	--prepare "rm -rf '$DST' && sync" \
	--export-json "$OUT/unpack.json" --export-markdown "$OUT/unpack.md" \
	-n edgerun "'$UNPACK' '$BLOB' '$DST'" \
	-n "edgerun nosync" "'$UNPACK' -mode nosync '$BLOB' '$DST'" \
	-n "edgerun cache" "'$UNPACK' -mode cache -diffid '$DIFFID' '$BLOB' '$DST'" \
	-n "tar -xzf" "mkdir '$DST' && tar -xzf '$BLOB' -C '$DST'" \
	-n "tar -xzf + sync" "mkdir '$DST' && tar -xzf '$BLOB' -C '$DST' && sync -f '$DST'" \
	-n "umoci unpack" "umoci unpack --image '$LAYOUT:$SUITE' '$DST'"
rm -rf "$DST"

# The machine is noisy (a VM whose page allocation costs vary run to run), so medians are
# printed beside means; docs/benchmarks.md reports both.
echo "bench: times and ratios (other / edgerun; above 1 means edgerun is faster):"
jq -r '(.results[] | select(.command == "edgerun") | [.mean, .median]) as [$em, $ed]
	| .results[] | "  \(.command): mean \(.mean * 1000 | floor) ms ± \(.stddev * 1000 | floor) ms, median \(.median * 1000 | floor) ms, min \(.min * 1000 | floor) ms; ratio mean \((.mean / $em) * 100 | floor / 100), median \((.median / $ed) * 100 | floor / 100)"' \
	"$OUT/unpack.json"
