#!/bin/sh
# The rootless tier (make test-rootless): the e2e suite run as two throwaway ordinary users,
# one with subordinate ID ranges and one without, through setpriv (never sudo), in parallel.
# Then it checks that nothing of either user is left: no process but the user's session
# (holder and slirp4netns) while it runs, no published port, and after the session ends no
# process, mount, namespace or file outside the tier's own directory.
#
# Usage (as root): hack/rootless-test.sh BIN IMAGES
#   BIN     the static edgerun binary (make build)      IMAGES  make images' directory
# Environment: GO, TAGS as in the Makefile; ROOTLESS_KEEP=1 keeps the scratch directory;
# ROOTLESS_RUN=REGEXP runs only the tests it matches (go test -run), e.g. ROOTLESS_RUN=Volume.
#
# What it changes on the host, and undoes at exit: two users (edgerun-rl-sub-ID, edgerun-rl-one-ID)
# and their /etc/subuid and /etc/subgid lines; a group of both (edgerun-rl-dev-ID) and a null device
# of that group (/dev/edgerun-rl-ID-sensor, 0660); /dev/net/tun's mode (slirp4netns opens it as the
# user; Debian's udev makes it 0666, some container hosts 0600).
set -eu

BIN=$(realpath "$1")
IMAGES=$(realpath "$2")
GO=${GO:-go}
TAGS=${TAGS:-seccomp osusergo netgo}
SUBIDS=300000-365535

