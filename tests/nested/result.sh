#!/usr/bin/env bash
# Meson adapter: report one nested test's verdict. The first caller runs tests/nested/run.sh
# (one L1 boot for all tests) under a lock; the others read its results file.
# Usage: tests/nested/result.sh NAME KVMINI_BINARY RESULTS_DIR
# Exit: 0 PASS, 77 SKIP, 1 FAIL. Results are reused while newer than kvmini and the test
# scripts and younger than 20 minutes (KVMINI_NESTED_FRESH=1 forces a new run).
set -u
name=$1 kvmini=$2 dir=$3
here=$(cd "$(dirname "$0")" && pwd)
results=$dir/results
mkdir -p "$dir"

fresh() {
	local f
	[ "${KVMINI_NESTED_FRESH:-0}" = 1 ] && [ ! -e "$dir/.fresh-$PPID" ] && return 1
	[ -f "$results" ] || return 1
	[ $(($(date +%s) - $(stat -c %Y "$results"))) -lt 1200 ] || return 1
	for f in "$kvmini" "$here"/* "$here/../../tools/mkguest" "$here/../../tools/kvmini-ifup" \
		"$here/../../tools/kvmini-ifdown"; do
		[ "$results" -nt "$f" ] || return 1
	done
}

exec 9>"$dir/lock"
flock 9
if ! fresh; then
	"$here/run.sh" --results "$dir" "$kvmini" >"$dir/run.out" 2>&1
	rc=$?
	if [ "$rc" = 77 ]; then
		for n in $(sh "$here/tests.sh" --list); do
			echo "$n SKIP 0 $(tail -n 1 "$dir/run.out")"
		done >"$results"
	fi
	touch "$dir/.fresh-$PPID"
fi
flock -u 9

line=$(awk -v n="$name" '$1 == n' "$results" | head -n 1)
[ -n "$line" ] || { echo "$name: no result in $results (see $dir/run.out)"; exit 1; }
echo "$line"
case "$(echo "$line" | cut -d' ' -f2)" in
PASS) exit 0 ;;
SKIP) exit 77 ;;
esac
grep -v '^timing:' "$dir/run.out" | grep -q . && echo "(full report: $dir/run.out)"
[ -f "$dir/$name.log" ] && { echo "---- log tail ($dir/$name.log)"; tail -n 40 "$dir/$name.log"; }
exit 1
