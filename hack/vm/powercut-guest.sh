#!/bin/sh
# powercut.sh (in the power-cut VM; hack/vm/powercut-guest.sh in the tree): one boot of the
# power-cut leg. hack/vm/powercut.sh boots the VM once per cut on the same two disks:
#   /dev/vda  ext4, mounted at /data: edgerun's --root is /data/edgerun (--state is /run/edgerun,
#             on the tmpfs /run, as on a device)
#   /dev/vdb  ext4, mounted at /journal: the journal of what the workload saw acknowledged. It is a
#             file system of its own because an fsync on ext4 commits the whole file system's
#             journal: syncing the journal on /data would make edgerun's own writes durable too.
# Kernel command line: edgerun.cycle=N (0 = the first boot, empty disks), edgerun.cuts=CUTS (the
# boot with cycle CUTS only verifies, cleans up and powers off), edgerun.seed=SEED and
# edgerun.maxdelay=SECONDS (the cut's delay is drawn from them, so a run can be repeated).
#
# A boot after a cut (cycle > 0) first verifies what the cut left:
#   edgerun boot, edgerun check (when the binary has it; --repair when it finds something, and it
#   must then find nothing), ps -a, inspect of every container, images; the journal says what
#   must be there: every image and container whose load/pull/run -d returned 0 (nothing
#   acknowledged lost), nothing whose rm/rmi/prune/run --rm returned 0, and every listed always
#   or unless-stopped container not stopped by the user running again after boot (one whose stop
#   returned 0 must not run). The command the cut interrupted may have happened or not. Every
#   listed image must run (`true`, the sensor's default command), every listed container is
#   inspected and removed (the three keep-* containers stay, across every cut).
# Then the workload (load, pull from the registry on loopback, run -d with each restart policy,
# stop, rm -f, prune, rmi, image prune, run --rm) runs in a loop, each command journaled (a line
# before it, a line after it returned 0, each fsynced, nothing else synced), until a background
# job cuts the power after a random delay: echo b >/proc/sysrq-trigger, an immediate reset
# without sync. One boot in five is cut during edgerun boot and the verification instead (their
# commands are journaled too), which then go on as far as they get.
# Everything the host reads is a console line: "@@VM violation cycle=N KIND ..." is a finding,
# "@@VM powercut KEY=VALUE ..." lines carry the figures, "@@VM error" a failure of the harness.
set -u
arg() { sed -n "s/.*edgerun\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
cycle=$(arg cycle)
cuts=$(arg cuts)
seed=$(arg seed)
maxdelay=$(arg maxdelay)
: "${cycle:=0}" "${cuts:=1}" "${seed:=1}" "${maxdelay:=10}"
ROOT=/data/edgerun
STATE=/run/edgerun
J=/journal/journal
BB=docker.io/library/busybox:latest
SENSOR=docker.io/library/sensor:latest
PULLED=127.0.0.1:5000/pc/pulled:latest
NOPS=15
er() { edgerun --root "$ROOT" --state "$STATE" "$@"; }
now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "@@VM powercut $*"; }
violation() { echo "@@VM violation cycle=$cycle $*"; }
error() { echo "@@VM error: powercut cycle=$cycle: $*"; exit 1; }
oneline() { tr '\n' ' ' | cut -c1-400; }

# The journal: "CYCLE SEQ begin OP SUBJECT..." before a command, "CYCLE SEQ ok OP SUBJECT...
# RESULT..." after it returned 0 (the ID of run -d, the IDs prune removed), or "fail ... rc=N".
seq=0
jw() { echo "$cycle $*" >>"$J" && sync "$J"; }
# op OP "SUBJECT [INFO]" CMD...: one journaled workload command.
# Only run -d (the ID) and prune (the IDs it removed) keep their output in the journal; the
# command's output goes to op's standard output, op's trace to the console (standard error).
op() {
	local o=$1 s=$2 ot res rc
	shift 2
	seq=$((seq + 1))
	jw "$seq begin $o $s"
	echo "  op $cycle.$seq $o $s" >&2
	ot=$(now)
	"$@" >/tmp/op.out 2>/tmp/op.err
	rc=$?
	res=
	case $o in run | prune) res=$(cat /tmp/op.out) ;; esac
	if [ "$rc" = 0 ]; then
		jw "$seq ok $o $s $(echo $res)"
		echo "  ok $cycle.$seq $(since "$ot")s" >&2
	else
		jw "$seq fail $o $s rc=$rc"
		violation "${failkind:-op-failed} $o $s: exit $rc: $(oneline </tmp/op.err)"
	fi
	cat /tmp/op.out
	return "$rc"
}

