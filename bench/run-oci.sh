#!/bin/sh
# OCI runtime benchmark: edgerun-oci against Debian's runc as the runtime of Debian's containerd
# (its own io.containerd.runc.v2 shim, ctr run --rm of busybox `true`), and the runtimes' own
# create + start + delete -f of one bundle (the same config.json, with edgerun's seccomp
# profile, for both). Each pair is timed in one hyperfine run, interleaved: the two commands
# alternate in BLOCKS blocks of RUNS runs (ABBA order), so the machine's drift hits both alike.
# Then the peak RSS of every runtime process: both runtimes run behind a wrapper of the same
# shape that records the verb and GNU time's %M (the largest resident set of the runtime and of
# the children it waited for; the container's init, which the runtime does not wait for, is not
# counted), RSS_RUNS times each.
#
# Usage: bench/run-oci.sh [EDGERUN_BIN] [IMAGES_DIR]
#   EDGERUN_BIN  default bin/edgerun (edgerun-oci is a symlink to an installed copy of it)
#   IMAGES_DIR   default out/images (from `make images`)
# Environment: BLOCKS (default 10), RUNS (runs per block, default 20), WARMUP (per block,
#   default 2), RSS_RUNS (default 10), OUT (default out/bench), RUNC (default /usr/sbin/runc).
# Writes $OUT/oci-ctr.json and $OUT/oci-bundle.json (hyperfine) and $OUT/oci-summary.txt.
#
# containerd runs with root, state, socket and config.toml in one temp dir $T, in a private mount
# namespace with a tmpfs over /run (containerd 1.6's shim puts its sockets in /run/containerd/s
# whatever the config says), so the host's /run/containerd and /var/lib/containerd are never
# touched. Everything is removed on exit: containerd, the cgroups /edgerun-bench/*, $T.
set -eu

EDGERUN=$(realpath "${1:-bin/edgerun}")
IMAGES=$(realpath "${2:-out/images}")
BLOCKS=${BLOCKS:-10}
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-2}
RSS_RUNS=${RSS_RUNS:-10}
OUT=${OUT:-out/bench}
RUNC=${RUNC:-/usr/sbin/runc}
NS=edgerun-bench
ref=busybox:latest

