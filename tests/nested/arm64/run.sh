#!/usr/bin/env bash
# The arm64 nested bed: an arm64 L1 Linux under qemu-system-aarch64 (TCG,
# -M virt,virtualization=on,gic-version=3 -cpu max) has real KVM; in it the cross-built
# kvmini boots Debian's arm64 cloud kernel with a busybox initramfs (L2).
# Usage: tests/nested/arm64/run.sh BUILD_ARM64_DIR [CACHE_DIR]
# Exit status 0 when every scenario ended with its expected status, 77 (skip) when
# qemu-system-aarch64 or the packages are missing, else 1. Downloads go to CACHE_DIR
# (default: .cache-arm64 in the tree). With ARM64_BED_RESULTS=FILE, one JSON line per
# scenario ({"name": "arm64-nested-NAME", "result": "OK"|"FAIL"}) for tools/test's count.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_ARM64_DIR [CACHE_DIR]}" && pwd)
cache=${2:-$src/.cache-arm64}
sysroot=/opt/kvmini/sysroot-arm64
timeout_s=${ARM64_BED_TIMEOUT:-1500}

command -v qemu-system-aarch64 >/dev/null || { echo "skip: no qemu-system-aarch64 (qemu-system-arm)"; exit 77; }
[ -x "$build/kvmini" ] || { echo "skip: no $build/kvmini"; exit 77; }
mkdir -p "$cache"

