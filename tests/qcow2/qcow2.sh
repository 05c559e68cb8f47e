#!/usr/bin/env bash
# qcow2 for --disk against qemu-img/qemu-io, the oracle. A firmware guest
# (firmware/volcopy.c) copies its first disk onto its second: read cases
# copy a qcow2 image onto a raw one and compare bytes with what qemu-img
# converts; write cases copy a raw image onto a qcow2 one, then
# `qemu-img check` must be clean and `qemu-img compare` find them equal.
#
#   qcow2.sh CASE KVMINI VOLCOPY_ELF MKBAD
#
# Exits 0 on success, 1 on failure, 77 (skip) without /dev/kvm or qemu-img.
set -u
case=$1
kvmini=$(realpath "$2") fw=$(realpath "$3") mkbad=$(realpath "$4") || exit 1
limit=${KVMINI_TEST_TIMEOUT:-120}

if ! [ -c /dev/kvm ] || ! (exec 3<>/dev/kvm) 2>/dev/null; then
	echo "SKIP: /dev/kvm not available"; exit 77
fi
if ! command -v qemu-img >/dev/null || ! command -v qemu-io >/dev/null; then
	echo "SKIP: qemu-img/qemu-io not installed (Debian qemu-utils; tools/setup-deps)"; exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-qcow2.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
mkdir tmpdir

fail() {
	echo "FAIL: $case: $*"
	[ -f log ] && { echo "--- kvmini output (last 20 lines) ---"; tail -n 20 log; }
	exit 1
}

# copy DISK0_OPTS DISK1_OPTS: the guest copies disk 0 onto disk 1; status 1 is its success
copy() {
	TMPDIR=$tmp/tmpdir timeout -s KILL "$limit" "$kvmini" run --kernel "$fw" \
		--disk "$1" --disk "$2" </dev/null >log 2>&1
	local st=$?
	[ $st -eq 1 ] && grep -q '^volcopy: copied' log || fail "guest run ended with status $st"
}

# check IMAGE: qemu-img check finds no corruption (leaks: allowed only with "leaks")
check() {
	qemu-img check "$1" >check.log 2>&1
	local st=$?
	if [ $st -ne 0 ] && ! { [ "${2:-}" = leaks ] && [ $st -eq 3 ]; }; then
		cat check.log; fail "qemu-img check $1: status $st"
	fi
}

same() {
	qemu-img compare -q "$1" "$2" || fail "qemu-img compare $1 $2: they differ"
}

rand() { head -c "$2" /dev/urandom >"$1"; }

# An image with data, holes and (v3) zero clusters, written by qemu-io.
scatter() {
	local img=$1 v=$2 cs=$3
	qemu-img create -q -f qcow2 -o compat="$v",cluster_size="$cs" "$img" 4M || exit 1
	qemu-io -f qcow2 -c 'write -P 0x11 0 5k' -c 'write -P 0x22 700k 1300k' \
		-c 'write -P 0x33 3000k 3k' -c 'write -P 0x44 3800k 296k' "$img" >/dev/null || exit 1
	if [ "$v" = 1.1 ]; then
		qemu-io -f qcow2 -c 'write -z 1M 512k' "$img" >/dev/null || exit 1
	fi
}

case $case in
read-v2-* | read-v3-*)
	v=0.10; [ "${case:5:2}" = v3 ] && v=1.1
	cs=${case#read-v?-}
	scatter img.qcow2 $v "$cs"
	qemu-img convert -O raw img.qcow2 want.raw || exit 1
	truncate -s 4M out.raw
	copy path=img.qcow2,readonly=on path=out.raw
	cmp want.raw out.raw || fail "the guest read other bytes than qemu-img converts"
	;;
read-compressed)
	for i in $(seq 1 120000); do echo "line $i of a compressible disk"; done | head -c 3M >src.raw
	truncate -s 3M src.raw
	rand tail.raw 1M; cat tail.raw >>src.raw
	qemu-img convert -q -c -f raw -O qcow2 src.raw img.qcow2 || exit 1
	qemu-img check img.qcow2 | grep -Eq '[1-9][0-9]*\.[0-9]+% compressed' ||
		fail "qemu-img made no compressed cluster"
	truncate -s 4M out.raw
	copy path=img.qcow2,readonly=on path=out.raw
	cmp src.raw out.raw || fail "compressed clusters read back differently"
	;;
