#!/bin/sh
# Container start with bridge networking: `edgerun run --rm busybox true` (its own bridge and
# subnet: a veth pair, an address lease, nftables rules, torn down at exit) against
# `podman run --rm --network bridge` of the same image (Debian's podman 4 with its CNI backend:
# bridge, host-local IPAM, firewall and portmap plugins; netavark is not packaged for Debian 12),
# in one hyperfine run, with `edgerun run --rm --network NAME` on a user-defined network
# (network create: its definition is read, its table has the isolation chain) and
# `edgerun run --rm --network none` beside them to show what networking adds.
#
# Usage: bench/run-network.sh [EDGERUN_BIN] [IMAGES_DIR]
# Environment: RUNS (default 50), WARMUP (default 5), OUT (default out/bench).
# Writes $OUT/net.json, $OUT/net.md and $OUT/net-summary.txt.
# The user network is erbench (subnet 10.197.0.0/24), removed with the rest by network prune.
#
# podman's storage, configuration and flags are bench/podman.sh's. Everything lives in one temp
# dir; on exit edgerun's bench bridge erbench0 is pruned, and podman's cni-podman0 removed if this
# run made it.
set -eu
. "$(dirname "$0")/podman.sh"

EDGERUN=$(realpath "${1:-bin/edgerun}")
IMAGES=$(realpath "${2:-out/images}")
RUNS=${RUNS:-50}
WARMUP=${WARMUP:-5}
OUT=${OUT:-out/bench}

die() { echo "bench-net: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root: run as root"
for t in hyperfine podman skopeo jq; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found: run make bench-deps"
done
[ -x "$EDGERUN" ] || die "$EDGERUN missing: run make build"
[ -f "$IMAGES/busybox/index.json" ] || die "$IMAGES/busybox missing: run make images"
mkdir -p "$OUT"

T=$(mktemp -d /tmp/edgerun-bench-net.XXXXXX)
ER="$EDGERUN --root $T/edgerun/root --state $T/edgerun/state --bridge erbench0 --subnet 10.196.0.0/24"
trap bridge_bench_cleanup EXIT
trap 'exit 130' INT TERM

ref=busybox:latest
$ER load -q -i "$IMAGES/busybox" >/dev/null

podman_init
podman_load "$IMAGES" "$ref"
PODMAN_RUN="$PODMAN run --rm --network bridge $PODMAN_ULIMITS localhost/$ref true"
EDGERUN_RUN="$ER run --rm --network bridge $ref true"
EDGERUN_NONE="$ER run --rm --network none $ref true" # what networking adds, in the same run
$ER network create --subnet 10.197.0.0/24 erbench >/dev/null
EDGERUN_USER="$ER run --rm --network erbench $ref true" # a user-defined network

for c in "$EDGERUN_RUN" "$EDGERUN_USER" "$PODMAN_RUN"; do
	$c || die "failed: $c"
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" \
	--export-json "$OUT/net.json" --export-markdown "$OUT/net.md" \
	-n edgerun-bridge "$EDGERUN_RUN" -n edgerun-usernet "$EDGERUN_USER" -n podman-bridge "$PODMAN_RUN" \
	-n edgerun-none "$EDGERUN_NONE"
{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "runs: $RUNS (warmup $WARMUP)"
	jq -r '.results | (map({(.command): .mean}) | add) as $m | (map({(.command): .median}) | add) as $d
		| map("mean \(.command): \(.mean * 1000 | round) ms ± \(.stddev * 1000 | round) ms (median \(.median * 1000 | round) ms)")[],
		  "bridge networking adds (edgerun): \(($m["edgerun-bridge"] - $m["edgerun-none"]) * 1000 | round) ms (mean)",
		  "user network vs default bridge (edgerun): \(($m["edgerun-usernet"] - $m["edgerun-bridge"]) * 1000 | round) ms (mean), median ratio \($d["edgerun-usernet"] / $d["edgerun-bridge"] | . * 1000 | round / 1000)",
		  "ratio edgerun/podman (bridge): mean \($m["edgerun-bridge"] / $m["podman-bridge"] | . * 1000 | round / 1000), median \($d["edgerun-bridge"] / $d["podman-bridge"] | . * 1000 | round / 1000) (target <= 0.12)"' "$OUT/net.json"
	echo "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
} | tee "$OUT/net-summary.txt"

# Issue 19's targets, on medians.
. "$(dirname "$0")/target.sh"
target "bridge: edgerun / podman, both on a bridge (median)" \
	"$(jq -r '.results | (map({(.command): .median}) | add) as $d
		| $d["edgerun-bridge"] / $d["podman-bridge"] * 1000 | round / 1000' "$OUT/net.json")" "<=" 0.12
target "bridge: what the bridge adds to edgerun's start, ms (median)" \
	"$(jq -r '.results | (map({(.command): .median}) | add) as $d
		| ($d["edgerun-bridge"] - $d["edgerun-none"]) * 1000 * 10 | round / 10' "$OUT/net.json")" "<=" 10
