#!/usr/bin/env bash
# The hostile guest's blk-huge attack (firmware/hostile.c): 256 queued
# reads of 4064 MiB each from a sparse 8 GiB disk, hours of work. kvmini
# must still stop at once:
#   timeout  `--timeout 2` ends it with status 124;
#   sigterm  SIGTERM, once the guest says the reads are queued, with 143;
#   reset    the guest resets the device with the reads in flight, then
#            reads sector 0 again: status 1 (PASS).
# Either way it must exit before our own limit (KVMINI_TEST_TIMEOUT, 40 s),
# and the image must be unchanged (the guest only reads).
#
#   hostile-stop.sh KVMINI IMAGE EXPECTED_OUTPUT MODE
#
# Exits 0 on success, 1 on failure (with the log tails), 77 without /dev/kvm.
set -u

if [ $# -ne 4 ]; then
	echo "usage: $0 KVMINI IMAGE EXPECTED_OUTPUT timeout|sigterm|reset" >&2
	exit 2
fi
kvmini=$1
image=$2
expected=$3
mode=$4
limit=${KVMINI_TEST_TIMEOUT:-40}
name=hostile-blk-huge-$mode
attack=blk-huge

case "$mode" in
timeout) want=124 ;;
sigterm) want=143 ;;
reset) want=1; attack=blk-huge-reset ;;
*) echo "$0: MODE is timeout, sigterm or reset" >&2; exit 2 ;;
esac
if ! [ -c /dev/kvm ] || ! (exec 3<>/dev/kvm) 2>/dev/null; then
	echo "SKIP: /dev/kvm not available (missing, or not readable and writable by $(id -un))"
	exit 77
fi
for f in "$kvmini" "$image" "$expected"; do
	if ! [ -f "$f" ]; then
		echo "FAIL: $name: $f does not exist (build first)"
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-hostile.XXXXXX") || exit 1
pid=
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
disk=$tmp/disk.img

truncate -s 8G "$disk" || exit 1
printf 'kvmini-hostile-disk' | dd of="$disk" conv=notrunc status=none || exit 1
sum_before=$(head -c 4096 "$disk" | sha256sum)

cmd=("$kvmini" run --kernel "$image" --memory 256M --disk "path=$disk,id=hostile"
     --cmdline "attack=$attack")
[ "$mode" = timeout ] && cmd+=(--timeout 2)
# SIGKILL, so 137 can only mean our limit
timeout -s KILL "$limit" "${cmd[@]}" </dev/null >"$tmp/stdout" 2>"$tmp/stderr" &
pid=$!
if [ "$mode" = sigterm ]; then
	# the guest prints its second line once the reads are queued and kicked
	for _ in $(seq 1 $((limit * 10))); do
		grep -q 'queued' "$tmp/stdout" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	# a moment for the I/O thread to be deep in the first request
	sleep 0.5
	pkill -TERM -P "$pid" 2>/dev/null
fi
wait "$pid"
status=$?
pid=

failed=0
if [ "$status" -eq 137 ]; then
	echo "FAIL: $name: kvmini did not exit within $limit s"
	failed=1
elif [ "$status" -ne "$want" ]; then
	echo "FAIL: $name: kvmini exited with status $status, expected $want"
	failed=1
fi
if ! cmp -s "$expected" "$tmp/stdout"; then
	echo "FAIL: $name: guest output differs from $expected"
	diff -u --label expected --label actual "$expected" "$tmp/stdout"
	failed=1
fi
if [ "$(head -c 4096 "$disk" | sha256sum)" != "$sum_before" ] ||
   [ "$(stat -c %s "$disk")" -ne $((8 << 30)) ]; then
	echo "FAIL: $name: the disk image changed"
	failed=1
fi
if [ "$failed" -ne 0 ]; then
	echo "command: ${cmd[*]}"
	echo "--- guest output (stdout, last 30 lines) ---"
	tail -n 30 "$tmp/stdout"
	echo "--- kvmini messages (stderr, last 30 lines) ---"
	tail -n 30 "$tmp/stderr"
	exit 1
fi
echo "PASS: $name (status $status)"
exit 0