[ "$(id -u)" = 0 ] || { echo "rootless-test: run as root (it makes the test users)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/edgerun-rootless-XXXXXX)
# Names of this run's own (two runs on one machine must not share users).
run_id=$(basename "$WORK" | sed 's/.*-//' | tr 'A-Z' 'a-z')
U_SUB=edgerun-rl-sub-$run_id
U_ONE=edgerun-rl-one-$run_id
USERS="$U_SUB $U_ONE"
chmod 0755 "$WORK"
tun_mode=

cleanup() {
	for u in $USERS; do
		if id "$u" >/dev/null 2>&1; then
			pkill -KILL -u "$u" 2>/dev/null || true
			sleep 0.2
			userdel "$u" 2>/dev/null || true
		fi
		sed -i "/^$u:/d" /etc/subuid /etc/subgid
	done
	[ -n "$tun_mode" ] && chmod "$tun_mode" /dev/net/tun
	rm -f "/dev/edgerun-rl-$run_id-sensor"
	groupdel "edgerun-rl-dev-$run_id" 2>/dev/null || true
	[ "${ROOTLESS_KEEP:-}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# The users: made fresh, so no earlier run's state is reused.
for u in $USERS; do
	if id "$u" >/dev/null 2>&1; then
		pkill -KILL -u "$u" 2>/dev/null || true
		userdel "$u"
	fi
	sed -i "/^$u:/d" /etc/subuid /etc/subgid
	useradd -K SUB_UID_COUNT=0 -K SUB_GID_COUNT=0 --no-create-home --home-dir "$WORK/$u/home" --shell /usr/sbin/nologin "$u"
	mkdir -p "$WORK/$u/home" "$WORK/$u/tmp" "$WORK/$u/run" "$WORK/$u/cwd"
	chown -R "$u:" "$WORK/$u"
	chmod 0700 "$WORK/$u/run"
done
usermod --add-subuids "$SUBIDS" --add-subgids "$SUBIDS" "$U_SUB"
# A device the users may open through a supplementary group only, as a serial port through
# dialout: --group-add keep-groups must keep that group (e2e TestDeviceGroupAddKeepGroups...).
G_DEV=edgerun-rl-dev-$run_id
DEV_NODE=/dev/edgerun-rl-$run_id-sensor
groupadd "$G_DEV"
for u in $USERS; do usermod -a -G "$G_DEV" "$u"; done
mknod -m 0660 "$DEV_NODE" c 1 3
chgrp "$G_DEV" "$DEV_NODE"
# useradd gives new users ranges of its own unless told not to (SUB_UID_COUNT above): make sure.
if grep -q "^$U_ONE:" /etc/subuid /etc/subgid; then
	echo "rootless-test: $U_ONE has subordinate IDs, but must have none" >&2
	exit 1
fi

if [ ! -c /dev/net/tun ]; then
	echo "rootless-test: /dev/net/tun is missing: the rootless bridge network needs the tun module (modprobe tun)" >&2
	exit 1
fi
tun_mode=$(stat -c %a /dev/net/tun)
chmod 0666 /dev/net/tun

# What the users run, readable by them (the checkout may sit in root's home).
mkdir -p "$WORK/share/probe"
cp "$BIN" "$WORK/share/edgerun"
cp -r "$IMAGES" "$WORK/share/images"
$GO test -tags "$TAGS" -c -o "$WORK/share/e2e.test" ./e2e
CGO_ENABLED=0 $GO build -o "$WORK/share/probe/probe" ./e2e/testdata/probe
chmod -R a+rX "$WORK/share"

# run_suite USER MAPPING: the e2e suite as USER, its go test -v output in $WORK/USER.log.
run_suite() {
	u=$1
	(
		cd "$WORK/$u/cwd"
		exec setpriv --reuid="$u" --regid="$u" --init-groups --reset-env \
			env HOME="$WORK/$u/home" TMPDIR="$WORK/$u/tmp" XDG_RUNTIME_DIR="$WORK/$u/run" \
			PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
			EDGERUN_BIN="$WORK/share/edgerun" EDGERUN_TEST_IMAGES="$WORK/share/images" \
			EDGERUN_E2E_PROBE="$WORK/share/probe" EDGERUN_TEST_ROOTLESS=1 EDGERUN_TEST_ROOTLESS_MAPPING="$2" \
			EDGERUN_TEST_GROUP_DEVICE="$DEV_NODE" \
			"$WORK/share/e2e.test" -test.v -test.count=1 -test.timeout=20m ${ROOTLESS_RUN:+-test.run "$ROOTLESS_RUN"}
	) >"$WORK/$u.log" 2>&1
}

start=$(date +%s)
run_suite "$U_SUB" subids &
pid_sub=$!
run_suite "$U_ONE" single &
pid_one=$!
rc_sub=0 rc_one=0
wait $pid_sub || rc_sub=$?
wait $pid_one || rc_one=$?

fail=0
for u in $USERS; do
	echo "=== rootless tier: the e2e suite as $u"
	cat "$WORK/$u.log"
done
[ $rc_sub = 0 ] || { echo "rootless-test: the suite as $U_SUB failed (exit $rc_sub)" >&2; fail=1; }
[ $rc_one = 0 ] || { echo "rootless-test: the suite as $U_ONE failed (exit $rc_one)" >&2; fail=1; }

# Leftovers while the sessions still run: only the holder and slirp4netns, no listening port.
for u in $USERS; do
	# Zombies are not counted: reparented to an init that does not reap them (some container
	# hosts), they hold nothing but a PID.
	left=$(ps -u "$u" -o pid=,stat=,args= | awk '$2 !~ /^Z/' | grep -v -e ' __session$' -e 'slirp4netns ' || true)
	if [ -n "$left" ]; then
		echo "rootless-test: $u has processes besides its session after the suite:" >&2
		echo "$left" >&2
		fail=1
	fi
	ports=$(ss -Hltunp 2>/dev/null | grep -F "$(pgrep -u "$u" -d, slirp4netns || echo none)" || true)
	if [ -n "$(pgrep -u "$u" slirp4netns || true)" ] && [ -n "$ports" ]; then
		echo "rootless-test: $u's slirp4netns still publishes ports:" >&2
		echo "$ports" >&2
		fail=1
	fi
done

# End the sessions (as a logout would), then nothing of the users may remain.
for u in $USERS; do
	pkill -TERM -u "$u" 2>/dev/null || true
done
for _ in $(seq 50); do
	busy=
	for u in $USERS; do [ -n "$(ps -u "$u" -o stat= | grep -v '^Z' || true)" ] && busy=1; done
	[ -z "$busy" ] && break
	sleep 0.1
done
for u in $USERS; do
	uid=$(id -u "$u")
	if [ -n "$(ps -u "$u" -o stat= | grep -v '^Z' || true)" ]; then
		echo "rootless-test: $u's processes outlived its session:" >&2
		ps -u "$u" -o pid=,stat=,args= >&2
		fail=1
	fi
	if grep -F "$WORK/$u" /proc/self/mountinfo >&2; then
		echo "rootless-test: mounts of $u left on the host (above)" >&2
		fail=1
	fi
	files=$(find /tmp /var/tmp /run /dev/shm /home -xdev -user "$uid" -not -path "$WORK/*" 2>/dev/null | head -20)
	if [ -n "$files" ]; then
		echo "rootless-test: files of $u left outside its directories:" >&2
		echo "$files" >&2
		fail=1
	fi
done

for u in $USERS; do
	n_pass=$(grep -c '^--- PASS' "$WORK/$u.log" || true)
	n_skip=$(grep -c '^--- SKIP' "$WORK/$u.log" || true)
	n_fail=$(grep -c '^--- FAIL' "$WORK/$u.log" || true)
	echo "rootless tier: $u: $n_pass passed, $n_fail failed, $n_skip skipped:"
	# go test -v prints a skip's reason on the line before its --- SKIP line.
	awk '/^--- SKIP/ { r = prev; sub(/^ +[a-z_]+_test\.go:[0-9]+: /, "", r); print "    " $3 ": " r } { prev = $0 }' "$WORK/$u.log"
done
echo "rootless tier: $(($(date +%s) - start)) s"
exit $fail
