# Sourced by the bench scripts: target NAME VALUE OP LIMIT [NOTE] prints one issue 19 target,
# "met" or "not met", and records it in $OUT/targets.txt, which `make bench` prints whole at
# its end (bench/targets-report.sh). OP is <= or >=; VALUE and LIMIT are numbers (a ratio, or
# MiB). A script's new run of a target replaces the line of its previous run.
target() {
	_name=$1 _value=$2 _op=$3 _limit=$4 _note=${5:-}
	_met=$(awk -v v="$_value" -v l="$_limit" -v op="$_op" 'BEGIN {
		if (v == "" || v !~ /^-?[0-9.]+$/) { print "not measured"; exit }
		ok = (op == "<=") ? (v + 0 <= l + 0) : (v + 0 >= l + 0)
		print ok ? "met" : "NOT MET" }')
	_line=$(printf '%-58s %8s  (target %s %s)  %s%s' "$_name" "$_value" "$_op" "$_limit" "$_met" "${_note:+  $_note}")
	echo "target: $_line"
	mkdir -p "${OUT:-out/bench}"
	_f=${OUT:-out/bench}/targets.txt
	touch "$_f"
	grep -vF "$(printf '%-58s' "$_name")" "$_f" >"$_f.tmp" || true
	echo "$_line" >>"$_f.tmp"
	mv "$_f.tmp" "$_f"
}
