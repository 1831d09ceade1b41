#!/bin/sh
# bench.sh: make bench-arm64. Issue 19's figures on a small device: Debian's arm64 kernel under
# qemu-system-aarch64 (TCG, 2 CPUs), where start time and unpack time are measured as ratios
# taken in the VM itself (hack/vm/bench-guest.sh, bench/cmd/vmbench): edgerun run --rm
# --network none against Debian's arm64 runc (bare, and with edgerun's seccomp filter), and
# rootfs.Unpack against busybox tar -xzf on the Debian minbase layer of bench/run.sh (BLOB), on
# the VM's tmpfs. TCG makes every absolute figure meaningless; the ratios are what it shows.
# Output: the VM's lines, $OUT/arm64-bench.txt, and the targets in $OUT/targets.txt.
# Environment: BIN_ARM64 IMAGES MKIMAGE VM BLOB (set by the Makefile); ROUNDS (start rounds,
# default 15), RUNS (unpack rounds, default 3), VM_MEMORY (MiB, default 4096).
set -eu
: "${BIN_ARM64:?}" "${IMAGES:?}" "${MKIMAGE:?}" "${VM:?}" "${BLOB:?}"
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-out/bench}
mkdir -p "$OUT"

start=$(date +%s)
"$here/kernel.sh" arm64 "$VM/arm64"
img=$VM/arm64/bench-images
rm -rf "$img"
mkdir -p "$img"
"$MKIMAGE" busybox -o "$img/busybox" -platform linux/arm64 -exec qemu-aarch64-static -bin "$VM/arm64/busybox"
"$here/bench-stage.sh" "$VM/arm64/bench-stage" "$BIN_ARM64" "$img" "$BLOB"
"$here/initramfs.sh" "$VM/arm64/initrd-bench" "$VM/arm64" "$VM/arm64/busybox" "$VM/arm64/bench-stage"
echo "bench-arm64: built in $(($(date +%s) - start))s; booting"
res=$VM/results/arm64-bench
VM_MEMORY=${VM_MEMORY:-4096} VM_TIMEOUT=${VM_TIMEOUT:-2400} "$here/run.sh" arm64 arm64-bench \
	"$VM/arm64/vmlinuz" "$VM/arm64/initrd-bench" "$res" "edgerun.rounds=${ROUNDS:-15}" "edgerun.runs=${RUNS:-3}"
{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ), host load average $(cut -d' ' -f1-3 /proc/loadavg)"
	cat "$res/bench.txt"
} | tee "$OUT/arm64-bench.txt"
figure() { sed -n "s|^vmbench: ratio $1 ||p" "$res/bench.txt"; }
. "$here/../../bench/target.sh"
target "arm64 VM: start edgerun / bare runc (median)" "$(figure 'start edgerun/runc')" "<=" 1.5 \
	"(runc with the same filter: $(figure 'start runc-seccomp/runc'))"
target "arm64 VM: unpack edgerun / tar -xzf (median)" "$(figure 'unpack edgerun/tar')" "<=" 0.8
