#!/bin/sh
# oci-stage.sh DIR EDGERUN OCIBIN: fill DIR with what the oci VM leg carries besides busybox and
# the modules (hack/vm/initramfs.sh copies it to /): the OCI conformance comparison of make
# test-oci (hack/oci-conformance.sh) on cgroup v2, x86-64:
#   usr/local/bin/edgerun, edgerun-oci   the binary and the OCI runtime's name for it (a symlink)
#   usr/sbin/runc                        this machine's Debian runc, the reference runtime, with
#                                        the shared libraries and the loader ldd lists, at the
#                                        same paths (Debian builds it dynamically)
#   oci/bin                              the validation programs and runtimetest (static, OCIBIN)
#   oci-conformance.sh                   the comparison itself
set -eu
dir=$1
edgerun=$2
ocibin=$3
here=$(cd "$(dirname "$0")" && pwd)

[ -x "$ocibin/runtimetest" ] || { echo "oci-stage.sh: no validation programs in $ocibin (make oci-deps)" >&2; exit 1; }
runc=$(command -v runc || echo /usr/sbin/runc)
[ -x "$runc" ] || { echo "oci-stage.sh: runc not found (hack/deps.sh test installs it)" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir/usr/local/bin" "$dir/usr/sbin" "$dir/oci"
cp "$edgerun" "$dir/usr/local/bin/edgerun"
ln -s edgerun "$dir/usr/local/bin/edgerun-oci"
cp -L "$runc" "$dir/usr/sbin/runc"
ldd "$runc" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
	mkdir -p "$dir$(dirname "$lib")"
	cp -L "$lib" "$dir$lib"
done
cp -a "$ocibin" "$dir/oci/bin"
cp "$here/../oci-conformance.sh" "$dir/oci-conformance.sh"
echo "oci-stage.sh: $dir: edgerun, runc ($("$runc" --version | head -n 1)) and $(find "$dir" -name '*.so*' | wc -l) libraries, $(ls "$dir/oci/bin" | wc -l) validation programs ($(du -sh "$dir/oci/bin" | cut -f1))"
