#!/bin/sh
# run.sh ARCH SUITE KERNEL INITRD OUTDIR [KERNEL-ARGS...]: boot one test VM under qemu (TCG) and
# judge it from its serial console, saved as OUTDIR/console.log. Fails when the VM does not boot
# or does not finish within $VM_TIMEOUT seconds (default 1200), when a module does not load, when
# a test binary fails, when a test the suite requires did not pass (a skip is not a pass), or when
# `edgerun doctor` exits with another code than the suite expects. Its report goes to
# OUTDIR/doctor.txt.
set -u
arch=$1
suite=$2
kernel=$3
initrd=$4
outdir=$5
shift 5
extra="$*"
here=$(cd "$(dirname "$0")" && pwd)
timeout=${VM_TIMEOUT:-1200}
mem=${VM_MEMORY:-2048}
smp=${VM_CPUS:-2}
mkdir -p "$outdir"
log=$outdir/console.log

cmdline="quiet loglevel=1 panic=-1 edgerun.suite=$suite $extra"
case $arch in
amd64)
	set -- qemu-system-x86_64 -machine q35,accel=tcg -cpu max -append "console=ttyS0 $cmdline" ;;
arm64)
	set -- qemu-system-aarch64 -machine virt,accel=tcg -cpu cortex-a57 -append "console=ttyAMA0 $cmdline" ;;
armv7)
	# Debian's armmp-lpae kernel; virt's devices are virtio-mmio and a PL011, the RTC a PL031.
	set -- qemu-system-arm -machine virt,accel=tcg -cpu cortex-a15 -append "console=ttyAMA0 $cmdline" ;;
armv6)
	# Debian's rpi kernel on qemu's Raspberry Pi Zero: an ARM1176 core, 512 MiB and one CPU
	# whatever VM_MEMORY and VM_CPUS say, the package's device tree (kernel.sh puts it beside
	# the kernel as dtb), the PL011 UART as console.
	# The kernel's clock events come from the BCM2835 system timer, programmed as "counter +
	# delta" into a compare register that matches only on equality. With qemu's virtual clock
	# following the host's, a loaded host lets the counter pass the compare value between the
	# kernel's read and write, and the timer then fires after the 32-bit counter wraps (71
	# min): the guest hangs (seen on 2 of 2 runs beside other VMs). -icount counts guest time
	# in instructions (4 ns each, shift=2), so that gap is a few instructions whatever the
	# host's load; sleep=off skips idle time.
	mem=512 smp=1
	set -- qemu-system-arm -machine raspi0,accel=tcg -icount shift=2,sleep=off -dtb "$(dirname "$kernel")/dtb" \
		-append "console=ttyAMA0,115200 $cmdline" ;;
*)
	echo "run.sh: unknown arch $arch: use amd64, arm64, armv7 or armv6" >&2; exit 2 ;;
esac
start=$(date +%s)
timeout --signal=KILL "$timeout" "$@" -smp "$smp" -m "$mem" -kernel "$kernel" -initrd "$initrd" \
	-nic none -display none -monitor none -serial stdio -no-reboot </dev/null >"$log" 2>&1
qrc=$?
secs=$(($(date +%s) - start))
tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"

fail=
problem() { echo "vm $suite ($arch): $*" >&2; fail=1; }
if ! grep -q '^@@VM booted' "$log"; then
	problem "did not boot (qemu exit $qrc after ${secs}s); console:"
	tail -n 60 "$log" >&2
	exit 1
fi
if ! grep -q '^@@VM exit' "$log"; then
	problem "did not finish within ${timeout}s (qemu exit $qrc); last console lines:"
	tail -n 60 "$log" >&2
