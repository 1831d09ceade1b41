#!/bin/sh
# The last step of `make bench`: every target the bench scripts recorded in $OUT/targets.txt
# (bench/target.sh), each with its measured value and met or NOT MET, and how many of each.
set -eu
OUT=${OUT:-out/bench}
f=$OUT/targets.txt
[ -s "$f" ] || { echo "bench: no targets recorded in $f" >&2; exit 1; }
echo "=== issue 19 targets (from $f, $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)) ==="
sort "$f"
printf '%s met, %s not met, %s not measured\n' "$(grep -c '  met' "$f" || true)" \
	"$(grep -c 'NOT MET' "$f" || true)" "$(grep -c 'not measured' "$f" || true)"
