#!/bin/sh
# fuzz.sh: run every fuzz target of the module for FUZZTIME each (default 10s), one after the
# other (each fuzzes with GOMAXPROCS workers). The targets come from go test -list, so a new
# Fuzz function is picked up without being named here. A failing input is written to the
# package's testdata/fuzz/FuzzX/ by go test, which then fails: commit it with the fix.
#
# Go's fuzzing engine sometimes ends a run at -fuzztime with "context deadline exceeded" and
# a failure while it found nothing (golang/go#51484): such a run, with no failing input
# written, is reported and does not fail; any other failure does. Its output is printed with
# go test's FAIL markers renamed, so that a reader of go test's lines (CI) does not take the
# engine's hiccup for a failed test.
set -eu
go=${GO:-go}
tags=${TAGS:-seccomp osusergo netgo}
fuzztime=${FUZZTIME:-10s}
# go test -list prints the matching names of a package, then "ok  PKG ...".
targets=$("$go" test -tags "$tags" -list '^Fuzz' ./... | awk '
	/^Fuzz/ { names = names " " $1; next }
	/^ok/ { n = split(names, a, " "); for (i = 1; i <= n; i++) print $2, a[i]; names = "" }')
[ -n "$targets" ] || { echo "fuzz.sh: no fuzz targets found" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$(date +%s)
rc=0
while read -r pkg name; do
	echo "fuzz: $name ($pkg) for $fuzztime"
	if "$go" test -tags "$tags" -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" "$pkg" >"$out" 2>&1; then
		cat "$out"
		continue
	fi
	if grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written to' "$out"; then
		sed -e 's/^--- FAIL: /--- fuzz engine deadline (no finding): /' -e 's/^FAIL/fuzz engine deadline (no finding)/' "$out"
		echo "fuzz: $name: the engine's -fuzztime deadline failure without a failing input (golang/go#51484): not a finding"
		continue
	fi
	cat "$out"
	rc=1
done <<EOT
$targets
EOT
echo "fuzz: $(echo "$targets" | wc -l) targets, $fuzztime each, in $(( $(date +%s) - start ))s"
exit $rc
