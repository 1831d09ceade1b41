#!/bin/sh
# bench-guest.sh: the arm64 benchmark VM's work (make bench-arm64), run by hack/vm/suite.sh's
# bench step: start time (edgerun run --rm --network none against Debian's runc, bare and with
# edgerun's seccomp filter) and unpack time (rootfs.Unpack against busybox tar -xzf, on the
# VM's tmpfs), each interleaved (bench/cmd/vmbench). edgerun.rounds= and edgerun.runs= on the
# kernel command line set the rounds of each (default 15 and 3).
set -eu
rounds=$(sed -n 's/.*edgerun\.rounds=\([0-9]*\).*/\1/p' /proc/cmdline)
runs=$(sed -n 's/.*edgerun\.runs=\([0-9]*\).*/\1/p' /proc/cmdline)
er="/usr/local/bin/edgerun --root /var/lib/vmbench --state /run/vmbench"
echo "vmbench: $(uname -m) $(nproc) CPUs, kernel $(uname -r), $(/usr/sbin/runc --version | head -n 1)"
$er load -q -i /images/busybox >/dev/null
/bench/vmbench start -edgerun /usr/local/bin/edgerun -root /var/lib/vmbench -state /run/vmbench \
	-runc /usr/sbin/runc -dir /tmp/vmbench -rounds "${rounds:-15}"
/bench/vmbench unpack -unpack /bench/unpack -blob /bench/layer.blob -dir /tmp/vmbench-unpack -runs "${runs:-3}" 2>/dev/null