die() { echo "bench-oci: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (containerd, runc, edgerun-oci): run as root"
for t in hyperfine containerd ctr containerd-shim-runc-v2 umoci jq unshare /usr/bin/time "$RUNC"; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found: run make bench-deps and make deps"
done
[ -x "$EDGERUN" ] || die "$EDGERUN missing: run make build"
[ -f "$IMAGES/busybox/index.json" ] || die "$IMAGES/busybox missing: run make images"
mkdir -p "$OUT"
OUT=$(realpath "$OUT")

T=$(mktemp -d /tmp/edgerun-bench-oci.XXXXXX)
CTRD=
cleanup() {
	set +e
	if [ -n "$CTRD" ]; then
		$CTR task ls -q 2>/dev/null | while read -r id; do $CTR task delete -f "$id" >/dev/null 2>&1; done
		$CTR containers ls -q 2>/dev/null | while read -r id; do $CTR containers delete "$id" >/dev/null 2>&1; done
		kill "$CTRD" 2>/dev/null
		wait "$CTRD" 2>/dev/null
	fi
	# The shims (in containerd's mount namespace) exit with their containers; anything still
	# naming $T is ours.
	for p in /proc/[0-9]*; do
		grep -qsF "$T" "$p/cmdline" && kill -9 "${p#/proc/}" 2>/dev/null
	done
	[ -n "${ER:-}" ] && $ER rm -f $($ER ps -aq 2>/dev/null) >/dev/null 2>&1
	for d in /sys/fs/cgroup/*/$NS /sys/fs/cgroup/*/$NS-*; do
		[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	awk -v t="$T" '$2 ~ "^"t {print $2}' /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The runtimes: edgerun-oci a symlink to an installed copy of edgerun (bench/run-containers.sh
# says why a copy), runc Debian's; and for each an RSS wrapper of the same shape.
mkdir -p "$T/bin" "$T/fifo"
install -m 0755 "$EDGERUN" "$T/bin/edgerun"
ln -s edgerun "$T/bin/edgerun-oci"
OCI=$T/bin/edgerun-oci
for n in edgerun-oci runc; do
	case $n in edgerun-oci) real=$OCI ;; runc) real=$RUNC ;; esac
	cat >"$T/bin/rss-$n" <<EOF
#!/bin/sh
verb=other
for a; do case \$a in create|start|run|delete|kill|state|exec|ps|pause|resume|update|features) verb=\$a; break ;; esac; done
exec /usr/bin/time -a -o "\${RSS_LOG:-$T/rss-$n.txt}" -f "\$verb %M" $real "\$@"
EOF
	chmod 0755 "$T/bin/rss-$n"
done

# containerd: the test suite's configuration (e2e/engines), in its own mount namespace.
cat >"$T/config.toml" <<EOF
version = 2
root = "$T/containerd/root"
state = "$T/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$T/containerd.sock"
[ttrpc]
  address = "$T/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
unshare --mount --propagation private -- sh -c \
	"mount -t tmpfs -o mode=0755 edgerun-bench /run && exec containerd --config $T/config.toml" \
	>"$T/containerd.log" 2>&1 &
CTRD=$!
CTR="ctr --address $T/containerd.sock --namespace $NS"
i=0
until $CTR version >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || die "containerd did not start: $(tail -5 "$T/containerd.log")"
	sleep 0.1
done
tar -C "$IMAGES/busybox" -cf - . | $CTR images import - >/dev/null

# ctr run --rm of `true`: what containerd asks of a runtime for a short-lived container
# (create, start, delete; the task's exit comes from the shim's reaper).
ctr_run() { # RUNTIME ID
	echo "$CTR run --rm --fifo-dir $T/fifo --runc-binary $1 --runc-root $T/root-$2 $ref $2 true"
}
ER_CTR=$(ctr_run "$OCI" er)
RUNC_CTR=$(ctr_run "$RUNC" runc)

# The bundle: busybox unpacked by umoci, config.json from runc spec running `true` without a
# terminal, with the seccomp profile edgerun generates here (taken from a kept container).
ER="$T/bin/edgerun --root $T/edgerun/root --state $T/edgerun/state"
$ER load -i "$IMAGES/busybox" >/dev/null
$ER run --name seccomp-src --network none $ref true
sc=$(ls "$T"/edgerun/root/containers/*/config.json)
mkdir -p "$T/bundle"
umoci raw unpack --image "$IMAGES/busybox:$ref" "$T/bundle/rootfs" >/dev/null 2>&1 ||
	die "umoci could not unpack $IMAGES/busybox:$ref"
(cd "$T/bundle" && "$RUNC" spec)
jq --slurpfile s "$sc" '.process.terminal = false | .process.args = ["true"] | .linux.seccomp = $s[0].linux.seccomp' \
	"$T/bundle/config.json" >"$T/config.json"
mv "$T/config.json" "$T/bundle/config.json"
$ER rm seccomp-src >/dev/null
cat >"$T/cycle.sh" <<EOF
#!/bin/sh
# cycle.sh RUNTIME ID: create, start and delete -f of the bench bundle
set -e
"\$1" --root $T/root-bundle create --bundle $T/bundle "\$2"
"\$1" --root $T/root-bundle start "\$2"
"\$1" --root $T/root-bundle delete -f "\$2"
EOF
ER_CYCLE="sh $T/cycle.sh $OCI $NS-er"
RUNC_CYCLE="sh $T/cycle.sh $RUNC $NS-runc"

for c in "$ER_CTR" "$RUNC_CTR" "$ER_CYCLE" "$RUNC_CYCLE"; do
	$c >/dev/null || die "failed: $c"
done

# interleaved NAME_A CMD_A NAME_B CMD_B JSON: one hyperfine run of BLOCKS blocks, ABBA order.
interleaved() {
	na=$1 ca=$2 nb=$3 cb=$4 json=$5
	set --
	b=1
	while [ $b -le "$BLOCKS" ]; do
		if [ $((b % 2)) = 1 ]; then
			set -- "$@" -n "$na#$b" "$ca" -n "$nb#$b" "$cb"
		else
			set -- "$@" -n "$nb#$b" "$cb" -n "$na#$b" "$ca"
		fi
		b=$((b + 1))
	done
	hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$json" "$@" >/dev/null
}

# summary JSON A B: the runs of all blocks pooled per command, and the spread of the per-block
# ratio A/B.
summary() {
	jq -r --arg a "$2" --arg b "$3" '
	  def stats: sort as $s | ($s | length) as $n | (add / $n) as $m
	    | {mean: $m, median: (if $n % 2 == 1 then $s[($n - 1) / 2] else ($s[$n / 2 - 1] + $s[$n / 2]) / 2 end),
	       sd: ((map(. - $m | . * .) | add) / ($n - 1) | sqrt), n: $n};
	  def ms: . * 1000 | . * 100 | round / 100;
	  .results as $r
	  | ($r | map(select(.command | startswith($a + "#")) | .times[]) | stats) as $A
	  | ($r | map(select(.command | startswith($b + "#")) | .times[]) | stats) as $B
	  | ($r | map(select(.command | startswith($a + "#")) | {key: (.command | split("#")[1]), value: .mean}) | from_entries) as $ba
	  | ($r | map(select(.command | startswith($b + "#")) | {key: (.command | split("#")[1]), value: .mean}) | from_entries) as $bb
	  | ([$ba | keys[] | $ba[.] / $bb[.]] | sort) as $ratios
	  | "\($a): mean \($A.mean | ms) ms ± \($A.sd | ms) ms, median \($A.median | ms) ms (\($A.n) runs)",
	    "\($b): mean \($B.mean | ms) ms ± \($B.sd | ms) ms, median \($B.median | ms) ms (\($B.n) runs)",
	    "ratio \($a)/\($b): mean \($A.mean / $B.mean | . * 1000 | round / 1000), median \($A.median / $B.median | . * 1000 | round / 1000); per block \($ratios[0] | . * 1000 | round / 1000) to \($ratios[-1] | . * 1000 | round / 1000) (target <= 1.0)"
	' "$1"
}

# rss NAME COMMAND...: runs COMMAND RSS_RUNS times with the runtime NAME behind its RSS wrapper
# (the command names rss-NAME), then prints the peak RSS per verb.
rss() {
	n=$1
	shift
	: >"$T/rss-$n.txt"
	i=0
	while [ $i -lt "$RSS_RUNS" ]; do
		# stderr apart: libcontainer's init warns that it cannot raise the ambient capabilities
		# runc spec lists (runc 1.1 fails the same way, silently)
		"$@" >/dev/null 2>>"$T/rss-stderr.txt" || die "failed: $*: $(tail -3 "$T/rss-stderr.txt")"
		i=$((i + 1))
	done
	grep -E '^[a-z]+ [0-9]+$' "$T/rss-$n.txt" | sort -k1,1 -k2,2n | awk -v n="$n" '
		{ v[$1] = v[$1] " " $2; c[$1]++ }
		END { for (k in v) { split(substr(v[k], 2), a, " "); printf "peak RSS %s %s: median %.1f MiB, max %.1f MiB (%d calls)\n", n, k, a[int((c[k] + 1) / 2)] / 1024, a[c[k]] / 1024, c[k] } }' | sort
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
interleaved edgerun-oci "$ER_CTR" runc "$RUNC_CTR" "$OUT/oci-ctr.json"
interleaved edgerun-oci "$ER_CYCLE" runc "$RUNC_CYCLE" "$OUT/oci-bundle.json"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# shellcheck disable=SC2046 # the command strings are word-split on purpose
{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r)"
	echo "edgerun: $($EDGERUN version 2>/dev/null | head -1 | cut -d" " -f2), $(stat -c %s "$EDGERUN") bytes"
	echo "runc: $($RUNC --version | head -1); containerd: $(containerd --version | cut -d' ' -f3-)"
	echo "runs: $BLOCKS interleaved blocks of $RUNS (warmup $WARMUP per block) per runtime; rss runs: $RSS_RUNS"
	echo "--- ctr run --rm busybox true (containerd's runc v2 shim):"
	summary "$OUT/oci-ctr.json" edgerun-oci runc
	echo "--- create + start + delete -f of one bundle (runc spec + edgerun's seccomp profile):"
	summary "$OUT/oci-bundle.json" edgerun-oci runc
	# hyperfine's user and system time count the command and the children it waited for: here
	# sh and the three runtime calls (for ctr run, only ctr itself: the shim is containerd's child)
	jq -r '.results | group_by(.command | split("#")[0])
		| map("cpu (user+sys) \(.[0].command | split("#")[0]): \(map(.user + .system) | add / length * 1000 | . * 10 | round / 10) ms")[]' \
		"$OUT/oci-bundle.json"
	echo "load average before: $load_before, after: $load_after"
	echo "--- peak RSS of the runtime processes (GNU time %M, per verb), ctr run --rm:"
	rss edgerun-oci $(ctr_run "$T/bin/rss-edgerun-oci" er)
	rss runc $(ctr_run "$T/bin/rss-runc" runc)
	echo "--- peak RSS, create + start + delete -f of the bundle:"
	rss edgerun-oci sh "$T/cycle.sh" "$T/bin/rss-edgerun-oci" $NS-er
	rss runc sh "$T/cycle.sh" "$T/bin/rss-runc" $NS-runc
	echo "(targets: start time <= 1.0x runc, peak RSS <= runc's)"
} | tee "$OUT/oci-summary.txt"
