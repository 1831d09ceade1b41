#!/bin/sh
# The OCI runtime conformance comparison (make test-oci, docs/oci.md "Conformance"): every
# validation program of opencontainers/runtime-tools (built by make from the pinned module in
# hack/oci-conformance/go.mod) run against several runtimes on the same host, one suite at a
# time for each runtime in turn, so all see the same machine. The first runtime is the
# reference: the run fails when another runtime does not pass a suite the reference passes.
# A suite the reference fails is reported in the table, never left out.
#
# Usage (as root): hack/oci-conformance.sh BINDIR BUSYBOX OUT NAME=RUNTIME...
#   BINDIR   the validation programs and runtimetest (one binary per validation/<suite>)
#   BUSYBOX  a static busybox: the containers' root file system is it and its applets (as in
#            the busybox test image), with root and nobody in /etc/passwd
#   OUT      where the results go: results.tsv (one line per suite and runtime), results.md
#            (the table of docs/oci.md), and <name>/<suite>.tap and .err (each program's TAP
#            and stderr)
#   NAME=RUNTIME  a name for the table and the runtime binary (runc=/usr/sbin/runc ...)
# Environment: OCI_TIMEOUT seconds per program (default 60), OCI_TRIES runs of a suite at most
# where the verdicts differ (default 3), OCI_SUITES a space-separated subset of suites (default
# every program in BINDIR but runtimetest), OCI_KEEP=1 keeps the scratch directory.
#
# Each runtime runs with a state root of its own (--root, through a wrapper the programs get as
# RUNTIME) and TMPDIR in the scratch directory (the programs make their bundles there). After
# each program whatever the runtime still lists in its root is deleted with --force, and the
# cgroups the programs name (/cgrouptest, testdir/cgrouptest/container) are removed from every
# cgroup file system; what had to be cleaned up is reported as a leftover of that runtime.
# Those cgroup names are fixed by the suites: two runs on one machine must not overlap.
set -eu

