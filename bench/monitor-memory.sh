#!/bin/sh
# Memory of the per-container monitor: edgerun's (`run -d`) against conmon's (podman run -d),
# each with N idle busybox containers (`sleep`), network none.
#
# For every monitor process it reads /proc/PID/smaps_rollup: Anonymous (private anonymous memory:
# the heap, stacks, written data pages — what each extra container really costs), Private_Dirty,
# Pss and Rss (Rss counts the binary's shared text, which every monitor maps once). Prints one line
# per monitor and the medians, and writes them to out/bench/monitor-memory.txt.
#
#   bench/monitor-memory.sh bin/edgerun out/images      (make bench-monitor)
#   BENCH_N=10 bench/monitor-memory.sh ...               more containers (default 5)
set -eu
. "$(dirname "$0")/podman.sh"

EDGERUN=$(realpath "${1:?usage: $0 EDGERUN IMAGES}")
IMAGES=$(realpath "${2:?usage: $0 EDGERUN IMAGES}")
N=${BENCH_N:-5}
OUT=${BENCH_OUT:-out/bench}

die() { echo "bench-monitor: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (real containers): run as root"
[ -x "$EDGERUN" ] || die "$EDGERUN missing: run make build"
[ -f "$IMAGES/busybox/index.json" ] || die "$IMAGES/busybox missing: run make images"
mkdir -p "$OUT"

T=$(mktemp -d /tmp/edgerun-bench-monitor.XXXXXX)
ER="$EDGERUN --root $T/edgerun/root --state $T/edgerun/state"
PODMAN=
cleanup() {
	set +e
	$ER rm -f $($ER ps -aq 2>/dev/null) >/dev/null 2>&1
	podman_cleanup
	[ -n "$PODMAN" ] && $PODMAN system reset -f >/dev/null 2>&1
	awk -v t="$T" '$2 ~ "^"t {print $2}' /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# field PID NAME: a smaps_rollup value in kB
field() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/smaps_rollup"; }

# report LABEL PID...: one line per process, then the medians
report() {
	label=$1; shift
	for p in "$@"; do
		printf '%s pid %s: Anonymous %s kB, Private_Dirty %s kB, Pss %s kB, Rss %s kB\n' "$label" "$p" \
			"$(field "$p" Anonymous)" "$(field "$p" Private_Dirty)" "$(field "$p" Pss)" "$(field "$p" Rss)"
	done
	for f in Anonymous Private_Dirty Pss Rss; do
		for p in "$@"; do field "$p" $f; done | sort -n | awk -v l="$label" -v f=$f \
			'{v[NR]=$1} END {printf "%s median %s: %d kB (%.2f MiB)\n", l, f, v[int((NR+1)/2)], v[int((NR+1)/2)]/1024}'
	done
}

$ER load -i "$IMAGES/busybox" >/dev/null
for i in $(seq "$N"); do $ER run -d --network none --name "m$i" busybox sleep 100000 >/dev/null; done
sleep 2 # let each monitor settle after the start
pids=$(pgrep -f "__monitor $T/edgerun/root" | tr "\n" " ")
[ -n "$pids" ] || die "no edgerun monitor found"
{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m) $(nproc) CPUs, kernel $(uname -r), $N idle containers each"
	echo "# edgerun $($EDGERUN version 2>/dev/null | head -1)"
	report edgerun-monitor $pids
} | tee "$OUT/monitor-memory.txt"

if command -v podman >/dev/null 2>&1 && command -v skopeo >/dev/null 2>&1; then
	podman_init
	podman_load "$IMAGES" busybox:latest
	for i in $(seq "$N"); do $PODMAN run -d --network none $PODMAN_ULIMITS localhost/busybox:latest sleep 100000 >/dev/null; done
	sleep 2
	cpids=$(pgrep -f "conmon.*$T/podman" | tr '\n' ' ')
	[ -n "$cpids" ] && report conmon $cpids | tee -a "$OUT/monitor-memory.txt"
else
	echo "podman or skopeo missing: conmon not measured (make bench-deps installs them)"
fi
