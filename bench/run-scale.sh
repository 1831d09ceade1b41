#!/bin/sh
# Start time at scale: COUNT detached containers (`run -d busybox sleep 3600`, bridge network)
# started one after another, by edgerun and by podman, each start timed; then what `ps`, one more
# `run -d` and one `rm -f` cost with COUNT running, against the same with one running.
#
# Usage: bench/run-scale.sh EDGERUN_BIN IMAGES_DIR SCALESVG
#   SCALESVG  bench/cmd/scalesvg, which draws the curves (docs/scale.svg)
# Environment: COUNT (default 250; the ratio is also reported at 100), PODMAN_COUNT (default
#   COUNT; 0 leaves podman out), OUT (default out/bench), SVG (default docs/scale.svg).
# Writes $OUT/scale.csv (ENGINE,N,MS), $OUT/scale-summary.txt and $SVG.
#
# The target (issue 19): the 100th start takes at most 1.1x the first (medians of the first and
# the 91st-100th ten starts), and ps, run and rm do work that does not grow with the number of
# containers beyond what they must show.
set -eu
. "$(dirname "$0")/podman.sh"

EDGERUN=$(realpath "${1:?EDGERUN_BIN}")
IMAGES=$(realpath "${2:?IMAGES_DIR}")
SCALESVG=$(realpath "${3:?SCALESVG}")
COUNT=${COUNT:-250}
PODMAN_COUNT=${PODMAN_COUNT:-$COUNT}
OUT=${OUT:-out/bench}
SVG=${SVG:-docs/scale.svg}

