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
# Results: out/bench/unpack.json (one hyperfine run per command, merged); ratios are printed at
# the end.
#
# Usage: bench/run.sh MKIMAGE UNPACK [EDGERUN]   (paths of the built hack/mkimage,
#   bench/cmd/unpack and, for the peak RSS of `edgerun load` of the same image, bin/edgerun)
# Knobs: BENCH_RUNS (default 5), DEBIAN_MIRROR (default: from /etc/apt/sources.list*),
# BENCH_DST (default $CACHE/dst; e.g. a tmpfs path to take the disk out of the comparison).
set -eu

MKIMAGE=$1
UNPACK=$2
EDGERUN=${3:-}
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
#
# Where: by default a new ext4 file system in a sparse file on the same disk ($CACHE/fs.img,
# loop device with direct I/O), made again for each command so that none starts on a file system
# another has filled (the later commands of one file system ran 10-20% slower in trials), and
# nothing is deleted in it while the command runs: the prepare step moves the previous tree
# aside. Deleting it instead (rm -rf, as this script did before) makes every tool measure ext4's
# inode allocator: for 60 to 300 s after thousands of inodes are freed, each create scans past
# them (recently_deleted() in fs/ext4/ialloc.c; perf showed 40% of all CPU there and 5 s of
# system time per run, for tar and edgerun alike). BENCH_DST=PATH (a tmpfs, or a directory on
# the disk to see that effect) uses PATH instead, deleting between runs, all commands in one
# hyperfine run.
unmount_fs() {
	if [ -n "${FS_MNT:-}" ]; then
		umount "$FS_MNT" 2>/dev/null || umount -l "$FS_MNT"
		rmdir "$FS_MNT"
	fi
	[ -n "${FS_LOOP:-}" ] && losetup -d "$FS_LOOP" 2>/dev/null
	rm -f "$CACHE/fs.img"
	FS_MNT= FS_LOOP=
}
# fresh_fs: a new file system for RUNS + 1 trees (and one load), mounted at $FS_MNT.
fresh_fs() {
	unmount_fs
	truncate -s $(((RUNS + 2) * 240 + 1024))M "$CACHE/fs.img"
	mkfs.ext4 -q -F -N $(((RUNS + 2) * 7000 + 10000)) "$CACHE/fs.img"
	FS_LOOP=$(losetup --direct-io=on -f --show "$CACHE/fs.img")
	FS_MNT=$(mktemp -d /tmp/edgerun-bench-fs.XXXXXX)
	mount "$FS_LOOP" "$FS_MNT"
	mkdir "$FS_MNT/aside"
}
set -- \
	edgerun "'$UNPACK' '$BLOB' '\$DST'" \
	"edgerun nosync" "'$UNPACK' -mode nosync '$BLOB' '\$DST'" \
	"edgerun cache" "'$UNPACK' -mode cache -diffid '$DIFFID' '$BLOB' '\$DST'" \
	"tar -xzf" "mkdir '\$DST' && tar -xzf '$BLOB' -C '\$DST'" \
	"tar -xzf + sync" "mkdir '\$DST' && tar -xzf '$BLOB' -C '\$DST' && sync -f '\$DST'" \
	"umoci unpack" "umoci unpack --image '$LAYOUT:$SUITE' '\$DST'"
# cmd TEMPLATE: the command with $DST filled in.
cmd() { echo "$1" | sed "s|\\\$DST|$DST|g"; }
if [ -z "${BENCH_DST:-}" ]; then
	trap unmount_fs EXIT
	trap 'exit 130' INT TERM
fi
i=0
parts=
while [ $# -gt 0 ]; do
	if [ -n "${BENCH_DST:-}" ]; then
		DST=$BENCH_DST
		rm -rf "$DST"
		prepare="rm -rf '$DST' && sync"
	else
		fresh_fs
		DST=$FS_MNT/dst
		prepare="if [ -e '$DST' ]; then mv '$DST' '$FS_MNT/aside/'\$(date +%s%N); fi; sync"
	fi
	hyperfine --style basic --warmup 1 --runs "$RUNS" --prepare "$prepare" \
		--export-json "$OUT/unpack.$i.json" -n "$1" "$(cmd "$2")"
	parts="$parts $OUT/unpack.$i.json"
	i=$((i + 1))
	shift 2
done
# shellcheck disable=SC2086 # the part files
jq -s '{results: map(.results[])}' $parts >"$OUT/unpack.json"
# shellcheck disable=SC2086
rm -f $parts
if [ -z "${BENCH_DST:-}" ]; then
	fresh_fs # for the load below
	DST=$FS_MNT/dst
fi
rm -rf "$DST"

# Peak RSS of `edgerun load` of the same image: a new root each time, on the same file system
# (GNU time's %M: the largest resident set of the process).
if [ -n "$EDGERUN" ]; then
	LROOT=${FS_MNT:-$(dirname "$DST")}/load
	i=0
	while [ $i -lt 3 ]; do
		rm -rf "$LROOT"
		/usr/bin/time -f %M -o "$OUT/load-rss.$i" "$EDGERUN" --root "$LROOT/root" --state "$LROOT/state" \
			load -i "$LAYOUT" >/dev/null || { echo "bench: edgerun load failed" >&2; exit 1; }
		i=$((i + 1))
	done
	rm -rf "$LROOT"
	LOAD_RSS=$(cat "$OUT"/load-rss.* | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
	rm -f "$OUT"/load-rss.*
fi
if [ -z "${BENCH_DST:-}" ]; then unmount_fs; fi

# The machine is noisy (a VM whose page allocation costs vary run to run), so medians are
# printed beside means; docs/benchmarks.md reports both.
echo "bench: times and ratios (other / edgerun; above 1 means edgerun is faster):"
jq -r '(.results[] | select(.command == "edgerun") | [.mean, .median]) as [$em, $ed]
	| .results[] | "  \(.command): mean \(.mean * 1000 | floor) ms ± \(.stddev * 1000 | floor) ms, median \(.median * 1000 | floor) ms, min \(.min * 1000 | floor) ms; ratio mean \((.mean / $em) * 100 | floor / 100), median \((.median / $ed) * 100 | floor / 100)"' \
	"$OUT/unpack.json"

# Issue 19's targets, on medians: edgerun as shipped (with its syncfs) against plain tar -xzf
# (without one), and umoci against edgerun.
. "$(dirname "$0")/target.sh"
where=${BENCH_DST:+ on $BENCH_DST}
target "unpack: edgerun / tar -xzf (median)$where" \
	"$(jq -r '(.results[] | select(.command == "edgerun") | .median) as $e
		| .results[] | select(.command == "tar -xzf") | $e / .median * 100 | round / 100' "$OUT/unpack.json")" "<=" 0.8
target "unpack: umoci / edgerun (median)$where" \
	"$(jq -r '(.results[] | select(.command == "edgerun") | .median) as $e
		| .results[] | select(.command == "umoci unpack") | .median / $e * 100 | round / 100' "$OUT/unpack.json")" ">=" 2
if [ -n "$EDGERUN" ]; then
	target "unpack: peak RSS of edgerun load, MiB" "$(awk -v k="$LOAD_RSS" 'BEGIN { printf "%.1f", k / 1024 }')" "<=" 64
fi
