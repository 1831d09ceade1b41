#!/bin/sh
# test.sh: the VM matrix of `make test-vm` (docs/platforms.md). Called by make with
#   BIN BIN_ARM64 IMAGES BUSYBOX MKIMAGE   the built edgerun binaries, test images, the host's
#                                          static busybox and the image builder
#   VM                                     the work directory (out/vm)
#   OCI_BIN                                the OCI validation programs (make oci-deps; only the
#                                          oci leg needs them)
#   BIN_ARMV7 BIN_ARMV6                    the static arm/v7 and arm/v6 binaries (make cross's);
#                                          only the armv7 and armv6 legs need them
# It fetches Debian's kernels (hack/vm/kernel.sh), assembles one initramfs per architecture
# (stage.sh, initramfs.sh), then boots the matrix in parallel (run.sh), each VM with its own
# timeout, and fails when any VM fails. VM_ONLY="v2 arm64" runs a part of the matrix, and
# VM_RUN=REGEXP only the tests matching REGEXP in every test step (the suites' required tests
# are not asked for then): VM_ONLY=v2 VM_RUN='^TestDevice' make test-vm.
# The powercut leg boots its VM once per power cut (hack/vm/powercut.sh, POWERCUT_CUTS cuts,
# default 20) from an initramfs of its own (hack/vm/powercut-stage.sh: no test binaries, the
# registry, virtio disk and ext4 modules); its results go to $POWERCUT_RESULTS (default
# $VM/results/powercut).
# The rootless leg boots the amd64 initramfs plus Debian's newuidmap, newgidmap and slirp4netns
# (hack/vm/rootless-stage.sh) and runs the e2e suite as an ordinary user in a delegated cgroup.
# The oci leg boots an initramfs of its own on the amd64 kernel (cgroup v2, as the v2 leg):
# edgerun, Debian's runc and the runtime-tools validation programs (hack/vm/oci-stage.sh), and
# runs the conformance comparison of make test-oci (hack/vm/suites/oci).
# The 32-bit ARM legs: armv7 boots Debian's armhf armmp-lpae kernel on qemu's virt (Cortex-A15)
# with the arm/v7 binary; armv6 and armv6-nomemory (booted with cgroup_disable=memory) boot
# Debian's armel rpi kernel on qemu's raspi0 (ARM1176, 512 MiB, one CPU) with the arm/v6
# binary. Each carries an arm busybox image of its own and only the e2e test binary
# (STAGE_PACKAGES): under TCG a 32-bit ARM guest is the slowest of the matrix.
set -eu
: "${BIN:?}" "${BIN_ARM64:?}" "${IMAGES:?}" "${BUSYBOX:?}" "${MKIMAGE:?}" "${VM:?}"
here=$(cd "$(dirname "$0")" && pwd)

# The matrix: name, architecture, extra kernel parameters.
matrix="v2 amd64 -
nomemory amd64 cgroup_disable=memory
arm64 arm64 -
armv7 armv7 -
armv6 armv6 -
armv6-nomemory armv6 cgroup_disable=memory
powercut amd64 -
rootless amd64 -
oci amd64 -"
only=${VM_ONLY:-v2 nomemory arm64 armv7 armv6 armv6-nomemory powercut rootless oci}
wanted() { case " $only " in *" $1 "*) return 0 ;; esac; return 1; }

start=$(date +%s)
if wanted v2 || wanted nomemory || wanted powercut || wanted rootless || wanted oci; then
	"$here/kernel.sh" amd64 "$VM/amd64"
fi
if wanted v2 || wanted nomemory || wanted rootless; then
	"$here/stage.sh" amd64 "$VM/amd64/stage" "$BIN" "$IMAGES"
fi
if wanted v2 || wanted nomemory; then
	"$here/apparmor-stage.sh" "$VM/amd64/apparmor-stage"
	"$here/initramfs.sh" "$VM/amd64/initrd" "$VM/amd64" "$BUSYBOX" "$VM/amd64/stage" "$VM/amd64/apparmor-stage"
fi
if wanted rootless; then
	"$here/rootless-stage.sh" "$VM/amd64/rootless-stage"
	"$here/initramfs.sh" "$VM/amd64/initrd-rootless" "$VM/amd64" "$BUSYBOX" "$VM/amd64/stage" "$VM/amd64/rootless-stage"
fi
if wanted oci; then
	"$here/oci-stage.sh" "$VM/amd64/oci-stage" "$BIN" "${OCI_BIN:?OCI_BIN: the validation programs (make oci-deps)}"
	"$here/initramfs.sh" "$VM/amd64/initrd-oci" "$VM/amd64" "$BUSYBOX" "$VM/amd64/oci-stage"