# --- the disks
t0=$(now)
for _ in $(seq 100); do
	[ -b /dev/vda ] && [ -b /dev/vdb ] && break
	sleep 0.1
done
mkdir -p /data /journal
mount -t ext4 /dev/vda /data || error "cannot mount /dev/vda (edgerun's disk): $(dmesg | tail -n 5 | oneline)"
mount -t ext4 /dev/vdb /journal || error "cannot mount /dev/vdb (the journal)"
mkdir -p "$ROOT"
touch "$J"
: >/tmp/actual
docker-registry serve /etc/docker/registry/config.yml >/tmp/registry.log 2>&1 &
recovered=no
dmesg | grep -q 'EXT4-fs (vda): recovery complete' && recovered=yes
say "cycle=$cycle mounted=$(since "$t0")s recovered=$recovered uptime=$(now)s $(edgerun version | head -n 1 | tr ' ' =)"

# --- verification of what the previous cut left
# actual: "C NAME STATE POLICY STOPPED_BY_USER ID" per listed container, "I NAME" per image.
list() {
	: >/tmp/actual
	er ps -a >/tmp/ps.txt 2>/tmp/ps.err || violation "ps-failed: ps -a exit $?: $(oneline </tmp/ps.err)"
	if grep -qi quarantine /tmp/ps.err; then
		violation "quarantined: $(oneline </tmp/ps.err)"
	fi
	for id in $(er ps -aq 2>/dev/null); do
		if ! er inspect -f '{{.Name}} {{.State.Status}} {{or .Edgerun.RestartPolicy "no"}} {{.Edgerun.StoppedByUser}}' \
			"$id" >/tmp/inspect.txt 2>/tmp/inspect.err; then
			violation "half-visible container $id: listed but inspect fails: $(oneline </tmp/inspect.err)"
			continue
		fi
		read -r n st pol sbu </tmp/inspect.txt
		n=${n#/}
		[ -n "$n" ] || { violation "half-visible container $id: inspect has no name: $(oneline </tmp/inspect.txt)"; continue; }
		echo "C $n $st $pol $sbu $id" >>/tmp/actual
	done
	er images --format json >/tmp/images.json 2>/tmp/images.err || violation "images-failed: $(oneline </tmp/images.err)"
	sed -n 's/^    "name": "\(.*\)",$/I \1/p' /tmp/images.json >>/tmp/actual
}

# judge JOURNAL ACTUAL: what the journal says must (not) be there, against the listing.
judge() {
	awk '
	# A command the cut interrupted (its begin line is not followed by its end) may or may not
	# have happened: its subject becomes "either" at that point of the journal.
	function interrupted(n) {
		if (oop == "load" || oop == "pull" || oop == "rmi") img[osubj] = "either"
		else if (oop == "run" || oop == "rm" || oop == "run-rm") ctr[osubj] = "either"
		else if (oop == "stop") stopped[osubj] = "either"
		else if (oop == "prune")
			for (n in ctr)
				if (ctr[n] == "present" && pol[n] != "always" && !(pol[n] == "unless-stopped" && stopped[n] == 0))
					ctr[n] = "either"
		open = ""
	}
	FNR == NR {
		key = $1 "." $2
		if (open != "" && key != open) interrupted()
		# A container being made is "either" until its command returns 0 (then there) or fails.
		if ($3 == "begin") {
			open = key; oop = $4; osubj = $5
			if (oop == "run" || oop == "run-rm") ctr[osubj] = "either"
			next
		}
		open = ""
		if ($3 != "ok") next
		op = $4; s = $5
		if (op == "load" || op == "pull") img[s] = "present"
		else if (op == "rmi") img[s] = "absent"
		else if (op == "run") { ctr[s] = "present"; pol[s] = $6; byid[$7] = s; stopped[s] = 0 }
		else if (op == "stop") stopped[s] = 1
		else if (op == "rm" || op == "run-rm") ctr[s] = "absent"
		else if (op == "prune") { for (i = 6; i <= NF; i++) if ($i in byid) ctr[byid[$i]] = "absent" }
		next
	}
	$1 == "I" { have_img[$2] = 1; next }
	$1 == "C" { have[$2] = 1; st[$2] = $3; apol[$2] = $4; asbu[$2] = $5; next }
	END {
		if (open != "") interrupted()
		for (n in img) {
			if (img[n] == "present" && !(n in have_img)) print "VIOLATION lost-image " n ": its load/pull returned 0, it is not listed"
			if (img[n] == "absent" && (n in have_img)) print "VIOLATION removed-image-back " n ": its rmi returned 0, it is listed again"
		}
		for (n in ctr) {
			if (ctr[n] == "present" && !(n in have)) print "VIOLATION lost-container " n ": its run -d returned 0 (restart " pol[n] "), it is not listed"
			if (ctr[n] == "absent" && (n in have)) print "VIOLATION removed-container-back " n ": its rm/prune returned 0, it is listed again (" st[n] ")"
		}
		for (n in have) {
			if (!(n in ctr)) print "VIOLATION unknown-container " n ": listed, but no command of the journal made it"
			if ((apol[n] == "always" || (apol[n] == "unless-stopped" && asbu[n] != "true")) && st[n] != "running")
				print "VIOLATION not-back " n ": restart " apol[n] ", stoppedByUser " asbu[n] ", state " st[n] " after boot"
			if ((n in stopped) && stopped[n] == 1 && (asbu[n] != "true" || st[n] == "running"))
				print "VIOLATION stop-lost " n ": its stop returned 0; after boot stoppedByUser " asbu[n] ", state " st[n]
		}
	}' "$J" /tmp/actual
}

# landed: where the previous boot's cut landed: "OP:SUBJECT" of the command in flight (begun,
# not ended), else "between:after-OP" (after a command ended, before the next began).
landed() {
	awk '$3 == "begin" { open = $1 "." $2; o = $4; s = $5; next }
		$1 "." $2 == open { open = ""; last = $4 }
		END { if (open != "") print o ":" s; else print "between:after-" (last == "" ? "nothing" : last) }' "$J"
}

verify() {
	t=$(now)
	failkind=boot-failed
	if op boot - er boot >/tmp/boot.txt; then
		sed 's/^/  boot: /' /tmp/boot.txt
	fi
	failkind=
	tboot=$(since "$t")
	checked=absent
	if er --help 2>/dev/null | grep -q '^  check '; then
		checked=clean
		if ! out=$(er check 2>&1); then
			checked=repaired
			echo "$out" | sed 's/^/  check: /'
			op check-repair - er check --repair >/tmp/repair.txt 2>&1
			sed 's/^/  check --repair: /' /tmp/repair.txt
			out=$(er check 2>&1) || { checked=unrepaired; violation "check-unrepaired: edgerun check after --repair: $(echo "$out" | oneline)"; }
		fi
	fi
	list
	judge >/tmp/judge.txt
	sed -n 's/^VIOLATION /@@VM violation cycle='"$cycle"' /p' /tmp/judge.txt
	ncont=$(grep -c '^C ' /tmp/actual)
	running=$(awk '$1 == "C" && $3 == "running"' /tmp/actual | wc -l)
	# Every listed image runs.
	nimg=0
	for n in $(sed -n 's/^I //p' /tmp/actual); do
		nimg=$((nimg + 1))
		case $n in
		"<none>") violation "half-visible image: an unnamed image is listed: $(oneline </tmp/images.json)"; continue ;;
		*sensor*) set -- ;;
		*) set -- true ;;
		esac
		failkind=half-visible-image
		op run-rm "v-$cycle-$nimg" er run --rm --network none --name "v-$cycle-$nimg" "$n" "$@" >/dev/null &&
			echo "  image $n runs${1:+ $1}"
		failkind=
	done
	# Every listed container is removed (it is journaled: the journal then says it must be gone),
	# except the keepers.
	removed=0
	for n in $(awk '$1 == "C" && $2 !~ /^keep-/ { print $2 }' /tmp/actual); do
		op rm "$n" er rm -f "$n" >/dev/null || violation "half-visible container $n: rm -f fails"
		removed=$((removed + 1))
	done
	if [ "$removed" -gt 0 ]; then
		list
		for n in $(awk '$1 == "C" && $2 !~ /^keep-/ { print $2 }' /tmp/actual); do
			violation "half-visible container $n: still listed after rm -f returned 0"
		done
	fi
	say "verified cycle=$cycle boot=${tboot}s verify=$(since "$t")s containers=$ncont running=$running images=$nimg check=$checked"
}