fi
grep '^@@VM insmod failed' "$log" >&2 && problem "kernel modules failed to load"
grep '^@@VM error' "$log" >&2 && problem "the suite reported an error"
sed -n '/^@@VM doctor-begin/,/^@@VM doctor-end/p' "$log" | sed '1d;$d' >"$outdir/doctor.txt"
want=$(sed -n 's/^doctor //p' "$here/suites/$suite")
got=$(sed -n 's/^@@VM doctor-end //p' "$log")
[ -z "$want" ] || [ "$want" = "$got" ] || problem "edgerun doctor exited $got, want $want; its report:$(printf '\n%s' "$(cat "$outdir/doctor.txt")")"
# The oci step (hack/vm/suites/oci): its exit code must be 0; its table is saved as
# OUTDIR/oci-results.md and .tsv, and printed.
if grep -q '^oci$' "$here/suites/$suite"; then
	sed -n '/^@@VM oci-begin/,/^@@VM oci-end/p' "$log" | sed '1d;$d' >"$outdir/oci.txt"
	sed -n '/^| suite |/,/^[0-9]* suites, /p' "$outdir/oci.txt" >"$outdir/oci-results.md"
	sed -n '/^@@VM oci-tsv-begin/,/^@@VM oci-tsv-end/p' "$log" | sed '1d;$d' >"$outdir/oci-results.tsv"
	res=$(sed -n 's/^@@VM oci-end //p' "$log")
	[ "$res" = 0 ] || problem "the OCI conformance comparison exited ${res:-missing (did not finish)}:$(printf '\n%s' "$(sed -n '/^oci-conformance: suites/,$p' "$outdir/oci.txt")")"
	echo "vm $suite ($arch): the OCI conformance comparison in the VM:"
	cat "$outdir/oci-results.md"
fi
# The bench step (hack/vm/suites/arm64-bench): its output is saved as OUTDIR/bench.txt; it
# must end with 0.
if grep -q '^bench$' "$here/suites/$suite"; then
	sed -n '/^@@VM bench-begin/,/^@@VM bench-end/p' "$log" | sed '1d;$d' >"$outdir/bench.txt"
	res=$(sed -n 's/^@@VM bench-end //p' "$log")
	[ "$res" = 0 ] || problem "the benchmark exited ${res:-missing (did not finish)}:$(printf '\n%s' "$(tail -n 20 "$outdir/bench.txt")")"
fi
# Every test binary that started must have ended with 0.
sed -n 's/^@@VM test-begin \([^ ]*\).*/\1/p' "$log" | while read -r pkg; do
	res=$(sed -n "s|^@@VM test-end $pkg \([0-9]*\).*|\1|p" "$log")
	if [ "$res" != 0 ]; then
		echo "vm $suite ($arch): tests of $pkg: exit ${res:-missing (did not finish)}" >&2
		echo x
	fi
done | grep -q x && fail=1
[ -z "$fail" ] || grep -E -e '^ *--- FAIL' -e '^(FAIL|panic:)' "$log" >&2
# What each failed test said (go test -v streams it under "=== NAME T"):
# CI shows this output and not the console.
if [ -n "$fail" ]; then
	for t in $(sed -n 's/^ *--- FAIL: \([^ ]*\) .*/\1/p' "$log" | sort -u); do
		# A message's later lines (a command's stdout and stderr) are
		# indented under its first.
		awk -v t="$t" '
			/^=== (RUN|CONT|NAME|PAUSE) / { in_t = ($3 == t); more = 0; next }
			/^ *--- (PASS|FAIL|SKIP): / { in_t = 0; more = 0; next }
			in_t && /^ +[^ ]+\.go:[0-9]+: / { print t ": " $0; more = 1; if (++n >= 60) exit; next }
			in_t && more && /^ / { print t ": " $0; if (++n >= 60) exit; next }
			{ more = 0 }
		' "$log" >&2
	done
fi
required=$(sed -n 's/^require //p' "$here/suites/$suite")
case " $extra " in *" edgerun.run="*) required= ;; esac # VM_RUN narrowed the tests
for t in $required; do
	grep -Eq -e "^ *--- PASS: $t \(" "$log" || problem "required test $t did not pass: $(grep -E -e "^ *--- (SKIP|FAIL): $t " -A2 "$log" | tr '\n' ' ')"
done
pass=$(grep -Ec '^ *--- PASS' "$log")
skip=$(grep -Ec '^ *--- SKIP' "$log")
failed=$(grep -Ec '^ *--- FAIL' "$log")
booted=$(sed -n 's/^@@VM booted .* uptime \(.*\)s$/\1/p' "$log")
echo "vm $suite ($arch): ${secs}s (booted in ${booted}s of guest time): $pass passed, $skip skipped, $failed failed; console: $log"
[ -z "$fail" ]
