#!/bin/sh
# bench.sh [ARCH]: make bench-arm64 and make bench-armv7. Issue 19's figures on a small device:
# Debian's arm64 kernel under qemu-system-aarch64, or its armhf armmp-lpae kernel under
# qemu-system-arm -M virt -cpu cortex-a15 (ARCH armv7; default arm64), TCG, 2 CPUs, where start
# time and unpack time are measured as ratios taken in the VM itself (hack/vm/bench-guest.sh,
# bench/cmd/vmbench): edgerun run --rm --network none against Debian's runc of the same
# architecture (bare, and with edgerun's seccomp filter), and rootfs.Unpack against busybox tar
# -xzf on the Debian minbase layer of bench/run.sh (BLOB), on the VM's tmpfs. TCG makes every
# absolute figure meaningless; the ratios are what it shows.
# Output: the VM's lines, $OUT/ARCH-bench.txt, and the targets in $OUT/targets.txt.
# Environment: BIN_ARM64 or BIN_ARMV7, IMAGES MKIMAGE VM BLOB (set by the Makefile); ROUNDS
# (start rounds, default 15), RUNS (unpack rounds, default 3), VM_MEMORY (MiB, default 4096 on
# arm64, 3072 on armv7).
set -eu
arch=${1:-arm64}
case $arch in
arm64) bin=${BIN_ARM64:?} platform=linux/arm64 qemu=qemu-aarch64-static mem=4096 ;;
armv7) bin=${BIN_ARMV7:?} platform=linux/arm/v7 qemu=qemu-arm-static mem=3072 ;;
*) echo "bench.sh: unknown arch $arch: use arm64 or armv7" >&2; exit 2 ;;
esac
: "${IMAGES:?}" "${MKIMAGE:?}" "${VM:?}" "${BLOB:?}"
here=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-out/bench}
mkdir -p "$OUT"

start=$(date +%s)
"$here/kernel.sh" "$arch" "$VM/$arch"
img=$VM/$arch/bench-images
rm -rf "$img"
mkdir -p "$img"
"$MKIMAGE" busybox -o "$img/busybox" -platform "$platform" -exec "$qemu" -bin "$VM/$arch/busybox"
"$here/bench-stage.sh" "$arch" "$VM/$arch/bench-stage" "$bin" "$img" "$BLOB"
"$here/initramfs.sh" "$VM/$arch/initrd-bench" "$VM/$arch" "$VM/$arch/busybox" "$VM/$arch/bench-stage"
echo "bench-$arch: built in $(($(date +%s) - start))s; booting"
res=$VM/results/$arch-bench
VM_MEMORY=${VM_MEMORY:-$mem} VM_TIMEOUT=${VM_TIMEOUT:-2400} "$here/run.sh" "$arch" "$arch-bench" \
	"$VM/$arch/vmlinuz" "$VM/$arch/initrd-bench" "$res" "edgerun.rounds=${ROUNDS:-15}" "edgerun.runs=${RUNS:-3}"
{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ), host load average $(cut -d' ' -f1-3 /proc/loadavg)"
	cat "$res/bench.txt"
} | tee "$OUT/$arch-bench.txt"
figure() { sed -n "s|^vmbench: ratio $1 ||p" "$res/bench.txt"; }
. "$here/../../bench/target.sh"
target "$arch VM: start edgerun / bare runc (median)" "$(figure 'start edgerun/runc')" "<=" 1.5 \
	"(runc with the same filter: $(figure 'start runc-seccomp/runc'))"
target "$arch VM: unpack edgerun / tar -xzf (median)" "$(figure 'unpack edgerun/tar')" "<=" 0.8