# --- the workload
# have NAME: whether the last listing or the workload since says the container or image is there.
have() { awk -v n="$1" '$2 == n { f = 1 } END { exit !f }' /tmp/actual; }
run_d() { # run_d NAME POLICY [RUN OPTIONS] -- CMD...
	n=$1 p=$2
	shift 2
	op run "$n $p" er run -d --restart "$p" --name "$n" "$@"
}
ensure() {
	have "$BB" || op load "$BB" er load -q -i /images/busybox
	have keep-always || run_d keep-always always "$BB" sleep 1000000
	have keep-unless || run_d keep-unless unless-stopped --network none "$BB" sleep 1000000
	if ! have keep-stopped; then
		run_d keep-stopped unless-stopped --network none "$BB" sleep 1000000 && op stop keep-stopped er stop -t 1 keep-stopped
	elif ! grep -q '^C keep-stopped [^ ]* [^ ]* true ' /tmp/actual; then
		op stop keep-stopped er stop -t 1 keep-stopped
	fi
	have "$SENSOR" && has_sensor=1
	have "$PULLED" && has_pulled=1
}
has_sensor=
has_pulled=
workload() {
	k=0
	i=$1
	cur_a=
	old_a=
	cur_u=
	while :; do
		case $i in
		0) old_a=$cur_a
			run_d "a-$cycle-$k" always "$BB" sleep 1000000 && cur_a=a-$cycle-$k ;;
		1) run_d "u-$cycle-$k" unless-stopped --network none "$BB" sleep 1000000 && cur_u=u-$cycle-$k ;;
		2) [ -z "$cur_u" ] || op stop "$cur_u" er stop -t 1 "$cur_u"
			cur_u= ;;
		3) run_d "f-$cycle-$k" on-failure:2 --network none "$BB" sh -c 'exit 3' ;;
		4) run_d "n-$cycle-$k" no --network none "$BB" true ;;
		5) [ -z "$old_a" ] || op rm "$old_a" er rm -f "$old_a"
			old_a= ;;
		6) op prune - er prune ;;
		7) [ -z "$has_pulled" ] || op rmi "$PULLED" er rmi "$PULLED" && has_pulled= ;;
		8) op image-prune - er image prune ;;
		9) op pull "$PULLED" er pull -q "$PULLED" && has_pulled=1 ;;
		10) [ -z "$has_sensor" ] || op rmi "$SENSOR" er rmi "$SENSOR" && has_sensor= ;;
		11) op image-prune - er image prune ;;
		12) op load "$SENSOR" er load -q -i /images/sensor && has_sensor=1 ;;
		13) op load "$BB" er load -q -i /images/busybox ;;
		14) op run-rm "r-$cycle-$k" er run --rm --network none --name "r-$cycle-$k" "$BB" true ;;
		esac
		i=$((i + 1))
		if [ "$i" = "$NOPS" ]; then
			i=0
			k=$((k + 1))
		fi
	done
}

