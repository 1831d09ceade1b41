#!/bin/sh
# check-elf.sh BINARY TARGET: fail unless BINARY is a static ELF for TARGET (arm64, arm-v7,
# arm-v6). For arm it also checks the float ABI and the CPU architecture attribute
# (readelf -A Tag_CPU_arch): v7 for arm-v7, at most v6 for arm-v6.
set -eu
bin=$1
target=$2

fail() { echo "check-elf: $bin: $*" >&2; exit 1; }

machine=$(readelf -h "$bin" | sed -n 's/^ *Machine: *//p')
flags=$(readelf -h "$bin" | sed -n 's/^ *Flags: *//p')
cpu=$(readelf -A "$bin" | sed -n 's/^ *Tag_CPU_arch: *//p')
if readelf -l "$bin" | grep -q INTERP; then
	fail "dynamically linked (has a program interpreter); want static"
fi
case $target in
arm64)
	[ "$machine" = AArch64 ] || fail "machine $machine, want AArch64" ;;
arm-v7)
	[ "$machine" = ARM ] || fail "machine $machine, want ARM"
	[ "$cpu" = v7 ] || fail "Tag_CPU_arch $cpu, want v7"
	case $flags in *hard-float*) ;; *) fail "flags $flags, want the hard-float ABI" ;; esac ;;
arm-v6)
	[ "$machine" = ARM ] || fail "machine $machine, want ARM"
	case $cpu in v4|v4T|v5T|v5TE|v5TEJ|v6|v6K|v6KZ) ;; *) fail "Tag_CPU_arch $cpu, want v6 or older" ;; esac
	case $flags in *soft-float*) ;; *) fail "flags $flags, want the soft-float ABI (armel)" ;; esac ;;
*)
	fail "unknown target $target: use arm64, arm-v7 or arm-v6" ;;
esac
echo "check-elf: $bin: $machine ${cpu:+Tag_CPU_arch $cpu }${flags:+($flags) }static: ok"