fi
if wanted powercut; then
	"$here/powercut-stage.sh" "$VM/amd64/powercut-stage" "$BIN" "$IMAGES" "$MKIMAGE" "$BUSYBOX"
	VM_MODULES_EXTRA="virtio_pci virtio_blk ext4" \
		"$here/initramfs.sh" "$VM/amd64/initrd-powercut" "$VM/amd64" "$BUSYBOX" "$VM/amd64/powercut-stage"
fi
if wanted arm64; then
	"$here/kernel.sh" arm64 "$VM/arm64"
	# arm64 busybox for the tests' busybox image; the x86-64 one is the foreign image.
	rm -rf "$VM/arm64/images"
	mkdir -p "$VM/arm64/images"
	"$MKIMAGE" busybox -o "$VM/arm64/images/busybox" -platform linux/arm64 -exec qemu-aarch64-static -bin "$VM/arm64/busybox"
	cp -a "$IMAGES/sensor" "$VM/arm64/images/sensor"
	cp -a "$IMAGES/busybox" "$VM/arm64/images/busybox-amd64"
	"$here/stage.sh" arm64 "$VM/arm64/stage" "$BIN_ARM64" "$VM/arm64/images"
	"$here/initramfs.sh" "$VM/arm64/initrd" "$VM/arm64" "$VM/arm64/busybox" "$VM/arm64/stage"
fi
# arm32 LEG BIN PLATFORM: the kernel, images and initramfs of a 32-bit ARM leg: its own
# busybox (armhf for v7, armel for v6) as the busybox image, the multi-arch sensor, and the
# e2e test binary.
arm32() {
	"$here/kernel.sh" "$1" "$VM/$1"
	rm -rf "$VM/$1/images"
	mkdir -p "$VM/$1/images"
	"$MKIMAGE" busybox -o "$VM/$1/images/busybox" -platform "$3" -exec qemu-arm-static -bin "$VM/$1/busybox"
	cp -a "$IMAGES/sensor" "$VM/$1/images/sensor"
	STAGE_PACKAGES=e2e "$here/stage.sh" "$1" "$VM/$1/stage" "$2" "$VM/$1/images"
	"$here/initramfs.sh" "$VM/$1/initrd" "$VM/$1" "$VM/$1/busybox" "$VM/$1/stage"
}
if wanted armv7; then
	arm32 armv7 "${BIN_ARMV7:?BIN_ARMV7: the arm/v7 binary}" linux/arm/v7
fi
if wanted armv6 || wanted armv6-nomemory; then
	arm32 armv6 "${BIN_ARMV6:?BIN_ARMV6: the arm/v6 binary}" linux/arm/v6
fi
echo "test-vm: built in $(($(date +%s) - start))s; booting: $only"

mkdir -p "$VM/results"
pids=
echo "$matrix" | {
	while read -r name arch extra; do
		wanted "$name" || continue
		[ "$extra" != - ] || extra=
		[ -z "${VM_RUN:-}" ] || extra="$extra edgerun.run=$VM_RUN"
		if [ "$name" = powercut ]; then
			"$here/powercut.sh" "$VM/$arch/vmlinuz" "$VM/$arch/initrd-powercut" \
				"${POWERCUT_RESULTS:-$VM/results/$name}" >"$VM/results/$name.txt" 2>&1 &
		else
			initrd=$VM/$arch/initrd
			[ "$name" != rootless ] || initrd=$VM/$arch/initrd-rootless
			# Nine TCG VMs share the host's CPUs, and make test runs the host's
			# tiers beside them: v2 took 1560 s in the matrix alone, 2187 s
			# with the host's tiers (its e2e step alone 1800 s, at the step's
			# 30-minute timeout, now 45: hack/vm/suite.sh).
			timeout=${VM_TIMEOUT:-3300}
			if [ "$name" = oci ]; then
				initrd=$VM/$arch/initrd-oci
				# 58 suites against two runtimes under TCG, sharing the host's CPUs
				# with the other legs: about 600 s alone, 1500-1800 s in the matrix
				# (more with make test's host tiers beside it).
				timeout=${VM_OCI_TIMEOUT:-3300}
			fi
			VM_TIMEOUT=$timeout "$here/run.sh" "$arch" "$name" "$VM/$arch/vmlinuz" "$initrd" "$VM/results/$name" $extra \
				>"$VM/results/$name.txt" 2>&1 &
		fi
		pids="$pids $!:$name"
	done
	rc=0
	for p in $pids; do
		if ! wait "${p%%:*}"; then
			rc=1
		fi
		cat "$VM/results/${p#*:}.txt"
	done
	echo "test-vm: matrix done in $(($(date +%s) - start))s"
	exit $rc
}