# The final boot: everything can be removed, and then nothing is left under --root.
cleanup_all() {
	t=$(now)
	for n in $(awk '$1 == "C" { print $2 }' /tmp/actual); do
		op rm "$n" er rm -f "$n" >/dev/null || violation "half-visible container $n: rm -f fails"
	done
	for n in $(sed -n 's/^I //p' /tmp/actual); do
		op rmi "$n" er rmi "$n" >/dev/null || violation "half-visible image $n: rmi fails"
	done
	op image-prune - er image prune >/dev/null
	er network prune >/dev/null 2>&1
	list
	left=$(grep -c . /tmp/actual)
	[ "$left" = 0 ] || violation "not removable: listed after removing everything: $(oneline </tmp/actual)"
	# What is left on the disk once no container and no image is: leftovers, not violations.
	# images.json (the empty index), state-dir (which --state this root uses) and locks belong.
	files=$(find "$ROOT" -type f | grep -v -e '/locks/' -e '/network/lock$' -e '\.lock$' \
		-e "^$ROOT/images.json\$" -e "^$ROOT/state-dir\$" | tee /tmp/left.txt | wc -l)
	say "leftovers files=$files bytes=$(du -sk "$ROOT" | cut -f1)KiB"
	sed 's/^/  left: /' /tmp/left.txt | head -n 40
	if er --help 2>/dev/null | grep -q '^  check '; then
		out=$(er check 2>&1) || violation "check-final: edgerun check on the emptied root: $(echo "$out" | oneline)"
	fi
	say "cleanup=$(since "$t")s"
}

