#!/usr/bin/env bash
# Run kvmini and check its exit status and the message on stderr.
# Whatever the case, stderr must hold no control character but line ends:
# kvmini escapes what it echoes from its input.
# usage: expect.sh STATUS STDERR-SUBSTRING [--root] [--lines N] [--wrap CMD...] -- KVMINI ARGS...
# --root: skip (77) unless run as root (for namespace tricks).
# --lines N: stderr must be exactly N lines.
set -u
want_status=$1 want_msg=$2
shift 2
wrap=()
want_lines=
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
	case $1 in
	--root) [ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; } ;;
	--lines) want_lines=$2; shift ;;
	--wrap) shift; while [ "$1" != "--" ]; do wrap+=("$1"); shift; done; continue ;;
	esac
	shift
done
shift	# --
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
timeout --kill-after=5 60 "${wrap[@]}" "$@" >"$out" 2>"$err" </dev/null
status=$?
fail=0
if [ "$status" != "$want_status" ]; then
	echo "FAIL: exit status $status, expected $want_status"
	fail=1
fi
if ! grep -qF -- "$want_msg" "$err"; then
	echo "FAIL: stderr lacks: $want_msg"
	fail=1
fi
lines=$(wc -l <"$err")
if [ -n "$want_lines" ] && [ "$lines" != "$want_lines" ]; then
	echo "FAIL: stderr has $lines lines, expected $want_lines"
	fail=1
fi
if LC_ALL=C grep -q '[[:cntrl:]]' "$err"; then
	echo "FAIL: a raw control character on stderr:"
	LC_ALL=C grep -n '[[:cntrl:]]' "$err" | od -c | head -n 5
	fail=1
fi
# a crash would leave a sanitizer report or a signal status
if grep -q -e 'Sanitizer' -e 'runtime error' "$err"; then
	echo "FAIL: sanitizer report"
	fail=1
fi
if [ $fail = 1 ]; then
	echo "command: $*"
	echo "--- stderr (tail) ---"; tail -n 20 "$err"
	echo "--- stdout (tail) ---"; tail -n 20 "$out"
	exit 1
fi
echo "ok: status $status, stderr: $(head -n 1 "$err")"
exit 0
