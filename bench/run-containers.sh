#!/bin/sh
# Container start benchmark: `edgerun run --rm --network none busybox true` against Debian's
# runc running a ready bundle of the same image (bare, as `runc spec` makes it, and with
# edgerun's own seccomp filter added, for a like-for-like comparison) and Debian's podman
# running the same image, in one hyperfine run; then the peak RSS of each (GNU time, several
# runs).
#
# Usage: bench/run-containers.sh [EDGERUN_BIN] [IMAGES_DIR]
#   EDGERUN_BIN  default bin/edgerun          IMAGES_DIR  default out/images (from `make images`)
# Environment: RUNS (hyperfine runs per command, default 100), WARMUP (default 10),
#   RSS_RUNS (GNU time runs per command, default 10), OUT (default out/bench),
#   BASELINE (another edgerun binary, e.g. one built from an earlier commit: it joins the same
#   hyperfine run as edgerun-baseline, with its own root and state, to show a change's effect
#   on start time without the machine's drift between two runs).
# Writes $OUT/run.json and $OUT/run.md (hyperfine) and $OUT/run-summary.txt (ratios, RSS).
#
# edgerun runs from a copy installed into the temporary directory, as runc and podman run
# from their Debian packages: here (kernel 6.18, ext4) a binary just written by the linker
# sits in the page cache in 2 MiB folios that every process maps whole (FilePmdMapped in
# smaps), so its RSS counts nearly the whole 13 MB file (and it takes fewer page faults);
# an installed copy, or the file read back from disk, is mapped in small pieces as used.
# The peak RSS of the binary as given is printed too.
#
# Everything lives in one temp dir (edgerun --root/--state, the runc bundle and --root, podman's
# storage and configuration: bench/podman.sh, which also says what podman needs on this
# machine), removed on exit.
set -eu
. "$(dirname "$0")/podman.sh"

EDGERUN=$(realpath "${1:-bin/edgerun}")
IMAGES=$(realpath "${2:-out/images}")
RUNS=${RUNS:-100}
WARMUP=${WARMUP:-10}
RSS_RUNS=${RSS_RUNS:-10}
OUT=${OUT:-out/bench}

