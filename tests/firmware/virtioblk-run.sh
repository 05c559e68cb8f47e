#!/usr/bin/env bash
# The virtio-blk firmware guest (firmware/virtioblk.c) against a fresh disk
# image: boots it through run-guest.sh (exact serial output, status 0), then
# checks the image on the host byte for byte.
#
#   virtioblk-run.sh RUN_GUEST KVMINI IMAGE EXPECTED_OUTPUT rw|ro
#
# The 1 MiB image holds "kvmini-virtioblk" at the start of sector 0 and
# 'u' bytes in sector 1. rw: the guest must have written "sector 1 line 00"
# ... "sector 1 line 31" to sector 1 and changed nothing else. ro (the disk
# is readonly=on, the guest gets vblk.mode=ro): the image must not change.
# Exits 0 on success, 1 on failure, 77 (skip) without /dev/kvm.
set -u

if [ $# -ne 5 ]; then
	echo "usage: $0 RUN_GUEST KVMINI IMAGE EXPECTED_OUTPUT rw|ro" >&2
	exit 2
fi
runner=$1
kvmini=$2
image=$3
expected=$4
mode=$5
name=$(basename "$expected" .expected)

case $mode in
rw)	disk_opts=,id=fwdisk; guest_args=() ;;
ro)	disk_opts=,readonly=on,id=fwdisk; guest_args=(--cmdline vblk.mode=ro) ;;
*)	echo "$0: mode must be rw or ro, not '$mode'" >&2; exit 2 ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-vblk.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
disk=$tmp/disk.img

# the image, and the copy the guest must leave it equal to
truncate -s 1M "$disk" || exit 1
printf 'kvmini-virtioblk' | dd of="$disk" conv=notrunc status=none || exit 1
head -c 512 /dev/zero | tr '\0' 'u' |
	dd of="$disk" bs=512 seek=1 conv=notrunc status=none || exit 1
cp "$disk" "$tmp/want.img" || exit 1
if [ "$mode" = rw ]; then
	for i in $(seq 0 31); do printf 'sector 1 line %02d' "$i"; done >"$tmp/sector1"
	dd if="$tmp/sector1" of="$tmp/want.img" bs=512 seek=1 conv=notrunc status=none || exit 1
fi

bash "$runner" "$kvmini" "$image" "$expected" 0 \
	--disk "path=$disk$disk_opts" "${guest_args[@]}"
status=$?
[ "$status" -eq 0 ] || exit "$status"	# 77: skip, else the failure is printed

if ! cmp -s "$tmp/want.img" "$disk"; then
	echo "FAIL: $name: the disk image differs from what the guest should have left"
	cmp -l "$tmp/want.img" "$disk" | head -n 10
	echo "--- sector 1 on the host image ---"
	dd if="$disk" bs=512 skip=1 count=1 status=none | od -A d -c | head -n 8
	exit 1
fi
echo "PASS: $name: disk image as expected ($mode)"
exit 0