read-chain)
	rand base.raw 4M
	qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=4096 -b base.raw -F raw mid.qcow2
	qemu-io -f qcow2 -c 'write -P 0xaa 100k 300k' -c 'write -P 0xab 3M 4k' mid.qcow2 >/dev/null
	qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2
	qemu-io -f qcow2 -c 'write -P 0xbb 1M 64k' -c 'write -z 2M 128k' -c 'write -P 0xcc 150k 10k' \
		top.qcow2 >/dev/null
	qemu-img convert -O raw top.qcow2 want.raw || exit 1
	truncate -s 4M out.raw
	copy path=top.qcow2,format=qcow2,readonly=on path=out.raw
	cmp want.raw out.raw || fail "the chain of three read back differently"
	;;
write-v2-* | write-v3-*)
	v=0.10; [ "${case:6:2}" = v3 ] && v=1.1
	cs=${case#write-v?-}
	rand src.raw 3M
	qemu-img create -q -f qcow2 -o compat="$v",cluster_size="$cs" img.qcow2 3M
	copy path=src.raw,readonly=on path=img.qcow2,format=qcow2
	check img.qcow2
	same src.raw img.qcow2
	;;
write-lazy)
	# lazy_refcounts=on: kvmini keeps the counts exact anyway and never sets the dirty bit
	rand src.raw 3M
	qemu-img create -q -f qcow2 -o lazy_refcounts=on img.qcow2 3M
	copy path=src.raw,readonly=on path=img.qcow2,format=qcow2
	check img.qcow2
	same src.raw img.qcow2
	qemu-img info img.qcow2 | grep -q 'lazy refcounts: true' || fail "the lazy bit was dropped"
	[ "$(od -An -tx1 -j79 -N1 img.qcow2 | tr -d ' ')" = 00 ] || fail "the dirty bit is set"
	;;
write-internal-snapshot)
	# an internal snapshot is ignored but keeps its clusters: shared L2 tables and data
	# are copied before kvmini writes, the counts stay exact (QEMU's: one per L1 table
	# reaching a cluster), and the snapshot still reads as it was
	rand a.raw 3M
	rand src.raw 1100k
	for cs in 4096 65536; do
		rm -f img.qcow2
		qemu-img convert -q -f raw -O qcow2 -o cluster_size=$cs a.raw img.qcow2
		qemu-img snapshot -c s1 img.qcow2 || fail "qemu-img snapshot -c"
		copy path=src.raw,readonly=on path=img.qcow2,format=qcow2
		check img.qcow2
		cp a.raw want.raw && dd if=src.raw of=want.raw conv=notrunc status=none
		same want.raw img.qcow2
		qemu-img convert -f qcow2 -O raw -l snapshot.name=s1 img.qcow2 snap.raw ||
			fail "qemu-img convert of the snapshot"
		cmp a.raw snap.raw || fail "the internal snapshot changed ($cs-byte clusters)"
	done
	;;
write-grow-refcounts)
	# 512-byte clusters: 20 MiB outgrow the one-cluster refcount table
	rand src.raw 20M
	qemu-img create -q -f qcow2 -o cluster_size=512 img.qcow2 20M
	copy path=src.raw,readonly=on path=img.qcow2,format=qcow2
	check img.qcow2
	same src.raw img.qcow2
	;;
write-backing-*)
	# partial clusters over a backing file: the rest of each copied from it
	cs=${case#write-backing-}
	rand base.raw 4M
	rand src.raw 1100k
	qemu-img create -q -f qcow2 -o cluster_size="$cs" -b base.raw -F raw img.qcow2
	copy path=src.raw,readonly=on path=img.qcow2,format=qcow2
	check img.qcow2
	cp base.raw want.raw && dd if=src.raw of=want.raw conv=notrunc status=none
	same want.raw img.qcow2
	cmp -n 4M base.raw <(head -c 4M base.raw) || fail "the backing file changed"
	;;
write-compressed)
	for i in $(seq 1 150000); do echo "line $i of a compressible disk"; done | head -c 4M >c.raw
	truncate -s 4M c.raw
	qemu-img convert -q -c -f raw -O qcow2 c.raw img.qcow2
	rand src.raw 1100k
	copy path=src.raw,readonly=on path=img.qcow2,format=qcow2
	check img.qcow2	# the compressed clusters replaced are counted down, no leak
	cp c.raw want.raw && dd if=src.raw of=want.raw conv=notrunc status=none
	same want.raw img.qcow2
	;;
