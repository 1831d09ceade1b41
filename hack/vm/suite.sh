#!/bin/sh
# suite.sh NAME: run the test suite hack/vm/suites/NAME inside a test VM (called by /init).
# A suite file has one step per line:
#   doctor RC          run `edgerun doctor`; the host runner checks its exit code is RC
#   test PKG REGEXP [SKIP]  run the test binary of package PKG (-test.run REGEXP; . for all of
#                      it), but not the tests matching SKIP (-test.skip);
#                      PKG all runs every test binary the VM carries (/tests/PKG.test, PKG a
#                      folder like netns or internal/testenv), PKG others those that no other
#                      test line of the suite names
#   require TEST       (read by the host runner only) TEST must have passed
#   rootless USER      make USER, an ordinary user with subordinate IDs, and delegate a cgroup to
#                      it (rootless_setup below); the doctor and test steps after it run as USER
#                      in the rootless tier (EDGERUN_TEST_ROOTLESS=1, mapping subids), and at the
#                      end nothing of USER's may be left but its session
#   lan                give the VM a LAN address (192.0.2.10 on a dummy link; qemu runs it
#                      with -nic none), so published ports are tried on the host's address too
#   oci                the OCI conformance comparison of make test-oci (/oci-conformance.sh,
#                      hack/vm/oci-stage.sh): the validation programs in /oci/bin against
#                      runc and edgerun-oci; its table goes to the console between "@@VM
#                      oci-begin" and "@@VM oci-end RC" (the host runner wants RC 0: edgerun-oci
#                      passes every suite runc passes)
#   bench              the arm benchmark (make bench-arm64, bench-armv7): /bench.sh (hack/vm/bench-guest.sh),
#                      its output between "@@VM bench-begin" and "@@VM bench-end RC" (RC 0 wanted)
#   powercut           one boot of the power-cut leg: /powercut.sh (hack/vm/powercut-guest.sh)
#                      verifies the disk after the previous cut and runs the workload until the
#                      next one; hack/vm/powercut.sh boots the VM once per cut
# Output is framed by "@@VM" marker lines that hack/vm/run.sh reads from the console.
suite=$1
file=/suites/$suite
if [ ! -f "$file" ]; then
	echo "@@VM error: no suite \"$suite\" (edgerun.suite= on the kernel command line)"
	exit 2
fi
export HOME=/root TMPDIR=/tmp
export EDGERUN_TEST_IMAGES=/images EDGERUN_BIN=/usr/local/bin/edgerun EDGERUN_E2E_PROBE=/tests/probe
# edgerun.run=REGEXP on the kernel command line (VM_RUN of hack/vm/test.sh) narrows every
# test step to the tests matching it.
only_run=$(sed -n 's/.*edgerun\.run=\([^ ]*\).*/\1/p' /proc/cmdline)
as=        # the ordinary user the steps run as after a rootless step; root when empty
cg=        # the cgroup delegated to it
uid=2000   # its UID and GID
subids=200000:65536

# rootless_setup USER: USER with a home, an XDG_RUNTIME_DIR and subordinate IDs, and the cgroup
# /sys/fs/cgroup/users/USER delegated to it the way systemd's default Delegate= hands
# user@.service its subtree: the parent users (root's, like user-UID.slice) passes memory, pids
# and cpu to it, no cpuset; the directory and its cgroup.procs, cgroup.subtree_control and
# cgroup.threads are chowned to USER, and a leaf USER/shell (USER's too) is where every step as
# USER starts (the delegated cgroup itself keeps no process, so it can pass controllers on).
# /dev/net/tun opens for everyone (slirp4netns), as Debian's udev makes it, and the VM gets a LAN
# address (192.0.2.10 on a dummy link; qemu runs it with -nic none), so ports published through
# slirp4netns are tried on the host's address as well as on loopback.
rootless_setup() {
	u=$1
	echo "$u:x:$uid:$uid:$u:/home/$u:/bin/sh" >>/etc/passwd
	echo "$u:x:$uid:" >>/etc/group
	echo "$u:$subids" >>/etc/subuid
	echo "$u:$subids" >>/etc/subgid
	mkdir -p "/home/$u/tmp" "/run/user/$uid"
	chown -R "$uid:$uid" "/home/$u" "/run/user/$uid"
	chmod 0700 "/run/user/$uid"
	cg=/sys/fs/cgroup/users/$u
	mkdir /sys/fs/cgroup/users && echo "+memory +pids +cpu" >/sys/fs/cgroup/users/cgroup.subtree_control &&
		mkdir "$cg" "$cg/shell" || return 1
	for d in "$cg" "$cg/shell"; do
		chown "$uid:$uid" "$d" "$d/cgroup.procs" "$d/cgroup.subtree_control" "$d/cgroup.threads" || return 1
	done
	chmod 0666 /dev/net/tun
	lan || return 1
	as=$u
}

# lan: the VM's LAN address, 192.0.2.10 on the dummy link lan0.
lan() {
	ip link add lan0 type dummy && ip addr add 192.0.2.10/24 dev lan0 && ip link set lan0 up
}

