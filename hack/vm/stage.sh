#!/bin/sh
# stage.sh ARCH DIR EDGERUN IMAGES: fill DIR with what the test VMs of ARCH carry besides
# busybox and the modules: the edgerun binary at usr/local/bin/edgerun, the OCI layouts in the
# directory IMAGES under images/, and a static test binary per package whose tests need root (they call
# testenv.RequireRoot; root-packages.sh lists them, so new ones are picked up), at tests/PKG.test with
# the package's testdata at src/PKG/testdata, plus the e2e probe program at tests/probe/probe.
# ARCH amd64 builds natively; arm64, armv7 and armv6 cross-compile with Debian's cross compilers.
set -eu
arch=$1
dir=$2
edgerun=$3
images=$4
go=${GO:-go}
tags='seccomp osusergo netgo'

rm -rf "$dir"
mkdir -p "$dir/usr/local/bin" "$dir/tests/probe" "$dir/src"
cp "$edgerun" "$dir/usr/local/bin/edgerun"
cp -a "$images" "$dir/images"

# The cross settings are the Makefile's CROSS_* (make cross): armv7 links armhf, armv6 armel
# with our cgo code built for ARMv6 (ARM state).
case $arch in
amd64) cross="GOARCH=amd64" ;;
arm64) cross="GOARCH=arm64 CC=aarch64-linux-gnu-gcc PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig" ;;
armv7) cross="GOARCH=arm GOARM=7 CC=arm-linux-gnueabihf-gcc PKG_CONFIG_LIBDIR=/usr/lib/arm-linux-gnueabihf/pkgconfig" ;;
armv6) cross="GOARCH=arm GOARM=6 CC=arm-linux-gnueabi-gcc PKG_CONFIG_LIBDIR=/usr/lib/arm-linux-gnueabi/pkgconfig" ;;
*) echo "stage.sh: unknown arch $arch" >&2; exit 2 ;;
esac
# STAGE_PACKAGES names the test packages to carry (the slow 32-bit legs carry a few); all of
# root-packages.sh's when unset.
pkgs=${STAGE_PACKAGES:-$(GO="$go" "$(dirname "$0")/root-packages.sh")}
[ -n "$pkgs" ] || { echo "stage.sh: root-packages.sh found no package with root tests" >&2; exit 1; }
if [ "$arch" = armv6 ]; then
	export CGO_CFLAGS='-O2 -g -march=armv6 -marm'
fi
for p in $pkgs; do
	# shellcheck disable=SC2086 # $cross is a list of assignments for env
	env GOOS=linux CGO_ENABLED=1 $cross "$go" test -c -tags "$tags" -trimpath -buildvcs=false \
		-ldflags '-s -w -extldflags=-static' -o "$dir/tests/$p.test" "./$p"
	mkdir -p "$dir/src/$p"
	[ ! -d "$p/testdata" ] || cp -a "$p/testdata" "$dir/src/$p/"
done
# shellcheck disable=SC2086 # $cross is a list of assignments for env
env GOOS=linux CGO_ENABLED=0 $cross "$go" build -trimpath -buildvcs=false -ldflags '-s -w' \
	-o "$dir/tests/probe/probe" ./e2e/testdata/probe
echo "stage.sh: $dir: edgerun, tests of $(echo $pkgs), images $(ls "$dir/images" | tr '\n' ' ')"
