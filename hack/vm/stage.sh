#!/bin/sh
# stage.sh ARCH DIR EDGERUN IMAGES: fill DIR with what the test VMs of ARCH carry besides
# busybox and the modules: the edgerun binary at usr/local/bin/edgerun, the OCI layouts in the
# directory IMAGES under images/, and a static test binary per package whose tests need root (they call
# testenv.RequireRoot; root-packages.sh lists them, so new ones are picked up), at tests/PKG.test with
# the package's testdata at src/PKG/testdata, plus the e2e probe program at tests/probe/probe.
# ARCH amd64 builds natively; arm64 cross-compiles with Debian's aarch64-linux-gnu-gcc.
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

case $arch in
amd64) cross="GOARCH=amd64" ;;
arm64) cross="GOARCH=arm64 CC=aarch64-linux-gnu-gcc PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig" ;;
*) echo "stage.sh: unknown arch $arch" >&2; exit 2 ;;
esac
pkgs=$(GO="$go" "$(dirname "$0")/root-packages.sh")
[ -n "$pkgs" ] || { echo "stage.sh: root-packages.sh found no package with root tests" >&2; exit 1; }
for p in $pkgs; do
	# shellcheck disable=SC2086 # $cross is a list of assignments for env
	env GOOS=linux CGO_ENABLED=1 $cross "$go" test -c -tags "$tags" -trimpath -buildvcs=false \
		-ldflags '-s -w -extldflags=-static' -o "$dir/tests/$p.test" "./$p"
	mkdir -p "$dir/src/$p"
	[ ! -d "$p/testdata" ] || cp -a "$p/testdata" "$dir/src/$p/"
done
env GOOS=linux CGO_ENABLED=0 GOARCH="$arch" "$go" build -trimpath -buildvcs=false -ldflags '-s -w' \
	-o "$dir/tests/probe/probe" ./e2e/testdata/probe
echo "stage.sh: $dir: edgerun, tests of $(echo $pkgs), images $(ls "$dir/images" | tr '\n' ' ')"
