# Sourced by the bench scripts that compare with podman (not run on its own).
#
# podman_init: sets PODMAN, a podman whose state all lives under the script's temp dir $T
# (--root/--runroot/--tmpdir/--network-config-dir, and a containers.conf selecting the CNI
# backend, so no netavark run dir appears under /run), with what podman needs on this machine
# (hybrid cgroups: v1 controllers plus an empty cgroup2 at /sys/fs/cgroup/unified):
# --cgroup-manager cgroupfs (no systemd) and --runtime runc; and PODMAN_ULIMITS, explicit
# nofile/nproc limits for `podman run`, because podman's default nofile (1048576) is above the
# hard limit it runs under and runc's setrlimit then fails with EPERM. The only state podman and
# skopeo share with the host is the blob-info cache in /var/lib/containers/cache. Call it before
# the first podman command.
#
# podman_load IMAGES REF: imports the busybox OCI layout IMAGES/busybox (ref REF) as
# localhost/REF, through an oci-archive made by skopeo.
#
# podman_cleanup: removes podman's containers and images, and the libpod_parent cgroups its
# first container creates when podman_init did not find them (someone else's podman may use
# them). For the script's EXIT trap, before $T is removed.
#
# bridge_bench_cleanup: the EXIT trap of a script that runs edgerun ($ER, its root and state
# under $T) and podman on bridge networks: edgerun's containers and networks (its bench bridge,
# user networks and their nftables tables), podman's (podman_cleanup), mounts left under $T,
# $T itself, and podman's CNI bridge, which has a fixed name, when podman_init did not find it.

podman_init() {
	had_cni_bridge=$([ -e /sys/class/net/cni-podman0 ] && echo yes || echo no)
	had_libpod_parent=$([ -d /sys/fs/cgroup/memory/libpod_parent ] || [ -d /sys/fs/cgroup/libpod_parent ] &&
		echo yes || echo no)
	printf '[network]\nnetwork_backend = "cni"\n' >"$T/containers.conf"
	export CONTAINERS_CONF="$T/containers.conf"
	# PODMAN_DISK and PODMAN_RUN: where its persistent and volatile state go (run-scale.sh
	# gives a fresh ext4 and a tmpfs); default under $T.
	PODMAN="podman --root ${PODMAN_DISK:-$T/podman}/root --runroot ${PODMAN_RUN:-$T/podman}/run \
--tmpdir ${PODMAN_RUN:-$T/podman}/tmp --network-config-dir ${PODMAN_DISK:-$T/podman}/net --storage-driver overlay --cgroup-manager cgroupfs \
--events-backend file --runtime runc"
	PODMAN_ULIMITS="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
}

podman_load() {
	skopeo copy -q "oci:$1/busybox:$2" "oci-archive:$T/podman-busybox.tar:localhost/$2"
	$PODMAN load -q -i "$T/podman-busybox.tar" >/dev/null
}

podman_cleanup() {
	[ -n "${PODMAN:-}" ] || return 0
	$PODMAN rm -af -t 0 >/dev/null 2>&1
	$PODMAN rmi -af >/dev/null 2>&1
	[ "$had_libpod_parent" = no ] || return 0
	for d in /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent; do
		[ -d "$d" ] || continue
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	return 0
}

bridge_bench_cleanup() {
	set +e
	$ER rm -f $($ER ps -aq 2>/dev/null) >/dev/null 2>&1
	$ER network prune >/dev/null 2>&1
	podman_cleanup
	awk -v t="$T" '$2 ~ "^"t {print $2}' /proc/self/mounts | sort -r | while read -r m; do umount -l "$m"; done
	rm -rf "$T"
	[ "${had_cni_bridge:-yes}" = no ] && ip link del cni-podman0 2>/dev/null
	true
}
