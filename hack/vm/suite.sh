#!/bin/sh
# suite.sh NAME: run the test suite hack/vm/suites/NAME inside a test VM (called by /init).
# A suite file has one step per line:
#   doctor RC          run `edgerun doctor`; the host runner checks its exit code is RC
#   test PKG REGEXP    run the test binary of package PKG (-test.run REGEXP; . for all of it);
#                      PKG all runs every test binary the VM carries (/tests/PKG.test, PKG a
#                      folder like netns or internal/testenv), PKG others those that no other
#                      test line of the suite names
#   require TEST       (read by the host runner only) TEST must have passed
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
# staged: the packages whose test binaries the VM carries.
staged() { (cd /tests && find . -name '*.test' -type f | sed 's|^\./||; s|\.test$||' | sort); }
rc=0
while read -r kind a b; do
	case $kind in
	doctor)
		echo "@@VM doctor-begin"
		edgerun doctor </dev/null
		echo "@@VM doctor-end $?" ;;
	powercut)
		sh /powercut.sh </dev/null || rc=1 ;;
	test)
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
			(cd "/src/$p" && "/tests/$p.test" -test.v -test.count=1 -test.timeout 30m -test.run "$b" </dev/null 2>&1)
			r=$?
			echo "@@VM test-end $p $r $(cut -d' ' -f1 /proc/uptime)"
			[ "$r" = 0 ] || rc=1
		done ;;
	esac
done <"$file"
exit $rc
