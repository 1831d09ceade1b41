#!/bin/sh
# shellcheck disable=SC2046,SC2086 # $ER, $PODMAN and the PID lists are word-split on purpose
# What one health-check probe costs: an idle busybox container (`sleep`, network none) run with
# `--health-cmd true`, measured three ways, and written to out/bench/health-probe.txt.
#
# 1. monitor: the C monitor probing every BENCH_PROBE_INTERVAL (default 1s) for BENCH_PROBES probes
#    (default 30). The CPU time of the probe process trees is the monitor's cutime+cstime
#    (/proc/PID/stat: its waited-for children, their own children included; the container's init is
#    not waited for while it runs), divided by the number of probes counted in the health log. Also
#    the monitor's own CPU per probe, and the check's duration as the probe records it (log start to
#    end: the exec into the container and `true`, not the probe's own start). Then, for
#    BENCH_WATCH probes (default 10), the probe's private memory: its Anonymous (smaps_rollup),
#    alone and summed with its children's (the runc init it starts), sampled while it runs and the
#    maxima kept; sampling busy-loops, so it runs after the CPU figures are taken.
# 2. __health: the probe process as the monitor runs it (`edgerun __health ROOT STATE ID` with the
#    monitor's GOMAXPROCS=1 GOGC=25 GOMEMLIMIT=4MiB GODEBUG=...), BENCH_PROBES times by hand under
#    PROCTIME (bench/cmd/proctime: GNU time's figures, in microseconds), on a container whose own
#    interval (1h) keeps its monitor out of the way: wall time, CPU (user+sys, children included)
#    and peak RSS (ru_maxrss: the largest single process of the tree, the edgerun probe or the runc
#    init it starts, not their sum).
# 3. healthcheck run: the same probe as the CLI runs it (`edgerun healthcheck run NAME`, a full CLI
#    process without the monitor's environment), measured the same way.
#
#   bench/health-probe.sh bin/edgerun out/build/proctime out/images      (make bench-health)
#   BENCH_PROBES=60 BENCH_PROBE_INTERVAL=2s bench/health-probe.sh ...
set -eu

usage="usage: $0 EDGERUN PROCTIME IMAGES"
EDGERUN=$(realpath "${1:?$usage}")
PROCTIME=$(realpath "${2:?$usage}")
IMAGES=$(realpath "${3:?$usage}")
PROBES=${BENCH_PROBES:-30}
WATCH=${BENCH_WATCH:-10}
INTERVAL=${BENCH_PROBE_INTERVAL:-1s}
OUT=${BENCH_OUT:-out/bench}
MONITOR_ENV="GOMAXPROCS=1 GOGC=25 GOMEMLIMIT=4MiB GODEBUG=madvdontneed=1,memprofilerate=0" # container/detach.go

