#!/bin/sh
# What the clients of a service see while `edgerun update` replaces it (make bench-update):
# the sensor's HTTP server, published on a host port, updated back and forth between sensor and
# sensor:v2 (both healthy, a health check every 200 ms), while bench/cmd/updategap asks the port
# from 4 clients every 2 ms, each request on a new connection. Three cases:
#   start-first  the default: the replacement starts beside the old one, the port moves to it in
#                one nftables transaction once it is healthy;
#   stop-first   a container with --ip (it cannot run twice): the old one stops first;
#   rollback     an update to sensor:unhealthy, rolled back.
# For each: the update's wall time, failed requests and the longest gap between two answers.
#
# Usage: bench/run-update.sh EDGERUN IMAGES UPDATEGAP
# Environment: RUNS (default 5 per case), OUT (default out/bench). Writes $OUT/update.txt.
set -eu
EDGERUN=$(realpath "${1:?usage: $0 EDGERUN IMAGES UPDATEGAP}")
IMAGES=$(realpath "${2:?usage: $0 EDGERUN IMAGES UPDATEGAP}")
GAP=$(realpath "${3:?usage: $0 EDGERUN IMAGES UPDATEGAP}")
RUNS=${RUNS:-5}
OUT=${OUT:-out/bench}
PORT=${BENCH_PORT:-18090}
die() { echo "bench-update: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root: run as root"
mkdir -p "$OUT"
T=$(mktemp -d /tmp/edgerun-bench-update.XXXXXX)
ER="$EDGERUN --root $T/root --state $T/state --bridge erbenchup0 --subnet 10.93.0.0/24"
cleanup() {
	set +e
	# shellcheck disable=SC2046
	$ER rm -f $($ER ps -aq) >/dev/null 2>&1
	$ER network prune >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
for i in sensor sensor-v2 sensor-unhealthy; do $ER load -i "$IMAGES/$i" >/dev/null; done
HC="--health-interval 200ms --health-start-interval 200ms --health-start-period 1s --health-retries 2"

wait_answer() {
	for _ in $(seq 100); do
		"$GAP" -url "http://127.0.0.1:$PORT/reading" -clients 1 -- true >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "the service does not answer on port $PORT"
}

# measure CASE RUN-FLAGS...: RUNS updates of svc alternating the images; one JSON line each.
measure() {
	case=$1; shift
	# shellcheck disable=SC2086
	$ER run -d --name svc -p "$PORT:8080" $HC "$@" sensor serve >/dev/null
	wait_answer
	img=sensor:v2
	for _ in $(seq "$RUNS"); do
		to=$img
		[ "$case" = rollback ] && to=sensor:unhealthy
		line=$("$GAP" -url "http://127.0.0.1:$PORT/reading" -- $ER update --pull never --image "$to" svc 2>/dev/null)
		echo "$case $line"
		[ "$img" = sensor:v2 ] && img=sensor || img=sensor:v2
	done
	$ER rm -f svc >/dev/null
}

{
	echo "# edgerun update under load: $(date -u +%Y-%m-%dT%H:%MZ), $(uname -m), $(nproc) CPUs, $RUNS updates per case"
	measure start-first
	measure stop-first --ip 10.93.0.50
	measure rollback
} | tee "$OUT/update.txt"
