#!/bin/sh
# shellcheck disable=SC2046,SC2086 # $ER, $PODMAN and the PID lists are word-split on purpose
# Memory of the per-container monitor: edgerun's (`run -d`) against conmon's (podman run -d),
# each with N idle busybox containers (`sleep`), network none.
#
# For every monitor process it reads /proc/PID/smaps_rollup: Anonymous (private anonymous memory:
# the heap, stacks, written data pages — what each extra container really costs), Private_Dirty,
# Pss and Rss (Rss counts the binary's shared text, which every monitor maps once). Prints one line
# per monitor and the medians, and writes them to out/bench/monitor-memory.txt.
#
# Then N more with a health check (`--health-cmd true --health-interval 1s`): the same figures read
# between probes (the monitor has no child but the container), then each monitor watched through
# BENCH_HEALTH_PROBES probes, its Anonymous and Rss sampled while a probe child runs (the monitor
# itself, not the probe), the maxima reported, and the kernel's peak Rss since the monitor's exec
# (VmHWM) for both sets.
#
#   bench/monitor-memory.sh bin/edgerun out/images      (make bench-monitor)
#   BENCH_N=10 bench/monitor-memory.sh ...               more containers (default 5)
#   BENCH_HEALTH_INTERVAL=2s BENCH_HEALTH_PROBES=5 ...   the health check's interval (default 1s), and
#                                                        probes watched per monitor (default 3)
set -eu
# shellcheck source=bench/podman.sh disable=SC1091 # followed with shellcheck -x, from the repository root
. "$(dirname "$0")/podman.sh"

EDGERUN=$(realpath "${1:?usage: $0 EDGERUN IMAGES}")
IMAGES=$(realpath "${2:?usage: $0 EDGERUN IMAGES}")
N=${BENCH_N:-5}
HEALTH_INTERVAL=${BENCH_HEALTH_INTERVAL:-1s}
HEALTH_PROBES=${BENCH_HEALTH_PROBES:-3}
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

# kids PID: the number of the process's children (the container's init; a probe while one runs)
kids() { set -- $(cat "/proc/$1/task/$1/children" 2>/dev/null); echo $#; }

# between_probes PID: waits (up to 5 s) until a monitor has no child but its container
between_probes() {
	i=0
	while [ "$(kids "$1")" -gt 1 ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
}

# report LABEL PID...: one line per process, then the medians (each read between probes)
report() {
	label=$1; shift
	for p in "$@"; do
		between_probes "$p"
		printf '%s pid %s: Anonymous %s kB, Private_Dirty %s kB, Pss %s kB, Rss %s kB\n' "$label" "$p" \
			"$(field "$p" Anonymous)" "$(field "$p" Private_Dirty)" "$(field "$p" Pss)" "$(field "$p" Rss)"
	done
	for f in Anonymous Private_Dirty Pss Rss; do
		for p in "$@"; do field "$p" $f; done | sort -n | awk -v l="$label" -v f=$f \
			'{v[NR]=$1} END {printf "%s median %s: %d kB (%.2f MiB)\n", l, f, v[int((NR+1)/2)], v[int((NR+1)/2)]/1024}'
	done
}

# median LABEL WHAT: the median of the numbers on stdin, in kB
median() {
	sort -n | awk -v l="$1" -v f="$2" \
		'{v[NR]=$1} END {printf "%s median %s: %d kB (%.2f MiB)\n", l, f, v[int((NR+1)/2)], v[int((NR+1)/2)]/1024}'
}

# hwm LABEL PID...: the median of the kernel's peak Rss of each process since its exec
hwm() {
	label=$1; shift
	for p in "$@"; do awk '$1 == "VmHWM:" {print $2}' "/proc/$p/status"; done | median "$label" "VmHWM (peak Rss)"
}

# during_probes PID: watches a monitor through $HEALTH_PROBES probes (at most 60 s), sampling its own
# Anonymous and Rss while it has a probe child; prints "MAX_ANON MAX_RSS SAMPLES PROBES"
during_probes() {
	awk -v pid="$1" -v want="$HEALTH_PROBES" 'BEGIN {
		kf = "/proc/" pid "/task/" pid "/children"; sf = "/proc/" pid "/smaps_rollup"
		end = systime() + 60
		while (probes < want && systime() < end) {
			n = 0; if ((getline line < kf) > 0) n = split(line, k, " "); close(kf)
			if (n > 1) {
				while ((getline line < sf) > 0) {
					split(line, f, " ")
					if (f[1] == "Anonymous:" && f[2] > anon) anon = f[2]
					if (f[1] == "Rss:" && f[2] > rss) rss = f[2]
				}
				close(sf); samples++
				if (k[n] != last) { last = k[n]; probes++ }
			}
		}
		printf "%d %d %d %d\n", anon, rss, samples, probes
	}'
}

# monitors: the PIDs of this root's monitors, without a probe a monitor has forked but not exec'd yet
# (whose parent is a monitor)
monitors() {
	all=" $(pgrep -f "__monitor $T/edgerun/root" | tr "\n" " ") "
	for p in $all; do
		case "$all" in *" $(awk '{print $4}' "/proc/$p/stat" 2>/dev/null) "*) ;; *) echo "$p" ;; esac
	done | tr "\n" " "
}

