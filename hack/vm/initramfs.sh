#!/bin/sh
# initramfs.sh OUT KERNELDIR BUSYBOX STAGE...: write the initramfs OUT (a newc cpio, uncompressed:
# the kernel unpacks it fastest) for the test VMs from
#   KERNELDIR  what hack/vm/kernel.sh extracted (root/lib/modules, release)
#   BUSYBOX    a static busybox for the VM's architecture (the whole userland)
#   STAGE      a directory copied as is to / : usr/local/bin/edgerun, tests/<pkg>.test, src/<pkg>
#              (the test packages' testdata), images/ (OCI layouts); more STAGE directories are
#              copied over it in order (the rootless leg's helpers, hack/vm/rootless-stage.sh)
# plus hack/vm/init, hack/vm/suite.sh and hack/vm/suites/, and the kernel modules edgerun needs
# (overlay, veth, bridge, nf_tables and friends) with their dependencies, listed in load order
# in /lib/modules/load.order. $VM_MODULES_EXTRA names more modules (the power-cut VM's virtio
# disk and ext4).
set -eu
out=$1
kdir=$2
busybox=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
release=$(cat "$kdir/release")
kroot=$(cd "$kdir/root" && pwd) # absolute: modprobe prints absolute paths

# The modules edgerun uses: overlay for root file systems, veth and bridge for networks,
# nf_tables with NAT, masquerade, conntrack, fib and reject for NAT and port publishing.
mods="overlay veth bridge br_netfilter nf_tables nft_chain_nat nft_nat nft_masq nft_ct nft_redir
nft_fib_inet nft_fib_ipv4 nft_fib_ipv6 nft_reject_inet nf_conntrack nft_compat tun dummy
${VM_MODULES_EXTRA:-}"
# The drivers the device tests (e2e/device_test.go) open, where the kernel has them: loop and
# fuse stand for sensors, i2c-stub is an I2C bus with a chip at 0x48 (not in the arm64 kernel;
# the arm64 VM's GPIO is qemu virt's PL061, built in).
optional="loop fuse i2c_dev i2c_stub"
params_i2c_stub="chip_addr=0x48"

tree=$(mktemp -d "${TMPDIR:-/tmp}/edgerun-initramfs.XXXXXX")
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/bin" "$tree/sbin" "$tree/usr/bin" "$tree/usr/sbin" "$tree/proc" "$tree/sys" \
	"$tree/dev" "$tree/tmp" "$tree/root" "$tree/etc" "$tree/lib/modules"
cp "$busybox" "$tree/bin/busybox"
ln -s busybox "$tree/bin/sh"
cp "$here/init" "$tree/init"
cp "$here/suite.sh" "$tree/suite.sh"
cp -r "$here/suites" "$tree/suites"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$tree/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$tree/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$tree/etc/hosts"
for stage in "$@"; do
	cp -a "$stage/." "$tree/"
done

for m in $mods; do
	modprobe -d "$kroot" -S "$release" --show-depends "$m" ||
		{ echo "initramfs.sh: module $m not in kernel $release" >&2; exit 1; }
done >"$tree/deps"
for m in $optional; do
	modprobe -d "$kroot" -S "$release" --show-depends "$m" 2>/dev/null || :
done >>"$tree/deps"
awk '$1 == "insmod" && !seen[$2]++ { print $2 }' "$tree/deps" >"$tree/mods.list"
rm "$tree/deps"
# load.order: a module's path, then its parameters (hack/vm/init loads them in this order).
while read -r ko; do
	rel=${ko#"$kroot"/lib/modules/"$release"/}
	mkdir -p "$tree/lib/modules/kernel/$(dirname "$rel")"
	cp "$ko" "$tree/lib/modules/kernel/$rel"
	name=$(basename "$rel" | sed 's/\.ko.*//; s/-/_/g')
	eval "params=\${params_$name:-}"
	echo "/lib/modules/kernel/$rel $params" >>"$tree/lib/modules/load.order"
done <"$tree/mods.list"
rm "$tree/mods.list"

mkdir -p "$(dirname "$out")"
(cd "$tree" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
echo "initramfs.sh: $out ($(du -h "$out" | cut -f1), kernel $release, $(wc -l <"$tree/lib/modules/load.order") modules)"
