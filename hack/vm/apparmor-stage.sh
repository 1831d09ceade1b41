#!/bin/sh
# apparmor-stage.sh DIR: fill DIR with Debian's apparmor_parser for the amd64 VM legs that run
# containers as root (v2, nomemory; hack/vm/initramfs.sh copies it over the stage). Debian's 6.1
# kernel enforces AppArmor by default, so with the parser edgerun loads its profile
# edgerun-default there and confines every container, as on a Debian or Ubuntu gateway
# (docs/security.md). The package is fetched with apt-get download and extracted, never installed
# on this machine; it is cached in DIR.debs.
set -eu
dir=$1
debs=$dir.debs
mkdir -p "$debs"
if ! ls "$debs"/apparmor_*.deb >/dev/null 2>&1; then
	# apt's _apt user may not write here; the download then runs unsandboxed (a warning, not an error).
	(cd "$debs" && apt-get download -q apparmor 2>&1 | grep -v 'unsandboxed' || true)
	ls "$debs"/apparmor_*.deb >/dev/null 2>&1 || { echo "apparmor-stage.sh: apt-get download apparmor failed (apt-get update?)" >&2; exit 1; }
fi
rm -rf "$dir" "$debs/x"
dpkg-deb -x "$(ls "$debs"/apparmor_*.deb | tail -1)" "$debs/x"
# The parser with Debian's configuration, which pins policy without an abi rule (edgerun's) to
# the feature set the package ships, as on a Debian host.
mkdir -p "$dir/sbin" "$dir/etc/apparmor" "$dir/usr/share/apparmor-features"
cp "$debs/x/sbin/apparmor_parser" "$dir/sbin/"
cp "$debs/x/etc/apparmor/parser.conf" "$dir/etc/apparmor/"
cp "$debs/x/usr/share/apparmor-features/features" "$dir/usr/share/apparmor-features/"
ldd "$dir/sbin/apparmor_parser" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
	mkdir -p "$dir$(dirname "$lib")"
	cp -L "$lib" "$dir$lib"
done
echo "apparmor-stage.sh: $dir: apparmor_parser $(dpkg-deb -f "$(ls "$debs"/apparmor_*.deb | tail -1)" Version)"