kill9)
	# SIGKILL at several moments of a write stream: never corruption
	rand src.raw 48M
	for delay in 0.2 0.5 0.9 1.4; do
		for cs in 512 65536; do
			rm -f img.qcow2
			qemu-img create -q -f qcow2 -o cluster_size=$cs img.qcow2 48M
			"$kvmini" run --kernel "$fw" --disk path=src.raw,readonly=on \
				--disk path=img.qcow2,format=qcow2 </dev/null >log 2>&1 &
			pid=$!
			sleep $delay
			kill -9 $pid 2>/dev/null
			{ wait $pid; } 2>/dev/null
			check img.qcow2 leaks
			echo "killed after ${delay}s, $cs-byte clusters: $(grep -c . check.log) line(s) \
from qemu-img check, $(qemu-img info img.qcow2 | grep 'disk size')"
		done
	done
	;;
snapshot-on)
	rand src.raw 1M
	rand base.raw 4M
	qemu-img convert -q -f raw -O qcow2 base.raw base.qcow2
	for b in base.raw base.qcow2; do
		before=$(sha256sum <$b)
		copy path=src.raw,readonly=on path=$b,snapshot=on
		[ "$(sha256sum <$b)" = "$before" ] || fail "snapshot=on changed $b"
		[ -z "$(ls -A tmpdir)" ] || fail "snapshot=on left $(ls tmpdir) in TMPDIR"
	done
	# the guest saw its writes: copy a snapshot=on disk that it wrote (disk 0 read back)
	truncate -s 4M out.raw
	copy path=base.qcow2,snapshot=on,readonly=on path=out.raw
	cmp base.raw out.raw || fail "snapshot=on read other bytes than the base's"
	;;
snapshot-disk)
	# the offline mode: an overlay over a stopped image takes the writes
	rand base.raw 4M
	rand src.raw 1M
	before=$(sha256sum <base.raw)
	"$kvmini" snapshot-disk --image base.raw --file ov.qcow2 >log 2>&1 ||
		fail "snapshot-disk failed"
	qemu-img info ov.qcow2 | grep -q "backing file format: raw" || fail "no backing format"
	"$kvmini" snapshot-disk --image base.raw --file ov.qcow2 >log 2>&1 &&
		fail "snapshot-disk over an existing file succeeded"
	grep -q 'File exists' log || fail "no reason given for the existing file"
	copy path=src.raw,readonly=on path=ov.qcow2,format=qcow2
	check ov.qcow2
	cp base.raw want.raw && dd if=src.raw of=want.raw conv=notrunc status=none
	same want.raw ov.qcow2
	[ "$(sha256sum <base.raw)" = "$before" ] || fail "the base changed under its overlay"
	# an image QEMU is writing is refused
	qemu-io -f raw -c 'sleep 4000' base.raw >/dev/null 2>&1 &
	qpid=$!
	sleep 1
	"$kvmini" snapshot-disk --image base.raw --file ov2.qcow2 >log 2>&1
	st=$?
	kill $qpid; wait $qpid 2>/dev/null
	[ $st -eq 2 ] && grep -q 'in use' log && ! [ -e ov2.qcow2 ] ||
		fail "snapshot-disk of an image in use: status $st"
	;;
