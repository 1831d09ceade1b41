#!/bin/sh
# bench-stage.sh ARCH DIR EDGERUN IMAGES BLOB: fill DIR with what the benchmark VM of ARCH (arm64
# or armv7; make bench-arm64, make bench-armv7, hack/vm/bench.sh) carries besides busybox and the
# modules (hack/vm/initramfs.sh copies DIR to /):
#   usr/local/bin/edgerun            the arm64 or arm/v7 binary
#   images/busybox                   the busybox image of ARCH (IMAGES/busybox)
#   usr/sbin/runc, lib/...           Debian's runc of ARCH (arm64, armhf) with libseccomp and the
#                                    C library it links (apt-get download; Debian builds runc
#                                    dynamically)
#   bench/vmbench, bench/unpack      bench/cmd/vmbench and bench/cmd/unpack, static
#   bench/layer.blob                 BLOB, the Debian minbase gzip layer of bench/run.sh
#   bench.sh                         what the VM runs (hack/vm/bench-guest.sh)
# The .debs are kept in DIR.debs between runs.
set -eu
arch=$1
dir=$2
edgerun=$3
images=$4
blob=$5
case $arch in
arm64) deb=arm64 goarch="GOARCH=arm64" ;;
armv7) deb=armhf goarch="GOARCH=arm GOARM=7" ;;
*) echo "bench-stage.sh: unknown arch $arch: use arm64 or armv7" >&2; exit 2 ;;
esac
go=${GO:-go}
here=$(cd "$(dirname "$0")" && pwd)

[ -f "$blob" ] || { echo "bench-stage.sh: no layer $blob: make bench builds it (bench/run.sh)" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir/usr/local/bin" "$dir/bench" "$dir/images" "$dir.debs"
cp "$edgerun" "$dir/usr/local/bin/edgerun"
cp -a "$images/busybox" "$dir/images/busybox"
for c in vmbench unpack; do
	# shellcheck disable=SC2086 # $goarch is a list of assignments for env
	(cd "$here/../.." && env CGO_ENABLED=0 GOOS=linux $goarch "$go" build -trimpath -buildvcs=false \
		-ldflags '-s -w' -o "$dir/bench/$c" "./bench/cmd/$c")
done
cp "$blob" "$dir/bench/layer.blob"
cp "$here/bench-guest.sh" "$dir/bench.sh"
debs="runc libseccomp2 libc6"
for p in $debs; do
	ls "$dir.debs/${p}"_*_"$deb".deb >/dev/null 2>&1 && continue
	# apt's _apt user may not write here; the download then runs unsandboxed (a warning).
	(cd "$dir.debs" && apt-get download -q "$p:$deb" 2>&1 | grep -v 'unsandboxed')
done
for p in $debs; do
	dpkg-deb -x "$(ls "$dir.debs/${p}"_*_"$deb".deb | tail -n 1)" "$dir"
done
rm -rf "$dir/usr/share" "$dir/etc"
[ -x "$dir/usr/sbin/runc" ] || { echo "bench-stage.sh: runc:$deb has no usr/sbin/runc" >&2; exit 1; }
echo "bench-stage.sh: $dir: edgerun, runc $(ls "$dir.debs"/runc_*_"$deb".deb | sed 's/.*runc_\([^_]*\)_.*/\1/'), vmbench, unpack, layer $(($(stat -c %s "$blob") / 1000000)) MB"