$ER load -i "$IMAGES/busybox" >/dev/null
for i in $(seq "$N"); do $ER run -d --network none --name "m$i" busybox sleep 100000 >/dev/null; done
sleep 2 # let each monitor settle after the start
pids=$(monitors)
[ -n "$pids" ] || die "no edgerun monitor found"
{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m) $(nproc) CPUs, kernel $(uname -r), $N idle containers each"
	echo "# edgerun $($EDGERUN version 2>/dev/null | head -1)"
	report edgerun-monitor $pids
} | tee "$OUT/monitor-memory.txt"

# The same with a health check: a probe process every $HEALTH_INTERVAL, forked by each monitor.
for i in $(seq "$N"); do
	$ER run -d --network none --name "h$i" --health-cmd true --health-interval "$HEALTH_INTERVAL" \
		busybox sleep 100000 >/dev/null
done
i=0 # until every one is healthy (its first probe passed)
while [ "$($ER ps | grep -c '(healthy)')" -lt "$N" ] && [ $i -lt 120 ]; do sleep 0.5; i=$((i + 1)); done
hpids=
for p in $(monitors); do case " $pids " in *" $p "*) ;; *) hpids="$hpids $p" ;; esac; done
[ -n "$hpids" ] || die "no edgerun monitor with a health check found"
[ "$($ER ps | grep -c '(healthy)')" = "$N" ] || die "not every container became healthy in 60 s: $($ER ps)"
for p in $hpids; do
	set -- $(during_probes "$p")
	[ "${4:-0}" -gt 0 ] || die "monitor $p ran no probe in 60 s"
	echo "$p $*" >>"$T/probes"
done
{
	echo "# $N idle containers with --health-cmd true --health-interval $HEALTH_INTERVAL; read between probes"
	report edgerun-monitor-health $hpids
	while read -r p anon rss samples probes; do
		printf 'edgerun-monitor-health pid %s during a probe: max Anonymous %s kB, max Rss %s kB (%s samples, %s probes)\n' \
			"$p" "$anon" "$rss" "$samples" "$probes"
	done <"$T/probes"
	awk '{print $2}' "$T/probes" | median edgerun-monitor-health "Anonymous during a probe (max)"
	awk '{print $3}' "$T/probes" | median edgerun-monitor-health "Rss during a probe (max)"
	hwm edgerun-monitor $pids
	hwm edgerun-monitor-health $hpids
} | tee -a "$OUT/monitor-memory.txt"

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