live-snapshot)
	# kvmini snapshot-disk NAME while a guest streams writes (firmware/blkstream.c): a raw
	# base, then a second snapshot over the first overlay (a chain of three). The guest
	# reads every sector back at the end; then the chain must hold its last pass, and per
	# sector the base <= the first overlay's chain <= the last (the passes only grow).
	stream=$(dirname "$fw")/blkstream.elf
	truncate -s 256K base.raw
	truncate -s 64K ro.raw
	mkdir -p run && export XDG_RUNTIME_DIR=$tmp/run	# the API socket, unless root
	name=kvmini-qcow2-live-$$
	mkfifo in
	timeout -s KILL "$limit" "$kvmini" run --kernel "$stream" --name "$name" --disk path=base.raw \
		--disk path=ro.raw,readonly=on <in >log 2>&1 &
	vpid=$!
	exec 3>in
	# pass N written: wait (bounded) until the guest's log shows it
	wait_pass() {
		local i
		for i in $(seq 1 600); do
			[ "$(sed -n 's/^blkstream: pass \([0-9]*\) written$/\1/p' log | tail -n 1)" -ge "$1" ] \
				2>/dev/null && return 0
			kill -0 $vpid 2>/dev/null || fail "the guest ended early"
			sleep 0.1
		done
		fail "the guest did not write pass $1"
	}
	last_pass() { sed -n 's/^blkstream: pass \([0-9]*\) written$/\1/p' log | tail -n 1; }
	wait_pass 1
	# refusals first: none of them may touch the disk or leave a file
	"$kvmini" snapshot-disk "$name-nosuch" >out 2>&1; st=$?
	[ $st -eq 3 ] && grep -q "no VM named" out || { cat out; fail "unknown VM: status $st"; }
	"$kvmini" snapshot-disk "$name" --disk nosuch >out 2>&1; st=$?
	[ $st -eq 1 ] && grep -q "no disk 'nosuch'" out || { cat out; fail "unknown disk: status $st"; }
	"$kvmini" snapshot-disk "$name" --disk disk1 >out 2>&1; st=$?
	[ $st -eq 1 ] && grep -q "read-only" out || { cat out; fail "read-only disk: status $st"; }
	echo keep >taken.qcow2
	"$kvmini" snapshot-disk "$name" --file taken.qcow2 >out 2>&1; st=$?
	[ $st -eq 2 ] && grep -q "File exists" out && [ "$(cat taken.qcow2)" = keep ] ||
		{ cat out; fail "an existing --file: status $st"; }
	"$kvmini" snapshot-disk "$name" --image base.raw --file x.qcow2 >out 2>&1; st=$?
	[ $st -ne 0 ] && grep -q "stopped image" out && ! [ -e x.qcow2 ] ||
		{ cat out; fail "--image with a VM name: status $st"; }
	"$kvmini" snapshot-disk "$name" --file ov1.qcow2 >out 2>&1 ||
		{ cat out; fail "the first live snapshot failed"; }
	grep -q "base.raw is now a read-only base; writes go to $tmp/ov1.qcow2" out ||
		{ cat out; fail "the first snapshot's report"; }
	p1=$(last_pass)
	# clients that send and vanish without reading (ECONNRESET for the API thread): the
	# descriptor the disk now writes through must stay the disk's (it once got closed)
	sock=/run/kvmini/$name.sock
	[ "$(id -u)" = 0 ] || sock=$XDG_RUNTIME_DIR/kvmini/$name.sock
	for i in 1 2 3 4 5; do
		python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.send(b"{\"execute\": \"info\"}\n" * 50); s.close()' "$sock" || fail "cannot reach $sock"
	done
	# the old top is a base now: QEMU may read it, not write it
	qemu-img info -U base.raw >/dev/null 2>&1 || fail "qemu-img cannot read the base"
	qemu-io -f raw -c 'write 0 512' base.raw >out 2>&1 &&
		fail "QEMU could write the base under a running overlay"
	wait_pass $((p1 + 2))
	"$kvmini" snapshot-disk "$name" --disk disk0 >out 2>&1 ||
		{ cat out; fail "the second live snapshot failed"; }
	ov2=$(ls ov1.snap-*.qcow2 2>/dev/null | head -n 1)
	[ -n "$ov2" ] || { cat out; ls; fail "no overlay with the default name"; }
	"$kvmini" info "$name" >out 2>&1
	grep -q "disk0 .*qcow2 .*$ov2 over 2 backing files" out || { cat out; fail "info's disks"; }
	wait_pass $(($(last_pass) + 2))
	echo x >&3
	exec 3>&-
	wait $vpid; st=$?
	[ $st -eq 1 ] && grep -q "read back ok" log || fail "the guest ended with status $st"
	last=$(sed -n 's/^blkstream: pass \([0-9]*\) read back ok$/\1/p' log)
	check ov1.qcow2
	check "$ov2"
	qemu-img info --backing-chain "$ov2" | grep -c '^image:' | grep -qx 3 ||
		fail "the chain is not three images deep"
	qemu-img convert -U -O raw ov1.qcow2 mid.raw || fail "qemu-img convert ov1.qcow2"
	qemu-img convert -U -O raw "$ov2" top.raw || fail "qemu-img convert $ov2"
	python3 - "$last" base.raw mid.raw top.raw <<'PY' >out 2>&1 || { cat out; fail "the chain's contents"; }