die() { echo "bench-health: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (real containers): run as root"
[ -x "$EDGERUN" ] || die "$EDGERUN missing: run make build"
[ -f "$IMAGES/busybox/index.json" ] || die "$IMAGES/busybox missing: run make images"
[ -x "$PROCTIME" ] || die "$PROCTIME missing: go build -o out/build/proctime ./bench/cmd/proctime"
mkdir -p "$OUT"

T=$(mktemp -d /tmp/edgerun-bench-health.XXXXXX)
ROOT=$T/edgerun/root
STATE=$T/edgerun/state
ER="$EDGERUN --root $ROOT --state $STATE"
cleanup() {
	set +e
	$ER rm -f $($ER ps -aq 2>/dev/null) >/dev/null 2>&1
	awk -v t="$T" '$2 ~ "^"t {print $2}' /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

TCK=$(getconf CLK_TCK)

# kids PID: the number of the process's children (the container's init; a probe while one runs)
kids() { set -- $(cat "/proc/$1/task/$1/children" 2>/dev/null); echo $#; }

# idle_stat PID: once the monitor has no probe child, its "utime stime cutime cstime" in ticks
idle_stat() {
	i=0
	while [ "$(kids "$1")" -gt 1 ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i + 1)); done
	awk '{print $14, $15, $16, $17}' "/proc/$1/stat"
}

# starts ID: the start times of the probes in the container's health log, one a line
starts() { grep -o '"start":"[^"]*"' "$STATE/health/$1.json" 2>/dev/null || true; }

# stats LABEL FILE: medians and ranges of "wall_s user_s sys_s maxrss_kB" lines
stats() {
	awk -v l="$1" '{w[NR] = $1 * 1000; c[NR] = ($2 + $3) * 1000; m[NR] = $4}
	function med(a, n,   i, j, t) {
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j > 0 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		mw = med(w, NR); mc = med(c, NR); mm = med(m, NR) # each sorts its array
		printf "%s median wall: %.1f ms (%.0f-%.0f, %d runs)\n", l, mw, w[1], w[NR], NR
		printf "%s median CPU (user+sys): %.1f ms (%.0f-%.0f)\n", l, mc, c[1], c[NR]
		printf "%s median peak RSS: %d kB (%.1f MiB; %d-%d kB)\n", l, mm, mm / 1024, m[1], m[NR]
	}' "$2"
}

# watch_probes MONITOR INIT: samples the probe children of a monitor (not its container's INIT)
# through $WATCH probes (at most 60 s); prints "MAX_TREE_ANON MAX_PROBE_ANON MAX_PROBE_RSS SAMPLES
# PROBES". Perl, not awk: mawk dies on a read error, which a probe that ends while read gives.
watch_probes() {
	perl -e '
	my ($mon, $init, $want) = @ARGV;
	sub rollup { my ($pid, $what) = @_; open(my $f, "<", "/proc/$pid/smaps_rollup") or return 0;
		while (<$f>) { return $1 if /^\Q$what\E:\s+(\d+)/ } return 0 }
	sub kids { my ($pid) = @_; open(my $f, "<", "/proc/$pid/task/$pid/children") or return ();
		my $l = <$f> // ""; return split(" ", $l) }
	my ($ta, $pa, $pr, $samples, $probes, $last) = (0, 0, 0, 0, 0, "");
	my $end = time + 60;
	while ($probes < $want && time < $end) {
		my ($p) = grep { $_ ne $init } kids($mon);
		next unless defined $p;
		my ($a, $r) = (rollup($p, "Anonymous"), rollup($p, "Rss"));
		my $t = $a; $t += rollup($_, "Anonymous") for kids($p);
		$pa = $a if $a > $pa; $pr = $r if $r > $pr; $ta = $t if $t > $ta;
		$samples++;
		if ($p ne $last) { $last = $p; $probes++ }
	}
	print "$ta $pa $pr $samples $probes\n";
	' "$1" "$2" "$WATCH"
}

$ER load -i "$IMAGES/busybox" >/dev/null

# 1. The monitor's probes.
id=$($ER run -d --network none --name probed --health-cmd true --health-interval "$INTERVAL" busybox sleep 100000)
mon=$(pgrep -f "__monitor $ROOT .*$id" | head -1)
[ -n "$mon" ] || die "no monitor found for $id"
sleep 2
before=$(idle_stat "$mon")
starts "$id" >"$T/seen-before"
i=0
while [ "$(sort -u "$T/seen" 2>/dev/null | grep -cvxFf "$T/seen-before")" -lt "$PROBES" ]; do
	[ $i -lt $((PROBES * 20)) ] || die "fewer than $PROBES probes in $((PROBES * 20 / 2)) s"
	starts "$id" >>"$T/seen"
	sleep 0.5
	i=$((i + 1))
done
after=$(idle_stat "$mon")
starts "$id" >>"$T/seen"
n=$(sort -u "$T/seen" | grep -cvxFf "$T/seen-before")
grep -q '"status":"healthy"' "$STATE/health/$id.json" || die "the container is not healthy: $(cat "$STATE/health/$id.json")"
# The check's durations (start to end) of the last log entries, from their times of day.
tr '{' '\n' <"$STATE/health/$id.json" | sed -n 's/.*"start":"[^T]*T\([^Z]*\)Z","end":"[^T]*T\([^Z]*\)Z".*/\1 \2/p' |
	awk -F'[: ]' '{s = $1 * 3600 + $2 * 60 + $3; e = $4 * 3600 + $5 * 60 + $6; if (e < s) e += 86400; print (e - s) * 1000}' |
	sort -n >"$T/check-ms"
{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(uname -m) $(nproc) CPUs, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "# edgerun $($EDGERUN version 2>/dev/null | head -1); busybox, --health-cmd true, network none"
	echo "$before $after" | awk -v n="$n" -v tck="$TCK" -v iv="$INTERVAL" '{
		printf "monitor (--health-interval %s): %d probes\n", iv, n
		printf "monitor probe trees CPU (cutime+cstime): %.1f ms per probe (%d ticks of %d Hz in all)\n", ($7 + $8 - $3 - $4) * 1000 / tck / n, $7 + $8 - $3 - $4, tck
		printf "monitor own CPU (utime+stime): %.2f ms per probe\n", ($5 + $6 - $1 - $2) * 1000 / tck / n
	}'
	awk '{v[NR] = $1} END {printf "monitor check duration (health log, last %d): median %.1f ms\n", NR, v[int((NR + 1) / 2)]}' "$T/check-ms"
} | tee "$OUT/health-probe.txt"
init=$($ER inspect -f '{{.State.Pid}}' probed)
[ -n "$init" ] && [ "$init" != 0 ] || die "no pid in inspect probed"
set -- $(watch_probes "$mon" "$init")
[ "${5:-0}" -gt 0 ] || die "no probe seen in 60 s"
printf 'monitor probe memory, max of %s samples over %s probes: Anonymous %s kB (the probe with its children, summed), %s kB (the probe process), Rss %s kB (the probe process)\n' \
	"$4" "$5" "$1" "$2" "$3" | tee -a "$OUT/health-probe.txt"
$ER rm -f probed >/dev/null

# 2. and 3. Probes by hand, on a container whose monitor will not probe for an hour.
id=$($ER run -d --network none --name manual --health-cmd true --health-interval 1h busybox sleep 100000)
for i in $(seq "$PROBES"); do
	env $MONITOR_ENV "$PROCTIME" -runs 1 -o "$T/health" "$EDGERUN" __health "$ROOT" "$STATE" "$id" ||
		die "edgerun __health failed"
	"$PROCTIME" -runs 1 -o "$T/cli" $ER healthcheck run manual >/dev/null || die "edgerun healthcheck run failed"
done
{
	stats "__health (the monitor's probe process)" "$T/health"
	stats "healthcheck run (the CLI)" "$T/cli"
} | tee -a "$OUT/health-probe.txt"
