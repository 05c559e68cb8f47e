#!/usr/bin/env bash
# One attack of the hostile virtio-blk guest (firmware/hostile.c) against a
# fresh disk image. Checks, besides the exact serial output:
#   - kvmini's exit status is 1 (the guest wrote 0 to the exit device);
#   - stderr holds exactly one line naming the device when the attack must
#     put it in NEEDS_RESET (MSG=1), and nothing at all otherwise (MSG=0);
#   - the image is byte for byte what it was: the guest never writes, and a
#     request kvmini rejected must not have reached the disk.
#
#   hostile-run.sh KVMINI IMAGE EXPECTED_OUTPUT ATTACK MSG
#
# Exits 0 on success, 1 on failure (with the log tails), 77 without /dev/kvm.
# KVMINI_TEST_TIMEOUT overrides the 60 s limit on the guest run.
set -u

if [ $# -ne 5 ]; then
	echo "usage: $0 KVMINI IMAGE EXPECTED_OUTPUT ATTACK MSG" >&2
	exit 2
fi
kvmini=$1
image=$2
expected=$3
attack=$4
want_msg=$5
limit=${KVMINI_TEST_TIMEOUT:-60}
name=hostile-$attack
device="virtio-blk hostile"

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
trap 'rm -rf "$tmp"' EXIT
disk=$tmp/disk.img

# sector 0 starts with the marker the guest reads back; sector 1 is all 'u'
truncate -s 1M "$disk" || exit 1
printf 'kvmini-hostile-disk' | dd of="$disk" conv=notrunc status=none || exit 1
head -c 512 /dev/zero | tr '\0' 'u' |
	dd of="$disk" bs=512 seek=1 conv=notrunc status=none || exit 1
sum_before=$(sha256sum <"$disk")
cp "$disk" "$tmp/want.img" || exit 1

cmd=("$kvmini" run --kernel "$image" --memory 256M --disk "path=$disk,id=hostile"
     --cmdline "attack=$attack")
# SIGKILL, so 137 can only mean our limit
timeout -s KILL "$limit" "${cmd[@]}" </dev/null >"$tmp/stdout" 2>"$tmp/stderr"
status=$?

failed=0
if [ "$status" -eq 137 ]; then
	echo "FAIL: $name: kvmini did not exit within $limit s"
	failed=1
elif [ "$status" -ne 1 ]; then
	echo "FAIL: $name: kvmini exited with status $status, expected 1 (guest PASS)"
	failed=1
fi
if ! cmp -s "$expected" "$tmp/stdout"; then
	echo "FAIL: $name: guest output differs from $expected"
	diff -u --label expected --label actual "$expected" "$tmp/stdout"
	failed=1
fi
lines=$(wc -l <"$tmp/stderr")
if [ "$want_msg" = 1 ]; then
	if [ "$lines" -ne 1 ] || ! grep -q "^kvmini: warning: $device: " "$tmp/stderr"; then
		echo "FAIL: $name: expected exactly one message naming '$device' on stderr, got $lines lines"
		failed=1
	fi
elif [ -s "$tmp/stderr" ]; then
	echo "FAIL: $name: expected no message on stderr, got $lines lines"
	failed=1
fi
if [ "$(sha256sum <"$disk")" != "$sum_before" ]; then
	echo "FAIL: $name: the disk image changed"
	cmp -l "$tmp/want.img" "$disk" | head -n 10
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
echo "PASS: $name (status $status, $(wc -l <"$tmp/stdout") lines of output, $lines on stderr, image unchanged)"
exit 0
