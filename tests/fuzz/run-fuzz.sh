#!/bin/sh
# Run one libFuzzer harness for a bounded time from a copy of its seed corpus.
# Usage: run-fuzz.sh HARNESS CORPUS_DIR SECONDS ARTIFACT_DIR
# Fails on a crash, a sanitizer report, a leak or a timeout; the input that
# caused it is kept in ARTIFACT_DIR. Prints the number of executions.
set -u
harness=$1 corpus=$2 seconds=$3 artifacts=$4
name=$(basename "$harness")

work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$artifacts"
if [ -d "$corpus" ]; then
	cp -R "$corpus/." "$work/corpus/"
fi

# -close_fd_mask=3: the code under test prints an error for most inputs;
# libFuzzer's own output and sanitizer reports still reach the log.
"$harness" -max_total_time="$seconds" -print_final_stats=1 -close_fd_mask=3 \
	-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/$name-" \
	"$work/corpus" >"$work/log" 2>&1
rc=$?

grep -E '^(stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb|cov:|#[0-9]+[[:space:]]+DONE)' "$work/log" |
	sed "s/^/$name: /"
echo "$name: corpus $(ls "$work/corpus" | wc -l) inputs, ${seconds}s, exit status $rc"
if [ $rc -ne 0 ]; then
	echo "$name: FAILED; libFuzzer's log from the report on:"
	sed -n '/ERROR: \|runtime error\|fuzz check failed\|deadly signal\|==ABORTING/,$p' \
		"$work/log" | head -n 150 | grep . || tail -n 80 "$work/log"
	echo "$name: reproduce with: $harness $artifacts/$name-<crash file>"
	exit 1
fi
if ! grep -q '^stat::number_of_executed_units' "$work/log"; then
	echo "$name: no final statistics from libFuzzer"
	tail -n 40 "$work/log"
	exit 1
fi
exit 0
