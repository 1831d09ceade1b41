#!/bin/sh
# deb.sh ARCH BINARY: the Debian package edgerun_VERSION_ARCH.deb of a static edgerun binary,
# built with dpkg-deb (no debhelper: the package is one static binary and its files), then
# checked with lintian. Environment: HOSTBIN (an edgerun that runs here, for the completion
# scripts), MANDIR (make man's pages), OUT (where the .deb goes), VERSION (git describe),
# COMMIT_TIME (the commit's Unix time: the package's timestamps, for reproducible packages).
#
# Layout (docs/platforms.md, "Packages"): /usr/bin/edgerun and the edgerun-oci link, man pages,
# bash/zsh/fish completion, /lib/systemd/system/edgerun.service, the user unit in
# /usr/lib/systemd/user, /etc/init.d/edgerun (a conffile), the docs, copyright and
# changelog.gz (a native package). No maintainer scripts: nothing is enabled or started on install (as
# contrib's units are documented: systemctl enable edgerun), so installing and purging the
# package touches nothing but its files.
set -eu
arch=$1
bin=$2
: "${HOSTBIN:?}" "${MANDIR:?}" "${OUT:?}"
src=$(cd "$(dirname "$0")/.." && pwd)

# The ELF machine must be the architecture's.
machine=$(readelf -h "$bin" | sed -n 's/^ *Machine: *//p')
case $arch in
amd64) want="Advanced Micro Devices X86-64" ;;
arm64) want=AArch64 ;;
armhf | armel) want=ARM ;;
*) echo "deb: unknown architecture $arch" >&2; exit 2 ;;
esac
[ "$machine" = "$want" ] || { echo "deb: $bin is for $machine, not $arch" >&2; exit 1; }

# Debian versions start with a digit: v1.2.3 -> 1.2.3; a bare commit -> 0~gitDATE.HASH.
v=${VERSION:-dev}
case $v in
v[0-9]*.* | [0-9]*.*) v=$(echo "${v#v}" | tr - .) ;; # a tag; a bare hash has no dot
*) v="0~git$(date -u -d "@${COMMIT_TIME:-0}" +%Y%m%d%H%M%S).$(echo "$v" | tr - .)" ;;
esac
epoch=${COMMIT_TIME:-$(date +%s)}

stage=$OUT/stage-$arch
rm -rf "$stage"
mkdir -p "$stage/DEBIAN" "$OUT"
DESTDIR=$stage PREFIX=/usr BIN=$bin HOSTBIN=$HOSTBIN MANDIR=$MANDIR \
	SYSTEMDUNITDIR=/lib/systemd/system SYSTEMDUSERUNITDIR=/usr/lib/systemd/user \
	INITDIR=/etc/init.d ZSHCOMPDIR=/usr/share/zsh/vendor-completions DOCDIR=/usr/share/doc/edgerun \
	"$src/hack/install.sh"
doc=$stage/usr/share/doc/edgerun
gzip -9n "$doc"/*.md
sed -i 's|\(file:///usr/share/doc/edgerun/[a-z]*\.md\)|\1.gz|' "$stage/lib/systemd/system/edgerun.service" \
	"$stage/usr/lib/systemd/user/edgerun.service"
install -m 0644 "$src/contrib/deb/copyright" "$doc/copyright"
date=$(date -u -R -d "@$epoch")
printf 'edgerun (%s) unstable; urgency=medium\n\n  * Built from %s.\n\n -- edgerun maintainers <maintainers@edgerun.invalid>  %s\n' \
	"$v" "${VERSION:-dev}" "$date" | gzip -9n >"$doc/changelog.gz"
install -D -m 0644 "$src/contrib/deb/lintian-overrides" "$stage/usr/share/lintian/overrides/edgerun"

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
desc=""
case $arch in
armhf | armel) desc=" .
 This package carries the ARMv6 binary (GOARM=6, VFPv2): it runs on the
 Raspberry Pi 1 and Zero (Raspberry Pi OS armhf is ARMv6 with VFP) and on
 every later ARM core, not on ARMv5 (plain armel) boards.
" ;;
esac
cat >"$stage/DEBIAN/control" <<CONTROL
Package: edgerun
Version: $v
Architecture: $arch
Maintainer: edgerun maintainers <maintainers@edgerun.invalid>
Installed-Size: $size
Section: admin
Priority: optional
Suggests: uidmap, slirp4netns
Description: daemonless container runtime for IoT gateways
 edgerun runs OCI containers on gateways without a daemon: one static binary
 with docker's verbs (run, ps, logs, exec, pull, ...), detached containers under
 a small per-container monitor, restart policies and health checks, and
 edgerun-oci, a runc-compatible OCI runtime for containerd, k3s and podman.
$desc
CONTROL
# lintian wants the continuation lines of the description without the empty last one.
sed -i '/^$/d' "$stage/DEBIAN/control"
echo /etc/init.d/edgerun >"$stage/DEBIAN/conffiles"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | LC_ALL=C sort |
	xargs md5sum) >"$stage/DEBIAN/md5sums"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -exec touch -h -d "@$epoch" {} +
deb=$OUT/edgerun_${v}_$arch.deb
rm -f "$OUT"/edgerun_*_"$arch".deb
SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "deb: $deb ($(stat -c %s "$deb") bytes)"
if command -v lintian >/dev/null; then
	# --fail-on warning: an unexplained warning fails the build (contrib/deb/lintian-overrides).
	lintian --fail-on error,warning --info "$deb"
fi
