#!/bin/sh
# deb-test.sh PACKAGE.deb: check the amd64 package (make deb-test, run by make test).
#  1. dpkg -x: the extracted edgerun runs `version` and `doctor` (exit 0), edgerun-oci is a
#     link to it, every man page and the completion scripts are there and parse.
#  2. dpkg --root: a real install into a throwaway root with an empty dpkg database, edgerun
#     version and doctor from it, dpkg -P, and nothing of the package left in that root.
#  3. As root on a machine without edgerun installed (CI's throwaway host), the same round trip
#     on the system itself: dpkg -i, /usr/bin/edgerun version and doctor, dpkg -P, and every
#     file and directory the package made is gone again, nothing enabled in systemd.
#     EDGERUN_DEB_SYSTEM=0 skips it; it is skipped, with the reason, when it cannot run.
set -eu
deb=$(readlink -f "$1")
T=$(mktemp -d "${TMPDIR:-/tmp}/edgerun-deb-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "deb-test: FAIL: $*" >&2; exit 1; }
say() { echo "deb-test: $*"; }

# check_tree ROOT: the installed files under ROOT work.
check_tree() {
	r=$1
	"$r/usr/bin/edgerun" version >"$T/version" || fail "$r/usr/bin/edgerun version exits $?"
	head -1 "$T/version" | grep -q '^edgerun ' || fail "edgerun version says: $(cat "$T/version")"
	"$r/usr/bin/edgerun" doctor >"$T/doctor" 2>&1 || fail "edgerun doctor exits $?: $(cat "$T/doctor")"
	[ "$(readlink "$r/usr/bin/edgerun-oci")" = edgerun ] || fail "edgerun-oci is not a link to edgerun"
	"$r/usr/bin/edgerun-oci" --version | grep -q '^edgerun-oci version' || fail "edgerun-oci --version"
	for c in run logs ps image-ls completion; do
		zcat "$r/usr/share/man/man1/edgerun-$c.1.gz" | grep -q '^\.SH NAME' || fail "no man page edgerun-$c(1)"
	done
	bash -n "$r/usr/share/bash-completion/completions/edgerun" || fail "bash completion does not parse"
	grep -q '__complete' "$r/usr/share/bash-completion/completions/edgerun" || fail "bash completion is not dynamic"
	[ -s "$r/usr/share/zsh/vendor-completions/_edgerun" ] || fail "no zsh completion"
	[ -s "$r/usr/share/fish/vendor_completions.d/edgerun.fish" ] || fail "no fish completion"
	grep -q '^ExecStart=/usr/bin/edgerun boot$' "$r/lib/systemd/system/edgerun.service" || fail "edgerun.service does not run /usr/bin/edgerun"
	# shellcheck disable=SC2016 # the literal line of the script
	grep -q '^EDGERUN=${EDGERUN:-/usr/bin/edgerun}$' "$r/etc/init.d/edgerun" || fail "the init script does not run /usr/bin/edgerun"
}

say "1. dpkg -x $deb"
dpkg-deb -x "$deb" "$T/x"
check_tree "$T/x"
say "   ok: $(head -1 "$T/version"), doctor exit 0"

say "2. dpkg --root: install into a throwaway root, purge"
R=$T/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/triggers"
: >"$R/var/lib/dpkg/status"
: >"$R/var/lib/dpkg/available"
dpkg --root="$R" -i "$deb" >"$T/dpkg.log" 2>&1 || fail "dpkg --root -i: $(cat "$T/dpkg.log")"
dpkg --root="$R" -s edgerun | grep -q '^Status: install ok installed' || fail "dpkg --root -s: not installed"
check_tree "$R"
dpkg --root="$R" -P edgerun >"$T/dpkg.log" 2>&1 || fail "dpkg --root -P: $(cat "$T/dpkg.log")"
left=$(cd "$R" && find . -mindepth 1 ! -path './var' ! -path './var/lib' ! -path './var/lib/dpkg' ! -path './var/lib/dpkg/*')
[ -z "$left" ] || fail "left after dpkg -P: $left"
say "   ok: installed, version and doctor run, purged, nothing left"

if [ "${EDGERUN_DEB_SYSTEM:-1}" = 0 ]; then
	say "3. skipped: EDGERUN_DEB_SYSTEM=0"
	exit 0
elif [ "$(id -u)" != 0 ]; then
	say "3. skipped: installing on the system needs root"
	exit 0
elif dpkg-query -W -f='${db:Status-Abbrev}' edgerun 2>/dev/null | grep -q '^.[^n]'; then
	say "3. skipped: an edgerun package is installed on this machine; it is left alone"
	exit 0
fi
say "3. dpkg -i on this machine, purge"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||; s| ->.*||' | grep -v '^$' | grep -v '^/$' >"$T/paths"
# What exists before install stays (/usr, /etc, ...); what the package made must go.
while read -r p; do [ -e "$p" ] || [ -L "$p" ] || echo "$p"; done <"$T/paths" >"$T/new"
[ -s "$T/new" ] || fail "every path of the package exists already: is edgerun installed by hand?"
dpkg -i "$deb" >"$T/dpkg.log" 2>&1 || { dpkg -P edgerun >/dev/null 2>&1 || true; fail "dpkg -i: $(cat "$T/dpkg.log")"; }
rc=0
(check_tree "") || rc=$?
dpkg -P edgerun >"$T/dpkg.log" 2>&1 || fail "dpkg -P: $(cat "$T/dpkg.log")"
[ $rc = 0 ] || fail "the installed package does not work"
while read -r p; do if [ -e "$p" ] || [ -L "$p" ]; then echo "$p"; fi; done <"$T/new" >"$T/left"
[ ! -s "$T/left" ] || fail "left after dpkg -P: $(cat "$T/left")"
for w in /etc/systemd/system/multi-user.target.wants/edgerun.service /etc/rc2.d/S01edgerun; do
	[ ! -e "$w" ] || fail "$w: the package enabled its service"
done
say "   ok: installed, /usr/bin/edgerun version and doctor run, purged, nothing left"
