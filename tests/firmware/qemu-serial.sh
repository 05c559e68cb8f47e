#!/usr/bin/env bash
# kvmini qemu -serial file:PATH and -serial null with the hello firmware: the
# guest's console goes to PATH (byte for byte the usual output) or nowhere,
# nothing reaches stdout, and the status is kvmini run's.
#   qemu-serial.sh KVMINI HELLO_ELF HELLO_EXPECTED
set -u
kvmini=$1 image=$2 expected=$3
if ! [ -c /dev/kvm ] || ! (exec 3<>/dev/kvm) 2>/dev/null; then
	echo "SKIP: /dev/kvm not available"
	exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-qserial.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

echo stale >"$tmp/con log"
timeout -s KILL 60 "$kvmini" qemu -kernel "$image" -serial "file:$tmp/con log" \
	>"$tmp/stdout" 2>"$tmp/stderr" </dev/null
status=$?
if [ $status != 0 ] || [ -s "$tmp/stdout" ] || ! cmp -s "$expected" "$tmp/con log"; then
	echo "FAIL: -serial file: status $status"
	echo "--- stdout:"; tail -n 5 "$tmp/stdout"
	echo "--- file:"; tail -n 5 "$tmp/con log"
	echo "--- stderr:"; tail -n 5 "$tmp/stderr"
	fail=1
else
	echo "ok: -serial file: the guest's output in the file, none on stdout"
fi

timeout -s KILL 60 "$kvmini" qemu -kernel "$image" -serial null \
	>"$tmp/stdout" 2>"$tmp/stderr" </dev/null
status=$?
if [ $status != 0 ] || [ -s "$tmp/stdout" ]; then
	echo "FAIL: -serial null: status $status, stdout:"; tail -n 5 "$tmp/stdout"
	tail -n 5 "$tmp/stderr"
	fail=1
else
	echo "ok: -serial null: no output, status 0"
fi

timeout -s KILL 60 "$kvmini" qemu -kernel "$image" -serial file:/nonexistent/dir/log \
	>"$tmp/stdout" 2>"$tmp/stderr" </dev/null
status=$?
if [ $status != 2 ] || ! grep -q 'file:/nonexistent/dir/log: No such file' "$tmp/stderr"; then
	echo "FAIL: -serial file: in a missing directory: status $status"; cat "$tmp/stderr"
	fail=1
else
	echo "ok: -serial file: in a missing directory: $(head -n 1 "$tmp/stderr")"
fi
exit $fail
