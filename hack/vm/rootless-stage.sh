#!/bin/sh
# rootless-stage.sh DIR: fill DIR with what the rootless VM leg carries on top of the amd64 stage
# (hack/vm/initramfs.sh copies it over it): this machine's Debian helpers that rootless edgerun
# uses, each with the shared libraries and the loader ldd lists, at the same paths:
#   usr/bin/newuidmap, usr/bin/newgidmap  setuid root (uidmap): the session's subordinate-ID mapping
#   usr/bin/slirp4netns                   the session's user-mode network
#   etc/nsswitch.conf                     passwd and group from the files (newuidmap looks the
#                                         caller up by UID)
# Run as root: the setuid bits must belong to root in the initramfs (cpio keeps owner and mode).
set -eu
dir=$1

[ "$(id -u)" = 0 ] || { echo "rootless-stage.sh: run as root (newuidmap and newgidmap must be setuid root in the VM)" >&2; exit 1; }
rm -rf "$dir"
mkdir -p "$dir/usr/bin" "$dir/etc"
for prog in newuidmap newgidmap slirp4netns; do
	path=$(command -v "$prog") || { echo "rootless-stage.sh: $prog not found (hack/deps.sh test installs uidmap and slirp4netns)" >&2; exit 1; }
	cp -L "$path" "$dir/usr/bin/$prog"
	ldd "$path" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | while read -r lib; do
		mkdir -p "$dir$(dirname "$lib")"
		cp -L "$lib" "$dir$lib"
	done
done
chown 0:0 "$dir/usr/bin/newuidmap" "$dir/usr/bin/newgidmap"
chmod 4755 "$dir/usr/bin/newuidmap" "$dir/usr/bin/newgidmap"
printf 'passwd: files\ngroup: files\nshadow: files\n' >"$dir/etc/nsswitch.conf"
echo "rootless-stage.sh: $dir: newuidmap, newgidmap (setuid root), slirp4netns and $(find "$dir" -name '*.so*' | wc -l) libraries"
