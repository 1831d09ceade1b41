#!/bin/sh
# powercut.sh KERNEL INITRD OUTDIR: the power-cut leg of the VM matrix (docs/platforms.md). Makes
# two raw disk images in OUTDIR with the host's mkfs.ext4 (disk.img: edgerun's --root; journal.img:
# the workload's journal, a file system of its own), then boots the x86-64 VM (cgroup v2, the
# initramfs of hack/vm/powercut-stage.sh) CUTS+1 times on them, one qemu process per boot:
#   boot 0        the workload on the empty disk, until the guest cuts its own power
#   boot 1..CUTS  verify what the previous cut left, then the workload until the next cut
#   boot CUTS     (the last one) verify, remove everything, unmount cleanly, power off
# The cut is `echo b >/proc/sysrq-trigger` in the guest (reset, no sync), in the workload or (one
# boot in five) during edgerun boot and the verification; -no-reboot makes qemu exit on it, and
# this loop starts the next boot. hack/vm/powercut-guest.sh is the guest's side.
# Knobs: POWERCUT_CUTS (default 20), POWERCUT_SEED (default: the time; the guest draws each cut's
# delay and the workload's first command from it, so SEED repeats a run's cut schedule),
# POWERCUT_MAXDELAY (seconds, default 10: a cut comes 0.2..0.2+MAXDELAY s into the workload),
# POWERCUT_BOOT_TIMEOUT (seconds per boot, default 300), VM_MEMORY (MiB, default 1024), VM_CPUS (2).
# OUTDIR/console.log keeps every boot's console ("@@HOST boot N" before each), figures.txt the
# figures, violations.txt the findings. Fails on any finding ("@@VM violation"), harness error
# ("@@VM error"), a boot that does not end or get cut, and a file system that e2fsck finds damaged
# after the last boot. A boot that does not reach /init (the kernel's own early boot failing
# under TCG on an overloaded host; the disks are untouched then) is tried again, twice at most.
# SIGINT or SIGTERM stops the loop after the current boot, with figures for the cuts so far.
set -u
kernel=$1
initrd=$2
outdir=$3
cuts=${POWERCUT_CUTS:-20}
seed=${POWERCUT_SEED:-$(date +%s)}
maxdelay=${POWERCUT_MAXDELAY:-10}
boot_timeout=${POWERCUT_BOOT_TIMEOUT:-300}
mem=${VM_MEMORY:-1024}
smp=${VM_CPUS:-2}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
rm -f "$outdir"/*
log=$outdir/console.log
disk=$outdir/disk.img
jdisk=$outdir/journal.img
: >"$log"
: >"$outdir/violations.txt"
: >"$outdir/boots.txt"

fail=
problem() { echo "vm powercut (amd64): $*" >&2; fail=1; }

truncate -s 512M "$disk"
truncate -s 16M "$jdisk"
for d in "$disk" "$jdisk"; do
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$d" ||
		{ echo "vm powercut (amd64): mkfs.ext4 $d failed" >&2; exit 1; }
done

echo "vm powercut (amd64): $cuts cuts, seed $seed, delay 0.2-$(awk -v m="$maxdelay" 'BEGIN { print m + 0.2 }')s, disks in $outdir"
start=$(date +%s)
stopped=
trap 'stopped=1' INT TERM
retries=0
lockups=0
try=1
i=0
while [ "$i" -le "$cuts" ] && [ -z "$stopped" ]; do
	t=$(date +%s.%N)
	timeout --signal=KILL "$boot_timeout" qemu-system-x86_64 -machine q35,accel=tcg -cpu max \
		-smp "$smp" -m "$mem" -kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 quiet loglevel=5 softlockup_all_cpu_backtrace=1 panic=-1 no_timer_check edgerun.suite=powercut edgerun.cycle=$i edgerun.cuts=$cuts edgerun.seed=$seed edgerun.maxdelay=$maxdelay" \
		-drive "file=$disk,format=raw,if=virtio" -drive "file=$jdisk,format=raw,if=virtio" \
		-nic none -display none -monitor none -serial stdio -no-reboot </dev/null 2>&1 |
		tr -d '\r' >"$outdir/boot.txt"
	wall=$(awk -v a="$t" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	{
		echo "@@HOST boot $i of $cuts, ${wall}s"
		cat "$outdir/boot.txt"
	} >>"$log"
	b=$outdir/boot.txt
	if ! grep -q '^@@VM booted' "$b"; then
		if [ "$try" -lt 3 ] && [ -z "$stopped" ]; then
			echo "vm powercut (amd64): boot $i did not reach /init (${wall}s, try $try): $(grep -m1 -e 'Kernel panic' -e 'panic' "$b" || tail -n 1 "$b"); trying again" >&2
			echo "@@HOST boot $i did not reach /init, trying again" >>"$log"
			try=$((try + 1))
			retries=$((retries + 1))
			continue
		fi
		problem "boot $i did not come up (${wall}s, $try tries); its console:"
		tail -n 40 "$b" >&2
		break
	fi
	try=1
	echo "$i $wall" >>"$outdir/boots.txt"
	grep '^@@VM violation' "$b" | sed "s/^@@VM violation /boot $i: /" >>"$outdir/violations.txt"
	if grep -q -e '^@@VM error' -e '^@@VM insmod failed' "$b"; then
		problem "boot $i: harness error:"
		grep -e '^@@VM error' -e '^@@VM insmod failed' "$b" >&2
		tail -n 20 "$b" >&2
		break
	fi
	if [ "$(awk -v w="$wall" -v l="$boot_timeout" 'BEGIN { print (w >= l - 1) }')" = 1 ]; then
		# A guest kernel stuck in a soft lockup (both vCPUs in the kernel, e.g.
		# cgroup_mkdir and writeback, under TCG starved by the host's load) is
		# the emulation's, not edgerun's. Killing it is one more power cut, met
		# by the next boot's verification like any other; counted in the
		# figures, twice at most, never for the last boot.
		if grep -q 'watchdog: BUG: soft lockup' "$b" && [ "$lockups" -lt 2 ] && [ "$i" -lt "$cuts" ]; then
			echo "vm powercut (amd64): boot $i hung in a guest kernel soft lockup (${wall}s); killed, which the next boot meets as a power cut" >&2
			echo "@@HOST boot $i hung in a guest kernel soft lockup; killed as a power cut" >>"$log"
			lockups=$((lockups + 1))
			i=$((i + 1))
			continue
		fi
		problem "boot $i did not end within ${boot_timeout}s (hung?); last console lines:"
		tail -n 30 "$b" >&2
		break
	fi
	if [ "$i" -lt "$cuts" ]; then
		if grep -q '^@@VM exit' "$b" || ! grep -q "^@@VM powercut armed cycle=$i " "$b"; then
			problem "boot $i ended without being cut; last console lines:"
			tail -n 30 "$b" >&2
			break
		fi
	elif ! grep -q '^@@VM powercut done' "$b" || ! grep -q '^@@VM exit 0' "$b"; then
		problem "the last boot ($i) did not finish cleanly; last console lines:"
		tail -n 30 "$b" >&2
	fi
	i=$((i + 1))
done
rm -f "$outdir/boot.txt"
total=$(($(date +%s) - start))

# After the last boot unmounted it cleanly, the file system must be consistent.
if [ -n "$stopped" ]; then
	fsck="skipped: stopped before the last boot"
	fsck_rc=skipped
else
	fsck=$(e2fsck -fn "$disk" 2>&1)
	fsck_rc=$?
fi
[ "$fsck_rc" = 0 ] || [ -n "$stopped" ] || problem "e2fsck -fn of edgerun's disk after the last boot: exit $fsck_rc: $(echo "$fsck" | tail -n 5 | tr '\n' ' ')"

# Figures.
done_cuts=$(grep -c '^@@VM powercut armed' "$log")
findings=$(grep -c . "$outdir/violations.txt")
{
	echo "power-cut leg: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(grep -m1 -o 'edgerun=[^ ]*' "$log" | tr = ' ')"
	echo "seed $seed (POWERCUT_SEED=$seed repeats the cut schedule), delay 0.2-$(awk -v m="$maxdelay" 'BEGIN { print m + 0.2 }')s, VM ${smp} CPUs ${mem} MiB (TCG), host $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "cuts: $done_cuts of $cuts${stopped:+ (stopped by a signal)}; boots: $(grep -c . "$outdir/boots.txt"), and $retries tried again (the kernel did not reach /init), $lockups killed in a guest kernel soft lockup (counted as cuts); findings: $findings"
	echo "total: ${total}s"
	awk '{ print $2 }' "$outdir/boots.txt" | sort -n | awk '
		{ v[NR] = $1; s += $1 }
		END { if (NR) printf "per boot (wall, boot + verify + workload until the cut): min %.1fs, median %.1fs, mean %.1fs, max %.1fs\n", v[1], v[int((NR + 1) / 2)], s / NR, v[NR] }'
	for k in boot verify; do
		sed -n "s/^@@VM powercut verified .* $k=\([0-9.]*\)s.*/\1/p" "$log" | sort -n | awk -v k="$k" '
			{ v[NR] = $1; s += $1 }
			END { if (NR) printf "edgerun %s after a cut: min %.1fs, median %.1fs, max %.1fs\n", (k == "boot" ? "boot" : "boot + check + verification"), v[1], v[int((NR + 1) / 2)], v[NR] }'
	done
	echo "cuts during edgerun boot and the verification: $(grep -c '^@@VM powercut armed .* phase=boot' "$log"), during the workload: $(grep -c '^@@VM powercut armed .* phase=work' "$log")"
	echo "where the cuts landed (the command in flight; between: after one returned, before the next began):"
	sed -n 's/^@@VM powercut landed .* at=\([^: ]*\).*/\1/p' "$log" | sort | uniq -c | sort -rn | sed 's/^/  /'
	echo "commands acknowledged (returned 0): $(grep -c '^  ok ' "$log"), failed: $(grep -c 'violation cycle=[0-9]* op-failed' "$log")"
	echo "ext4 journal replayed at mount: $(grep -c '^@@VM powercut cycle=.* recovered=yes' "$log") of $(grep -c '^@@VM powercut cycle=' "$log") mounts"
	echo "edgerun check: $(sed -n 's/^@@VM powercut verified .* check=\([a-z]*\).*/\1/p' "$log" | sort | uniq -c | tr '\n' ' ' | sed 's/  */ /g')"
	grep -h '^@@VM powercut leftovers' "$log" | sed 's/^@@VM powercut /after removing everything: /'
	echo "e2fsck -fn after the last boot: exit $fsck_rc"
	if [ "$findings" -gt 0 ]; then
		echo "findings by kind:"
		awk '{ print $4 }' "$outdir/violations.txt" | sort | uniq -c | sort -rn | sed 's/^/  /'
	fi
} >"$outdir/figures.txt"
sed 's/^/  /' "$outdir/figures.txt"
if [ "$findings" -gt 0 ]; then
	problem "$findings findings (violations.txt; each boot's console in console.log after its @@HOST line):"
	head -n 40 "$outdir/violations.txt" >&2
fi
[ $((done_cuts + lockups)) -ge "$cuts" ] || problem "only $done_cuts of $cuts cuts happened"
echo "vm powercut (amd64): ${total}s: $done_cuts cuts, $findings findings; console: $log, figures: $outdir/figures.txt"
[ -z "$fail" ]