# die also ends the script from inside a command substitution (timed runs in one).
die() { echo "bench-scale: $*" >&2; kill -TERM $$; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root: run as root"
for t in podman skopeo; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found: run make bench-deps"
done
[ -f "$IMAGES/busybox/index.json" ] || die "$IMAGES/busybox missing: run make images"
mkdir -p "$OUT"

T=$(mktemp -d /tmp/edgerun-bench-scale.XXXXXX)
# Where the state lives, for both engines: the persistent state on a new ext4 file system made
# for this run in a sparse file (loop device), the volatile state on a tmpfs, as /var/lib and
# /run are on a gateway. On a disk other benchmarks just wrote and deleted thousands of files
# on, ext4's inode allocator skips the recently deleted inodes for minutes and every create
# pays for it (see bench/run.sh and docs/benchmarks.md): that would measure the previous
# benchmark, and edgerun's rm -f of its 250 containers would slow podman's series after it.
# SCALE_FS=tmp keeps everything in $T on /tmp instead.
FS_IMG=$T.img FS_LOOP=
scale_cleanup() {
	bridge_bench_cleanup
	[ -z "$FS_LOOP" ] || losetup -d "$FS_LOOP" 2>/dev/null
	rm -f "$FS_IMG"
}
trap scale_cleanup EXIT
trap 'exit 130' INT TERM
DISK=$T RUN=$T
if [ "${SCALE_FS:-fresh}" != tmp ]; then
	truncate -s 8G "$FS_IMG"
	mkfs.ext4 -q -F "$FS_IMG"
	FS_LOOP=$(losetup --direct-io=on -f --show "$FS_IMG")
	mkdir -p "$T/disk" "$T/run"
	mount "$FS_LOOP" "$T/disk"
	mount -t tmpfs -o mode=0755 tmpfs "$T/run"
	DISK=$T/disk RUN=$T/run
fi
PODMAN_DISK=$DISK/podman PODMAN_RUN=$RUN/podman
# An installed copy, as the other benches run it (see bench/run-containers.sh).
install -D -m 0755 "$EDGERUN" "$T/bin/edgerun"
ER="$T/bin/edgerun --root $DISK/edgerun --state $RUN/edgerun --bridge erbench1 --subnet 10.198.0.0/16"

ms_now() { date +%s%N; }
# timed CMD...: runs CMD, prints its wall time in ms (3 decimals).
timed() {
	s=$(ms_now)
	"$@" >/dev/null || die "failed: $*"
	e=$(ms_now)
	echo "$s $e" | awk '{ printf "%.3f\n", ($2 - $1) / 1e6 }'
}
# median of the numbers on stdin
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# costs ENGINE LABEL: median of 5 of ps, run -d + rm -f of one more, with what runs now
costs() {
	ps_ms=$(for _ in 1 2 3 4 5; do timed $1 ps; done | median)
	run_ms=$(for i in 1 2 3 4 5; do timed $1 run -d --name extra$i $2 sleep 3600; done | median)
	rm_ms=$(for i in 1 2 3 4 5; do timed $1 rm -f $RMFLAGS extra$i; done | median)
	echo "$ps_ms $run_ms $rm_ms"
}

ref=busybox:latest
$ER load -q -i "$IMAGES/busybox" >/dev/null
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$OUT/scale.csv"
# series ENGINE CMD IMAGE N: N detached starts of CMD, each timed, into scale.csv; ps/run/rm
# costs with 1 and with N running into $T/ENGINE.costs.
series() {
	eng=$1 cmd=$2 img=$3 n=$4
	i=1
	while [ "$i" -le "$n" ]; do
		echo "$eng,$i,$(timed $cmd run -d --name s$i $img sleep 3600)" >>"$OUT/scale.csv"
		[ "$i" != 1 ] || costs "$cmd" "$img" >"$T/$eng.costs1"
		i=$((i + 1))
	done
	costs "$cmd" "$img" >"$T/$eng.costsN"
}
RMFLAGS= # edgerun's rm -f kills at once
series edgerun "$ER" "$ref" "$COUNT"
$ER rm -f $($ER ps -aq) >/dev/null
if [ "$PODMAN_COUNT" -gt 0 ]; then
	podman_init
	podman_load "$IMAGES" "$ref"
	RMFLAGS="-t 0" # podman's rm -f waits 10 s for a stop signal that sleep ignores
	series podman "$PODMAN" "--network bridge $PODMAN_ULIMITS localhost/$ref" "$PODMAN_COUNT"
	$PODMAN rm -af -t 0 >/dev/null 2>&1
fi

# ratio ENGINE N: median of starts N-9..N over the median of starts 1..10
ratio() {
	a=$(awk -F, -v e="$1" '$1 == e && $2 <= 10 { print $3 }' "$OUT/scale.csv" | median)
	b=$(awk -F, -v e="$1" -v n="$2" '$1 == e && $2 > n - 10 && $2 <= n { print $3 }' "$OUT/scale.csv" | median)
	echo "$a $b" | awk '{ printf "%.2f ms -> %.2f ms: %.3fx", $1, $2, $2 / $1 }'
}
{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs, kernel $(uname -r)"
	echo "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
	for eng in edgerun podman; do
		[ -f "$T/$eng.costsN" ] || continue
		n=$COUNT
		[ "$eng" = edgerun ] || n=$PODMAN_COUNT
		if [ "$n" -ge 100 ]; then
			r100=$(ratio "$eng" 100)
			verdict=
			[ "$eng" != edgerun ] || verdict=$(echo "$r100" | awk '{ print ($NF + 0 <= 1.1) ? " (target <= 1.1x: met)" : " (target <= 1.1x: not met)" }')
			echo "$eng: start 1-10 vs 91-100: $r100$verdict"
		fi
		[ "$n" = 100 ] || [ "$n" -lt 20 ] || echo "$eng: start 1-10 vs $((n - 9))-$n: $(ratio "$eng" "$n")"
		read -r p1 r1 d1 <"$T/$eng.costs1"
		read -r pn rn dn <"$T/$eng.costsN"
		echo "$eng: with 1 and with $n running (medians of 5): ps $p1 -> $pn ms, run -d $r1 -> $rn ms, rm -f $d1 -> $dn ms"
	done
} | tee "$OUT/scale-summary.txt"
"$SCALESVG" -o "$SVG" -title "Start time of one more detached container (busybox, bridge), $(date -u +%Y-%m-%d)" "$OUT/scale.csv"
echo "bench-scale: curves in $SVG"

# Issue 19's scale targets: the 100th start against the first, and what ps and rm -f cost with
# COUNT running against 1 (their growth beyond the output they must produce).
. "$(dirname "$0")/target.sh"
if [ "$COUNT" -ge 100 ]; then
	target "scale: start 91-100 / start 1-10, bridge (medians)" "$(ratio edgerun 100 | awk '{ sub("x", "", $NF); print $NF }')" "<=" 1.1
fi
read -r p1 r1 d1 <"$T/edgerun.costs1"
read -r pn rn dn <"$T/edgerun.costsN"
target "scale: run -d with $COUNT running / with 1 (medians of 5)" "$(echo "$r1 $rn" | awk '{ printf "%.2f", $2 / $1 }')" "<=" 1.1
target "scale: rm -f with $COUNT running / with 1 (medians of 5)" "$(echo "$d1 $dn" | awk '{ printf "%.2f", $2 / $1 }')" "<=" 1.1