die() { echo "bench-run: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (containers through runc, podman and edgerun): run as root"
for t in hyperfine runc podman skopeo umoci jq /usr/bin/time; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found: run make bench-deps"
done
[ -x "$EDGERUN" ] || die "$EDGERUN missing: run make build"
[ -f "$IMAGES/busybox/index.json" ] || die "$IMAGES/busybox missing: run make images"
mkdir -p "$OUT"

T=$(mktemp -d /tmp/edgerun-bench-run.XXXXXX)
cleanup() {
	set +e
	[ -n "${ER:-}" ] && $ER rm -f $($ER ps -aq 2>/dev/null) >/dev/null 2>&1
	[ -n "${ERB:-}" ] && $ERB rm -f $($ERB ps -aq 2>/dev/null) >/dev/null 2>&1
	podman_cleanup
	# Unmount whatever is still mounted under $T, deepest first, then remove it.
	awk -v t="$T" '$2 ~ "^"t {print $2}' /proc/self/mounts | sort -r | while read -r m; do
		umount -l "$m"
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ref=busybox:latest

# edgerun: its own root and state, the image loaded from the OCI layout.
BUILT=$EDGERUN
mkdir -p "$T/bin"
install -m 0755 "$BUILT" "$T/bin/edgerun"
EDGERUN=$T/bin/edgerun
ER="$EDGERUN --root $T/edgerun/root --state $T/edgerun/state"
$ER load -i "$IMAGES/busybox" >/dev/null

# runc: a ready bundle, rootfs unpacked by umoci from the same layout, config from `runc spec`
# without a terminal, running `true`, with a new (unconfigured) network namespace as before.
mkdir -p "$T/bundle"
umoci raw unpack --image "$IMAGES/busybox:$ref" "$T/bundle/rootfs" >/dev/null 2>&1 ||
	die "umoci could not unpack $IMAGES/busybox:$ref"
(cd "$T/bundle" && runc spec)
jq '.process.terminal = false | .process.args = ["true"]
    | if any(.linux.namespaces[]; .type == "network") then .
      else .linux.namespaces += [{"type": "network"}] end' \
	"$T/bundle/config.json" >"$T/config.json"
mv "$T/config.json" "$T/bundle/config.json"
RUNC="runc --root $T/runc run --bundle $T/bundle bench"

# runc with edgerun's seccomp filter: the same bundle plus the .linux.seccomp section of the
# config.json edgerun generates here (taken from a kept container, then removed).
$ER run --name seccomp-src --network none $ref true
sc=$(ls "$T"/edgerun/root/containers/*/config.json)
mkdir -p "$T/bundle-sc"
jq --slurpfile s "$sc" --arg root "$T/bundle/rootfs" '.linux.seccomp = $s[0].linux.seccomp | .root.path = $root' \
	"$T/bundle/config.json" >"$T/bundle-sc/config.json"
$ER rm seccomp-src >/dev/null
RUNC_SC="runc --root $T/runc run --bundle $T/bundle-sc bench-sc"

# podman: throwaway storage, the same image (bench/podman.sh).
podman_init
podman_load "$IMAGES" "$ref"
PODMAN_RUN="$PODMAN run --rm --network none $PODMAN_ULIMITS localhost/$ref true"

EDGERUN_RUN="$ER run --rm --network none $ref true"

set --
if [ -n "${BASELINE:-}" ]; then
	[ -x "$BASELINE" ] || die "BASELINE=$BASELINE is not an executable"
	install -m 0755 "$BASELINE" "$T/bin/edgerun-baseline"
	ERB="$T/bin/edgerun-baseline --root $T/baseline/root --state $T/baseline/state"
	$ERB load -i "$IMAGES/busybox" >/dev/null
	BASE_RUN="$ERB run --rm --network none $ref true"
	$BASE_RUN || die "failed: $BASE_RUN"
	set -- -n edgerun-baseline "$BASE_RUN"
fi

# Each must succeed before it is timed (hyperfine would stop on a failure anyway, with less
# context).
for c in "$EDGERUN_RUN" "$RUNC" "$RUNC_SC" "$PODMAN_RUN"; do
	$c || die "failed: $c"
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
hyperfine -N --warmup "$WARMUP" --runs "$RUNS" \
	--export-json "$OUT/run.json" --export-markdown "$OUT/run.md" \
	-n edgerun "$EDGERUN_RUN" -n runc "$RUNC" -n runc-seccomp "$RUNC_SC" -n podman "$PODMAN_RUN" "$@"

# Peak RSS: GNU time's %M is the largest resident set of the command or of any child it
# waited for (for edgerun that includes its libcontainer init re-exec; podman's conmon
# double-forks away, so it is not counted).
rss() {
	i=0
	while [ $i -lt "$RSS_RUNS" ]; do
		/usr/bin/time -f %M -o "$T/rss" "$@" || die "failed: $*"
		cat "$T/rss"
		i=$((i + 1))
	done | sort -n | awk '{v[NR]=$1} END {printf "%d %d %d", v[1], v[int((NR+1)/2)], v[NR]}'
}
# shellcheck disable=SC2086 # the command strings are word-split on purpose
{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "runs: $RUNS (warmup $WARMUP), rss runs: $RSS_RUNS"
	jq -r '.results | (map({(.command): .mean}) | add) as $m
		| map("mean \(.command): \(.mean * 1000 | . * 100 | round / 100) ms ± \(.stddev * 1000 | . * 100 | round / 100) ms (median \(.median * 1000 | . * 100 | round / 100) ms)")[],
		  "ratio edgerun/podman: \($m.edgerun / $m.podman | . * 1000 | round / 1000) (target <= 0.2)",
		  "ratio edgerun/runc: \($m.edgerun / $m.runc | . * 1000 | round / 1000) (target <= 1.5)",
		  "ratio runc-seccomp/runc (what the filter alone costs runc): \($m["runc-seccomp"] / $m.runc | . * 1000 | round / 1000)",
		  "ratio edgerun/runc-seccomp (same filter): \($m.edgerun / $m["runc-seccomp"] | . * 1000 | round / 1000)",
		  (if $m["edgerun-baseline"] then "ratio edgerun/edgerun-baseline: \($m.edgerun / $m["edgerun-baseline"] | . * 1000 | round / 1000)" else empty end),
		  (map({(.command): ((.user + .system) * 1000 | . * 10 | round / 10)}) | add | to_entries | map("cpu (user+sys) \(.key): \(.value) ms") | .[]),
		  (map({(.command): .median}) | add) as $d
		| "median ratios: edgerun/podman \($d.edgerun / $d.podman | . * 1000 | round / 1000), edgerun/runc \($d.edgerun / $d.runc | . * 1000 | round / 1000)"' "$OUT/run.json"
	echo "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
	for n in edgerun runc podman; do
		case $n in
		edgerun) set -- $EDGERUN_RUN ;;
		runc) set -- $RUNC ;;
		podman) set -- $PODMAN_RUN ;;
		esac
		rss "$@" | awk -v n=$n '{printf "peak RSS %s: min %.1f MiB, median %.1f MiB, max %.1f MiB\n", n, $1/1024, $2/1024, $3/1024}'
	done
	set -- $BUILT $(echo "$EDGERUN_RUN" | cut -d' ' -f2-)
	rss "$@" | awk '{printf "peak RSS edgerun as built (not installed): min %.1f MiB, median %.1f MiB, max %.1f MiB\n", $1/1024, $2/1024, $3/1024}'
	echo "(target: edgerun peak RSS <= 15 MiB)"
} | tee "$OUT/run-summary.txt"

# Issue 19's targets, on medians. runc-seccomp/runc is printed beside them: the same seccomp
# filter in runc, which bounds how close to bare runc any runtime keeping it can get.
. "$(dirname "$0")/target.sh"
ratio() { jq -r --arg a "$1" --arg b "$2" '.results | (map({(.command): .median}) | add) as $d | $d[$a] / $d[$b] * 1000 | round / 1000' "$OUT/run.json"; }
target "start: edgerun / podman, --network none (median)" "$(ratio edgerun podman)" "<=" 0.2
target "start: edgerun / bare runc, seccomp kept (median)" "$(ratio edgerun runc)" "<=" 1.5 \
	"(runc with the same filter: $(ratio runc-seccomp runc))"