import struct, sys
last = int(sys.argv[1])
imgs = [open(p, "rb").read() for p in sys.argv[2:]]
def pass_of(img, k):
    s = img[k * 512:(k + 1) * 512]
    if s == bytes(512):
        return 0
    magic, p, sec = struct.unpack_from("<8sII", s)
    assert magic == b"KVSTREAM" and sec == k, "sector %d: not a stamp" % k
    assert s[16:] == bytes([(p * 7 + 1) & 255]) * 496, "sector %d: a torn write" % k
    return p
for k in range(len(imgs[0]) // 512):
    b, m, t = (pass_of(i, k) for i in imgs)
    assert t == last, "sector %d: pass %d in the chain, the guest wrote %d" % (k, t, last)
    assert b <= m <= t, "sector %d: base %d, middle %d, top %d" % (k, b, m, t)
    assert b >= 1, "sector %d: the base lost the writes before the snapshot" % k
print("ok")
PY
	;;
guest-dwz-*)
	# discard and write-zeroes through virtio (firmware/virtioblk.c, vblk.mode=dwz) on
	# qcow2 images of 4 KiB clusters (v2, v3, v3 over a backing file) and on raw
	kind=${case#guest-dwz-}
	vblk=$(dirname "$fw")/virtioblk.elf
	python3 -c '
import sys
b = bytearray(1 << 20)
for s in range(64):
    z = 8 <= s < 24 or 32 <= s < 40 or 48 <= s < 56 or 60 <= s < 62
    b[s * 512:(s + 1) * 512] = bytes(512) if z else bytes([s + 1]) * 512
sys.stdout.buffer.write(b)' >want.raw
	case $kind in
	raw) truncate -s 1M img; opts=path=img ;;
	v2) qemu-img create -q -f qcow2 -o compat=0.10,cluster_size=4096 img 1M
		opts=path=img,format=qcow2 ;;
	v3) qemu-img create -q -f qcow2 -o cluster_size=4096 img 1M; opts=path=img,format=qcow2 ;;
	tables)
		# the L2 table covering sectors 0-63 is in the file before kvmini opens it (as
		# after an earlier run): the clusters kvmini then allocates past the file's end
		# are named by an old table, and must read back
		qemu-img create -q -f qcow2 -o cluster_size=4096 img 1M
		qemu-io -f qcow2 -c 'write -P 0x55 512k 4k' img >/dev/null || exit 1
		python3 -c '
import sys
b = bytearray(open("want.raw", "rb").read())
b[512 * 1024:516 * 1024] = bytes([0x55]) * 4096
open("want.raw", "wb").write(b)'
		opts=path=img,format=qcow2 ;;
	backing)
		rand base.raw 1M
		qemu-img create -q -f qcow2 -o cluster_size=4096 -b base.raw -F raw img
		dd if=base.raw of=want.raw bs=512 skip=64 seek=64 conv=notrunc status=none
		opts=path=img,format=qcow2 ;;
	esac
	timeout -s KILL "$limit" "$kvmini" run --kernel "$vblk" --disk "$opts" \
		--cmdline vblk.mode=dwz </dev/null >log 2>&1
	st=$?
	[ $st -eq 0 ] && grep -q 'dwz read back ok' log || fail "the dwz guest: status $st"
	if [ "$kind" = raw ]; then
		cmp want.raw img || fail "the raw image differs from the plan"
	else
		check img
		same want.raw img
		# whole clusters unmapped take no space (v3: zero clusters; v2: unallocated)
		qemu-img map --output=json img | grep -q '"start": 4096, "length": 8192.*"data": false' ||
			{ qemu-img map --output=json img; fail "sectors 8-23 are still allocated"; }
	fi
	;;