# The cut: after a delay drawn from the seed, in the workload, or (one boot in five) in edgerun boot
# and the verification, which are journaled the same way.
set -- $(awk -v s="$seed" -v c="$cycle" -v m="$maxdelay" -v n="$NOPS" -v last="$cuts" 'BEGIN {
	srand(s * 1000 + c)
	phase = (c > 0 && c < last && rand() < 0.2) ? "boot" : "work"
	printf "%s %.2f %d\n", phase, 0.2 + rand() * (phase == "boot" ? 6 : m), int(rand() * n) }')
phase=$1
delay=$2
start=$3
arm() {
	say "armed cycle=$cycle phase=$phase seed=$seed delay=${delay}s start-op=$start uptime=$(now)s"
	(
		sleep "$delay"
		echo "@@VM powercut cut cycle=$cycle phase=$phase after=${delay}s"
		echo b >/proc/sysrq-trigger
	) &
}

if [ "$cycle" -gt 0 ]; then
	say "landed cycle=$((cycle - 1)) at=$(landed)"
	[ "$phase" != boot ] || arm
	verify
fi
if [ "$cycle" -ge "$cuts" ]; then
	cleanup_all
	if ! umount /data; then
		violation "leftover mounts: /data cannot be unmounted once nothing is left: $(grep /data /proc/mounts | oneline)"
		sync
		mount -o remount,ro /data
	fi
	lines=$(wc -l <"$J")
	umount /journal || error "umount /journal"
	say "done cycle=$cycle journal-lines=$lines"
	exit 0
fi

# The registry must answer before the workload pulls from it (30 s: TCG on a loaded host is slow).
for _ in $(seq 300); do
	wget -q -O /dev/null http://127.0.0.1:5000/v2/ 2>/dev/null && break
	sleep 0.1
done
wget -q -O /dev/null http://127.0.0.1:5000/v2/ 2>/dev/null || error "docker-registry did not start: $(oneline </tmp/registry.log)"

[ "$phase" != work ] || arm
ensure >/dev/null
workload "$start" >/dev/null
