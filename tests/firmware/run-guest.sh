#!/usr/bin/env bash
# Boots one firmware test guest with kvmini, then checks its serial output
# byte for byte and kvmini's exit status.
#
#   run-guest.sh KVMINI IMAGE EXPECTED_OUTPUT EXPECTED_STATUS [KVMINI_ARGS...]
#   run-guest.sh KVMINI IMAGE EXPECTED_OUTPUT EXPECTED_STATUS --qemu [QEMU_ARGS...]
#
# With --qemu the guest runs through `kvmini qemu -kernel IMAGE QEMU_ARGS`.
#
# Exits 0 on a match, 1 on a mismatch or timeout, 77 (skip) without /dev/kvm.
# KVMINI_TEST_TIMEOUT overrides the 60 s limit on one guest run.
set -u

if [ $# -lt 4 ]; then
	echo "usage: $0 KVMINI IMAGE EXPECTED_OUTPUT EXPECTED_STATUS [KVMINI_ARGS...]" >&2
	exit 2
fi
kvmini=$1
image=$2
expected=$3
want_status=$4
shift 4
limit=${KVMINI_TEST_TIMEOUT:-60}
name=$(basename "$expected" .expected)

if ! [ -c /dev/kvm ] || ! (exec 3<>/dev/kvm) 2>/dev/null; then
	echo "SKIP: /dev/kvm not available (missing, or not readable and writable by $(id -un))"
	exit 77
fi
for f in "$kvmini" "$image" "$expected"; do
	if ! [ -f "$f" ]; then
		echo "FAIL: $name: $f does not exist (build first)" >&2
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-fw.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

if [ "${1:-}" = --qemu ]; then
	shift
	cmd=("$kvmini" qemu -kernel "$image" "$@")
else
	cmd=("$kvmini" run --kernel "$image" "$@")
fi
# SIGKILL, so 137 can only mean our limit: kvmini itself may exit 124 (--timeout)
timeout -s KILL "$limit" "${cmd[@]}" </dev/null >"$tmp/stdout" 2>"$tmp/stderr"
status=$?

show_logs() {
	echo "command: ${cmd[*]}"
	echo "--- guest output (stdout, last 30 lines) ---"
	tail -n 30 "$tmp/stdout"
	echo "--- kvmini messages (stderr, last 30 lines) ---"
	tail -n 30 "$tmp/stderr"
}

failed=0
if [ "$status" -eq 137 ]; then
	echo "FAIL: $name: kvmini did not exit within $limit s (status $status)"
	failed=1
elif [ "$status" -ne "$want_status" ]; then
	echo "FAIL: $name: kvmini exited with status $status, expected $want_status"
	failed=1
fi
if ! cmp -s "$expected" "$tmp/stdout"; then
	echo "FAIL: $name: guest output differs from $expected"
	diff -u --label expected --label actual "$expected" "$tmp/stdout"
	failed=1
fi
if [ "$failed" -ne 0 ]; then
	show_logs
	exit 1
fi
echo "PASS: $name (status $status, $(wc -l <"$tmp/stdout") lines of output)"
exit 0
