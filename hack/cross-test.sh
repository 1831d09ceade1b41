#!/bin/sh
# cross-test.sh TARGET...: run the unit tests of the pure-Go packages (those that build without
# cgo: everything but container/, relay/ and what imports them, e2e/ and bench/) for each TARGET
# (arm64, arm-v7)
# under qemu-user. The test binaries are compiled with go test -c into out/cross-test/TARGET and
# run by qemu-aarch64-static / qemu-arm-static from their package directory.
#
# They run as the unprivileged user nobody (setpriv): the tests that need root skip, as they
# would for a developer. Root behaviour is a kernel matter that qemu-user cannot show (it does not
# emulate netfilter netlink, nor exec of a foreign binary without binfmt_misc, which we do not
# register on the host); the arm64 VM of make test-vm runs those tests on a real arm64 kernel.
# internal/containerinit is left out: its tests re-execute the test binary as a PID-1-style
# init that forks and reaps, and qemu-user hangs emulating that (the arm64 VM runs e2e --init).
set -eu
go=${GO:-go}
out=$(pwd)/out/cross-test
mod=$("$go" list -m)
# Leave out what needs cgo: container and relay, and every package that imports them (services,
# cmd/edgerun, ...), found from the import graph so a new one cannot slip in.
pkgs=$("$go" list -f '{{.ImportPath}} {{join .Deps " "}}' ./... |
	grep -v -E " $mod/(container|relay)( |$)" | cut -d' ' -f1 |
	grep -v -E '/(container|relay|e2e|bench|cmd/edgerun|internal/containerinit)(/|$)' |
	sed "s|^$mod/||")
rc=0
for target in "$@"; do
	case $target in
	arm64) env="GOARCH=arm64" qemu=qemu-aarch64-static ;;
	arm-v7) env="GOARCH=arm GOARM=7" qemu=qemu-arm-static ;;
	*) echo "cross-test: unknown target $target: use arm64 or arm-v7" >&2; exit 2 ;;
	esac
	dir=$out/$target
	rm -rf "$dir"
	mkdir -p "$dir"
	for p in $pkgs; do
		bin=$dir/$(echo "$p" | tr / _).test
		# shellcheck disable=SC2086 # $env is a list of assignments
		env CGO_ENABLED=0 GOOS=linux $env "$go" test -c -o "$bin" "./$p"
		[ -f "$bin" ] || continue # no test files
		chmod -R a+rX "$out"
		if (cd "$p" && setpriv --reuid=65534 --regid=65534 --clear-groups \
			"$qemu" "$bin" -test.v -test.count=1 -test.timeout=10m >"$bin.log" 2>&1); then
			echo "ok   $target $p ($(grep -c -- '--- SKIP' "$bin.log" || true) skipped)"
		else
			echo "FAIL $target $p:"
			cat "$bin.log"
			rc=1
		fi
	done
done
exit $rc