[ $# -ge 4 ] || { echo "usage: $0 BINDIR BUSYBOX OUT NAME=RUNTIME..." >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "oci-conformance: run as root (the runtimes make namespaces and cgroups)" >&2; exit 1; }
BINDIR=$(realpath "$1")
BUSYBOX=$(realpath "$2")
mkdir -p "$3"
OUT=$(realpath "$3")
shift 3
TIMEOUT=${OCI_TIMEOUT:-60}
TRIES=${OCI_TRIES:-3}
[ -x "$BINDIR/runtimetest" ] || { echo "oci-conformance: no $BINDIR/runtimetest: build the validation programs first (make oci-deps)" >&2; exit 1; }
"$BUSYBOX" true || { echo "oci-conformance: $BUSYBOX is not a busybox that runs here" >&2; exit 1; }

names=
for nr in "$@"; do
	name=${nr%%=*}
	rt=${nr#*=}
	case $name in "" | *[!a-z0-9_-]*) echo "oci-conformance: bad runtime name in $nr: use [a-z0-9_-]" >&2; exit 2 ;; esac
	[ -x "$rt" ] || { echo "oci-conformance: runtime $name: $rt is not an executable" >&2; exit 1; }
	names="$names $name"
done
suites=${OCI_SUITES:-$(cd "$BINDIR" && ls | grep -vx runtimetest)}

WORK=$(mktemp -d /tmp/edgerun-oci-conformance.XXXXXX)
# open to all, as /tmp is: containers in a user namespace or as another user reach their bundles
chmod 0755 "$WORK"
cleanup() {
	for n in $names; do sweep "$n" >/dev/null 2>&1 || true; done
	[ "${OCI_KEEP:-}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The programs read ./runtimetest and ./rootfs-$GOARCH.tar.gz from their working directory
# (copies: they copy runtimetest into each bundle, a symlink as a symlink). They untar the
# root file system with `tar -xf`, which is GNU tar on a host and busybox tar (no gzip
# detection) in the test VMs, so the tarball is not compressed whatever its name says.
goarch=$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/; s/armv[67]l/arm/; s/i[3-6]86/386/')
# /proc, /sys and /dev exist, as in upstream's rootfs-amd64.tar.gz: a runtime in a user
# namespace cannot make them in a bundle that belongs to the host's root.
mkdir -p "$WORK/cwd" "$WORK/rootfs/bin" "$WORK/rootfs/etc" "$WORK/rootfs/tmp" "$WORK/rootfs/proc" \
	"$WORK/rootfs/sys" "$WORK/rootfs/dev"
cp "$BINDIR/runtimetest" "$WORK/cwd/runtimetest"
cp "$BUSYBOX" "$WORK/rootfs/bin/busybox"
for a in $("$BUSYBOX" --list-full); do
	[ "$a" != bin/busybox ] || continue
	mkdir -p "$WORK/rootfs/$(dirname "$a")"
	ln -s /bin/busybox "$WORK/rootfs/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$WORK/rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$WORK/rootfs/etc/group"
chmod 1777 "$WORK/rootfs/tmp"
(cd "$WORK/rootfs" && tar -cf "$WORK/cwd/rootfs-$goarch.tar.gz" .)
rm -rf "$WORK/rootfs"
for nr in "$@"; do
	name=${nr%%=*}
	# absolute, but not resolved: edgerun-oci is a symlink whose name selects the OCI CLI
	rt=${nr#*=}
	case $rt in /*) ;; *) rt=$(pwd)/$rt ;; esac
	rm -rf "${OUT:?}/$name"
	mkdir -p "$WORK/$name/state" "$OUT/$name"
	printf '#!/bin/sh\nexec %s --root %s "$@"\n' "$rt" "$WORK/$name/state" >"$WORK/$name/runtime"
	chmod 0755 "$WORK/$name/runtime"
	echo "oci-conformance: $name: $rt ($("$rt" --version 2>/dev/null | head -n 1))"
done

# cgroup_dirs prints the cgroups the validation programs name, on every cgroup file system:
# the absolute /cgrouptest and the relative testdir/... (relative to this process' cgroup on
# cgroup v1, under the root on v2), deepest first.
cgroup_dirs() {
	cgroup_mounts | while read -r mnt _; do
		for d in "$mnt/cgrouptest" "$mnt/testdir"; do
			[ ! -d "$d" ] || find "$d" -depth -type d
		done
	done
	# cgroup v1 hierarchies: relative to this process' own cgroup in each
	while IFS=: read -r _ ctrls path; do
		[ -n "$ctrls" ] && [ "$path" != / ] || continue
		cgroup_mounts | while read -r mnt opts; do
			case ,$opts, in *",$ctrls,"*) ;; *) continue ;; esac
			[ ! -d "$mnt$path/testdir" ] || find "$mnt$path/testdir" -depth -type d
		done
	done </proc/self/cgroup
}

# cgroup_mounts prints "MOUNTPOINT SUPEROPTIONS" of every cgroup and cgroup2 mount.
cgroup_mounts() {
	awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup" || $(i + 1) == "cgroup2") print $5, $(i + 3); break } }' /proc/self/mountinfo
}

# sweep NAME: delete what runtime NAME still has and the cgroups left behind; prints what it did.
sweep() {
	rt=$WORK/$1/runtime
	for id in $("$rt" list -q 2>/dev/null); do
		echo "container $id"
		"$rt" delete --force "$id" >/dev/null 2>&1 || echo "container $id: delete --force failed"
	done
	for d in $(cgroup_dirs | sort -u -r); do
		case $d in */testdir | */testdir/cgrouptest)
			# parents of a relative cgroupsPath: made by the runtime, and left by runc too
			rmdir "$d" 2>/dev/null || echo "cgroup $d: rmdir failed"
			continue ;;
		esac
		if [ -f "$d/cgroup.procs" ] && [ -n "$(cat "$d/cgroup.procs" 2>/dev/null)" ]; then
			echo "cgroup $d: processes $(tr '\n' ' ' <"$d/cgroup.procs")- killed"
			for p in $(cat "$d/cgroup.procs"); do kill -KILL "$p" 2>/dev/null || true; done
			sleep 0.2
		fi
		echo "cgroup $d"
		rmdir "$d" 2>/dev/null || echo "cgroup $d: rmdir failed"
	done
	# bundles: the programs remove theirs; a killed program leaves its own
	find "$WORK/$1/tmp" -mindepth 1 -maxdepth 1 -name 'ocitest*' 2>/dev/null | while read -r b; do
		grep -q " $b[/ ]" /proc/self/mountinfo 2>/dev/null && echo "mount under $b" &&
			awk -v b="$b" 'index($5, b) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
		echo "bundle $b"
		rm -rf "$b"
	done
}

# tap_counts FILE: "ok notok skip todo planned errors" of a program's TAP (some print several
# TAP documents one after another: their plans add up); errors counts the YAML diagnostics
# with an "error" key before the first test line of a document (the hook suites report their
# verdict that way, with a plan of 1..0).
tap_counts() {
	awk '
		/^TAP version/ { tests = 0 }
		/^ok /     { tests++; if (tolower($0) ~ /# skip/) skip++; else if (tolower($0) ~ /# todo/) todo++; else ok++ }
		/^not ok / { tests++; if (tolower($0) ~ /# todo/) todo++; else notok++ }
		/^1\.\.[0-9]+/ { split($0, a, /\.\./); plan += a[2]; planned = 1 }
		/^  +"error": "./ { if (!tests) errors++ }
		END { printf "%d %d %d %d %s %d\n", ok, notok, skip, todo, planned ? plan : "-", errors }' "$1"
}

# verdict RC OK NOTOK SKIP TODO PLAN ERRORS: pass, fail, skip (every test skipped) or timeout.
# A program that exits 0 having printed no TAP at all passes: process_rlimits_fail says only
# by its exit code that the runtime refused what it had to refuse.
verdict() {
	if [ "$1" = 124 ] || [ "$1" = 137 ]; then echo timeout; return; fi
	if [ "$1" = 0 ] && [ "$6" = - ] && [ $(($2 + $3 + $4 + $5 + $7)) = 0 ]; then echo pass; return; fi
	if [ "$1" != 0 ] || [ "$3" != 0 ] || [ "$6" = - ] || [ "$7" != 0 ] || [ $(($2 + $3 + $4 + $5)) != "$6" ]; then
		echo fail
		return
	fi
	if [ "$2" = 0 ] && [ "$4" != 0 ]; then echo skip; else echo pass; fi
}

# run_suite SUITE NAME TRY: one run of SUITE's program against runtime NAME; its result line
# goes to $WORK/res/SUITE.NAME, its TAP and stderr to OUT/NAME/SUITE.tap and .err (an earlier
# try's are kept as SUITE.try1.tap and .err).
run_suite() {
	rs=$1 rn=$2 rt_try=$3 # not s, name, try: the callers' loop variables
	mkdir -p "$WORK/$rn/tmp" "$WORK/res"
	if [ "$rt_try" != 1 ]; then
		mv "$OUT/$rn/$rs.tap" "$OUT/$rn/$rs.try$((rt_try - 1)).tap"
		mv "$OUT/$rn/$rs.err" "$OUT/$rn/$rs.try$((rt_try - 1)).err"
	fi
	t0=$(date +%s)
	set +e
	(cd "$WORK/cwd" && TMPDIR=$WORK/$rn/tmp RUNTIME=$WORK/$rn/runtime \
		timeout -k 5 "$TIMEOUT" "$BINDIR/$rs" </dev/null >"$OUT/$rn/$rs.tap" 2>"$OUT/$rn/$rs.err")
	rc=$?
	set -e
	secs=$(($(date +%s) - t0))
	left=$(sweep "$rn" | tee -a "$OUT/$rn/$rs.err" | wc -l)
	# shellcheck disable=SC2046 # the counts are six words
	set -- $(tap_counts "$OUT/$rn/$rs.tap")
	v=$(verdict "$rc" "$@")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$rs" "$rn" "$v" "$rt_try" "$rc" "$1" "$2" "$3" "$4" "$5" "$6" "$secs" "$left" \
		>"$WORK/res/$rs.$rn"
	printf 'oci-conformance: %-34s %-8s %-7s ok %d, not ok %d, skip %d (%ds)%s%s\n' "$rs" "$rn" "$v" "$1" "$2" "$3" "$secs" \
		"$([ "$rt_try" = 1 ] || echo ", try $rt_try")" "$([ "$left" = 0 ] || echo ", $left leftovers cleaned up")"
}
result() { cut -f3 "$WORK/res/$1.$2"; }

ref=$(echo $names | cut -d' ' -f1)
tsv=$OUT/results.tsv
printf 'suite\truntime\tverdict\ttry\texit\tok\tnot_ok\tskip\ttodo\tplanned\terrors\tseconds\tleftovers\n' >"$tsv.tmp"
start=$(date +%s)
for s in $suites; do
	[ -x "$BINDIR/$s" ] || { echo "oci-conformance: no program for suite $s in $BINDIR" >&2; exit 1; }
	for name in $names; do
		run_suite "$s" "$name" 1
	done
	# More tries (up to OCI_TRIES in all) where the verdicts differ, so that a flaky run (a
	# signal or a state poll racing a loaded machine: killsig sends its signal right after
	# start, and a pid namespace's init drops it unless sh has set its trap by then) neither
	# fails the gate nor hides a suite from it: another runtime failing what the reference
	# passes, or the reference failing what another passes.
	for name in $names; do
		[ "$name" != "$ref" ] || continue
		try=1
		while [ "$try" -lt "$TRIES" ] && [ "$(result "$s" "$ref")" = pass ] && [ "$(result "$s" "$name")" != pass ]; do
			try=$((try + 1))
			run_suite "$s" "$name" "$try"
		done
		try=$(cut -f4 "$WORK/res/$s.$ref")
		while [ "$try" -lt "$TRIES" ] && [ "$(result "$s" "$ref")" != pass ] && [ "$(result "$s" "$name")" = pass ]; do
			try=$((try + 1))
			run_suite "$s" "$ref" "$try"
		done
	done
	for name in $names; do cat "$WORK/res/$s.$name" >>"$tsv.tmp"; done
done
mv "$tsv.tmp" "$tsv"

# The table: one row per suite, one column per runtime; then the verdict.
awk -F '\t' -v names="$names" -v ref="$ref" -v secs=$(($(date +%s) - start)) -v host="$(uname -n) $(uname -r)" '
	NR == 1 { next }
	{
		if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
		cell = $3
		if ($3 == "pass" || $3 == "skip") cell = cell " (" $6 " ok, " $8 " skip)"
		else if ($3 == "fail" && $10 == "-") cell = "**FAIL** (exit " $5 ", no TAP plan)"
		else if ($3 == "fail" && $11 != 0) cell = "**FAIL** (an error outside a test" ($5 != 0 ? ", exit " $5 : "") ")"
		else if ($3 == "fail") cell = "**FAIL** (" $7 " not ok of " $10 ($5 != 0 ? ", exit " $5 : "") ")"
		else if ($3 == "timeout") cell = "**TIMEOUT** (" $12 "s)"
		if ($4 != 1) cell = cell ", try " $4
		if ($13 != 0) cell = cell ", " $13 " leftovers"
		c[$1, $2] = cell; v[$1, $2] = $3
	}
	END {
		k = split(names, nm, " ")
		printf "| suite |"; for (i = 1; i <= k; i++) printf " %s |", nm[i]; printf "\n"
		printf "|---|"; for (i = 1; i <= k; i++) printf "---|"; printf "\n"
		for (j = 1; j <= n; j++) {
			printf "| %s |", order[j]
			for (i = 1; i <= k; i++) printf " %s |", c[order[j], nm[i]]
			printf "\n"
		}
		printf "\n"
		for (i = 1; i <= k; i++) {
			p = 0; f = 0; s = 0
			for (j = 1; j <= n; j++) { x = v[order[j], nm[i]]; if (x == "pass") p++; else if (x == "skip") s++; else f++ }
			printf "%s: %d suites passed, %d skipped, %d failed or timed out (of %d)\n", nm[i], p, s, f, n
		}
		printf "%d suites, %ds, on %s\n", n, secs, host
	}' "$tsv" >"$OUT/results.md"
cat "$OUT/results.md"

# The gate: every suite the reference passes, every other runtime passes.
bad=$(awk -F '\t' -v ref="$ref" 'NR > 1 { v[$1, $2] = $3; rts[$2] = 1; s[$1] = 1 }
	END { for (x in s) if (v[x, ref] == "pass") for (r in rts) if (r != ref && v[x, r] != "pass") print x " (" r ": " v[x, r] ")" }' "$tsv" | sort)
if [ -n "$bad" ]; then
	echo "oci-conformance: suites $ref passes and another runtime does not:"
	for b in $(echo "$bad" | cut -d' ' -f1 | sort -u); do
		echo "$bad" | grep "^$b " | sed 's/^/  /'
		for name in $names; do
			[ "$name" != "$ref" ] || continue
			grep -h '^not ok' "$OUT/$name/$b.tap" 2>/dev/null | head -n 10 | sed "s/^/    $name: /"
			tail -n 5 "$OUT/$name/$b.err" 2>/dev/null | sed "s/^/    $name stderr: /"
		done
	done
	echo "oci-conformance: FAIL (results: $tsv, TAP and stderr: $OUT/<runtime>/<suite>.tap, .err)"
	exit 1
fi
echo "oci-conformance: ok: every suite $ref passes, the others pass too (results: $tsv)"
