#!/bin/sh
# Rootless container start: `edgerun run --rm busybox true` as an ordinary user, against rootless
# podman as the same user, in one hyperfine run: with --network none, and with each one's
# default network (edgerun: its bridge in the user's session, joined by slirp4netns; podman
# 4.3: slirp4netns). Then the peak RSS of each (GNU time, several runs). Issue 13's target:
# edgerun at most 0.3x rootless podman.
#
# Usage (as root, it makes the user): bench/run-rootless.sh [EDGERUN_BIN] [IMAGES_DIR]
# Environment: RUNS (hyperfine runs per command, default 30), WARMUP (default 3),
#   RSS_RUNS (default 10), OUT (default out/bench).
# Writes $OUT/rootless.json, $OUT/rootless.md (hyperfine) and $OUT/rootless-summary.txt.
#
# The throwaway user edgerun-bench has a subordinate range (both tools then map the image's
# owners); everything of it lives in one temp dir, and the user, its /etc/subuid and
# /etc/subgid lines and /dev/net/tun's mode are put back on exit.
set -eu

EDGERUN=$(realpath "${1:-bin/edgerun}")
IMAGES=$(realpath "${2:-out/images}")
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
RSS_RUNS=${RSS_RUNS:-10}
OUT=$(realpath -m "${OUT:-out/bench}")
U=edgerun-bench

die() { echo "bench-rootless: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root to make the throwaway user: run as root"
for t in hyperfine podman skopeo jq setpriv newuidmap slirp4netns /usr/bin/time; do
	command -v "$t" >/dev/null 2>&1 || die "$t not found: run make bench-deps"
done
[ -x "$EDGERUN" ] || die "$EDGERUN missing: run make build"
[ -f "$IMAGES/busybox/index.json" ] || die "$IMAGES/busybox missing: run make images"
[ -c /dev/net/tun ] || die "/dev/net/tun is missing (modprobe tun)"
mkdir -p "$OUT"

T=$(mktemp -d /tmp/edgerun-bench-rootless.XXXXXX)
chmod 0755 "$T"
tun_mode=$(stat -c %a /dev/net/tun)
cleanup() {
	set +e
	pkill -KILL -u "$U" 2>/dev/null
	sleep 0.2
	uid=$(id -u "$U" 2>/dev/null) && rm -f "/dev/shm/libpod_rootless_lock_$uid" # rootless podman's
	userdel "$U" 2>/dev/null
	sed -i "/^$U:/d" /etc/subuid /etc/subgid
	chmod "$tun_mode" /dev/net/tun
	awk -v t="$T" '$2 ~ "^"t {print $2}' /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if id "$U" >/dev/null 2>&1; then pkill -KILL -u "$U" 2>/dev/null || true; userdel "$U"; fi
sed -i "/^$U:/d" /etc/subuid /etc/subgid
useradd -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 --no-create-home --home-dir "$T/home" --shell /usr/sbin/nologin "$U"
usermod --add-subuids 400000-465535 --add-subgids 400000-465535 "$U"
chmod 0666 /dev/net/tun
mkdir -p "$T/home" "$T/run" "$T/out"
install -m 0755 "$EDGERUN" "$T/edgerun"
cp -r "$IMAGES/busybox" "$T/busybox"
chmod -R a+rX "$T/busybox"
skopeo copy -q "oci:$T/busybox:busybox:latest" "oci-archive:$T/podman-busybox.tar:localhost/busybox:latest"
chmod a+r "$T/podman-busybox.tar"
chown -R "$U:" "$T/home" "$T/run" "$T/out"
chmod 0700 "$T/run"

cat >"$T/user.sh" <<EOF
set -eu
ER="$T/edgerun --root $T/home/er --state $T/run/er"
PM="podman --root $T/home/podman --runroot $T/run/podman --tmpdir $T/run/podman-tmp --cgroup-manager cgroupfs --events-backend file"
\$ER load -i $T/busybox >/dev/null
\$PM load -q -i $T/podman-busybox.tar >/dev/null 2>&1
# The sessions (edgerun's holder, podman's pause process) exist before the first timed run.
\$ER run --rm --network none busybox true
\$PM run --rm --network none localhost/busybox:latest true 2>/dev/null
hyperfine -N --warmup $WARMUP --runs $RUNS --export-json $T/out/rootless.json --export-markdown $T/out/rootless.md \
	-n "edgerun rootless --network none" "\$ER run --rm --network none busybox true" \
	-n "podman rootless --network none" "\$PM run --rm --network none localhost/busybox:latest true" \
	-n "edgerun rootless (bridge via slirp4netns)" "\$ER run --rm busybox true" \
	-n "podman rootless (slirp4netns)" "\$PM run --rm localhost/busybox:latest true"
peak() {
	max=0
	for _ in \$(seq $RSS_RUNS); do
		/usr/bin/time -f %M -o $T/out/time "\$@" >/dev/null 2>&1
		kb=\$(tail -1 $T/out/time)
		[ "\$kb" -gt "\$max" ] && max=\$kb
	done
	echo "\$max"
}
echo "edgerun_rss_kb=\$(peak \$ER run --rm --network none busybox true)" >$T/out/rss
echo "podman_rss_kb=\$(peak \$PM run --rm --network none localhost/busybox:latest true)" >>$T/out/rss
\$ER rm -f \$(\$ER ps -aq) >/dev/null 2>&1 || true
EOF

setpriv --reuid="$U" --regid="$U" --init-groups --reset-env \
	env HOME="$T/home" XDG_RUNTIME_DIR="$T/run" PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
	sh "$T/user.sh"

cp "$T/out/rootless.json" "$T/out/rootless.md" "$OUT/"
. "$T/out/rss"
mean() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .mean' "$OUT/rootless.json"; }
e_none=$(mean "edgerun rootless --network none")
p_none=$(mean "podman rootless --network none")
e_net=$(mean "edgerun rootless (bridge via slirp4netns)")
p_net=$(mean "podman rootless (slirp4netns)")
{
	echo "rootless start, $(date -u +%Y-%m-%d), $(uname -r), $(nproc) CPUs, $RUNS runs"
	awk -v e="$e_none" -v p="$p_none" 'BEGIN { printf "--network none: edgerun %.1f ms, podman %.1f ms: %.2fx\n", e*1000, p*1000, e/p }'
	awk -v e="$e_net" -v p="$p_net" 'BEGIN { printf "default network: edgerun %.1f ms, podman %.1f ms: %.2fx\n", e*1000, p*1000, e/p }'
	echo "peak RSS (--network none, max of $RSS_RUNS): edgerun ${edgerun_rss_kb} KiB, podman ${podman_rss_kb} KiB"
} | tee "$OUT/rootless-summary.txt"