# run_as CMD...: CMD as root, or after a rootless step as that user (busybox su keeps the
# environment given here) from a shell moved into the leaf of the user's delegated cgroup.
run_as() {
	if [ -z "$as" ]; then
		"$@"
		return
	fi
	# shellcheck disable=SC2016 # $$ and "$@" are the inner shell's
	sh -c 'echo $$ >"$0" && exec "$@"' "$cg/shell/cgroup.procs" \
		env HOME="/home/$as" TMPDIR="/home/$as/tmp" XDG_RUNTIME_DIR="/run/user/$uid" USER="$as" LOGNAME="$as" \
		EDGERUN_TEST_ROOTLESS=1 EDGERUN_TEST_ROOTLESS_MAPPING=subids \
		su -p -s /bin/sh -c 'exec "$@"' -- "$as" sh "$@"
}

# rootless_leftovers: after the steps as the user, nothing of it may be left but its session
# (the holder and slirp4netns): no other process, and no container cgroup in its delegated one.
rootless_leftovers() {
	mine=$(ps -o user,pid,args | awk -v u="$as" -v id="$uid" '$1 == u || $1 == id')
	session=$(echo "$mine" | grep -c -e ' __session$' -e 'slirp4netns ')
	left=$(echo "$mine" | grep -v -e ' __session$' -e 'slirp4netns ')
	if [ -n "$left" ]; then
		echo "@@VM error: processes of $as left besides its session:"
		echo "$left"
	fi
	cgs=$(find "$cg" -mindepth 1 -type d ! -path "$cg/shell" ! -path "$cg/edgerun")
	if [ -n "$cgs" ]; then
		echo "@@VM error: cgroups left in $as's delegated cgroup:"
		echo "$cgs"
	fi
	echo "@@VM rootless leftovers checked: $session session processes of $as, $(echo "$left" | grep -c .) others, $(echo "$cgs" | grep -c .) cgroups left"
}

# staged: the packages whose test binaries the VM carries.
staged() { (cd /tests && find . -name '*.test' -type f | sed 's|^\./||; s|\.test$||' | sort); }
rc=0
while read -r kind a b; do
	case $kind in
	rootless)
		if ! rootless_setup "$a"; then
			echo "@@VM error: could not make the rootless user $a and its delegated cgroup"
			rc=1
			break
		fi
		echo "@@VM rootless $a: uid $uid, subordinate IDs $subids, cgroup $cg delegated (controllers: $(cat "$cg/cgroup.controllers"))" ;;
	lan)
		if ! lan; then
			echo "@@VM error: could not give the VM its LAN address"
			rc=1
		fi ;;
	doctor)
		echo "@@VM doctor-begin"
		(cd / && run_as edgerun doctor </dev/null)
		echo "@@VM doctor-end $?" ;;
	powercut)
		sh /powercut.sh </dev/null || rc=1 ;;
	bench)
		echo "@@VM bench-begin"
		sh /bench.sh </dev/null 2>&1
		r=$?
		echo "@@VM bench-end $r"
		[ "$r" = 0 ] || rc=1 ;;
	oci)
		echo "@@VM oci-begin"
		# per program 300 s, not the host's 60: the cgroup suites start 16+ containers each,
		# and TCG runs them 5-10 times slower
		OCI_TIMEOUT=300 sh /oci-conformance.sh /oci/bin /bin/busybox /tmp/oci-results \
			runc=/usr/sbin/runc edgerun=/usr/local/bin/edgerun-oci </dev/null 2>&1
		r=$?
		echo "@@VM oci-end $r"
		echo "@@VM oci-tsv-begin"
		cat /tmp/oci-results/results.tsv 2>/dev/null
		echo "@@VM oci-tsv-end"
		[ "$r" = 0 ] || rc=1 ;;
	test)
		# test PKG RUN [SKIP]: the tests matching RUN, but not SKIP (a regexp).
		run=${b%% *} skip=
		[ "$run" = "$b" ] || skip=${b#* }
		[ -n "$skip" ] || skip='^$'
		[ -z "$only_run" ] || run=$only_run
		pkgs=$a
		case $a in
		all) pkgs=$(staged) ;;
		others)
			named=" $(sed -n 's/^test \([^ ]*\) .*/\1/p' "$file" | tr '\n' ' ')"
			pkgs=
			for t in $(staged); do
				case $named in *" $t "*) ;; *) pkgs="$pkgs $t" ;; esac
			done ;;
		esac
		for p in $pkgs; do
			if [ ! -x "/tests/$p.test" ]; then
				echo "@@VM error: no test binary for $p"
				rc=1
				continue
			fi
			echo "@@VM test-begin $p $(cut -d' ' -f1 /proc/uptime)"
			(cd "/src/$p" && run_as "/tests/$p.test" -test.v -test.count=1 -test.timeout 45m -test.run "$run" -test.skip "$skip" </dev/null 2>&1)
			r=$?
			echo "@@VM test-end $p $r $(cut -d' ' -f1 /proc/uptime)"
			[ "$r" = 0 ] || rc=1
		done ;;
	esac
done <"$file"
[ -z "$as" ] || rootless_leftovers
exit $rc