probe-raw)
	# format=raw on an image that starts like qcow2: read as raw bytes
	rand src.raw 1M
	qemu-img convert -q -f raw -O qcow2 src.raw img.qcow2
	size=$(stat -c %s img.qcow2)
	truncate -s "$size" out.raw
	copy path=img.qcow2,format=raw,readonly=on path=out.raw
	cmp img.qcow2 out.raw || fail "format=raw did not read the file's own bytes"
	;;
probe-backing)
	# a guessed qcow2 naming a backing file is refused; format=qcow2 opens it
	rand base.raw 1M
	qemu-img create -q -f qcow2 -b "$tmp/base.raw" -F raw img.qcow2
	truncate -s 1M out.raw
	timeout -s KILL "$limit" "$kvmini" run --kernel "$fw" --disk path=img.qcow2 \
		--disk path=out.raw </dev/null >log 2>&1
	st=$?
	[ $st -eq 2 ] || fail "a probed image with a backing file: status $st, not 2"
	grep -q "names a backing file ($tmp/base.raw).*add format=qcow2" log ||
		fail "the refusal does not say why"
	[ "$(grep -c . log)" -eq 1 ] || fail "the refusal is not one line"
	copy path=img.qcow2,format=qcow2 path=out.raw
	cmp base.raw out.raw || fail "format=qcow2 did not read through the backing file"
	;;
backing-locked)
	# a backing file is locked shared: a writer of it is refused, readers share it
	rand base.raw 1M
	qemu-img create -q -f qcow2 -b base.raw -F raw img.qcow2
	truncate -s 1M out.raw
	qemu-io -f raw -c 'sleep 4000' base.raw >/dev/null 2>&1 &
	qpid=$!
	sleep 1
	timeout -s KILL "$limit" "$kvmini" run --kernel "$fw" --disk path=img.qcow2,format=qcow2 \
		--disk path=out.raw </dev/null >log 2>&1
	st=$?
	kill $qpid; wait $qpid 2>/dev/null
	[ $st -eq 2 ] && grep -q 'backing file .*base.raw: in use' log ||
		fail "a backing file QEMU writes was not refused (status $st)"
	qemu-io -r -f raw -c 'sleep 4000' base.raw >/dev/null 2>&1 &
	qpid=$!
	sleep 1
	copy path=img.qcow2,format=qcow2 path=out.raw
	kill $qpid; wait $qpid 2>/dev/null
	;;
chain-depth)
	rand base.raw 64k
	prev=base.raw fmt=raw
	for i in $(seq 1 17); do
		qemu-img create -q -f qcow2 -b $prev -F $fmt l$i.qcow2; prev=l$i.qcow2 fmt=qcow2
	done
	truncate -s 64k out.raw
	timeout -s KILL "$limit" "$kvmini" run --kernel "$fw" --disk path=l17.qcow2,format=qcow2 \
		--disk path=out.raw </dev/null >log 2>&1
	grep -q 'deeper than 16' log || fail "a chain of 17 backing files was not refused"
	copy path=l16.qcow2,format=qcow2 path=out.raw
	cmp base.raw out.raw || fail "a chain of 16 read back differently"
	;;
refusals)
	n=0
	while IFS=$'\t' read -r name want; do
		python3 "$mkbad" "$name" bad.qcow2 || fail "mkbad.py $name"
		timeout -s KILL "$limit" "$kvmini" run --kernel "$fw" \
			--disk path=bad.qcow2,format=qcow2 </dev/null >log 2>&1
		st=$?
		[ $st -eq 2 ] || fail "$name: status $st, not 2"
		grep -q "path=bad.qcow2: .*$want" log || fail "$name: no '$want' in the message"
		[ "$(grep -c . log)" -eq 1 ] || fail "$name: more than one line"
		n=$((n + 1))
	done < <(python3 "$mkbad" --list)
	# the dirty bit: refused read-write, fine read-only
	python3 "$mkbad" dirty bad.qcow2
	truncate -s 1M out.raw
	copy path=bad.qcow2,format=qcow2,readonly=on path=out.raw
	echo "refused $n crafted images, each with its one line"
	;;
*)
	echo "$0: unknown case $case" >&2; exit 2 ;;
esac
echo "PASS: $case"