# Debian's arm64 cloud kernel and busybox-static, once
if [ ! -f "$cache/root/bin/busybox" ] || ! ls "$cache"/root/boot/vmlinuz-* >/dev/null 2>&1; then
	pkg=$(apt-cache search --names-only 'linux-image-6.1.0-.*-cloud-arm64$' | awk '{print $1}' | sort -V | tail -n 1)
	[ -n "$pkg" ] || { echo "skip: no linux-image-6.1.0-*-cloud-arm64 in apt (dpkg --add-architecture arm64; apt-get update)"; exit 77; }
	( cd "$cache" && apt-get download -q "$pkg:arm64" busybox-static:arm64 ) >/dev/null 2>&1 ||
		{ echo "skip: cannot download $pkg:arm64 busybox-static:arm64"; exit 77; }
	for d in "$cache"/*.deb; do dpkg -x "$d" "$cache/root"; done
fi
kernel=$(ls "$cache"/root/boot/vmlinuz-* | sort -V | tail -n 1)
bb=$cache/root/bin/busybox

work=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-arm64-bed.XXXXXX")
trap 'rm -rf "$work"' EXIT

# L2: busybox, l2-init and the virtio modules (Debian builds them as modules)
mkdir -p "$work/l2/bin" "$work/l2/lib/modules"
cp "$bb" "$work/l2/bin/busybox"
for m in virtio_ring virtio virtio_mmio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk; do
	f=$(find "$cache"/root/lib/modules -name "$m.ko*" | head -n 1)
	case "$f" in
	*.xz) xz -dc "$f" >"$work/l2/lib/modules/$m.ko" ;;
	*.zst) zstd -qdc "$f" >"$work/l2/lib/modules/$m.ko" ;;
	?*) cp "$f" "$work/l2/lib/modules/$m.ko" ;;
	esac
done
cp "$here/l2-init" "$work/l2/init"
chmod 755 "$work/l2/init"
( cd "$work/l2" && find . | cpio -o -H newc --quiet ) >"$work/l2.cpio"

# L1: busybox, kvmini and its arm64 libraries, the L2 kernel and initramfs, the scenarios
r=$work/l1
mkdir -p "$r"/{bin,proc,sys,dev,tmp,usr/local/bin,nested,l2,lib/aarch64-linux-gnu}
cp "$bb" "$r/bin/busybox"
ln -s busybox "$r/bin/sh"
cp "$here/l1-init" "$r/init"
chmod 755 "$r/init"
cp "$build/kvmini" "$r/usr/local/bin/kvmini"
cp -L /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 "$r/lib/"
for lib in libc.so.6 libm.so.6 libgcc_s.so.1; do
	cp -L "/usr/aarch64-linux-gnu/lib/$lib" "$r/lib/aarch64-linux-gnu/"
done
for lib in libseccomp.so.2 libcap-ng.so.0 libjson-c.so.5 libz.so.1 libfdt.so.1 libext2fs.so.2 libcom_err.so.2; do
	f=$(find "$sysroot" -name "$lib" | head -n 1)
	[ -n "$f" ] && cp -L "$f" "$r/lib/aarch64-linux-gnu/"
done
cp "$kernel" "$r/l2/Image"
cp "$work/l2.cpio" "$r/l2/initrd.cpio"
L2="--kernel /l2/Image --initrd /l2/initrd.cpio --timeout 300"
cat >"$r/nested/scenarios" <<EOS
poweroff 0 $L2
reboot 4 $L2 --cmdline kvmini_test=reboot
cpus2 0 $L2 --cpus 2
memory512 0 $L2 --memory 512M
bad-image 2 --kernel /l2/initrd.cpio
panic 4 $L2 --cmdline kvmini_test=panic
disk-mmio 0 $L2 --transport mmio --disk path=/tmp/disk.img --cmdline kvmini_test=disk
disk-pci 0 $L2 --disk path=/tmp/disk.img --cmdline kvmini_test=disk
EOS
( cd "$r" && find . | cpio -o -H newc --quiet ) >"$work/l1.cpio"

log=$work/l1.log
start=$(date +%s)
timeout "$timeout_s" qemu-system-aarch64 -M virt,virtualization=on,gic-version=3 -cpu max \
	-accel tcg -m 2048 -smp 2 -nographic -no-reboot \
	-kernel "$kernel" -initrd "$work/l1.cpio" \
	-append "console=ttyAMA0 rdinit=/init panic=-1 quiet" >"$log" 2>&1
qrc=$?
end=$(date +%s)
cp "$log" "${ARM64_BED_LOG:-$build/arm64-bed.log}" 2>/dev/null
echo "L0: qemu status $qrc after $((end - start)) s"
results=${ARM64_BED_RESULTS:-/dev/null}
: >"$results"
result() {	# NAME OK|FAIL
	echo "{\"name\": \"arm64-nested-$1\", \"result\": \"$2\"}" >>"$results"
}
fail=0
grep -q '^L1-DONE' "$log" || { echo "L1 did not finish; log tail:"; tail -n 40 "$log"; fail=1; }
while read -r _ name st want t0 t1; do
	st=${st#status=}; want=${want#want=}; t0=${t0#start=}; t1=${t1#end=}
	if [ "$st" = "$want" ]; then
		echo "ok   $name: status $st ($(awk "BEGIN { print $t1 - $t0 }") s in L1)"
		result "$name" OK
	else
		result "$name" FAIL
		echo "FAIL $name: status $st, want $want; its output:"
		grep "^  $name| " "$log" | tail -n 30
		fail=1
	fi
done < <(grep '^SCENARIO-END' "$log" | tr -d '\r')
# the disk scenarios: L2 read L1's marker, and L1 found L2's words on the image afterwards
for name in disk-mmio disk-pci; do
	grep -q "^SCENARIO-END $name" "$log" || continue
	if ! grep -q "^  $name| L2-DISK-READ KVMINI-DISK-MARKER" "$log" ||
	   ! grep -q "^L1-DISK-CHECK $name WRITTEN-BY-L2" "$log"; then
		echo "FAIL $name: the guest did not read and write the disk"
		sed -i "/arm64-nested-$name\"/d" "$results" 2>/dev/null
		result "$name" FAIL
		fail=1
	fi
done
# virtio-pci's queues interrupt through the ITS (MSI-X), not INTx
if grep -q '^SCENARIO-END disk-pci' "$log" && ! grep -q '^  disk-pci| L2-IRQ .*ITS-MSI.*virtio' "$log"; then
	echo "FAIL disk-pci: the disk's interrupts are not ITS MSIs:"
	grep '^  disk-pci| L2-IRQ' "$log"
	sed -i '/arm64-nested-disk-pci"/d' "$results" 2>/dev/null
	result disk-pci FAIL
	fail=1
fi
if grep -q '^SCENARIO-END poweroff' "$log" && ! grep -q 'poweroff| L2-USERSPACE-OK' "$log"; then
	echo "FAIL poweroff: L2 never reached userspace"
	result poweroff-userspace FAIL
	fail=1
fi
[ $fail = 0 ] || grep -q . "$results" 2>/dev/null || result l1 FAIL
exit $fail
